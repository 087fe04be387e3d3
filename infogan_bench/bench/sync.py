"""Host reads inside a training step: on a GPU each (.item(), a tensor in an `if`) makes the CPU
wait for the device. `HostReads` records them on any device, by intercepting the ops that read
a tensor's value (a TorchDispatchMode); tests/training/test_sync_guard.py and reports/perf/gpu.py
use it."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from infogan_bench.training.step import Trainer

HOST_READS = {
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.is_nonzero.default,
    torch.ops.aten.item.default,
}


class HostReads(TorchDispatchMode):
    """Records every op that reads a tensor's value to the host, except reads of `allowed`
    (the optimisers' step counters, which Adam keeps on the CPU whatever the device)."""

    def __init__(self, allowed: list[torch.Tensor]) -> None:
        super().__init__()
        self.allowed = {id(t) for t in allowed}
        self.reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        if func in HOST_READS and id(args[0]) not in self.allowed:
            self.reads.append(f"{func} of a {tuple(args[0].shape)} {args[0].device} tensor")
        return func(*args, **(kwargs or {}))


def step_counters(trainer: Trainer) -> list[torch.Tensor]:
    """The optimisers' `step` tensors (after their first step)."""
    optimisers = [trainer.opt_g, trainer.opt_d, trainer.opt_info]
    return [
        state["step"]
        for opt in optimisers
        if opt is not None
        for state in opt.state.values()
        if torch.is_tensor(state.get("step"))
    ]


def host_reads(trainer: Trainer, real_images: torch.Tensor, steps: int = 2) -> list[str]:
    """The host reads of `steps` training steps on real_images (d_steps * B, C, H, W), after a
    first step that creates the optimisers' state."""
    trainer.step(real_images, None)
    with HostReads(step_counters(trainer)) as guard:
        for _ in range(steps):
            trainer.step(real_images, None)
    return guard.reads
