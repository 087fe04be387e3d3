import pytest
import torch
import torch.nn.functional as F

from infogan_bench.data.datasets import load_dataset
from infogan_bench.scoring.metrics.thickness import ThicknessScale, stroke_thickness


def test_a_long_bar_is_as_thick_as_its_width():
    canvas = torch.zeros(2, 1, 128, 128)
    canvas[0, 0, 10:110, 60:63] = 1  # 3 pixels wide, 100 long
    canvas[1, 0, 60:65, 10:110] = 1  # 5 pixels wide, 100 long
    # ends add 2 * width to the outline: 2 * 300 / 206 and 2 * 500 / 210
    assert stroke_thickness(canvas).tolist() == pytest.approx([600 / 206, 1000 / 210])


def test_dilated_digit_is_thicker_than_the_same_digit_eroded():
    digits = load_dataset("digits", "unused", torch.device("cpu")).test_images[:50]
    dilated = F.max_pool2d(digits, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-digits, 3, stride=1, padding=1)
    thick, plain, thin = (stroke_thickness(x) for x in (dilated, digits, eroded))
    assert (thick > plain).all() and (plain > thin).all()


def test_scale_maps_reference_thickness_to_uniform_quantiles():
    digits = load_dataset("digits", "unused", torch.device("cpu")).train_images
    scale = ThicknessScale(digits)
    targets = scale(digits)
    assert -1 < targets.min() and targets.max() < 1
    assert targets.mean().item() == pytest.approx(0, abs=0.01)
    assert targets.var().item() == pytest.approx(1 / 3, abs=0.01)  # var of U(-1, 1)
    order = stroke_thickness(digits).argsort()
    assert (targets[order].diff() >= 0).all()  # thicker -> larger target
