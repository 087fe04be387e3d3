"""The training step reads nothing back to the host: on a GPU each such read (.item(), a tensor
in an `if`) makes the CPU wait for the device. Checked on the CPU by intercepting the ops that
read a tensor's value (TorchDispatchMode), for every axis combination, fresh and resumed."""

from __future__ import annotations

import itertools

import pytest
import torch

from infogan_bench.bench.sync import HostReads, step_counters
from infogan_bench.bench.sync import host_reads as guarded_reads
from infogan_bench.config import RunConfig
from infogan_bench.rundir import RunDir
from infogan_bench.training.step import Trainer

CPU = torch.device("cpu")


def host_reads(trainer: Trainer, steps: int = 2) -> list[str]:
    torch.manual_seed(1)
    return guarded_reads(trainer, torch.rand(trainer.config.d_steps * 8, 1, 28, 28), steps)


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
        {"autocast": "bf16", "d_norm": "spectral", "q_cont_loss": "gaussian-nll"},
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
    counters = step_counters(resumed)
    assert counters and all(c.device == CPU and c.dim() == 0 for c in counters)
    assert host_reads(resumed) == []


def test_the_guard_sees_a_host_read():
    trainer = Trainer.create(RunConfig(width=0.25), (1, 28, 28), 10, CPU)
    with HostReads([]) as guard:
        if trainer.generator.fc[0].weight.sum() > 0:  # a tensor in an `if`
            pass
    assert guard.reads
