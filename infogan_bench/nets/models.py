"""InfoGAN networks: Generator, and Discriminator = shared trunk + D head + Q head.

The 28x28 nets are the InfoGAN paper's MNIST architecture (Table 1); 32x32 is a DCGAN-class
net in the spirit of its SVHN net; `width` scales both nets' hidden widths. Each axis is one
small factory: `up_block` (generator) and `trunk_layer` (d_norm). Q's output width follows the latent layout and q_cont_loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from infogan_bench.config import RunConfig
from infogan_bench.errors import CheckpointError, first_line
from infogan_bench.nets.latent import latent_dim, q_output_size


@dataclass(frozen=True)
class Arch:
    """Sizes of both nets for one image shape."""

    g_fc_hidden: int | None  # first FC width of G (None: latent goes straight to the base)
    base_channels: int  # channels of G's first feature map
    base_size: int  # its side; each up block doubles it
    g_up_channels: tuple[int, ...]  # output channels of G's up blocks, except the last (-> image)
    d_conv_channels: tuple[int, ...]  # stride-2 convs of the D/Q trunk
    d_fc_hidden: int  # trunk output width
    q_hidden: int = 128  # Q head's hidden width

    def scaled(self, width: float) -> Arch:
        """Every hidden width times `width` (at least 1); the base map's side stays."""

        def scale(n: int) -> int:
            return max(1, round(n * width))

        return replace(
            self,
            g_fc_hidden=None if self.g_fc_hidden is None else scale(self.g_fc_hidden),
            base_channels=scale(self.base_channels),
            g_up_channels=tuple(map(scale, self.g_up_channels)),
            d_conv_channels=tuple(map(scale, self.d_conv_channels)),
            d_fc_hidden=scale(self.d_fc_hidden),
            q_hidden=scale(self.q_hidden),
        )


ARCHS = {
    28: Arch(1024, 128, 7, (64,), (64, 128), 1024),  # paper, MNIST
    32: Arch(None, 448, 4, (256, 128), (64, 128, 256), 1024),  # DCGAN-class, CIFAR-10
}


def arch_for(image_size: int, width: float = 1.0) -> Arch:
    """The nets' sizes for image_size x image_size images, hidden widths times `width`."""
    if image_size not in ARCHS:
        raise ValueError(
            f"no architecture for {image_size}x{image_size} images; have {sorted(ARCHS)}"
        )
    return ARCHS[image_size].scaled(width)


def up_block(kind: str, in_ch: int, out_ch: int) -> nn.Module:
    """x2 upsampling: 4x4 stride-2 transposed conv, or nearest x2 then 3x3 conv (Odena 2016)."""
    if kind == "transpose":
        return nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1)
    if kind == "upsample":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, padding=1)
        )
    raise ValueError(f"unknown generator kind {kind!r}")


def trunk_layer(norm: str, layer: nn.Module, out_features: int, use_bn: bool) -> list[nn.Module]:
    """A D/Q trunk conv/linear with its normalisation: BatchNorm after it, or spectral norm on it."""
    if norm == "spectral":
        return [spectral_norm(layer), nn.LeakyReLU(0.1)]
    if norm == "batch":
        bn: list[nn.Module] = []
        if use_bn:
            bn = [
                nn.BatchNorm2d(out_features)
                if isinstance(layer, nn.Conv2d)
                else nn.BatchNorm1d(out_features)
            ]
        return [layer, *bn, nn.LeakyReLU(0.1)]
    raise ValueError(f"unknown d_norm {norm!r}")


class Generator(nn.Module):
    """G(latent) -> images (B, C, S, S) in [0, 1]."""

    def __init__(
        self, latent_dim: int, image_shape: tuple[int, int, int], kind: str, width: float = 1.0
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape
        arch = arch_for(size, width)
        fc: list[nn.Module] = []
        width = latent_dim
        if arch.g_fc_hidden is not None:
            fc += [nn.Linear(width, arch.g_fc_hidden), nn.BatchNorm1d(arch.g_fc_hidden), nn.ReLU()]
            width = arch.g_fc_hidden
        base = arch.base_channels * arch.base_size**2
        fc += [nn.Linear(width, base), nn.BatchNorm1d(base), nn.ReLU()]
        self.fc = nn.Sequential(*fc)
        self.base_shape = (arch.base_channels, arch.base_size, arch.base_size)
        ups: list[nn.Module] = []
        in_ch = arch.base_channels
        for out_ch in arch.g_up_channels:
            ups += [up_block(kind, in_ch, out_ch), nn.BatchNorm2d(out_ch), nn.ReLU()]
            in_ch = out_ch
        ups += [up_block(kind, in_ch, channels), nn.Sigmoid()]
        self.up = nn.Sequential(*ups)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        features = self.fc(latent).view(-1, *self.base_shape)  # (B, 128, 7, 7) for MNIST
        return self.up(features)  # (B, C, S, S)


class Discriminator(nn.Module):
    """Shared trunk with two heads: D's real/fake logit and Q's code parameters."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        norm: str,
        q_out: int,
        width: float = 1.0,
        fc_layer: bool = True,
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape
        arch = arch_for(size, width)
        layers: list[nn.Module] = []
        in_ch = channels
        for i, out_ch in enumerate(arch.d_conv_channels):
            conv = nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1)
            layers += trunk_layer(norm, conv, out_ch, use_bn=i > 0)
            in_ch = out_ch
        features = in_ch * (size // 2 ** len(arch.d_conv_channels)) ** 2
        layers.append(nn.Flatten())
        if fc_layer:  # the paper's MNIST D; without it, its SVHN D (and DCGAN's)
            layers += trunk_layer(
                norm, nn.Linear(features, arch.d_fc_hidden), arch.d_fc_hidden, use_bn=True
            )
            features = arch.d_fc_hidden
        self.trunk = nn.Sequential(*layers)
        self.d_head = nn.Linear(features, 1)
        self.q_head = nn.Sequential(
            nn.Linear(features, arch.q_hidden),
            nn.BatchNorm1d(arch.q_hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(arch.q_hidden, q_out),
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (B, C, S, S) -> (d_logits (B,), q_params (B, q_out))."""
        features = self.trunk(images)  # (B, 1024) with the fc layer at width 1, else (B, C*H*W)
        return self.d_head(features).squeeze(1), self.q_head(features)

    def q(self, images: torch.Tensor) -> torch.Tensor:
        return self.q_head(self.trunk(images))


def non_finite_weight(models: dict[str, nn.Module]) -> tuple[str, str] | None:
    """(model name, key) of the first parameter or buffer holding a NaN or inf, in the order of
    `models` ({"generator": G, ...}); None if all are finite. The one check of a model's
    weights, for training (after updates) and scoring (before it)."""
    for name, model in models.items():
        for key, tensor in model.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return name, key
    return None


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Modules in eval mode (BatchNorm uses its running statistics) for the block, then
    back in the mode each was in, also when the block raises."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def build_models(
    config: RunConfig, image_shape: tuple[int, int, int]
) -> tuple[Generator, Discriminator]:
    generator = Generator(latent_dim(config), image_shape, config.generator, config.width)
    discriminator = Discriminator(
        image_shape, config.d_norm, q_output_size(config), config.width, config.d_fc_layer
    )
    return generator, discriminator


def averaged_weights(entry: dict) -> dict:
    """G's state dict from a checkpoint's moving-average entry (AveragedModel's layout:
    module.* weights and the n_averaged count, training/ema.py)."""
    prefix = "module."
    return {k.removeprefix(prefix): v for k, v in entry.items() if k.startswith(prefix)}


def trained_models(
    config: RunConfig, state: dict, image_shape: tuple[int, int, int], device: torch.device
) -> tuple[Generator, Discriminator]:
    """A checkpoint's G that draws samples (its moving average where the run kept one) and its
    D/Q, on device: the one loader of a trained run's models (rescoring, best.pt's scores)."""
    generator, discriminator = build_models(config, image_shape)
    try:
        discriminator.load_state_dict(state["discriminator"])
        if "generator_ema" in state:
            generator.load_state_dict(averaged_weights(state["generator_ema"]))
        else:
            generator.load_state_dict(state["generator"])
    except (KeyError, RuntimeError) as err:
        raise CheckpointError(
            f"checkpoint does not match this config's models: {first_line(err)}"
        ) from None
    return generator.to(device), discriminator.to(device)
