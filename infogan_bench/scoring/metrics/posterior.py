"""Label-free readings of Q's categorical posterior on real images: how sure, how spread, how
stable under augmentation. A user can judge a seed with them when no labels exist."""

from __future__ import annotations

import torch


def marginal_entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(mean_i p_i) in nats of the mean posterior of probs (N, K): log K at most, for a uniform
    marginal (every category used equally); 0 when all images share one category."""
    marginal = probs.mean(0)
    return -(marginal * torch.log(marginal.clamp_min(1e-12))).sum()


def mean_confidence(probs: torch.Tensor) -> float:
    """Mean over images of Q's largest category probability, probs (N, K): in [1/K, 1]."""
    return float(probs.max(dim=1).values.mean())


def survival(categories: torch.Tensor, aug_categories: torch.Tensor) -> float:
    """Share of images (N,) whose category is the same for the augmented copy (N,)."""
    return float((categories == aug_categories).float().mean())
