"""What a continuous code changes in the images, as numbers: brightness, saturation, object size.

Each is a per-image property of (N, C, H, W) images in [0, 1]; `code_correlations` gives the
Pearson r of each continuous code with each property, so "code 1 brightens the background"
becomes cont_brightness_corr_1 = 0.8. The size of the object is read without a segmenter: the
share of pixels whose colour differs from the image's border colour (its mean over the outermost
ring) by more than FOREGROUND_DISTANCE, the background of a centred CIFAR-10 object being what
touches the border.
"""

from __future__ import annotations

import numpy as np
import torch

FOREGROUND_DISTANCE = 0.2  # Euclidean RGB distance (of [0, 1] channels) from the border colour


def brightness(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N,) mean intensity over pixels and channels."""
    return images.flatten(1).mean(1)


def saturation(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N,) mean HSV saturation, (max - min) / max of the channels per pixel."""
    high, low = images.amax(1), images.amin(1)
    return ((high - low) / high.clamp_min(1e-6)).flatten(1).mean(1)


def object_size(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N,) share of pixels farther than FOREGROUND_DISTANCE from the border colour."""
    ring = torch.ones_like(images[0, 0], dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    border = images[:, :, ring].mean(2)  # (N, C)
    distance = (images - border[:, :, None, None]).norm(dim=1)  # (N, H, W)
    return (distance > FOREGROUND_DISTANCE).flatten(1).float().mean(1)


def properties(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The properties that apply: brightness and size always, saturation for RGB images."""
    props = {"brightness": brightness(images), "size": object_size(images)}
    if images.shape[1] == 3:
        props["saturation"] = saturation(images)
    return props


def code_correlations(cont_codes: torch.Tensor, images: torch.Tensor) -> dict[str, float]:
    """Pearson r of each continuous code (N, K) with each property of images (N, C, H, W):
    {"cont_brightness_corr_0": r, ...}; NaN where a property does not vary."""
    scores = {}
    codes = cont_codes.cpu().double().numpy()
    for name, values in properties(images).items():
        values = values.cpu().double().numpy()
        for k in range(codes.shape[1]):
            with np.errstate(invalid="ignore", divide="ignore"):
                scores[f"cont_{name}_corr_{k}"] = float(np.corrcoef(codes[:, k], values)[0, 1])
    return scores
