import pytest
import torch

from infogan_bench.scoring.metrics.precision_recall import precision_recall


def _blobs(centres: torch.Tensor, per_blob: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    points = centres.repeat_interleave(per_blob, dim=0)
    return points + 0.1 * torch.randn(points.shape, generator=gen)


# 8 well separated modes in the plane (in many dimensions k-NN balls cover less of a blob)
CENTRES = torch.tensor([[10.0, 0], [0, 10], [-10, 0], [0, -10], [7, 7], [-7, 7], [7, -7], [-7, -7]])


def test_the_same_distribution_has_full_precision_and_recall():
    real, fake = _blobs(CENTRES, 200, seed=0), _blobs(CENTRES, 200, seed=1)
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95 and recall > 0.95


def test_a_generator_that_drops_half_the_modes_keeps_precision_and_loses_recall():
    real, fake = _blobs(CENTRES, 200, seed=0), _blobs(CENTRES[:4], 400, seed=1)
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95 and recall == pytest.approx(0.5, abs=0.02)


def test_samples_off_the_data_have_no_precision_or_recall():
    real, fake = _blobs(CENTRES, 100, seed=0), _blobs(CENTRES + 3, 100, seed=1)
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_non_finite_features_are_refused():
    with pytest.raises(ValueError, match="not finite"):
        precision_recall(torch.zeros(5, 2), torch.full((5, 2), float("nan")))
