"""`report --publish`: the report as one W&B run (offline here), read back from W&B's own log."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from infogan_bench.analysis import report
from infogan_bench.cli import main
from infogan_bench.errors import ReportError
from tests.wandb_records import finished_records


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b or (isinstance(a, float) and a == pytest.approx(b))


@pytest.fixture
def published(ablation, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "study" / "report"
    args = ["report", "--runs", str(ablation), "--name", "abl", "--out", str(out), "--publish"]
    assert main(args) == 0
    err = capsys.readouterr().err
    run = next((tmp_path / "study" / "wandb").glob("offline-run-*"))
    return out, run, finished_records(next(run.glob("*.wandb"))), err


def test_the_offline_run_holds_the_tables_plots_headline_and_the_folder(published):
    out, run, records, err = published
    assert f"sync later with: wandb sync {run}" in err
    kinds = [r.WhichOneof("record_type") for r in records]
    (header,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (header.display_name, header.job_type) == ("abl", "report")
    summary = {
        item.key: json.loads(item.value_json)
        for r in records
        if r.WhichOneof("record_type") == "summary"
        for item in r.summary.update
        if item.key
    }
    # the headline: the best variant per metric (upsample adds 0.1 to cat_acc in the fixture)
    assert summary["best/cat_acc"] == "generator=upsample, d_norm=spectral"
    assert summary["best/cat_acc_mean"] == pytest.approx(0.91)
    assert "significant_effects" in summary
    # the tables, with the local CSVs' columns and rows, numbers as numbers
    for name in ("variants", "effects"):
        (table_file,) = (run / "files" / "media" / "table").glob(f"{name}_*.table.json")
        logged = json.loads(table_file.read_text())
        local = pd.read_csv(out / f"{name}.csv")
        assert logged["columns"] == list(local.columns)
        assert len(logged["data"]) == len(local)
        for logged_row, local_row in zip(
            logged["data"], local.itertuples(index=False), strict=True
        ):
            assert all(_same(a, b) for a, b in zip(logged_row, local_row, strict=True))
    # every plot as an image, and the folder's files as a `report` artifact
    pngs = sorted(p.stem for p in out.glob("*.png"))
    images = sorted(
        p.name.split("_")[0] for p in (run / "files" / "media" / "images" / "plots").glob("*.png")
    )
    assert images == pngs
    (artifact,) = [
        r.artifact
        for r in records
        if r.WhichOneof("record_type") == "artifact" and r.artifact.type == "report"
    ]
    assert artifact.name == "report-abl"
    assert sorted(e.path for e in artifact.manifest.contents) == sorted(
        p.name for p in out.iterdir() if p.suffix in (".md", ".csv", ".tex", ".png")
    )
    assert kinds[-1] == "exit"


def test_a_failed_publish_leaves_the_local_report_whole_and_says_so(
    ablation, tmp_path, monkeypatch, capsys
):
    import wandb

    def unreachable(**kwargs):
        raise ConnectionError("W&B is unreachable")

    monkeypatch.setattr(wandb, "init", unreachable)
    out = tmp_path / "report"
    args = ["report", "--runs", str(ablation), "--name", "abl", "--out", str(out)]
    assert main(args) == 0
    before = _hashes(out)
    assert main([*args, "--publish"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (
        "infogan-bench: error: publishing to W&B failed (ConnectionError: W&B is unreachable); "
        f"the report in {out} is complete"
    )
    assert _hashes(out) == before
    with pytest.raises(ReportError):
        report.publish(out, "abl", "p", None, None)
    assert _hashes(out) == before
