"""Fault injection: what clusters do to runs (signals, kills, two writers, divergence, torn
files, changed sweeps) and the exact state each leaves behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from infogan_bench.analysis.results import load_run_dirs
from infogan_bench.cli import main
from infogan_bench.config import RunConfig
from infogan_bench.errors import (
    CheckpointError,
    ConfigError,
    DiskFullError,
    Interrupted,
    NonFiniteLossError,
    ScoringError,
)
from infogan_bench.rundir import RunDir
from infogan_bench.scoring.rescore import evaluate_run_dir
from infogan_bench.sweeping.sweep import SweepError, run_dir_name, run_sweep
from infogan_bench.training import loop as train_module
from infogan_bench.training.loop import train
from infogan_bench.training.step import Trainer
from tests.conftest import TINY, cli_command, tiny_flags, tiny_parameters, wait_for

TINY_FLAGS = tiny_flags(tracker="none", progress="false", device="cpu")


def _env() -> dict[str, str]:
    # the same thread count as this process, so a run's numbers match an in-process run
    return {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "WANDB_MODE": "offline"}


def _popen(args: list[str], sighup: signal.Handlers = signal.SIG_DFL, **kw) -> subprocess.Popen:
    """A child with SIGHUP as given (SIG_IGN: as under nohup), whatever this process has."""
    return subprocess.Popen(
        args, env=_env(), preexec_fn=lambda: signal.signal(signal.SIGHUP, sighup), **kw
    )


def _start_train(
    run_dir: Path, *flags: str, sighup: signal.Handlers = signal.SIG_DFL
) -> subprocess.Popen:
    args = cli_command("train", *TINY_FLAGS, f"--run-dir={run_dir}")
    return _popen(
        [*args, *flags], sighup, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _running_at(run: RunDir, step: int) -> bool:
    summary = run.read_summary()
    return summary.get("status") == "running" and summary.get("step", 0) >= step


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = RunDir(run_dir).load_checkpoint()
    return {**state["generator"], **{f"d.{k}": v for k, v in state["discriminator"].items()}}


def _steps(run_dir: Path) -> list[int]:
    return [r["step"] for r in RunDir(run_dir).read_metrics()]


def _tiny(run_dir: Path, **overrides) -> RunConfig:
    values = dict(TINY, tracker="none", progress=False, device="cpu", run_dir=str(run_dir))
    return RunConfig(**{**values, **overrides})


def test_sigterm_checkpoints_the_step_and_resume_matches_an_uninterrupted_run(tmp_path):
    run = RunDir(tmp_path / "killed")
    child = _start_train(run.path, "--steps=60", "--checkpoint-every=1000")
    wait_for(lambda: _running_at(run, 10))  # the running summary moves with the run
    assert run.read_summary()["pid"] == child.pid and "heartbeat" in run.read_summary()
    child.send_signal(signal.SIGTERM)
    assert child.wait(60) == 128 + signal.SIGTERM
    assert "SIGTERM at step" in child.stderr.read()
    summary = run.read_summary()
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM"
    assert 10 <= summary["step"] < 60
    assert run.load_checkpoint()["step"] == summary["step"]  # a checkpoint of that very step
    before = run.load_checkpoint()["elapsed_s"]  # training time up to the signal
    assert before > 0
    # resume continues bit-identically: same weights and one line per logged step
    resumed = train(_tiny(run.path, steps=60, checkpoint_every=1000, resume=True))
    straight = train(_tiny(tmp_path / "straight", steps=60, checkpoint_every=1000))
    assert resumed["status"] == "finished" and resumed["step"] == 60
    a, b = _weights(run.path), _weights(tmp_path / "straight")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _steps(run.path) == _steps(tmp_path / "straight") == list(range(5, 61, 5))
    # wall time covers both parts: the part before the signal and the resumed one
    assert resumed["wall_time_s"] > before
    assert straight["images_per_s"] > 0 and resumed["images_per_s"] > 0


@pytest.mark.parametrize("stop_at", [10, 12])  # a logged, evaluated step; one between rows
def test_a_stop_keeps_every_logged_row_and_resume_fills_in_the_rest(tmp_path, monkeypatch, stop_at):
    # a campaign run stopped right after training step 500 lost step 500's row and eval
    run, trained = RunDir(tmp_path / "stopped"), []
    original = Trainer.step

    def step_then_signal(self, *args):
        losses = original(self, *args)
        trained.append(1)
        if len(trained) == stop_at:
            signal.raise_signal(signal.SIGTERM)
        return losses

    monkeypatch.setattr(Trainer, "step", step_then_signal)
    config = _tiny(run.path, steps=20, eval_every=10, checkpoint_every=1000)
    with pytest.raises(Interrupted) as stopped:
        train(config)
    assert stopped.value.step == stop_at == run.load_checkpoint()["step"]
    assert _steps(run.path) == [5, 10] and "eval_cat_acc" in run.read_metrics()[-1]
    monkeypatch.undo()
    assert (
        train(_tiny(run.path, steps=20, eval_every=10, checkpoint_every=1000, resume=True))[
            "status"
        ]
        == "finished"
    )
    assert _steps(run.path) == [5, 10, 15, 20]
    assert [r["step"] for r in run.read_metrics() if "eval_cat_acc" in r] == [10, 20]


def test_a_repeated_sighup_is_one_stop_request_and_a_second_sigterm_stops_at_once():
    # a sweep child gets its parent-death SIGHUP once per thread of the dead runner
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as a run sees it without nohup
    try:
        with train_module._stop_requests() as stop:
            signal.raise_signal(signal.SIGHUP)
            signal.raise_signal(signal.SIGHUP)
            assert stop.signum == signal.SIGHUP
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGTERM)  # someone asks on purpose: at once
        with train_module._stop_requests() as stop:
            signal.raise_signal(signal.SIGTERM)
            assert stop.signum == signal.SIGTERM
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGTERM)
        with train_module._stop_requests() as stop:
            stop.trained_to = 7  # scoring: the first signal stops at once, with the trained step
            with pytest.raises(Interrupted) as stopped:
                signal.raise_signal(signal.SIGHUP)
            assert stopped.value.step == 7 and stopped.value.exit_code == 129
            signal.raise_signal(signal.SIGHUP)  # while the summary is written: ignored
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_sighup_stops_a_run_after_a_checkpoint_unless_the_caller_ignores_it(tmp_path):
    run = RunDir(tmp_path / "hup")
    child = _start_train(run.path, "--steps=100000", "--checkpoint-every=1000")
    wait_for(lambda: _running_at(run, 10))
    child.send_signal(signal.SIGHUP)  # a closed terminal
    assert child.wait(60) == 128 + signal.SIGHUP
    summary = run.read_summary()
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGHUP"
    assert run.load_checkpoint()["step"] == summary["step"]
    # started with nohup, a run trains on through SIGHUP; SIGTERM still stops it
    nohup = RunDir(tmp_path / "nohup")
    child = _start_train(
        nohup.path, "--steps=100000", "--checkpoint-every=1000", sighup=signal.SIG_IGN
    )
    wait_for(lambda: _running_at(nohup, 10))
    child.send_signal(signal.SIGHUP)
    step = nohup.read_summary()["step"]
    wait_for(lambda: _running_at(nohup, step + 10), 120, nohup.read_summary)
    child.send_signal(signal.SIGTERM)
    assert child.wait(60) == 128 + signal.SIGTERM
    assert nohup.read_summary()["signal"] == "SIGTERM"


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    run = RunDir(tmp_path / "run")
    with run.lock():
        child = _start_train(run.path, "--steps=4")
        assert child.wait(120) == 2
        err = child.stderr.read().strip()
    assert err.endswith(
        f"is in use by another process (pid {os.getpid()}); wait for it to finish or stop it"
    )
    assert len(err.splitlines()) == 1
    assert not run.summary_path.exists() and not run.config_path.exists()


def test_a_diverging_update_never_reaches_a_checkpoint_or_the_scorer(tmp_path):
    config = _tiny(
        tmp_path / "run",
        lr_d=1e7,
        lr_g=1e7,
        steps=20,
        log_every=1,
        checkpoint_every=2,
        eval_every=2,
        score_samples=100,
    )
    with pytest.raises(NonFiniteLossError) as err:
        train(config)
    run = RunDir(config.run_dir)
    summary = run.read_summary()
    assert summary["status"] == "failed" and "non-finite" in summary["reason"]
    good = run.checkpoint_step()
    if good is None:
        assert "no checkpoint was written before it" in str(err.value)
    else:
        assert f"last.pt holds step {good}, the last good state" in str(err.value)
        assert all(
            torch.isfinite(t).all() for t in _weights(run.path).values() if t.is_floating_point()
        )
    assert summary["step"] > (good or 0)


def test_scoring_a_diverged_checkpoint_is_a_one_line_error(tmp_path):
    config = _tiny(tmp_path / "run", steps=4, checkpoint_every=2)
    train(config)
    run = RunDir(config.run_dir)
    state = run.load_checkpoint()
    state["generator"]["fc.0.weight"].fill_(float("nan"))
    run.save_checkpoint({k: v for k, v in state.items() if k != "format"})
    with pytest.raises(ScoringError, match="non-finite weights .*cannot be scored") as err:
        evaluate_run_dir(config.run_dir, n_samples=100)
    assert "\n" not in str(err.value)


def test_resume_never_rewrites_a_finished_run(tmp_path):
    config = _tiny(tmp_path / "run", steps=12, checkpoint_every=6)
    train(config)
    run = RunDir(config.run_dir)
    files = {p: p.read_bytes() for p in (run.summary_path, run.config_path, run.metrics_path)}
    with pytest.raises(ConfigError, match=r"steps: 4 is below the step of .*last.pt \(12\)"):
        train(_tiny(run.path, steps=4, checkpoint_every=6, resume=True))
    again = train(_tiny(run.path, steps=12, checkpoint_every=6, resume=True))  # a no-op
    assert {p: p.read_bytes() for p in files} == files and again == json.loads(
        files[run.summary_path]
    )
    longer = train(_tiny(run.path, steps=18, checkpoint_every=6, resume=True))
    assert longer["step"] == 18 and _steps(run.path) == [5, 6, 10, 12, 15, 18]
    assert longer["wall_time_s"] >= json.loads(files[run.summary_path])["wall_time_s"]


def test_a_failure_after_training_is_recorded_and_reported_in_one_line(
    tmp_path, monkeypatch, capsys
):
    def broken_scoring(*args, **kwargs):
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(train_module, "score_model", broken_scoring)
    config = _tiny(tmp_path / "run", steps=4)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in config.to_dict().items()]
    assert main(["train", *flags]) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .startswith("infogan-bench: unexpected RuntimeError: scoring broke")
    )
    summary = RunDir(config.run_dir).read_summary()
    assert summary == {"status": "failed", "step": 4, "reason": "scoring broke"}


def test_a_torn_metrics_line_is_dropped_on_resume_and_read_around_by_the_report(tmp_path):
    config = _tiny(tmp_path / "runs" / "a", steps=10, checkpoint_every=5)
    train(config)
    run = RunDir(config.run_dir)
    with run.metrics_path.open("a") as f:
        f.write('{"step": 15, "loss_d": 1.2')  # a write cut off by a kill
    with pytest.warns(UserWarning, match="dropped a torn last line"):
        assert len(load_run_dirs([tmp_path / "runs"]).frame) == 1
    with pytest.warns(UserWarning, match="dropped a torn last line"):
        train(_tiny(run.path, steps=15, checkpoint_every=5, resume=True))
    assert _steps(run.path) == [5, 10, 15]


def test_a_moved_run_dir_resumes(tmp_path):
    train(_tiny(tmp_path / "here", steps=5, checkpoint_every=5))
    (tmp_path / "here").rename(tmp_path / "there")
    assert train(_tiny(tmp_path / "there", steps=10, checkpoint_every=5, resume=True))["step"] == 10


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    (tmp_path / "twice.yaml").write_text("seed: 1\nseed: 2\n")
    cases = {
        ("--beta1", "1"): "beta1: expected a value >= 0.0 and < 1.0, got 1.0",
        ("--run-dir", str(tmp_path / "file")): "is a file, not a folder",
        ("--config", str(tmp_path)): "not a YAML file",
        ("--config", str(tmp_path / "twice.yaml")): "key(s) seed given more than once",
    }
    for flags, message in cases.items():
        assert main(["train", *flags, "--tracker=none"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    train(_tiny(tmp_path / "run", steps=2, checkpoint_every=2))
    with pytest.raises(CheckpointError, match="give a name in"):
        evaluate_run_dir(tmp_path / "run", checkpoint="../../x")


def test_a_corrupt_mnist_file_is_called_corrupt(tmp_path):
    from infogan_bench.data.datasets import load_dataset
    from infogan_bench.errors import DatasetError

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (raw / name).write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05" + b"\x01" * 20)  # truncated
    with pytest.raises(DatasetError, match="look corrupt"):
        load_dataset("mnist", tmp_path)


# --- sweeps -------------------------------------------------------------------------------------

TINY_SWEEP = {
    "method": "grid",
    "metric": {"name": "cat_acc", "goal": "maximize"},
    "parameters": {
        **tiny_parameters(checkpoint_every=1000, steps=10),
        "seed": {"values": [0, 1]},
    },
}
# checkpoint_every 1000: a tiny run's only checkpoints are its signal's and its last step's
# (each ~10 MB at TEST_WIDTH, ~160 MB with the paper's nets: weights and their Adam states)


def _sweep_file(tmp_path: Path, sweep: dict, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(sweep))
    return path


def test_a_sweep_that_lost_a_run_says_which_and_exits_non_zero(tmp_path, capsys):
    path, out = _sweep_file(tmp_path, TINY_SWEEP), tmp_path / "out"
    held = RunDir(out / "001-seed=1")
    with held.lock():  # another writer (a second lane of a campaign) holds the second run
        assert held.holder() == str(os.getpid())
        code = main(["sweep", "run", str(path), "--out", str(out), "--tracker", "none"])
    captured = capsys.readouterr()
    assert code == 1
    assert "not finished: 001-seed=1 (busy)" in captured.err
    assert "[1/2] 000-seed=0 finished (elapsed" in captured.out and "ETA" in captured.out
    assert f"[001-seed=1] in use by another process (pid {os.getpid()}); left to it" in captured.out
    assert "[2/2] 001-seed=1 busy" in captured.out
    assert not (held.path / "train.log").exists()  # no child was started only to be refused
    assert held.holder() is None
    assert main(["sweep", "run", str(path), "--out", str(out), "--tracker", "none"]) == 0
    assert "2 runs: 2 finished (1 earlier), 0 not" in capsys.readouterr().out


def test_a_changed_sweep_is_refused_in_a_folder_of_another_sweeps_runs(tmp_path):
    out = tmp_path / "out"
    run_sweep(_sweep_file(tmp_path, TINY_SWEEP), out, tracker="none")
    saved = (out / "sweep.yaml").read_text()
    changed = json.loads(json.dumps(TINY_SWEEP))
    changed["parameters"]["steps"] = {"value": 20}
    changed["parameters"]["lr_g"] = {"value": 1e-4}
    with pytest.raises(SweepError, match=r"holds the runs of another sweep \(lr_g, steps differ"):
        run_sweep(_sweep_file(tmp_path, changed, "changed.yaml"), out, tracker="none")
    assert (out / "sweep.yaml").read_text() == saved
    # how often runs checkpoint is bookkeeping, not another sweep: the folder's runs stay its
    cadence = json.loads(json.dumps(TINY_SWEEP))
    cadence["parameters"]["checkpoint_every"] = {"value": 1000}
    outcomes = run_sweep(_sweep_file(tmp_path, cadence, "cadence.yaml"), out, tracker="none")
    assert {o.status for o in outcomes} == {"skipped"}


def test_long_values_give_short_stable_unique_names():
    long_a, long_b = "x" * 300, "x" * 299 + "y"
    name_a = run_dir_name(0, {"tags": long_a, "seed": 1}, ["tags", "seed"])
    assert name_a == run_dir_name(0, {"tags": long_a, "seed": 1}, ["tags", "seed"])
    assert name_a != run_dir_name(0, {"tags": long_b, "seed": 1}, ["tags", "seed"])
    assert len(name_a) < 60 and name_a.endswith("-seed=1")


def test_a_killed_sweep_runner_leaves_no_orphan_and_a_rerun_finishes(tmp_path):
    sweep = json.loads(json.dumps(TINY_SWEEP))
    sweep["parameters"]["steps"] = {"value": 60}
    sweep["parameters"]["seed"] = {"value": 0}
    path, out = _sweep_file(tmp_path, sweep), tmp_path / "out"
    command = cli_command("sweep", "run", path, "--out", out, "--tracker", "none")
    # started as with nohup (SIGHUP ignored), as long campaigns are
    runner = _popen(command, signal.SIG_IGN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = RunDir(out / "000")
    wait_for(lambda: _running_at(run, 10))
    child_pid = run.read_summary()["pid"]
    runner.kill()  # SIGKILL: no handler runs in the runner
    runner.wait()
    wait_for(lambda: run.read_summary().get("status") == "interrupted", 120, run.read_summary)
    assert run.read_summary()["signal"] == "SIGHUP"  # the parent-death signal, however often sent
    wait_for(
        lambda: not Path(f"/proc/{child_pid}").exists() or _zombie(child_pid),
        120,
        lambda: (run.read_summary(), (run.path / "train.log").read_text()[-2000:]),
    )
    rerun = subprocess.run(command, env=_env(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert run.read_summary()["status"] == "finished"
    assert _steps(run.path) == list(range(5, 61, 5))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_a_stopped_sweep_checkpoints_its_run_starts_no_other_and_a_rerun_finishes(tmp_path):
    sweep = json.loads(json.dumps(TINY_SWEEP))
    sweep["parameters"]["steps"] = {"value": 40}
    path, out = _sweep_file(tmp_path, sweep), tmp_path / "out"
    command = cli_command("sweep", "run", path, "--out", out, "--tracker", "none")
    runner = _popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first, second = RunDir(out / "000-seed=0"), RunDir(out / "001-seed=1")
    wait_for(lambda: _running_at(first, 10))
    runner.send_signal(signal.SIGTERM)
    stdout, stderr = runner.communicate(timeout=120)
    assert runner.returncode == 1, stderr
    assert "001-seed=1 not started" in stdout
    assert "not finished: 000-seed=0 (interrupted), 001-seed=1 (not started)" in stderr
    summary = first.read_summary()
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM"
    assert first.load_checkpoint()["step"] == summary["step"] >= 10
    assert not second.path.exists()  # nothing made for a run that never started
    rerun = subprocess.run(command, env=_env(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert _steps(first.path) == _steps(second.path) == list(range(5, 41, 5))


ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _disk_fills_on(
    calls: list[int], fill_at: int, real_write, path_of=lambda args: args[1], error=ENOSPC
):
    """A writer that, on its fill_at-th call, writes 3 MB of the file and then finds the disk
    full (raises `error`), as a real write does part-way; the other calls write as usual.
    path_of: where the written file's path is among the writer's arguments."""

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) == fill_at:
            Path(path_of(args)).write_bytes(b"x" * 3_000_000)
            raise error
        return real_write(*args, **kwargs)

    return write


@pytest.mark.parametrize("flavour", ["ENOSPC", "torch's zip writer"])
def test_a_full_disk_keeps_the_last_checkpoint_leaves_no_temp_file_and_says_how_to_resume(
    tmp_path, monkeypatch, capsys, flavour
):
    run_dir = tmp_path / "run"
    argv = ["train", *TINY_FLAGS, "--steps=8", "--checkpoint-every=2", f"--run-dir={run_dir}"]
    calls: list[int] = []  # checkpoint writes: last.pt at steps 2, 4, then the disk fills at 6
    error = ENOSPC
    if flavour != "ENOSPC":  # what torch.save raised on a full tmpfs, with next to nothing free
        error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 7 vs 5")
        full = shutil.disk_usage(tmp_path)._replace(free=4096)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    monkeypatch.setattr(torch, "save", _disk_fills_on(calls, 3, torch.save, error=error))
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"infogan-bench: error: disk full writing {run_dir}/checkpoints/last.pt")
    assert "(needs ~" in err and "MB free): free at least " in err
    assert err.endswith("--resume true continues from step 4")
    assert "\n" not in err
    assert not list(run_dir.rglob("*.tmp"))  # the half-written checkpoint is gone
    summary = RunDir(run_dir).read_summary()
    assert summary["status"] == "failed" and summary["reason"].startswith("disk full writing")
    assert RunDir(run_dir).checkpoint_step() == 4
    monkeypatch.undo()  # space freed
    assert main([*argv, "--resume=true"]) == 0
    steps = [r["step"] for r in RunDir(run_dir).read_metrics()]
    assert steps == sorted(set(steps)) and steps[-1] == 8  # every step once


def test_a_full_disk_while_writing_the_summary_keeps_the_old_one(tmp_path, monkeypatch):
    run = RunDir(tmp_path)
    run.write_summary({"status": "running", "step": 4})
    calls: list[int] = []
    fills = _disk_fills_on(calls, 1, Path.write_text, path_of=lambda args: args[0])  # (self, text)
    monkeypatch.setattr(Path, "write_text", fills)
    with pytest.raises(DiskFullError, match=r"disk full writing .*summary.json \(needs ~3 MB, "):
        run.write_summary({"status": "finished", "step": 8})
    monkeypatch.undo()
    assert run.read_summary() == {"status": "running", "step": 4}
    assert not list(tmp_path.glob("*.tmp"))
