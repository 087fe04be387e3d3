import pytest
import torch

from infogan_bench.scoring.metrics.appearance import (
    brightness,
    code_correlations,
    object_size,
    saturation,
)


def test_brightness_and_saturation_known_values():
    grey = torch.full((1, 3, 4, 4), 0.5)
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1.0
    assert brightness(torch.cat([grey, red])).tolist() == pytest.approx([0.5, 1 / 3])
    assert saturation(torch.cat([grey, red])).tolist() == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize("side", [0, 4, 8, 16])
def test_object_size_is_the_share_of_a_centred_square_on_a_plain_background(side):
    image = torch.full((1, 3, 32, 32), 0.2)
    start = (32 - side) // 2
    image[:, :, start : start + side, start : start + side] = 0.9
    assert object_size(image).item() == pytest.approx(side**2 / 32**2)


def test_code_correlations_find_the_code_that_sets_brightness():
    gen = torch.Generator().manual_seed(0)
    codes = torch.rand(500, 2, generator=gen) * 2 - 1
    # code 0 sets the background level, code 1 does nothing visible
    images = (0.5 + 0.3 * codes[:, 0]).view(-1, 1, 1, 1).expand(-1, 3, 8, 8).clone()
    images += 0.01 * torch.rand(images.shape, generator=gen)
    scores = code_correlations(codes, images)
    assert scores["cont_brightness_corr_0"] > 0.99
    assert abs(scores["cont_brightness_corr_1"]) < 0.15
    assert set(scores) == {
        f"cont_{p}_corr_{k}" for p in ("brightness", "size", "saturation") for k in (0, 1)
    }
