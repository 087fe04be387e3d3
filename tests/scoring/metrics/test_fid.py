import warnings

import numpy as np
import pytest
import torch
from scipy import linalg

from infogan_bench.scoring.metrics.fid import frechet_distance, kernel_distance


def _numpy_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """The Frechet distance written out with numpy/scipy, independent of torchmetrics."""
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean = linalg.sqrtm(cov_r @ cov_f).real
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r + cov_f - 2 * covmean))


def test_fid_of_a_set_against_itself_is_zero():
    features = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_fid_of_two_gaussians_matches_the_closed_form():
    # N(0, I) vs N(m, s^2 I) in d dims: FID = |m|^2 + d (1 - s)^2
    gen = torch.Generator().manual_seed(1)
    d, n, s = 4, 200_000, 2.0
    m = torch.tensor([1.0, -2.0, 0.5, 0.0])
    real = torch.randn(n, d, generator=gen, dtype=torch.float64)
    fake = m + s * torch.randn(n, d, generator=gen, dtype=torch.float64)
    # whiten the samples so their moments are exactly the population ones
    real = (real - real.mean(0)) @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(real.T))).T
    fake_centered = fake - fake.mean(0)
    fake = m + s * fake_centered @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(fake.T))).T
    expected = float((m**2).sum() + d * (1 - s) ** 2)
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-3)


def test_torchmetrics_fid_equals_numpy_scipy_on_the_same_features():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(400, 6))
    fake = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.3
    expected = _numpy_fid(real, fake)
    assert frechet_distance(torch.tensor(real), torch.tensor(fake)) == pytest.approx(
        expected, rel=1e-6
    )


def test_kid_is_near_zero_for_identical_and_same_distribution_sets():
    gen = torch.Generator().manual_seed(3)
    features, other = torch.randn(2000, 16, generator=gen), torch.randn(2000, 16, generator=gen)
    shifted_mean, _ = kernel_distance(features, features + 0.5)
    assert shifted_mean > 0.5  # measured 1.04
    # identical sets: the unbiased estimator's cross term keeps k(x, x), a -O(1/subset) bias
    assert abs(kernel_distance(features, features)[0]) < 0.01 * shifted_mean
    mean, std = kernel_distance(features, other)
    assert abs(mean) < 3 * std


@pytest.mark.parametrize("distance", [frechet_distance, kernel_distance])
def test_non_finite_features_are_refused_not_crashed_on(distance):
    real = torch.randn(200, 8)
    fake = torch.randn(200, 8)
    fake[3, 2] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        distance(real, fake)


def test_kid_says_nothing_about_keeping_its_features():
    # torchmetrics warns at every KID that it keeps the features: known, harmless, and it
    # filled every train.log; the suite silences that one warning, and only it
    features = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kernel_distance(features, features + 1)
    assert not [w for w in caught if "Kernel Inception Distance" in str(w.message)]
