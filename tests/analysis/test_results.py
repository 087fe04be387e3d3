import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from infogan_bench.analysis import report, results
from infogan_bench.cli import main
from infogan_bench.config import RunConfig
from infogan_bench.rundir import RunDir
from tests.conftest import finished


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


def test_a_rescore_of_the_final_step_adds_its_scores_to_the_runs_row(tmp_path):
    """`infogan-bench evaluate --features inception` writes eval_last.json: its Inception FID
    reaches the tables; a rescore of an earlier last.pt, or of an unfinished run, does not."""
    scored, stale, running = (RunDir(tmp_path / "runs" / name) for name in "abc")
    for run, summary, step in (
        (scored, finished(0.8), 100),
        (stale, finished(0.7), 50),
        (running, {"status": "running", "step": 50}, 50),
    ):
        run.create(RunConfig(seed=ord(run.path.name)))
        run.write_summary(summary)
        rescore = {"checkpoint": "last", "step": step, "cat_acc": 0.1, "fid_inception": 42.0}
        run.rescore_path().write_text(json.dumps(rescore))
    frame = results.load_run_dirs([tmp_path / "runs"]).frame.set_index("run")
    assert frame.loc["runs/a", "fid_inception"] == 42.0
    assert frame.loc["runs/a", "cat_acc"] == 0.8  # the summary's own scores stay
    assert frame.loc[["runs/b", "runs/c"], "fid_inception"].isna().all()
    remote = SimpleNamespace(
        name="a",
        id="a",
        config=RunConfig().to_dict(),
        summary_metrics={**finished(0.8), "last/step": 100, "last/fid_inception": 42.0},
        scan_history=lambda keys: [],
    )
    assert results.load_wandb("me/proj", api=FakeApi([remote])).frame["fid_inception"][0] == 42.0


def test_a_report_at_a_snapshot_reads_every_score_from_that_snapshots_rescore(tmp_path, capsys):
    """`report --checkpoint step_50`: each finished run's scores are its eval_step_50.json's (a
    study's second budget, as reports/cifar10_trained/score.sh writes them); a run whose
    snapshot was not scored is left out of the statistics, not read at its end."""
    for name, snapshot in (("a", {"cat_acc": 0.3, "fid_inception": 70.0}), ("b", None)):
        run = RunDir(tmp_path / "runs" / name)
        run.create(RunConfig(seed=ord(name)))
        run.write_summary({**finished(0.8), "fid_inception": 40.0})
        if snapshot is not None:
            scores = {"checkpoint": "step_50", "step": 50, **snapshot}
            run.rescore_path("step_50").write_text(json.dumps(scores))
    frame = results.load_run_dirs([tmp_path / "runs"], "step_50").frame.set_index("run")
    assert frame.loc["runs/a", ["cat_acc", "fid_inception", "step"]].tolist() == [0.3, 70.0, 50]
    assert frame.loc["runs/a", "status"] == "finished"
    assert frame.loc["runs/b", "status"] == results.UNFINISHED
    out = tmp_path / "report"
    args = ["report", "--runs", str(tmp_path / "runs"), "--name", "s", "--out", str(out)]
    assert main([*args, "--checkpoint", "step_50"]) == 0
    assert "2 runs: 1 finished, 0 failed, 1 unfinished" in capsys.readouterr().out
