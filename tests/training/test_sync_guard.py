"""The training step reads nothing back to the host: on a GPU each such read (.item(), a tensor
in an `if`) makes the CPU wait for the device. Checked on the CPU by intercepting the ops that
read a tensor's value (TorchDispatchMode), for every axis combination, fresh and resumed."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from infogan_bench.config import RunConfig
from infogan_bench.rundir import RunDir
from infogan_bench.training.step import Trainer

HOST_READS = {
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.is_nonzero.default,
    torch.ops.aten.item.default,
}
CPU = torch.device("cpu")


class HostReads(TorchDispatchMode):
    """Records every op that reads a tensor's value to the host, except reads of `allowed`
    (the optimisers' step counters, which Adam keeps on the CPU whatever the device)."""

    def __init__(self, allowed: list[torch.Tensor]) -> None:
        super().__init__()
        self.allowed = {id(t) for t in allowed}
        self.reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in HOST_READS and id(args[0]) not in self.allowed:
            self.reads.append(f"{func} of a {tuple(args[0].shape)} tensor")
        return func(*args, **(kwargs or {}))


def _step_counters(trainer: Trainer) -> list[torch.Tensor]:
    optimisers = [trainer.opt_g, trainer.opt_d, trainer.opt_info]
    return [
        state["step"]
        for opt in optimisers
        if opt is not None
        for state in opt.state.values()
        if torch.is_tensor(state.get("step"))
    ]


def host_reads(trainer: Trainer, steps: int = 2) -> list[str]:
    torch.manual_seed(1)
    real = torch.rand(trainer.config.d_steps * 8, 1, 28, 28)
    trainer.step(real, None)  # Adam creates its state (and step counters) on the first step
    with HostReads(_step_counters(trainer)) as guard:
        for _ in range(steps):
            trainer.step(real, None)
    return guard.reads


AXES = list(
    itertools.product(["transpose", "upsample"], ["batch", "spectral"], ["mse", "gaussian-nll"])
)


@pytest.mark.parametrize("generator, d_norm, q_cont_loss", AXES)
def test_no_step_reads_a_tensor_to_the_host(generator, d_norm, q_cont_loss):
    config = RunConfig(generator=generator, d_norm=d_norm, q_cont_loss=q_cont_loss, width=0.25)
    trainer = Trainer.create(config, (1, 28, 28), 10, CPU)
    assert host_reads(trainer) == []


@pytest.mark.parametrize(
    "options",
    [
        {"supervised_fraction": 0.1},
        {"adv_loss": "hinge", "d_steps": 2, "ema_decay": 0.999},
        {"q_optimizer": "separate", "real_consistency": 1.0, "info_augment": 1.0},
        {"feature_matching": 1.0, "label_smoothing": 0.1},
    ],
)
def test_no_training_option_reads_a_tensor_to_the_host(options):
    trainer = Trainer.create(RunConfig(width=0.25, **options), (1, 28, 28), 10, CPU)
    assert host_reads(trainer) == []


def test_a_resumed_step_reads_nothing_and_keeps_adams_counters_on_the_cpu(tmp_path):
    # torch.load(map_location=device) put Adam's step counters on the GPU, and Adam reads them
    # with .item() every step: checkpoints load on the CPU, and Adam keeps them there
    config = RunConfig(q_cont_loss="gaussian-nll", width=0.25, run_dir=str(tmp_path))
    trainer = Trainer.create(config, (1, 28, 28), 10, CPU)
    host_reads(trainer, steps=1)
    run = RunDir(tmp_path)
    run.save_checkpoint(trainer.state_dict(step=2))
    resumed = Trainer.create(config, (1, 28, 28), 10, CPU)
    resumed.load_state_dict(run.load_checkpoint())
    counters = _step_counters(resumed)
    assert counters and all(c.device == CPU and c.dim() == 0 for c in counters)
    assert host_reads(resumed) == []


def test_the_guard_sees_a_host_read():
    trainer = Trainer.create(RunConfig(width=0.25), (1, 28, 28), 10, CPU)
    with HostReads([]) as guard:
        if trainer.generator.fc[0].weight.sum() > 0:  # a tensor in an `if`
            pass
    assert guard.reads
