"""Runs back into one DataFrame: from local run dirs or from W&B (through wandb.Api).

Each row holds a run's config fields, its summary fields, `run` (its name) and `status`:
finished, failed, or unfinished (running, killed, never started). Eval curves come alongside.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from infogan_bench.config import ROLES, RunConfig, names_with_role
from infogan_bench.errors import ReportError, describe
from infogan_bench.rundir import RunDir
from infogan_bench.scoring.metrics import CURVES

CURVE_METRICS = tuple(CURVES)
UNFINISHED = "unfinished"  # running, killed, or never started


@dataclass
class Runs:
    """One row per run (config fields, summary fields, `run`, `status`) and the eval curves."""

    frame: pd.DataFrame
    curves: pd.DataFrame  # columns: run, step, train_s and the CURVES metrics (eval_cat_acc, ...)
    sample_grids: dict[str, Path] = field(default_factory=dict)  # run -> categories.png
    confusions: dict[str, Path] = field(default_factory=dict)  # run -> confusion.png


def run_row(name: str, config: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    """The frame's row of one run; a missing or 'running' summary is 'unfinished'."""
    summary = summary or {}
    status = summary.get("status")
    row = {**RunConfig().to_dict(), **config, **summary, "run": name}
    row["status"] = status if status in ("finished", "failed") else UNFINISHED
    if row.get("fid_domain") is not None and row.get("fid_domain_floor"):
        row["fid_domain_rel"] = row["fid_domain"] / row["fid_domain_floor"]
    return row


def with_rescore(summary: dict[str, Any], rescore: dict[str, Any]) -> dict[str, Any]:
    """summary plus the scores of a rescore of its last.pt (`infogan-bench evaluate`:
    RUN_DIR/eval_last.json, `last/KEY` in W&B) that the summary lacks, such as the standard
    Inception FID: only for a finished run rescored at the step it ended at."""
    if summary.get("status") != "finished" or rescore.get("step") != summary.get("step"):
        return summary
    return {**rescore, **summary}


def at_checkpoint(summary: dict[str, Any], rescore: dict[str, Any]) -> dict[str, Any]:
    """summary with every score replaced by a rescore of one of its snapshots (`infogan-bench
    evaluate RUN --checkpoint step_N`: RUN_DIR/eval_step_N.json), so that a report reads the
    runs as they were at that step; a finished run without that rescore is left out of the
    statistics (status `unscored`, counted as unfinished)."""
    if summary.get("status") != "finished":
        return summary
    if not rescore:
        return {**summary, "status": "unscored"}
    return {**summary, **rescore}


def train_seconds(rows: Iterable[dict[str, Any]], batch_size: int) -> dict[int, float]:
    """step -> training seconds up to it (scoring and pauses excluded), from each logged row's
    images_per_s: its throughput over the steps since the row before it."""
    seconds, total, previous = {}, 0.0, 0
    for row in sorted(rows, key=lambda r: r["step"]):
        if row.get("images_per_s"):
            total += (row["step"] - previous) * batch_size / row["images_per_s"]
            previous = row["step"]
        seconds[row["step"]] = total
    return seconds


def load_run_dirs(roots: Sequence[str | Path], checkpoint: str = "last") -> Runs:
    """Every run dir (a folder with config.yaml) at or under each root, named by its path from
    the roots' common parent (e.g. axes/000-generator=upsample): unique even where two roots end
    in the same folder name (a/threads=1 and b/threads=1). checkpoint: the scores of the end of
    the run (last), or of a scored snapshot (e.g. step_5000, see at_checkpoint)."""
    rows, curves, grids, confusions = [], [], {}, {}
    base = Path(os.path.commonpath([Path(r).resolve().parent for r in roots]))
    for root in map(Path, roots):
        if not root.is_dir():
            raise ReportError(f"{root} is not a folder of run dirs")
        found = (
            [root]
            if (root / "config.yaml").exists()
            else sorted(p.parent for p in root.rglob("config.yaml") if "wandb" not in p.parts)
        )
        for path in found:
            run = RunDir(path)
            name = str(path.resolve().relative_to(base))
            config = run.load_config()
            summary = (
                with_rescore(run.read_summary(), run.read_rescore())
                if checkpoint == "last"
                else at_checkpoint(run.read_summary(), run.read_rescore(checkpoint))
            )
            rows.append(run_row(name, config.to_dict(), summary))
            metrics = run.read_metrics()
            seconds = train_seconds(metrics, config.batch_size)
            curves += [
                {
                    "run": name,
                    "step": r["step"],
                    "train_s": seconds[r["step"]],
                    **{k: r[k] for k in CURVE_METRICS if k in r},
                }
                for r in metrics
                if any(k in r for k in CURVE_METRICS)
            ]
            if (run.samples / "categories.png").exists():
                grids[name] = run.samples / "categories.png"
            if (run.samples / "confusion.png").exists():
                confusions[name] = run.samples / "confusion.png"
    if not rows:
        raise ReportError(
            f"no run dirs (folders with config.yaml) under {', '.join(map(str, roots))}"
        )
    curve_frame = pd.DataFrame(curves, columns=["run", "step", "train_s", *CURVE_METRICS])
    return Runs(pd.DataFrame(rows), curve_frame, grids, confusions)


def load_wandb(path: str, sweep: str | None = None, api: Any = None) -> Runs:
    """The runs of W&B project ENTITY/PROJECT (one sweep's, with `sweep`), via wandb.Api."""
    from infogan_bench.tracking import wandb_api

    known = set(names_with_role(*ROLES))
    rows, curves = [], []
    try:
        for run in (api or wandb_api()).runs(path, filters={"sweep": sweep} if sweep else None):
            name = f"{run.name} ({run.id})"
            config = {k: v for k, v in run.config.items() if k in known}
            summary = dict(run.summary_metrics)
            rescore = {k[5:]: v for k, v in summary.items() if k.startswith("last/")}
            rows.append(run_row(name, config, with_rescore(summary, rescore)))
            logged = [
                {"step": r["_step"], "images_per_s": r["images_per_s"]}
                for r in run.scan_history(keys=["_step", "images_per_s"])
            ]
            batch_size = config.get("batch_size", RunConfig.batch_size)
            curves += [
                {"run": name, "step": step, "train_s": s}
                for step, s in train_seconds(logged, batch_size).items()
            ]
            for metric in CURVE_METRICS:
                curves += [
                    {"run": name, "step": r["_step"], metric: r[metric]}
                    for r in run.scan_history(keys=["_step", metric])
                ]
    except ReportError:
        raise
    except Exception as err:  # no key, no network, no such project: say so in one line
        raise ReportError(
            f"W&B runs of {path} could not be read ({describe(err)}); "
            "check the path and `wandb login` (or WANDB_API_KEY)"
        ) from err
    if not rows:
        raise ReportError(f"no W&B runs in {path}" + (f" sweep {sweep}" if sweep else ""))
    curve_frame = pd.DataFrame(curves, columns=["run", "step", "train_s", *CURVE_METRICS])
    curve_frame = curve_frame.groupby(["run", "step"], as_index=False).first()
    curve_frame = curve_frame.dropna(subset=list(CURVE_METRICS), how="all")  # eval steps, as above
    return Runs(pd.DataFrame(rows), curve_frame)
