"""An exponential moving average of G's weights and BatchNorm statistics (StudioGAN, BigGAN).

The decay ramps up as min(decay, (1 + n) / (10 + n)) over the first n updates (TensorFlow's
ExponentialMovingAverage with num_updates), so that G's random initial weights leave the average
within ~100 steps at short budgets. Not torch's AveragedModel: it reads its update counter to the
host twice per update, and a lerp with a tensor weight reads that weight too (three GPU syncs per
step); here the counter is a Python int and the weight a float. Its checkpoint entry keeps
AveragedModel's layout (module.* and n_averaged).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from infogan_bench.nets.models import averaged_weights


def ramped_decay(decay: float, updates: int) -> float:
    """The decay of the update after `updates` others: (1 + n) / (10 + n), at most decay."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class MovingAverage:
    """A copy of G that update(G) moves toward G's weights and buffers by the ramped decay's
    share (the first update copies G); `.module` is the averaged G."""

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(generator).requires_grad_(False)
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        mine = [*self.module.parameters(), *self.module.buffers()]
        theirs = [*generator.parameters(), *generator.buffers()]
        pairs = list(zip(mine, theirs, strict=True))
        floats = [(a, b) for a, b in pairs if a.is_floating_point()]
        averaged, current = [a for a, _ in floats], [b for _, b in floats]
        if self.updates == 0:
            torch._foreach_copy_(averaged, current)
        else:
            torch._foreach_lerp_(averaged, current, 1.0 - ramped_decay(self.decay, self.updates))
        for a, b in pairs:  # BatchNorm's num_batches_tracked: follow G
            if not a.is_floating_point():
                a.copy_(b)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        weights = {f"module.{k}": v for k, v in self.module.state_dict().items()}
        return {**weights, "n_averaged": torch.tensor(self.updates)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(averaged_weights(state))
        self.updates = int(state["n_averaged"])
