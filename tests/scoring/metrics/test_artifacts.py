import math

import torch

from infogan_bench.scoring.metrics.artifacts import checkerboard_score, nyquist_share


def _smooth_blobs(n: int) -> torch.Tensor:
    """Gaussian blobs at random centres: no energy near Nyquist."""
    gen = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centres = torch.rand(n, 2, generator=gen) * 14 + 7
    blobs = torch.exp(
        -((ys - centres[:, 0, None, None]) ** 2 + (xs - centres[:, 1, None, None]) ** 2) / 18
    )
    return blobs.unsqueeze(1)  # (N, 1, 28, 28)


def test_nyquist_pattern_scores_higher_than_smooth_images():
    smooth = _smooth_blobs(16)
    checker = torch.tensor([[(-1.0) ** (i + j) for j in range(28)] for i in range(28)])
    with_artifacts = smooth + 0.1 * checker
    assert nyquist_share(smooth) < 1e-3
    assert nyquist_share(with_artifacts) > 0.1
    assert checkerboard_score(with_artifacts, smooth) > 100
    assert math.isclose(checkerboard_score(smooth, smooth), 1.0)


def test_pure_checkerboard_has_all_its_energy_on_the_nyquist_lines():
    checker = torch.tensor([[(-1.0) ** (i + j) for j in range(28)] for i in range(28)]).view(
        1, 1, 28, 28
    )
    assert math.isclose(nyquist_share(checker), 1.0)
