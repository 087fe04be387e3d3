"""Inception Score through torchmetrics, on classifier logits computed by any network (N, K).

IS = exp(E_x KL(p(y|x) || p(y))), averaged over 10 splits (Salimans et al. 2016): 1 when every
image gets the same posterior, K when each is sure of one of K classes and the classes are
balanced. Standard IS reads the Inception network's 1008-way `logits_unbiased`.
"""

from __future__ import annotations

import warnings

import torch

from infogan_bench.scoring.metrics.fid import Precomputed

IS_SPLITS = 10


def inception_score(
    logits: torch.Tensor, splits: int = IS_SPLITS, seed: int = 0
) -> tuple[float, float]:
    """IS (mean, std over splits) of logits (N, K); the split assignment is drawn from seed."""
    from torchmetrics.image.inception import InceptionScore

    if not torch.isfinite(logits).all():
        raise ValueError("logits are not finite (NaN or inf): no Inception Score from them")
    with warnings.catch_warnings():  # "will save all extracted features": a known, small cost
        warnings.filterwarnings("ignore", "Metric `InceptionScore` will save")
        metric = InceptionScore(feature=Precomputed(logits.shape[1]), splits=splits)
    metric.update(logits.double().cpu())
    with torch.random.fork_rng():  # torchmetrics shuffles with the global generator
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)
