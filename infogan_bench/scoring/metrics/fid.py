"""FID and KID through torchmetrics, on features computed by any extractor (N, D).

torchmetrics does the statistics; `Precomputed` hands it features we already extracted, so the
same code scores the domain classifier's features, Inception's, or test vectors.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


class Precomputed(nn.Module):
    """Identity 'feature extractor' of width num_features: its inputs are already features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def require_finite_features(real: torch.Tensor, fake: torch.Tensor) -> None:
    """Raise ValueError unless both feature sets are finite (every metric on features checks)."""
    # NaN features crash the matrix square root inside the linear-algebra library (a signal,
    # not an exception): refuse them first
    if not (torch.isfinite(real).all() and torch.isfinite(fake).all()):
        raise ValueError("features are not finite (NaN or inf): a diverged model cannot be scored")


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between feature sets real (N, D) and fake (M, D)."""
    # imported here: torchmetrics takes seconds to import, and most processes never score FID
    from torchmetrics.image.fid import FrechetInceptionDistance

    require_finite_features(real, fake)
    metric = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), normalize=True)
    metric.update(real.double().cpu(), real=True)
    metric.update(fake.double().cpu(), real=False)
    return float(metric.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over subsets) between feature sets real (N, D) and fake (M, D)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    require_finite_features(real, fake)
    size = min(KID_SUBSET_SIZE, len(real), len(fake))
    with warnings.catch_warnings():  # "will save all extracted features": a known, small cost
        warnings.filterwarnings("ignore", "Metric `Kernel Inception Distance` will save")
        metric = KernelInceptionDistance(
            feature=Precomputed(real.shape[1]),
            subsets=KID_SUBSETS,
            subset_size=size,
            normalize=True,
        )
    metric.update(real.double().cpu(), real=True)
    metric.update(fake.double().cpu(), real=False)
    with torch.random.fork_rng():  # torchmetrics draws the subsets from the global generator
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)
