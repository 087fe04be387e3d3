import fcntl
import json
import math
import os
import pty
import struct
import subprocess
import termios

import pytest
import torch

from infogan_bench.config import ConfigError
from infogan_bench.errors import DWonError
from infogan_bench.rundir import CheckpointError, RunDir, holds_only_weights
from infogan_bench.scoring.rescore import evaluate_run_dir
from infogan_bench.training import losses
from infogan_bench.training.loop import NonFiniteLossError, train
from tests.conftest import LEARNING_WIDTH, cli_command, tiny_flags


def _weights(run_dir: str, name: str = "last") -> dict[str, torch.Tensor]:
    state = RunDir(run_dir).load_checkpoint(name)
    ema = {f"ema.{k}": v for k, v in state.get("generator_ema", {}).items()}
    return {**state["generator"], **{f"d.{k}": v for k, v in state["discriminator"].items()}, **ema}


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_run_dir_holds_config_metrics_checkpoint_samples_summary(tiny_config):
    config = tiny_config(supervised_fraction=0.1)
    summary = train(config)
    run = RunDir(config.run_dir)
    assert run.load_config() == config
    assert [r["step"] for r in run.read_metrics()] == [2, 4]
    assert run.checkpoint_path().exists()
    assert sorted(p.name for p in run.samples.iterdir()) == [
        "categories.png",
        "confusion.png",
        "traversal_c0.png",
        "traversal_c1.png",
    ]
    assert json.loads(run.summary_path.read_text()) == summary
    assert summary["status"] == "finished" and summary["step"] == 4
    assert 0 <= summary["cat_acc"] <= 1 and summary["n_test"] == 450
    assert summary["loss_supervised"] > 0
    assert summary["mi_max"] == pytest.approx(2.302585, abs=1e-6)
    # the thread count changes a run's trajectory: the summary says what ran it
    kernels, threads = torch.backends.cpu.get_cpu_capability(), torch.get_num_threads()
    assert summary["device"] == f"cpu ({kernels}, {threads} threads)"
    assert summary["torch"] == torch.__version__


def test_same_seed_gives_identical_weights_and_other_seed_does_not(tiny_config, tmp_path):
    train(tiny_config(run_dir=str(tmp_path / "a")))
    train(tiny_config(run_dir=str(tmp_path / "b")))
    train(tiny_config(run_dir=str(tmp_path / "c"), seed=1))
    _assert_same_weights(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    a, c = _weights(tmp_path / "a"), _weights(tmp_path / "c")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_continues_exactly(tiny_config, tmp_path):
    # steps span an epoch boundary (1347 // 64 = 21 steps per epoch) and the labelled batches;
    # last.pt is written at steps 12 and 24 only (160 MB each)
    straight = tiny_config(
        run_dir=str(tmp_path / "straight"),
        steps=24,
        batch_size=64,
        supervised_fraction=0.05,
        checkpoint_every=12,
    )
    train(straight)
    halves = tiny_config(
        run_dir=str(tmp_path / "halves"),
        steps=12,
        batch_size=64,
        supervised_fraction=0.05,
        checkpoint_every=12,
    )
    train(halves)
    summary = train(
        tiny_config(
            run_dir=str(tmp_path / "halves"),
            steps=24,
            batch_size=64,
            supervised_fraction=0.05,
            checkpoint_every=12,
            resume=True,
        )
    )
    assert summary["step"] == 24
    _assert_same_weights(_weights(tmp_path / "straight"), _weights(tmp_path / "halves"))

    def losses_logged(run_dir):
        # timing differs, and the first half scored the test subset at its own last step
        records = RunDir(run_dir).read_metrics()
        return [
            {k: v for k, v in r.items() if k != "images_per_s" and not k.startswith("eval_")}
            for r in records
        ]

    assert losses_logged(tmp_path / "halves") == losses_logged(tmp_path / "straight")


def test_resume_continues_the_ema_hinge_and_extra_d_steps_exactly(tiny_config, tmp_path):
    # 1347 // (2 * 16) = 42 steps per epoch: steps 40-44 cross an epoch of D's double batches
    recipe = dict(batch_size=16, ema_decay=0.9, adv_loss="hinge", d_steps=2, checkpoint_every=22)
    train(tiny_config(run_dir=str(tmp_path / "straight"), steps=44, **recipe))
    train(tiny_config(run_dir=str(tmp_path / "halves"), steps=22, **recipe))
    train(tiny_config(run_dir=str(tmp_path / "halves"), steps=44, resume=True, **recipe))
    straight, halves = _weights(tmp_path / "straight"), _weights(tmp_path / "halves")
    assert any(k.startswith("ema.") for k in straight)
    _assert_same_weights(straight, halves)
    assert not torch.equal(straight["ema.module.up.0.weight"], straight["up.0.weight"])


def test_a_run_in_which_d_has_won_stops_as_failed_saying_from_when(tiny_config, monkeypatch):
    separation = iter([0.5] * 6 + [1.0] * 100)  # D wins from step 7 on
    monkeypatch.setattr(losses, "d_separation", lambda real, fake: torch.tensor(next(separation)))
    config = tiny_config(steps=40, log_every=2, checkpoint_every=4, stop_when_d_won=6)
    with pytest.raises(DWonError, match="D won from step 7: .* for 6 steps"):
        train(config)
    summary = RunDir(config.run_dir).read_summary()
    assert (summary["status"], summary["step"]) == ("failed", 12)
    assert summary["reason"].startswith("D won from step 7")
    assert RunDir(config.run_dir).checkpoint_step() == 12
    assert [r["d_won"] for r in RunDir(config.run_dir).read_metrics()] == [0, 0, 0, 1, 1, 1]


def test_resume_refuses_a_changed_recipe(tiny_config):
    train(tiny_config())
    with pytest.raises(ConfigError, match="resume: lr_g differ"):
        train(tiny_config(lr_g=1e-4, resume=True, steps=8))


def test_fresh_run_refuses_to_overwrite_a_run(tiny_config):
    train(tiny_config())
    with pytest.raises(ConfigError, match="already holds a run; pass --resume true"):
        train(tiny_config())


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tiny_config, monkeypatch):
    config = tiny_config(steps=8)
    real_loss = losses.g_adversarial_loss
    calls = {"n": 0}

    def nan_after_three_steps(fake_logits, kind):
        calls["n"] += 1
        loss = real_loss(fake_logits, kind)
        return loss * float("nan") if calls["n"] > 3 else loss

    monkeypatch.setattr(losses, "g_adversarial_loss", nan_after_three_steps)
    with pytest.raises(NonFiniteLossError, match="loss_g became non-finite between steps 3 and 4"):
        train(config)
    run = RunDir(config.run_dir)
    summary = run.read_summary()
    assert summary["status"] == "failed" and summary["step"] == 4
    assert "non-finite" in summary["reason"]
    assert run.load_checkpoint()["step"] == 2  # the last good state, not the NaN one
    assert all(
        torch.isfinite(v).all() for v in _weights(config.run_dir).values() if v.is_floating_point()
    )


def test_corrupt_and_mismatched_checkpoints_give_one_line_errors(tiny_config):
    config = tiny_config()
    train(config)
    run = RunDir(config.run_dir)
    good = run.checkpoint_path().read_bytes()
    run.checkpoint_path().write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="is corrupt") as err:
        evaluate_run_dir(config.run_dir)
    assert "\n" not in str(err.value)
    run.checkpoint_path().write_bytes(good)
    state = run.load_checkpoint()
    state["discriminator"].pop("d_head.weight")
    run.save_checkpoint({k: v for k, v in state.items() if k != "format"})
    with pytest.raises(CheckpointError, match="does not match this config's models"):
        evaluate_run_dir(config.run_dir)


def test_evaluate_rescores_the_final_checkpoint_identically(tiny_config):
    config = tiny_config()
    summary = train(config)
    scores = evaluate_run_dir(config.run_dir)
    assert {k: scores[k] for k in ("cat_acc", "purity", "nmi", "ari")} == {
        k: summary[k] for k in ("cat_acc", "purity", "nmi", "ari")
    }
    assert (RunDir(config.run_dir).path / "eval_last.json").exists()


def test_short_digits_run_learns_the_codes(tiny_config):
    """150 steps with 5 % of the labels, half-width nets. Measured (2-core CPU, `python
    reports/perf/learning_bounds.py --width 0.5`) over seeds 0-4 at 1 thread and 0-1 at 2 and 4
    threads (9 runs): L_I 0.479-0.587 at step 25 and 1.935-1.953 at the end, cat_acc
    0.787-0.891 (the paper's nets: 2.093-2.140 and 0.864-0.911 over 15 runs).
    The unsupervised cat_acc at this length is not a learning signal (0.122-0.278 over seeds 0-3
    at 1 thread: a trajectory, not a property), so it is the benchmark's number, not a test's."""
    config = tiny_config(
        steps=150,
        batch_size=32,
        log_every=25,
        eval_every=150,
        checkpoint_every=150,
        supervised_fraction=0.05,
        lambda_cat=1.0,  # the paper's weight, as measured
        width=LEARNING_WIDTH,
    )
    summary = train(config)
    records = RunDir(config.run_dir).read_metrics()
    # Q recovers the categorical code of generated images: L_I climbs toward ln 10
    assert records[0]["mi_lower_bound"] < 1.5 and summary["mi_lower_bound"] > 1.85
    # and, guided by a few labels, its categories are the digits far above chance (0.1)
    assert summary["cat_acc"] > 0.7


def test_short_digits_run_with_real_consistency_keeps_categories_under_augmentation(tiny_config):
    """150 unsupervised steps with --real-consistency 1, half-width nets. Measured (2-core CPU,
    `python reports/perf/learning_bounds.py --width 0.5`) over seeds 0-3 at 1 thread and 0-1 at 2
    and 4 threads (8 runs): L_I 0.531-0.570 at step 25 and 1.933-1.963 at the end;
    q_aug_survival 0.813-0.896, q_confidence 0.642-0.688 and q_marginal_entropy 2.141-2.270,
    where runs without the axis (5 % labels instead, the test above) end at 0.582-0.656,
    0.382-0.480 and 2.233-2.281: the entropy bound checks that the axis does not collapse the
    categories. (The paper's nets: survival 0.876-0.929, confidence 0.793-0.836.)"""
    config = tiny_config(
        steps=150,
        batch_size=32,
        log_every=25,
        eval_every=150,
        checkpoint_every=150,
        real_consistency=1.0,
        lambda_cat=1.0,
        width=LEARNING_WIDTH,
    )
    summary = train(config)
    records = RunDir(config.run_dir).read_metrics()
    # the axis leaves InfoGAN's own objective working: L_I climbs toward ln 10
    assert records[0]["mi_lower_bound"] < 1.5 and summary["mi_lower_bound"] > 1.85
    # and does its job on real test images: sure categories that survive the augmentation
    assert summary["q_aug_survival"] > 0.75 and summary["q_confidence"] > 0.55
    assert summary["q_marginal_entropy"] > 0.8 * math.log(10)  # every category in use


def test_short_digits_run_with_info_augment_reads_the_code_through_the_affine(tiny_config):
    """150 unsupervised steps with --info-augment 1 at strength 2 (rotation ±30°, scale and
    shift ±20 %), half-width nets. Measured (2-core CPU, `python reports/perf/learning_bounds.py
    --width 0.5`), seeds 0-2 at 1 thread and seed 0 at 2 and 4 threads: the augmented L_cat falls
    from 2.352-2.398 (chance: ln 10 = 2.30) at step 25 to 0.724-0.970 at the end, L_I climbs from
    0.405-0.491 to 1.859-1.921 (the paper's nets: to 0.50-0.54 and 2.08-2.11)."""
    config = tiny_config(
        steps=150,
        batch_size=32,
        log_every=25,
        eval_every=150,
        checkpoint_every=150,
        info_augment=1.0,
        augment_strength=2.0,
        lambda_cat=1.0,
        width=LEARNING_WIDTH,
    )
    summary = train(config)
    records = RunDir(config.run_dir).read_metrics()
    # the second L_cat leaves InfoGAN's own objective working: L_I climbs toward ln 10
    assert records[0]["mi_lower_bound"] < 1.5 and summary["mi_lower_bound"] > 1.8
    # and Q learns to read G's code through the affine, from chance to far above it
    assert records[0]["loss_info_cat_aug"] > 0.9 * math.log(10)
    assert records[-1]["loss_info_cat_aug"] < 0.5 * math.log(10)


def _train_output(tmp_path, stderr) -> None:
    argv = cli_command(
        "train",
        *tiny_flags(steps=10, tracker="none", device="cpu"),
        f"--run-dir={tmp_path / 'run'}",
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env, check=True, timeout=300)


def test_off_a_terminal_progress_is_one_plain_line_per_log_interval(tmp_path):
    log = tmp_path / "train.log"
    with log.open("w") as handle:  # `infogan-bench train ... > train.log 2>&1`
        _train_output(tmp_path, handle)
    text = log.read_text()
    assert "\r" not in text  # no bar frames
    lines = [line for line in text.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["5/10", "10/10"]
    assert all("images/s  ETA " in line and "loss_d " in line for line in lines)


def test_on_a_terminal_progress_stays_a_bar(tmp_path):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    _train_output(tmp_path, follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert b"\r" in screen and b"10/10" in screen and b"step 5/10 " not in screen


def test_resume_from_a_checkpoint_of_another_kind_of_device(tiny_config, capfd):
    # a CUDA generator's state is 16 bytes (seed, offset); CPU's is 5,056: a requeue onto a node
    # of the other kind continues with a fresh stream seeded by (seed, step)
    train(tiny_config(steps=4))
    run = RunDir(tiny_config().run_dir)
    state = run.load_checkpoint()
    state["rng"] = torch.zeros(16, dtype=torch.uint8)
    torch.save(state, run.checkpoint_path())
    summary = train(tiny_config(steps=8, resume=True))
    assert summary["status"] == "finished" and summary["step"] == 8
    assert "random state is from another kind of device" in capfd.readouterr().err


def test_checkpoint_minutes_writes_last_pt_before_checkpoint_every(tiny_config, monkeypatch):
    saved: list[tuple[str, int]] = []
    real_save = RunDir.save_checkpoint
    monkeypatch.setattr(
        RunDir,
        "save_checkpoint",
        lambda self, state, name="last": (
            saved.append((name, state["step"])) or real_save(self, state, name)
        ),
    )
    train(tiny_config(steps=6, log_every=2, checkpoint_every=1000, checkpoint_minutes=1e-9))
    assert [s for name, s in saved if name == "last"] == [2, 4, 6]
    saved.clear()
    train(tiny_config(run_dir=tiny_config().run_dir + "2", steps=6, checkpoint_every=1000))
    assert [s for name, s in saved if name == "last"] == [6]


def test_best_and_snapshots_hold_weights_only(tiny_config):
    config = tiny_config(steps=4, eval_every=2, score_samples=50, snapshot_every=2, ema_decay=0.9)
    train(config)
    run = RunDir(config.run_dir)
    for name in ("best", "step_2", "step_4"):
        state = run.load_checkpoint(name)
        assert holds_only_weights(state) and "generator_ema" in state, name
    assert not holds_only_weights(run.load_checkpoint())
    # a snapshot is scored as a study's score.sh does: its own eval file, its own step
    scores = evaluate_run_dir(config.run_dir, checkpoint="step_2", n_samples=50)
    written = json.loads((run.path / "eval_step_2.json").read_text())
    assert scores["step"] == written["step"] == 2 and math.isfinite(written["fid_domain"])
