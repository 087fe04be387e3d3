import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import wandb

from infogan_bench.config import RunConfig
from infogan_bench.errors import CheckpointError
from infogan_bench.rundir import RunDir, atomic_save, weights_only
from infogan_bench.sweeping.sweep import expand, load_sweep
from infogan_bench.tracking import WandbTracker, wandb_mode, wandb_run_name
from infogan_bench.training import loop as train_module
from infogan_bench.training.loop import train
from tests.conftest import cli_command, tiny_flags, wait_for
from tests.wandb_records import config_and_summary, finished_records

SWEEPS = Path(__file__).resolve().parents[1] / "sweeps"


def _offline_logs(run_dir):
    return sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))


def test_offline_wandb_run_holds_config_and_summary(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    config = tiny_config(tracker="wandb", d_norm="spectral", seed=3)
    summary = train(config)
    logs = _offline_logs(tmp_path / "run")
    assert len(logs) == 1
    logged_config, logged_summary = config_and_summary(logs[0])
    assert (
        json.loads(logged_config["d_norm"]) == "spectral" and json.loads(logged_config["seed"]) == 3
    )
    assert json.loads(logged_summary["cat_acc"]) == pytest.approx(summary["cat_acc"])
    assert json.loads(logged_summary["status"]) == "finished"


def test_tracker_none_writes_no_wandb_files(tiny_config, tmp_path):
    train(tiny_config(tracker="none"))
    assert not list((tmp_path / "run").rglob("*wandb*"))


def test_resume_continues_the_same_wandb_run(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(tiny_config(tracker="wandb"))
    train(tiny_config(tracker="wandb", resume=True, steps=6))
    ids = {log.stem for log in _offline_logs(tmp_path / "run")}
    assert len(_offline_logs(tmp_path / "run")) == 2 and len(ids) == 1


def test_online_without_key_falls_back_to_offline(tiny_config, monkeypatch, capsys):
    calls = []
    real_init = wandb.init

    def init(mode, **kwargs):
        calls.append(mode)
        if mode == "online":
            raise wandb.UsageError("No API key configured")
        return real_init(mode=mode, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    summary = train(tiny_config(tracker="wandb", wandb_mode="online"))
    assert calls == ["online", "offline"] and summary["status"] == "finished"
    err = capsys.readouterr().err
    assert "logging offline" in err and "wandb sync" in err


def _model_artifacts(run_dir: Path) -> list:
    records = finished_records(_offline_logs(run_dir)[0])
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    # the rest is the confusion-matrix plot's table
    assert [a.type for a in artifacts if a.type != "model"] == ["run_table"]
    return [a for a in artifacts if a.type == "model"]


def test_the_wandb_log_holds_group_name_and_checkpoints_as_a_model_artifact(
    tiny_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    config = tiny_config(tracker="wandb", d_norm="spectral", seed=3)
    train(config)
    records = finished_records(_offline_logs(tmp_path / "run")[0])
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert run.run_group == config.variant and run.display_name == f"{config.variant}-seed=3"
    (model,) = _model_artifacts(tmp_path / "run")
    assert set(model.aliases) - {"latest"} == {"last"}  # no eval step, so no best.pt
    # by default the weights only: about a third of the resumable checkpoint
    (entry,) = model.manifest.contents
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert entry.path == "model.pt" and entry.size < 0.4 * last.stat().st_size
    assert not list((tmp_path / "run" / "checkpoints").glob("*.upload"))


def test_upload_checkpoints_full_logs_the_resumable_files_once_when_best_is_last(
    tiny_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    # an eval step at the end with FID: best.pt is the last step's, so one version holds both
    config = tiny_config(tracker="wandb", upload_checkpoints="full", eval_every=4)
    monkeypatch.setattr(train_module, "eval_scores", lambda *args: {"eval_fid_domain": 1.0})
    train(config)
    (model,) = _model_artifacts(tmp_path / "run")
    assert set(model.aliases) - {"latest"} == {"best", "last"}  # W&B adds `latest`
    (entry,) = model.manifest.contents
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert entry.path == "last.pt" and entry.size == last.stat().st_size


def test_a_weights_only_checkpoint_is_scored_like_the_full_one_and_never_resumed(tiny_config):
    from infogan_bench.scoring.rescore import evaluate_run_dir

    config = tiny_config()
    train(config)
    run = RunDir(config.run_dir)
    atomic_save(weights_only(run.load_checkpoint()), run.checkpoint_path("model"))
    scores = evaluate_run_dir(config.run_dir, checkpoint="model")
    assert scores["cat_acc"] == evaluate_run_dir(config.run_dir)["cat_acc"]
    atomic_save(weights_only(run.load_checkpoint()), run.checkpoint_path("last"))
    with pytest.raises(CheckpointError, match="holds only weights .* not resumed"):
        train(tiny_config(resume=True, steps=6))


def test_upload_checkpoints_none_logs_no_model_artifact(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(tiny_config(tracker="wandb", upload_checkpoints="none"))
    assert _model_artifacts(tmp_path / "run") == []


def test_auto_mode_never_prompts_offline_without_a_key(monkeypatch, tmp_path):
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("")
    monkeypatch.setenv("NETRC", str(netrc))
    assert wandb_mode(RunConfig()) == "offline"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    netrc.chmod(0o600)
    assert wandb_mode(RunConfig()) == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode(RunConfig()) == "disabled"


def test_groups_of_the_tricks_sweep_are_one_recipe_each_with_unique_names():
    configs = [RunConfig(**c) for c in expand(load_sweep(SWEEPS / "mnist_tricks.yaml"))]
    groups: dict[str, list[int]] = {}
    for config in configs:
        groups.setdefault(config.variant, []).append(config.seed)
    assert len(groups) == 24 and all(sorted(seeds) == [0, 1, 2] for seeds in groups.values())
    assert len({wandb_run_name(c) for c in configs}) == 72
    assert all(len(group) <= 128 for group in groups)


def test_a_long_recipe_gets_a_stable_hashed_group():
    long = RunConfig(tags="", cat_codes=",".join(["10"] * 60))
    assert len(long.variant) <= 120 and long.variant == RunConfig(cat_codes=long.cat_codes).variant
    assert long.variant != RunConfig(cat_codes=",".join(["10"] * 59 + ["9"])).variant


class _FakeRun:
    id = "abc"

    def __init__(self):
        self.calls, self.summary = [], {}

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


def test_a_signal_marks_the_wandb_run_preempting_and_keeps_wandbs_own_summaries(tmp_path):
    tracker = WandbTracker.__new__(WandbTracker)
    tracker.run, tracker.run_dir = _FakeRun(), tmp_path
    tracker.finish({"status": "interrupted", "step": 7, "mi_lower_bound": 1.0}, preempted=True)
    assert tracker.run.calls[0] == "mark_preempting" and tracker.run.calls[-1] == "finish"
    assert tracker.run.summary == {"status": "interrupted", "step": 7}  # W&B keeps max(L_I)


def test_evaluate_writes_its_scores_back_to_the_runs_wandb_summary(
    tiny_config, tmp_path, monkeypatch
):
    from infogan_bench.scoring.rescore import evaluate_run_dir

    monkeypatch.setenv("WANDB_MODE", "offline")
    config = tiny_config(tracker="wandb")
    train(config)
    scores = evaluate_run_dir(config.run_dir)
    logs = _offline_logs(tmp_path / "run")
    assert len(logs) == 2 and len({log.stem for log in logs}) == 1  # the same W&B run, resumed
    _, summary = config_and_summary(logs[-1])
    assert json.loads(summary["last/cat_acc"]) == pytest.approx(scores["cat_acc"])


def test_the_wandb_log_and_the_run_dir_hold_the_matched_confusion_matrix(
    tiny_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    summary = train(tiny_config(tracker="wandb"))
    assert (tmp_path / "run" / "samples" / "confusion.png").stat().st_size > 0
    confusion = summary["cat_confusion"]  # (10, 10): rows true label, columns matched label
    assert len(confusion) == 10 and sum(map(sum, confusion)) == summary["n_test"]
    assert sum(confusion[k][k] for k in range(10)) / summary["n_test"] == pytest.approx(
        summary["cat_acc"]
    )
    tables = list(
        (tmp_path / "run").glob("wandb/offline-run-*/files/media/table/cat_confusion*.json")
    )
    assert len(tables) == 1
    rows = json.loads(tables[0].read_text())["data"]  # [actual, predicted, count]
    logged = {(int(a), int(p)): n for a, p, n in rows}
    assert logged == {(a, p): confusion[a][p] for a in range(10) for p in range(10)}


def _wandb_service_pids() -> list[int]:
    """This process's live wandb-core children (W&B's service; a killed one stays a zombie)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name, (state, ppid) = fields[0].split("(", 1)[1], fields[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if name.startswith("wandb-core") and int(ppid) == os.getpid() and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def test_a_killed_wandb_service_loses_the_wandb_log_not_the_run(
    tiny_config, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    real_log = WandbTracker.log

    def log_then_lose_the_service(self, metrics, step):
        if step == 10:  # W&B's service is OOM-killed mid-training
            pids = _wandb_service_pids()
            assert pids, "no wandb-core child found"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not _wandb_service_pids(), timeout=30)
        real_log(self, metrics, step)

    monkeypatch.setattr(WandbTracker, "log", log_then_lose_the_service)
    config = tiny_config(tracker="wandb", steps=30, log_every=5, checkpoint_every=10)
    summary = train(config)
    assert summary["status"] == "finished" and summary["step"] == 30
    # W&B notices a dead service at the first call it cannot hand over: that step, or the next
    lost = RunDir(config.run_dir).read_summary()["tracker_lost"]
    assert re.fullmatch(r"W&B log from step (10|15)", lost), lost
    assert [r["step"] for r in RunDir(config.run_dir).read_metrics()] == [5, 10, 15, 20, 25, 30]
    assert RunDir(config.run_dir).checkpoint_step() == 30
    err = capsys.readouterr().err
    assert err.count("infogan-bench: warning: W&B stopped working at step") == 1
    assert "Traceback" not in err


def test_evaluate_keeps_its_scores_when_wandb_fails_on_write_back(
    tiny_config, tmp_path, monkeypatch, capsys
):
    from infogan_bench.scoring.rescore import evaluate_run_dir

    monkeypatch.setenv("WANDB_MODE", "offline")
    config = tiny_config(tracker="wandb")
    train(config)

    def lost(**kwargs):
        raise ConnectionResetError("Connection lost")

    monkeypatch.setattr(wandb, "init", lost)
    scores = evaluate_run_dir(config.run_dir)
    assert scores["tracker_lost"] == "W&B summary of last scores"
    saved = json.loads((tmp_path / "run" / "eval_last.json").read_text())
    assert saved["cat_acc"] == scores["cat_acc"] and saved["tracker_lost"] == scores["tracker_lost"]
    err = capsys.readouterr().err
    assert "warning: W&B failed (ConnectionResetError: Connection lost)" in err


def test_a_run_whose_wandb_service_dies_exits_zero_and_ends_with_its_own_lines(tmp_path):
    run_dir = tmp_path / "run"
    flags = tiny_flags(steps=400, log_every=10, checkpoint_every=200)
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        cli_command("train", *flags, f"--run-dir={run_dir}", "--progress=false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )

    def service() -> list[int]:
        kids = Path(f"/proc/{child.pid}/task/{child.pid}/children")
        pids = kids.read_text().split() if kids.exists() else []
        return [int(p) for p in pids if "wandb-core" in Path(f"/proc/{p}/comm").read_text()]

    def training() -> bool:  # a logged row: past wandb.init (killed during it, init hangs)
        metrics = run_dir / "metrics.jsonl"
        return metrics.exists() and metrics.stat().st_size > 0

    wait_for(lambda: training() and service(), timeout=120)
    for pid in service():
        os.kill(pid, signal.SIGKILL)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-2000:]
    summary = RunDir(run_dir).read_summary()
    assert summary["status"] == "finished" and "tracker_lost" in summary
    assert err.count("W&B stopped working") == 1 and "terminate called" not in err
    assert out.strip().splitlines()[0].startswith("finished at step 400")


def test_a_healthy_offline_run_ends_with_the_suites_lines_and_no_wandb_warnings(tmp_path):
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    env.pop("WANDB_SILENT", None)
    done = subprocess.run(
        cli_command(
            "train", *tiny_flags(steps=10), f"--run-dir={tmp_path / 'run'}", "--progress=false"
        ),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wandb:" not in done.stderr and "wandb:" not in done.stdout
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("W&B: logged offline; sync with: wandb sync")
    )
    assert done.stdout.strip().splitlines()[0].startswith("finished at step 10")
