import math

import pytest

from infogan_bench.analysis.stats import bootstrap_ci, paired_effect, sign_flip_p


def test_bootstrap_ci_of_small_samples_equals_hand_computed_percentiles():
    # resampling [0, 1]: mean 0 with probability 1/4 > 2.5%, so the 2.5th percentile is 0
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    # resampling [1, 2, 3]: the all-equal resamples have probability 1/27 = 3.7% > 2.5%
    assert bootstrap_ci([1.0, 2.0, 3.0]) == (1.0, 3.0)
    assert bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert all(math.isnan(v) for v in bootstrap_ci([0.7]))


def test_bootstrap_ci_of_a_large_sample_is_near_the_normal_interval():
    values = [float(i % 10) for i in range(200)]  # mean 4.5, sd 2.88, se 0.204
    low, high = bootstrap_ci(values)
    assert low == pytest.approx(4.5 - 1.96 * 0.204, abs=0.05)
    assert high == pytest.approx(4.5 + 1.96 * 0.204, abs=0.05)


def test_sign_flip_p_values_are_exact_counts_of_sign_patterns():
    # [1, 2, 3]: of the 8 sign patterns, only +++ and --- reach |mean| >= 2
    assert sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    # [0.15, 0.02, -0.03]: sums with |sum| >= 0.14 are ±0.14, ±0.16, ±0.20 -> 6 of 8
    assert sign_flip_p([0.15, 0.02, -0.03]) == pytest.approx(6 / 8)
    assert sign_flip_p([0.1, 0.2, 0.3, 0.4]) == pytest.approx(2 / 16)
    assert sign_flip_p([0.0, 0.0]) == 1.0
    assert math.isnan(sign_flip_p([]))


def test_paired_effect_collects_mean_ci_and_p():
    effect = paired_effect([0.1, 0.2, 0.3, 0.4])
    assert effect.n_pairs == 4 and effect.mean == pytest.approx(0.25)
    # sum of 4 draws from {1,2,3,4}: P(sum <= 5) = 5/256 < 2.5% <= P(sum <= 6) = 15/256,
    # so the percentiles are the means 6/40 and 14/40
    assert (effect.ci_low, effect.ci_high) == pytest.approx((0.15, 0.35))
    assert effect.p_value == pytest.approx(0.125)
