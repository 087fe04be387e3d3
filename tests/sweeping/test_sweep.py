import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import wandb
import yaml

from infogan_bench.cli import main
from infogan_bench.config import RunConfig, from_dict
from infogan_bench.rundir import RunDir
from infogan_bench.sweeping import sweep as sweep_module
from infogan_bench.sweeping.sweep import SweepError, agent_run_dir, expand, load_sweep, run_sweep
from tests.conftest import cli_command, tiny_parameters, wait_for
from tests.wandb_records import config_and_summary

SWEEPS = sorted((Path(__file__).resolve().parents[2] / "sweeps").glob("*.yaml"))
TINY = tiny_parameters(steps=2, batch_size=8, log_every=1)


def _write(tmp_path, sweep: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_every_sweep_yaml_is_valid_and_names_trainer_fields(path):
    sweep = load_sweep(path)  # W&B's schema and our parameter check
    assert {"method", "metric", "parameters", "command", "program", "project"} <= set(sweep)
    configs = expand(sweep)
    assert configs and all(isinstance(from_dict(c), RunConfig) for c in configs)


def test_required_sweeps_exist_with_their_grids():
    names = {p.stem for p in SWEEPS}
    assert {"mnist_ablation", "cifar10_ablation", "digits_quick"} <= names
    assert len(expand(load_sweep(SWEEPS[0].parent / "mnist_ablation.yaml"))) == 2 * 2 * 2 * 2 * 5


def test_grid_expands_in_wandb_order(tmp_path):
    path = _write(
        tmp_path,
        {
            "method": "grid",
            "metric": {"name": "cat_acc", "goal": "maximize"},
            "parameters": {"seed": {"values": [0, 1]}, "d_norm": {"values": ["batch", "spectral"]}},
        },
    )
    assert expand(load_sweep(path)) == [
        {"d_norm": "batch", "seed": 0},
        {"d_norm": "batch", "seed": 1},
        {"d_norm": "spectral", "seed": 0},
        {"d_norm": "spectral", "seed": 1},
    ]


def test_random_sweep_draws_run_cap_configs_reproducibly(tmp_path):
    path = _write(
        tmp_path,
        {
            "method": "random",
            "run_cap": 5,
            "metric": {"name": "cat_acc", "goal": "maximize"},
            "parameters": {"lr_g": {"min": 1e-4, "max": 1e-3}, "seed": {"values": [0, 1, 2]}},
        },
    )
    draws = expand(load_sweep(path), seed=7)
    assert len(draws) == 5 and draws == expand(load_sweep(path), seed=7)
    assert all(1e-4 <= d["lr_g"] <= 1e-3 for d in draws)


@pytest.mark.parametrize(
    "sweep, message",
    [
        (
            {"method": "grid", "parameters": {"seed": {"values": [0]}}, "schedule": 1},
            "unknown key(s) schedule",
        ),
        (
            {"method": "grid", "parameters": {"learning_rate": {"values": [0.1]}}},
            "'learning_rate' is not a trainer field",
        ),
        (
            {"method": "grid", "parameters": {"batch_size": {"values": [64, 0]}}},
            "batch_size: expected a value >= 1",
        ),
        (
            {"method": "grid", "parameters": {"run_dir": {"value": "x"}}},
            "'run_dir' is not a trainer field",
        ),
        ({"method": "sideways", "parameters": {"seed": {"value": 0}}}, "not a valid W&B sweep"),
    ],
)
def test_bad_sweeps_are_rejected_before_any_run(tmp_path, sweep, message):
    with pytest.raises(SweepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_sweep(_write(tmp_path, sweep))


def test_bayes_offline_is_a_one_line_error(tmp_path, capsys):
    path = _write(
        tmp_path,
        {
            "method": "bayes",
            "metric": {"name": "cat_acc", "goal": "maximize"},
            "parameters": {"lr_g": {"min": 1e-4, "max": 1e-3}},
        },
    )
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "bayes sweeps need the W&B server" in capsys.readouterr().err


def test_offline_sweep_runs_logs_to_wandb_resumes_and_survives_a_failed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two runs at once: one thread each, as on 2 cores
    sweep = {
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": {**TINY, "d_norm": {"values": ["batch", "spectral"]}},
    }
    out = tmp_path / "out"
    outcomes = run_sweep(_write(tmp_path, sweep), out, workers=2)
    assert [(o.name, o.status) for o in outcomes] == [
        ("000-d_norm=batch", "finished"),
        ("001-d_norm=spectral", "finished"),
    ]
    for outcome, d_norm in zip(outcomes, ["batch", "spectral"], strict=True):
        run = RunDir(out / outcome.name)
        logs = list(run.path.glob("wandb/offline-run-*/run-*.wandb"))
        assert len(logs) == 1
        logged_config, logged_summary = config_and_summary(logs[0])
        assert json.loads(logged_config["d_norm"]) == d_norm
        assert json.loads(logged_summary["cat_acc"]) == pytest.approx(run.read_summary()["cat_acc"])
    # rerun: both finished, so nothing runs again
    assert [o.status for o in run_sweep(_write(tmp_path, sweep), out)] == ["skipped", "skipped"]

    # a sweep with one run that cannot start (its dataset is missing): the other still
    # finishes; the runner writes no summary for a child (it could be another writer's)
    sweep["parameters"]["dataset"] = {"values": ["digits", "mnist"]}
    sweep["parameters"]["data_dir"] = {"value": str(tmp_path / "no-data")}
    sweep["parameters"]["d_norm"] = {"value": "batch"}
    outcomes = run_sweep(_write(tmp_path, sweep), tmp_path / "out2", tracker="none")
    assert [o.status for o in outcomes] == ["finished", "unfinished"]
    lost = RunDir(tmp_path / "out2" / outcomes[1].name)
    assert lost.read_summary() == {}
    assert "mnist missing or corrupt" in (lost.path / "train.log").read_text()


def test_count_runs_the_first_configs_and_a_rerun_continues_with_the_rest(tmp_path, capsys):
    sweep = {
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": {**TINY, "seed": {"values": [2, 0, 1]}},
    }
    path, out = _write(tmp_path, sweep), tmp_path / "out"
    first = run_sweep(path, out, tracker="none", count=2)
    assert [(o.name, o.status) for o in first] == [
        ("000-seed=2", "finished"),
        ("001-seed=0", "finished"),
    ]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["000-seed=2", "001-seed=0"]
    rest = run_sweep(path, out, tracker="none")
    assert [o.status for o in rest] == ["skipped", "skipped", "finished"]
    assert RunDir(out / "002-seed=1").read_summary()["status"] == "finished"
    assert main(["sweep", "run", str(path), "--out", str(out), "--count", "0"]) == 2
    assert "--count 0: pass a number of runs of at least 1" in capsys.readouterr().err


def test_gpus_are_dealt_to_the_workers_in_turn(tmp_path, monkeypatch, capsys):
    sweep = {"method": "grid", "parameters": {**TINY, "seed": {"values": [0, 1, 2, 3, 4]}}}
    path, lock = _write(tmp_path, sweep), threading.Lock()
    running, most = {"0": 0, "1": 0}, {"0": 0, "1": 0}

    def fake_run(self, command, log, env):  # a child that holds its GPU a moment and finishes
        gpu = env["CUDA_VISIBLE_DEVICES"]
        with lock:
            running[gpu] += 1
            most[gpu] = max(most[gpu], running[gpu])
        time.sleep(0.2)
        with lock:
            running[gpu] -= 1
        run_dir = next(a.split("=", 1)[1] for a in command if a.startswith("--run-dir="))
        RunDir(run_dir).write_summary({"status": "finished"})
        return 0

    monkeypatch.setattr(sweep_module.Children, "run", fake_run)
    outcomes = run_sweep(path, tmp_path / "out", tracker="none", workers=3, gpus=["0", "1"])
    assert [o.status for o in outcomes] == ["finished"] * 5
    # three workers on two GPUs: at most two runs at a time on GPU 0 and one on GPU 1
    assert 1 <= most["0"] <= 2 and most["1"] == 1
    assert main(["sweep", "run", str(path), "--out", str(tmp_path / "o2"), "--gpus", "0,x"]) == 2
    assert "--gpus 0,x: pass GPU ids, e.g. --gpus 0,1" in capsys.readouterr().err


def test_sweep_create_and_agent_call_wandb(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(
        wandb,
        "sweep",
        lambda sweep, project, entity: calls.append(("sweep", sweep, project, entity)) or "abc123",
    )
    monkeypatch.setattr(
        wandb, "agent", lambda sweep_id, **kw: calls.append(("agent", sweep_id, kw))
    )
    path = SWEEPS[0].parent / "digits_quick.yaml"
    assert main(["sweep", "create", str(path), "--project", "p", "--entity", "e"]) == 0
    assert calls[0][0] == "sweep" and calls[0][1] == load_sweep(path) and calls[0][2:] == ("p", "e")
    assert "infogan-bench sweep agent e/p/abc123" in capsys.readouterr().out
    assert main(["sweep", "agent", "e/p/abc123", "--count", "3"]) == 0
    assert calls[1] == ("agent", "e/p/abc123", {"count": 3, "project": None, "entity": None})


def test_agent_runs_get_their_own_run_dirs(monkeypatch):
    assert agent_run_dir(RunConfig()).run_dir == RunConfig().run_dir
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw1")
    monkeypatch.setenv("WANDB_RUN_ID", "run7")
    assert agent_run_dir(RunConfig()).run_dir == "runs/sweeps/sw1/run7"
    assert agent_run_dir(RunConfig(run_dir="mine")).run_dir == "mine"
    assert not agent_run_dir(RunConfig()).resume


def test_a_requeued_agent_run_resumes_its_run_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw1")
    monkeypatch.setenv("WANDB_RUN_ID", "run7")
    RunDir("runs/sweeps/sw1/run7").create(RunConfig())  # the first attempt, preempted
    config = agent_run_dir(RunConfig())
    assert (config.run_dir, config.resume) == ("runs/sweeps/sw1/run7", True)


def test_cli_accepts_wandb_agent_style_arguments():
    from infogan_bench.cli import build_parser, config_from_args

    args = build_parser().parse_args(
        ["train", "--batch_size=32", "--d_norm=spectral", "--resume=False"]
    )
    config = config_from_args(args)
    assert (config.batch_size, config.d_norm, config.resume) == (32, "spectral", False)


def test_sweep_module_imports_wandb_lazily():
    assert "wandb" not in vars(sweep_module)


def test_a_sweep_runner_sweep_status_and_report_start_without_torch():
    """They read run dirs, never weights: torch (~4 s a process) is for the runs they start."""
    modules = "infogan_bench.sweeping.sweep, infogan_bench.sweeping.slurm, infogan_bench.analysis.results, infogan_bench.analysis.report"
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def test_a_campaign_committed_run_by_run_continues_on_a_fresh_clone(tmp_path, monkeypatch):
    """reports/commit_run.sh commits each finished run (no checkpoints); a clone reruns the same
    sweep command: finished runs are skipped, an unfinished one without its checkpoint starts
    over, and the report needs only the committed files."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two runs at once: one thread each, as on 2 cores
    reports = Path(__file__).resolve().parents[2] / "reports"
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "test")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "test@example.com")
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "reports" / ".gitignore").write_text((reports / ".gitignore").read_text())
    _git(repo, "init", "-q")
    _git(repo, "add", "reports/.gitignore")
    _git(repo, "commit", "-q", "-m", "start")
    sweep = {
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": {
            **TINY,
            "steps": {"value": 4},
            "checkpoint_every": {"value": 2},
            "seed": {"values": [0, 1]},
        },
    }
    path = _write(tmp_path, sweep)
    hook = f"bash {reports / 'commit_run.sh'}"
    monkeypatch.chdir(repo)
    first = run_sweep(path, "reports/c/runs", workers=2, tracker="none", on_finish=hook)
    assert [o.status for o in first] == ["finished", "finished"]
    committed = _git(repo, "ls-files", "reports/c").split()
    assert "reports/c/runs/000-seed=0/summary.json" in committed
    assert "reports/c/runs/001-seed=1/metrics.jsonl" in committed
    assert not [f for f in committed if "checkpoints" in f or f.endswith(".lock")]
    assert sorted(_git(repo, "log", "--format=%s").splitlines()) == [
        "reports/c/runs/000-seed=0 finished",  # one commit per run, the two at once included
        "reports/c/runs/001-seed=1 finished",
        "start",
    ]

    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(repo), str(clone))
    runs = clone / "reports" / "c" / "runs"
    seed1 = RunDir(runs / "001-seed=1")
    finished = seed1.read_summary()
    assert not seed1.checkpoint_path().exists()
    seed1.write_summary({"status": "interrupted", "step": 3})  # as if committed mid-run
    monkeypatch.chdir(clone)
    again = run_sweep(path, "reports/c/runs", tracker="none")
    assert [o.status for o in again] == ["skipped", "finished"]
    assert [r["step"] for r in seed1.read_metrics()] == [1, 2, 3, 4]  # started over at step 1
    assert seed1.read_summary()["cat_acc"] == finished["cat_acc"]  # and retrained the same run
    assert main(["report", "--runs", str(runs), "--out", str(tmp_path / "r"), "--name", "r"]) == 0
    assert "2 runs: 2 finished" in (tmp_path / "r" / "report.md").read_text()


def test_two_runners_on_one_folder_share_its_runs_and_train_none_twice(tmp_path, monkeypatch):
    """Two lanes of a campaign (reports/mnist_paper/run.sh with WORKERS=2): a second runner
    started while the first trains leaves that run to it and takes the next."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread per lane, as the campaigns run
    sweep = {
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": {**TINY, "steps": {"value": 40}, "seed": {"values": [0, 1, 2]}},
    }
    path, out = _write(tmp_path, sweep), tmp_path / "out"
    first = subprocess.Popen(
        cli_command("sweep", "run", path, "--out", out, "--tracker", "none"),
        stdout=subprocess.PIPE,
        text=True,
    )
    held = RunDir(out / "000-seed=0")
    wait_for(lambda: held.holder() is not None or first.poll() is not None)
    assert held.holder() is not None, "the first runner never started its first run"
    second = run_sweep(path, out, tracker="none")
    first_out, _ = first.communicate(timeout=300)
    assert second[0].status == "busy"
    assert "finished" in [o.status for o in second[1:]]  # the second runner trained a run too
    assert "000-seed=0 finished" in first_out
    for name in ("000-seed=0", "001-seed=1", "002-seed=2"):
        run = RunDir(out / name)
        assert run.read_summary()["status"] == "finished"
        assert [r["step"] for r in run.read_metrics()] == list(range(1, 41))  # trained once


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH needs Python 3.11")
def test_runs_use_the_runners_code_not_a_checkout_in_the_working_directory(tmp_path, monkeypatch):
    other = tmp_path / "infogan_bench"  # e.g. another checkout of this repo, or a stale copy
    other.mkdir()
    (other / "__init__.py").write_text("raise ImportError('the working directory copy ran')")
    sweep = {
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": TINY,
    }
    monkeypatch.chdir(tmp_path)
    (outcome,) = run_sweep(_write(tmp_path, sweep), tmp_path / "out", tracker="none")
    log = (tmp_path / "out" / outcome.name / "train.log").read_text()
    assert outcome.status == "finished", log
