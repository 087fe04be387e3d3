import itertools

import pytest
import torch
from torch import nn

from infogan_bench.config import RunConfig
from infogan_bench.nets.latent import latent_dim, q_output_size
from infogan_bench.nets.models import build_models
from infogan_bench.training.step import Trainer
from tests.conftest import TEST_WIDTH

AXES = list(
    itertools.product(
        ["transpose", "upsample"], ["batch", "spectral"], ["mse", "gaussian-nll"], [0.0, 0.5]
    )
)
SHAPES = [(1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("image_shape", SHAPES)
@pytest.mark.parametrize("generator, d_norm, q_cont_loss, supervised_fraction", AXES)
def test_every_axis_combination_builds_and_trains_a_step(
    image_shape, generator, d_norm, q_cont_loss, supervised_fraction
):
    config = RunConfig(
        generator=generator,
        d_norm=d_norm,
        q_cont_loss=q_cont_loss,
        supervised_fraction=supervised_fraction,
        width=TEST_WIDTH,
    )
    torch.manual_seed(0)
    trainer = Trainer.create(config, image_shape, n_classes=10, device=torch.device("cpu"))
    real = torch.rand(4, *image_shape)
    labelled = (
        (torch.rand(4, *image_shape), torch.randint(10, (4,))) if supervised_fraction else None
    )
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    losses = trainer.step(real, labelled)
    assert all(torch.isfinite(v) for v in losses.values())
    assert (losses.get("loss_supervised", 0) > 0) == bool(supervised_fraction)
    assert any(
        not torch.equal(b, p) for b, p in zip(before, trainer.generator.parameters(), strict=True)
    )

    G, D = trainer.generator.eval(), trainer.discriminator.eval()
    fake = G(torch.rand(5, latent_dim(config)))
    assert fake.shape == (5, *image_shape) and 0 <= fake.min() and fake.max() <= 1
    d_logits, q_params = D(fake)
    assert d_logits.shape == (5,) and q_params.shape == (5, q_output_size(config))


@pytest.mark.parametrize("image_shape", SHAPES)
def test_upsample_generator_has_no_transposed_conv(image_shape):
    upsample, _ = build_models(RunConfig(generator="upsample"), image_shape)
    transpose, _ = build_models(RunConfig(generator="transpose"), image_shape)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in upsample.modules())
    assert any(isinstance(m, nn.ConvTranspose2d) for m in transpose.modules())


def test_paper_mnist_architecture():
    G, D = build_models(RunConfig(), (1, 28, 28))
    linears = [m for m in G.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(74, 1024), (1024, 7 * 7 * 128)]
    convs = [m for m in D.trunk.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        (64, (4, 4), (2, 2)),
        (128, (4, 4), (2, 2)),
    ]
    assert (
        q_output_size(RunConfig()) == 12
        and q_output_size(RunConfig(q_cont_loss="gaussian-nll")) == 14
    )


@pytest.mark.parametrize("image_shape", SHAPES)
def test_width_scales_every_hidden_layer_and_keeps_the_interfaces(image_shape):
    full, quarter = (build_models(RunConfig(width=w), image_shape) for w in (1.0, 0.25))
    for big, small in zip(full, quarter, strict=True):
        big_sizes = [p.shape for p in big.parameters()]
        small_sizes = [p.shape for p in small.parameters()]
        assert len(big_sizes) == len(small_sizes)  # the same layers, each narrower
        n_big, n_small = (sum(p.numel() for p in m.parameters()) for m in (big, small))
        assert 1 / 20 < n_small / n_big < 1 / 10  # ~width**2 for the hidden-to-hidden weights
    G, D = quarter
    fake = G.eval()(torch.rand(3, latent_dim(RunConfig())))
    assert fake.shape == (3, *image_shape)
    d_logits, q_params = D.eval()(fake)
    assert d_logits.shape == (3,) and q_params.shape == (3, q_output_size(RunConfig()))


def test_spectral_norm_trunk_has_no_batchnorm_and_unit_singular_values():
    config = RunConfig(d_norm="spectral")
    torch.manual_seed(0)
    trainer = Trainer.create(config, (1, 28, 28), n_classes=10, device=torch.device("cpu"))
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in trainer.discriminator.trunk.modules()
    )
    for _ in range(10):
        trainer.step(torch.rand(16, 1, 28, 28), None)
    layers = [
        m for m in trainer.discriminator.trunk.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    assert len(layers) == 3
    # torch runs one power iteration per training forward, so the estimate trails the moving
    # weights by a few percent (measured: within 0.11 of 1 over 60 steps at lr 2e-4).
    trainer.discriminator.eval()
    for layer in layers:
        assert hasattr(layer, "parametrizations")
        weight = layer.weight.detach().flatten(1)  # (out, in*k*k), as spectral_norm measures it
        sigma_max = torch.linalg.matrix_norm(weight, ord=2)
        assert sigma_max == pytest.approx(1.0, abs=0.15)
