"""Stroke thickness of digit images, and its quantile scale for thickness guidance.

thickness = 2 × ink mass / outline length, in pixels. A stroke of width w and length L has ink
mass ≈ w·L and an outline ≈ 2·L long, so the ratio is w. The outline length is the image's
anisotropic total variation (sum of |horizontal| and |vertical| neighbour differences), which
needs no binarisation or skeleton and is exact for axis-aligned edges (diagonal ones count up
to √2 longer, equally for every image). Images are (N, 1, H, W) in [0, 1] with bright ink.
"""

from __future__ import annotations

import torch


def stroke_thickness(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1] -> (N,) mean stroke width in pixels."""
    ink = images.flatten(1).sum(1)
    rows = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1).sum(1)
    cols = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).sum(1)
    return 2 * ink / (rows + cols).clamp_min(1e-6)


class ThicknessScale:
    """Maps thickness to (-1, 1) by its quantile among reference (real train) images.

    The guided code's prior is U(-1, 1): the quantile map makes the real images' targets
    uniform on it too, whatever the thickness distribution looks like.
    """

    def __init__(self, reference_images: torch.Tensor, batch: int = 4096) -> None:
        values = [
            stroke_thickness(reference_images[i : i + batch])
            for i in range(0, len(reference_images), batch)
        ]
        self.sorted = torch.cat(values).sort().values  # (N,)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B,) targets in (-1, 1)."""
        rank = torch.searchsorted(self.sorted, stroke_thickness(images))
        return (2 * rank.float() + 1) / (len(self.sorted) + 1) - 1
