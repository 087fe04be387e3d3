"""Per-sample random affine augmentation of an image batch, on its device (no Python loop).

Strength 1 draws, per image and uniformly, a rotation in ±15°, a scale in 1 ± 10 % and a shift
in ±10 % of the image's side along each axis; strength s scales all three ranges by s, and 0 is
the identity. Pixels moved in from outside the image are 0 (background).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_ROTATION_DEG = 15.0  # at strength 1
MAX_SCALE = 0.10  # relative, at strength 1
MAX_SHIFT = 0.10  # fraction of the image side, at strength 1


def random_affine(images: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H, W), same device and dtype: each image under its own affine,
    drawn on gen's device (a CPU generator gives the same affines on any device)."""
    batch = images.shape[0]

    def uniform(bound: float) -> torch.Tensor:  # (B,) ~ U(-bound, bound)
        draw = torch.rand(batch, generator=gen, device=gen.device).to(images.device, images.dtype)
        return (draw * 2 - 1) * bound

    angle = uniform(math.radians(MAX_ROTATION_DEG) * strength)
    scale = 1 + uniform(MAX_SCALE * strength)
    shift = torch.stack([uniform(2 * MAX_SHIFT * strength) for _ in range(2)], dim=1)  # (B, 2)
    # theta maps output coordinates to input ones, in [-1, 1] units (affine_grid)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
