"""The screen's per-run table, from the committed run dirs, written into README.md between its
markers (rerun after each run):  python reports/cifar10_screen/table.py"""

from __future__ import annotations

import json
import re
from pathlib import Path

from infogan_bench.analysis.report import write_between
from infogan_bench.training.dwon import DWonPhase

HERE = Path(__file__).resolve().parent
STEPS = (500, 1000, 1500, 2000, 2500, 3000)
BEGIN, END = "<!-- runs table: begin -->", "<!-- runs table: end -->"


def _row(run: Path) -> str:
    summary = json.loads((run / "summary.json").read_text())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    fid = {r["step"]: r["eval_fid_domain"] for r in records if "eval_fid_domain" in r}
    raw = {r["step"]: r["eval_fid_domain_raw"] for r in records if "eval_fid_domain_raw" in r}
    phase = DWonPhase.of(records).summary()  # the loop's own count, also for runs from before it
    won_steps, last_won = phase["d_won_steps"], phase["d_won_last_step"] or "–"
    status = summary["status"]
    if summary.get("reason", "").startswith("D won"):
        status = f"stopped at {summary['step']}: {summary['reason'].split(':')[0]}"
    cells = [f"{fid[s]:.0f}" if s in fid else "" for s in STEPS]
    raw_end = f"{raw[3000]:.0f}" if 3000 in raw else ""
    seed = re.search(r"seed=(\d+)", run.name).group(1)
    return (
        f"| {run.parent.name} | {seed} | {status} | {won_steps} | {last_won} | "
        + " | ".join([*cells, raw_end])
        + " |"
    )


def table() -> str:
    runs = sorted(p.parent for p in HERE.glob("runs/*/*/summary.json"))
    head = (
        "| candidate | seed | status | D-won steps | last D-won step | "
        + " | ".join(f"FID {s}" for s in STEPS)
        + " | raw G FID 3000 |"
    )
    rule = "|" + "---|" * (len(STEPS) + 6)
    ended = ("finished", "failed")
    finished = [r for r in runs if json.loads((r / "summary.json").read_text())["status"] in ended]
    return "\n".join([head, rule, *map(_row, finished)])


if __name__ == "__main__":
    write_between(HERE / "README.md", BEGIN, END, table())
    print(table())
