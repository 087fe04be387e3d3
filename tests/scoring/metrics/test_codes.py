import math

import numpy as np
import pytest
import torch

from infogan_bench.scoring.metrics.codes import cat_consistency, cont_r2, mi_lower_bound


def test_cat_consistency_is_one_when_each_code_draws_its_own_class():
    codes = np.repeat(np.arange(10), 20)
    drawn = (codes + 3) % 10  # a fixed relabelling: still one class per code
    assert cat_consistency(codes, drawn) == 1.0
    drawn[:20] = 5  # code 0 now draws code 2's class
    assert cat_consistency(codes, drawn) == pytest.approx(0.9)


def test_mi_lower_bound_known_values():
    codes = torch.arange(10).repeat(5)
    assert mi_lower_bound(torch.zeros(50, 10), codes) == pytest.approx(0.0)
    assert mi_lower_bound(100 * torch.eye(10)[codes], codes) == pytest.approx(math.log(10))


def test_cont_r2_per_code():
    rng = np.random.default_rng(0)
    given = rng.uniform(-1, 1, size=(1000, 2))
    predicted = np.stack([given[:, 0], np.zeros(1000) + given[:, 1].mean()], axis=1)
    assert cont_r2(given, predicted) == [pytest.approx(1.0), pytest.approx(0.0)]
