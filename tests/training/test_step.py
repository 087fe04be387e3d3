import os

import pytest
import torch

from infogan_bench.config import ConfigError, RunConfig
from infogan_bench.device import set_threads
from infogan_bench.nets.latent import sample_latent
from infogan_bench.scoring.metrics.thickness import ThicknessScale
from infogan_bench.training import losses
from infogan_bench.training.step import Trainer

CPU = torch.device("cpu")


def _trainer(**fields) -> Trainer:
    torch.manual_seed(0)
    return Trainer.create(RunConfig(**fields), (1, 28, 28), n_classes=10, device=CPU)


def _moved(trainer: Trainer, update) -> set[str]:
    """Which parts (g, trunk, d_head, q_head) have a parameter changed by update()."""
    named = [*trainer.discriminator.named_parameters(), *trainer.generator.named_parameters("g")]
    before = {name: p.detach().clone() for name, p in named}
    update()
    return {name.split(".")[0] for name, p in named if not torch.equal(before[name], p)}


@pytest.mark.parametrize(
    "mode, d_step, g_step, info_step",
    [
        ("with-d", {"trunk", "d_head", "q_head"}, {"g"}, None),
        ("with-g", {"trunk", "d_head"}, {"g", "q_head"}, None),
        ("separate", {"trunk", "d_head"}, {"g"}, {"g", "trunk", "q_head"}),
    ],
)
def test_each_q_optimizer_mode_updates_exactly_its_parameter_groups(
    mode, d_step, g_step, info_step
):
    trainer = _trainer(q_optimizer=mode)
    real = torch.rand(8, 1, 28, 28)
    latent = sample_latent(trainer.config, 8, trainer.rng, CPU)
    fake = trainer.generator(latent.vector())
    assert _moved(trainer, lambda: trainer.d_step(real, fake.detach(), latent, None)) == d_step
    assert _moved(trainer, lambda: trainer.g_step(real, fake, latent, None)) == g_step
    assert (trainer.opt_info is None) == (info_step is None)
    if info_step:
        assert _moved(trainer, lambda: trainer.info_step(real, None)) == info_step


@pytest.mark.parametrize(
    "mode, lr_q, expected",
    [
        ("with-d", 0.0, 2e-4),
        ("with-d", 5e-5, 5e-5),
        ("with-g", 0.0, 1e-3),
        ("separate", 0.0, 2e-4),
        ("separate", 3e-4, 3e-4),
    ],
)
def test_q_heads_learning_rate(mode, lr_q, expected):
    trainer = _trainer(q_optimizer=mode, lr_q=lr_q)
    q_weight = trainer.discriminator.q_head[0].weight
    optimisers = [trainer.opt_d, trainer.opt_g, trainer.opt_info]
    rates = [
        g["lr"]
        for opt in optimisers
        if opt
        for g in opt.param_groups
        if any(p is q_weight for p in g["params"])
    ]
    assert rates == [expected]


def test_label_smoothing_reaches_ds_loss(monkeypatch):
    seen = []
    real_loss = losses.d_adversarial_loss
    monkeypatch.setattr(
        losses,
        "d_adversarial_loss",
        lambda r, f, s, *kind: seen.append(s) or real_loss(r, f, s, *kind),
    )
    _trainer(label_smoothing=0.2).step(torch.rand(8, 1, 28, 28), None)
    assert seen == [0.2]


def test_feature_matching_and_guidance_enter_the_losses():
    real = torch.rand(8, 1, 28, 28)
    stats = _trainer(feature_matching=1.0).step(real, None)
    assert stats["loss_feature_matching"] > 0
    scale = ThicknessScale(torch.rand(100, 1, 28, 28))
    torch.manual_seed(0)
    trainer = Trainer.create(RunConfig(cont_guidance="thickness"), (1, 28, 28), 10, CPU, scale)
    D = trainer.discriminator
    _, q_real = D(real)  # Q's code-0 mean before the step, in training mode as in the step
    expected = torch.nn.functional.mse_loss(q_real[:, 10], scale(real)).item()
    stats = trainer.step(real, None)
    assert stats["loss_guidance"] == pytest.approx(expected, rel=1e-4)


def test_thickness_guidance_needs_one_channel_images():
    with pytest.raises(ConfigError, match="cont_guidance: thickness needs 1-channel"):
        Trainer.create(RunConfig(cont_guidance="thickness"), (3, 32, 32), 10, CPU)
    with pytest.raises(ConfigError, match="cont_guidance: needs a continuous code"):
        RunConfig(cont_guidance="thickness", n_cont_codes=0)


@pytest.mark.parametrize(
    "threads, omp, load, expected, warned",
    [
        (1, None, 0.3, 1, False),  # --threads wins
        (0, "1", 0.3, 1, False),  # OMP_NUM_THREADS, as a sweep runner sets it
        (0, None, 0.3, 2, False),  # the CPUs this process may use
        (0, None, 1.9, 2, True),  # another run already fills the machine
        (0, None, 1.2, 2, True),  # a run at one thread on 2 CPUs: two more do not fit
        (0, None, 0.6, 2, False),  # light background work
        (2, None, 1.9, 2, False),  # chosen by the user: no advice to choose
        (0, "2", 1.9, 2, False),  # or by the environment (a sweep runner's cores/N)
    ],
)
def test_threads_follow_the_flag_the_environment_or_the_usable_cpus_and_warn_on_a_busy_machine(
    monkeypatch, capsys, threads, omp, load, expected, warned
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    before = torch.get_num_threads()
    try:
        config = RunConfig(threads=threads, device="auto")
        assert set_threads(config, torch.device("cpu")) == expected
        assert torch.get_num_threads() == expected
        err = capsys.readouterr().err
        assert ("warning: load" in err and "--threads 2/N" in err) == warned
        # --device auto that found a GPU: the CPUs' load is not the run's business
        set_threads(config, torch.device("cuda"))
        assert "warning" not in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)


def test_d_steps_updates_d_that_often_per_g_update_each_on_its_own_batch(monkeypatch):
    trainer = _trainer(d_steps=3)
    seen: list[torch.Tensor] = []
    d_step = trainer.d_step
    monkeypatch.setattr(trainer, "d_step", lambda real, *a: seen.append(real) or d_step(real, *a))
    real = torch.rand(3 * 8, 1, 28, 28)
    trainer.step(real, None)
    assert [r.shape[0] for r in seen] == [8, 8, 8]
    assert all(torch.equal(r, part) for r, part in zip(seen, real.chunk(3), strict=True))
    assert trainer.opt_d.state_dict()["state"][0]["step"] == 3
    assert trainer.opt_g.state_dict()["state"][0]["step"] == 1
