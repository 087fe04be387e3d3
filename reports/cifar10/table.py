"""The study's per-run table, from the committed run dirs (the report's runs table without its
status, best-accuracy, time-to-accuracy and diagnosis columns), written into README.md between
its markers:  python reports/cifar10/table.py"""

from __future__ import annotations

from pathlib import Path

from infogan_bench.analysis.report import run_table, write_between
from infogan_bench.analysis.results import load_run_dirs

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- runs table: begin -->", "<!-- runs table: end -->"
DROPPED = ["status", "best_cat_acc", "to 0.3", "min to 0.3", "diagnosis"]


def table() -> str:
    runs = run_table(load_run_dirs([HERE / "runs"]), fail_below=0.3)
    return runs.drop(columns=DROPPED).to_markdown(index=False)


if __name__ == "__main__":
    write_between(HERE / "README.md", BEGIN, END, table())
    print(table())
