"""An exponential moving average of G's weights and BatchNorm statistics (StudioGAN, BigGAN).

Built on torch's AveragedModel; the decay ramps up as min(decay, (1 + n) / (10 + n)) over the
first n updates (TensorFlow's ExponentialMovingAverage with num_updates), so the average is
not dominated by G's random initial weights at short budgets.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def ramped_decay(decay: float, n_averaged: torch.Tensor) -> torch.Tensor:
    """The decay of update n (a 0-dim tensor, so no host sync): (1 + n) / (10 + n), at most decay."""
    return torch.clamp((1.0 + n_averaged) / (10.0 + n_averaged), max=decay)


def _ramped_ema(
    decay: float,
) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        if not averaged[0].is_floating_point():  # BatchNorm's num_batches_tracked: follow G
            torch._foreach_copy_(averaged, current)
            return
        weight = 1.0 - ramped_decay(decay, n.to(averaged[0].dtype))
        torch._foreach_lerp_(averaged, current, weight)

    return update


def moving_average(generator: nn.Module, decay: float) -> AveragedModel:
    """A copy of generator whose update_parameters(generator) moves it toward generator's
    weights and buffers by the ramped decay's share; `.module` is the averaged G."""
    return AveragedModel(generator, multi_avg_fn=_ramped_ema(decay), use_buffers=True)
