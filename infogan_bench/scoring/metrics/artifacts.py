"""Checkerboard score: spectral energy on the Nyquist lines, fake relative to real.

A stride-2 transposed conv whose kernel overlaps unevenly leaves a period-2 pattern
(Odena et al. 2016), which in the 2-D spectrum sits on the Nyquist lines: the row u = H/2
and the column v = W/2. `nyquist_share` is their share of an image set's spectral energy
(mean power spectrum of the mean-subtracted images, DC excluded); `checkerboard_score` is the
fake set's share over the real set's, so 1.0 means "as much as real images", and above 1
means artifacts the data does not have.
"""

from __future__ import annotations

import torch


def nyquist_share(images: torch.Tensor) -> float:
    """Share of spectral energy on the Nyquist row and column of images (N, C, H, W)."""
    centered = images.double() - images.double().mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(centered).abs().pow(2).mean(dim=(0, 1))  # (H, W)
    height, width = power.shape
    on_lines = torch.zeros_like(power, dtype=torch.bool)
    on_lines[height // 2, :] = True
    on_lines[:, width // 2] = True
    total = power.sum() - power[0, 0]
    return float(power[on_lines].sum() / total) if total > 0 else 0.0


def checkerboard_score(fake: torch.Tensor, real: torch.Tensor) -> float:
    """nyquist_share(fake) / nyquist_share(real)."""
    return nyquist_share(fake) / nyquist_share(real)
