"""Shared tiny configs: the embedded digits set, small batches, a handful of steps."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from infogan_bench.config import RunConfig
from infogan_bench.rundir import RunDir

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Plumbing tests (signals, resume, sweeps, SLURM, tracking) train quarter-width nets: 0.85 M
# parameters instead of the paper's 13.3 M, ~8x cheaper steps and ~16x smaller checkpoints.
# Tests that assert learning train half-width nets (LEARNING_WIDTH: 3.4 M parameters, a quarter
# of the paper's): their bounds were measured on them, over seeds and thread counts
# (reports/perf/learning_bounds.py).
TEST_WIDTH = 0.25
LEARNING_WIDTH = 0.5
# A tiny run's recipe and bookkeeping, shared by the in-process config, the CLI and sweep files.
TINY = {
    "dataset": "digits",
    "batch_size": 16,
    "width": TEST_WIDTH,
    "log_every": 5,
    "eval_every": 0,
    "score_samples": 0,  # cat_acc only: no domain classifier to train
}


def tiny_flags(**overrides: object) -> list[str]:
    """TINY (with overrides) as `infogan-bench train` flags."""
    return [f"--{key}={value}" for key, value in {**TINY, **overrides}.items()]


def tiny_parameters(**overrides: object) -> dict[str, dict[str, object]]:
    """TINY (with overrides) as a sweep file's fixed parameters."""
    return {key: {"value": value} for key, value in {**TINY, **overrides}.items()}


def cli_command(*args: object) -> list[str]:
    """`infogan-bench ARGS` as a subprocess of this Python: the argv of a run, sweep or runner."""
    return [sys.executable, "-m", "infogan_bench.cli", *map(str, args)]


def wait_for(condition, timeout: float = 120.0, state=lambda: None) -> None:
    """Poll condition() every 50 ms; fail after timeout seconds, showing state()."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; state: {state()}"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def chosen_threads(monkeypatch):
    """Runs in tests keep this process's thread count, as chosen (OMP_NUM_THREADS): a busy test
    machine's load warning is tested on its own (test_trainer), not printed into every run."""
    monkeypatch.setenv("OMP_NUM_THREADS", str(torch.get_num_threads()))


@pytest.fixture
def tiny_config(tmp_path: Path):
    """Factory of a small, fast RunConfig in a fresh run dir under tmp_path."""

    def make(**overrides: Any) -> RunConfig:
        values: dict[str, Any] = dict(
            TINY,
            steps=4,
            log_every=2,
            tracker="none",
            checkpoint_every=2,
            device="cpu",
            run_dir=str(tmp_path / "run"),
            progress=False,
        )
        values.update(overrides)
        return RunConfig(**values)

    return make


def make_run(root: Path, summary: dict | None, **fields) -> Path:
    """A run dir with the given config fields and summary, as `train` leaves it."""
    config = RunConfig(**fields)
    name = "-".join(f"{k}={v}" for k, v in fields.items())
    run = RunDir(root / name)
    run.create(config)
    if summary is not None:
        run.write_summary(summary)
        acc = summary.get("cat_acc", 0.5)  # 50 steps per row in 40 s
        rate = 50 * config.batch_size / 40  # images/s
        run.append_metrics({"step": 50, "images_per_s": rate, "eval_cat_acc": acc / 2})
        run.append_metrics({"step": 100, "images_per_s": rate, "eval_cat_acc": acc})
    return run.path


def finished(cat_acc: float, fid: float = 10.0, **more: float) -> dict:
    return {
        "status": "finished",
        "step": 100,
        "cat_acc": cat_acc,
        "fid_domain": fid,
        "fid_domain_floor": 5.0,
        **more,
    }


@pytest.fixture
def ablation(tmp_path: Path) -> Path:
    """generator x d_norm x seeds {0, 1}: upsample adds 0.1 to cat_acc, spectral 0.05;
    plus one failed and one killed run."""
    root = tmp_path / "runs"
    for seed in (0, 1):
        for generator in ("transpose", "upsample"):
            for d_norm in ("batch", "spectral"):
                acc = (
                    0.7
                    + 0.12 * seed
                    + 0.1 * (generator == "upsample")
                    + 0.05 * (d_norm == "spectral")
                )
                fid = 20.0 - 4.0 * (generator == "upsample")
                make_run(root, finished(acc, fid), generator=generator, d_norm=d_norm, seed=seed)
    make_run(
        root,
        {"status": "failed", "step": 30, "reason": "non-finite loss"},
        generator="upsample",
        d_norm="batch",
        seed=2,
    )
    make_run(root, {"status": "running", "step": 10}, generator="transpose", d_norm="batch", seed=2)
    return root
