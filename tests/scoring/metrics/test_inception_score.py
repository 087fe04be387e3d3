import math

import pytest
import torch

from infogan_bench.scoring.metrics.inception_score import inception_score


def test_identical_posteriors_score_one():
    logits = torch.randn(1, 1008).expand(1000, -1)
    mean, std = inception_score(logits)
    assert mean == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("k", [2, 10])
def test_confident_balanced_over_k_classes_scores_k(k):
    # each image sure of its class (logit margin 50), the classes equally frequent in each split
    labels = torch.arange(1000) % k
    logits = torch.nn.functional.one_hot(labels, 1008).double() * 50
    mean, _ = inception_score(logits, seed=3)
    # the splits are random, so p(y) is balanced up to sampling: within a few percent of k
    assert mean == pytest.approx(k, rel=0.05)
    exact, _ = inception_score(logits, splits=1)
    assert exact == pytest.approx(k, rel=1e-6)


def test_half_sure_images_score_between():
    # half the images sure of class 0, half uniform over two classes: p(y) = (0.75, 0.25)
    sure = torch.tensor([[50.0, 0.0]]).expand(500, -1)
    unsure = torch.zeros(500, 2)
    mean, _ = inception_score(torch.cat([sure, unsure]), splits=1)
    kl_sure = math.log(1 / 0.75)
    kl_unsure = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert mean == pytest.approx(math.exp((kl_sure + kl_unsure) / 2), rel=1e-6)


def test_non_finite_logits_are_refused():
    with pytest.raises(ValueError, match="not finite"):
        inception_score(torch.full((10, 3), float("nan")))
