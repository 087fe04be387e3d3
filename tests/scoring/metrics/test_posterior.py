import math

import pytest
import torch

from infogan_bench.scoring.metrics.posterior import marginal_entropy, mean_confidence, survival


def test_marginal_entropy_is_maximal_for_a_uniform_marginal():
    k = 10
    balanced = torch.eye(k).repeat(3, 1)  # sure posteriors, every category used 3 times
    assert float(marginal_entropy(balanced)) == pytest.approx(math.log(k))
    assert float(marginal_entropy(torch.full((5, k), 1 / k))) == pytest.approx(math.log(k))
    one_category = torch.eye(k)[[2, 2, 2, 2]]
    assert float(marginal_entropy(one_category)) == pytest.approx(0.0, abs=1e-6)
    skewed = torch.eye(k)[[0, 0, 0, 1]]  # marginal (3/4, 1/4)
    expected = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert float(marginal_entropy(skewed)) == pytest.approx(expected)
    for _ in range(20):  # any marginal stays at or below log k
        probs = torch.rand(7, k).softmax(dim=1)
        assert float(marginal_entropy(probs)) <= math.log(k) + 1e-6


def test_mean_confidence_and_survival_known_values():
    probs = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    assert mean_confidence(probs) == pytest.approx((0.9 + 0.6 + 0.5) / 3)
    assert survival(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 0])) == 0.5
