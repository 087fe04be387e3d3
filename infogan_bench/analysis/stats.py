"""Statistics of the ablation report: bootstrap confidence intervals and paired effects.

Both are scipy's: `scipy.stats.bootstrap` (percentile method) for the 95% CI of a mean, and
`scipy.stats.permutation_test` on paired differences, which flips the sign of each difference
(exact over all 2^n sign patterns for n <= 13 pairs, else 10,000 seeded random patterns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

N_RESAMPLES = 10_000
SEED = 0  # the report's resamples are the same on every machine


def _mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(values, axis=axis)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean; (nan, nan) for fewer than two values."""
    sample = np.asarray(values, dtype=float)
    if len(sample) < 2:
        return float("nan"), float("nan")
    if np.all(sample == sample[0]):  # every resample has the same mean
        return float(sample[0]), float(sample[0])
    result = stats.bootstrap(
        (sample,),
        _mean,
        confidence_level=confidence,
        n_resamples=N_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def sign_flip_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of mean(differences) != 0 under random sign flips; nan without data."""
    sample = np.asarray(differences, dtype=float)
    if len(sample) == 0:
        return float("nan")
    if np.all(sample == 0) or len(sample) == 1:  # one pair: both sign patterns tie, p = 1
        return 1.0
    result = stats.permutation_test(
        (sample,),
        _mean,
        permutation_type="samples",
        vectorized=True,
        n_resamples=N_RESAMPLES,
        alternative="two-sided",
        rng=np.random.default_rng(SEED),
    )
    return float(result.pvalue)


@dataclass(frozen=True)
class Effect:
    """Mean paired difference (level − baseline), its bootstrap CI and sign-flip p-value."""

    n_pairs: int
    mean: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_effect(differences: Sequence[float]) -> Effect:
    sample = np.asarray(differences, dtype=float)
    mean = float(sample.mean()) if len(sample) else float("nan")
    return Effect(len(sample), mean, *bootstrap_ci(sample), sign_flip_p(sample))
