import pytest
import torch

from infogan_bench.data.augment import random_affine


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keeps_shape_device_and_dtype(dtype):
    images = torch.rand(5, 3, 32, 32, dtype=dtype)
    out = random_affine(images, 1.0, _gen())
    assert out.shape == images.shape and out.dtype == dtype and out.device == images.device


def test_strength_zero_is_the_identity():
    images = torch.rand(6, 1, 28, 28)
    torch.testing.assert_close(
        random_affine(images, 0.0, _gen()), images, atol=1e-5, rtol=0
    )  # float32 grid rounding


def test_each_image_gets_its_own_transform_from_the_generator():
    square = torch.zeros(1, 1, 28, 28)
    square[..., 10:18, 10:18] = 1.0
    images = square.repeat(8, 1, 1, 1)
    out = random_affine(images, 1.0, _gen(1))
    assert not torch.allclose(out, images, atol=1e-3)  # moved
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8  # a different affine per image
    torch.testing.assert_close(out, random_affine(images, 1.0, _gen(1)))  # seeded
    # an affine with scale within ±10 % keeps the square's ink mass within ~±21 %
    mass = out.sum(dim=(1, 2, 3)) / square.sum()
    assert ((mass > 0.75) & (mass < 1.3)).all()


def test_a_stronger_augmentation_moves_more_ink():
    stripe = torch.zeros(64, 1, 28, 28)
    stripe[..., 13:15, :] = 1.0
    weak = (random_affine(stripe, 0.5, _gen(2)) - stripe).abs().sum(dim=(1, 2, 3))
    strong = (random_affine(stripe, 3.0, _gen(2)) - stripe).abs().sum(dim=(1, 2, 3))
    assert strong.mean() > 2 * weak.mean() > 0
