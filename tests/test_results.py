from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from infogan_bench import report, results
from infogan_bench.rundir import RunDir


def test_run_dirs_load_with_status_names_and_curves(ablation):
    runs = results.load_run_dirs([ablation])
    assert len(runs.frame) == 10 and runs.frame.run.str.startswith("runs/").all()
    status = runs.frame.set_index("run").status
    assert status["runs/generator=upsample-d_norm=batch-seed=2"] == "failed"
    assert status["runs/generator=transpose-d_norm=batch-seed=2"] == results.UNFINISHED
    assert list(runs.curves.columns) == ["run", "step", "train_s", *results.CURVE_METRICS]


class FakeApi:
    """wandb.Api's surface the report reads: runs(path, filters) with config, summary, history."""

    def __init__(self, runs: list[SimpleNamespace]) -> None:
        self._runs = runs
        self.calls: list[tuple] = []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return self._runs


def fake_wandb_run(run_dir: Path) -> SimpleNamespace:
    run = RunDir(run_dir)
    config = {**run.load_config().to_dict(), "_wandb": {"cli_version": "0.31.0"}}
    history = [{"_step": r["step"], **r} for r in run.read_metrics()]
    return SimpleNamespace(
        name=run_dir.name,
        id=run_dir.name[-6:],
        config=config,
        summary_metrics=run.read_summary(),
        scan_history=lambda keys: [h for h in history if all(k in h for k in keys)],
    )


def test_wandb_input_gives_the_same_tables_as_the_run_dirs(ablation):
    local = results.load_run_dirs([ablation])
    api = FakeApi([fake_wandb_run(p.parent) for p in sorted(ablation.glob("*/config.yaml"))])
    remote = results.load_wandb("me/proj", sweep="abc", api=api)
    assert api.calls == [("me/proj", {"sweep": "abc"})]
    axes = report.variant_axes(remote.frame)
    assert axes == report.variant_axes(local.frame)
    pd.testing.assert_frame_equal(
        report.variant_table(remote.frame, axes), report.variant_table(local.frame, axes)
    )
    assert len(remote.curves) == len(local.curves) == 20  # 10 runs x 2 eval steps
    assert (
        sorted(remote.curves["train_s"]) == sorted(local.curves["train_s"]) == [40] * 10 + [80] * 10
    )


def test_wandb_failure_is_a_one_line_error():
    class Broken:
        def runs(self, path, filters=None):
            raise ValueError("Could not find project nope")

    with pytest.raises(results.ReportError, match="could not be read.*wandb login"):
        results.load_wandb("me/nope", api=Broken())
