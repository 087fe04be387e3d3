"""The GPU options do not change the math: tested on the CPU, where bf16 autocast, fused Adam and
a compiled graph all run (docs/performance.md: the GPU options)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from infogan_bench.config import RunConfig
from infogan_bench.training.step import Trainer, _optimisers

CPU = torch.device("cpu")


def _steps(config: RunConfig, steps: int = 3) -> tuple[Trainer, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    trainer = Trainer.create(config, (1, 28, 28), 10, CPU)
    data = torch.Generator().manual_seed(1)
    for _ in range(steps):
        stats = trainer.step(torch.rand(16, 1, 28, 28, generator=data), None)
    return trainer, stats


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {
        **{f"g.{k}": v for k, v in trainer.generator.state_dict().items()},
        **{f"d.{k}": v for k, v in trainer.discriminator.state_dict().items()},
    }


def test_bf16_autocast_runs_g_and_ds_trunk_in_bf16_and_keeps_the_rest_fp32():
    fields = {"width": 0.25, "d_norm": "spectral", "q_cont_loss": "gaussian-nll"}
    fp32, fp32_stats = _steps(RunConfig(**fields))
    bf16, bf16_stats = _steps(RunConfig(autocast="bf16", **fields))
    # weights, spectral norm's power-iteration vectors and BatchNorm's statistics stay fp32
    assert all(v.dtype in (torch.float32, torch.int64) for v in _weights(bf16).values())
    assert bf16.opt_d.state[next(iter(bf16.opt_d.state))]["exp_avg"].dtype == torch.float32
    for name, value in bf16_stats.items():  # fp32 losses, within bf16's rounding of fp32's
        assert value.dtype == torch.float32, name
        assert value.item() == pytest.approx(fp32_stats[name].item(), rel=0.05, abs=0.02), name
    # the trunk really ran in bf16: its features differ from fp32's by rounding, not more
    images = torch.rand(8, 1, 28, 28)
    bf16.discriminator.load_state_dict(fp32.discriminator.state_dict())
    exact = fp32._trunk(images)
    rounded = bf16._trunk(images)
    assert rounded.dtype == torch.float32 and not torch.equal(rounded, exact)
    assert torch.allclose(rounded, exact, rtol=0.05, atol=0.05)


def test_fused_adam_takes_the_same_steps_as_torchs_default():
    config = RunConfig(width=0.25)
    torch.manual_seed(0)
    default = Trainer.create(config, (1, 28, 28), 10, CPU)
    fused = Trainer.create(config, (1, 28, 28), 10, CPU)
    fused.generator.load_state_dict(default.generator.state_dict())
    fused.discriminator.load_state_dict(default.discriminator.state_dict())
    fused.opt_g, fused.opt_d, _ = _optimisers(config, fused.generator, fused.discriminator, True)
    assert fused.opt_g.defaults["fused"] and not default.opt_g.defaults["fused"]
    for trainer in (default, fused):
        trainer.rng.manual_seed(0)
        torch.manual_seed(1)
        for _ in range(3):
            trainer.step(torch.rand(16, 1, 28, 28), None)
    # compared by what the nets compute, not weight by weight: a bias just before a BatchNorm
    # gets a gradient of ~1e-12, which Adam scales to +-lr, so rounding picks its sign; such a
    # bias changes no output in training mode
    torch.manual_seed(2)
    latent, images = torch.rand(16, config.noise_dim + 12), torch.rand(16, 1, 28, 28)
    assert torch.allclose(fused.generator(latent), default.generator(latent), atol=1e-5)
    for ours, theirs in zip(
        fused.discriminator(images), default.discriminator(images), strict=True
    ):
        assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_compile_compiles_g_and_ds_trunk_in_place_and_keeps_the_steps(monkeypatch):
    # torch.compile's graph capture with its eager backend: the same math as without, in seconds
    # (inductor's code generation on a CPU takes minutes; on a GPU the wall time is the point)
    compiled: list[type] = []
    original = nn.Module.compile

    def eager_compile(module: nn.Module, **kwargs) -> None:
        compiled.append(type(module))
        original(module, backend="eager")

    monkeypatch.setattr(nn.Module, "compile", eager_compile)
    plain, plain_stats = _steps(RunConfig(width=0.25, ema_decay=0.9))
    graph, graph_stats = _steps(RunConfig(width=0.25, ema_decay=0.9, compile=True))
    assert [c.__name__ for c in compiled] == ["Generator", "Sequential"]
    assert graph.discriminator.trunk._compiled_call_impl is not None
    assert graph.ema is not None and graph.ema.module._compiled_call_impl is None  # samples eager
    assert _weights(graph).keys() == _weights(plain).keys()  # checkpoints keep their names
    for name, value in _weights(plain).items():
        assert torch.allclose(_weights(graph)[name], value, rtol=1e-5, atol=1e-6), name
    assert torch.allclose(graph_stats["loss_g"], plain_stats["loss_g"], rtol=1e-5)
