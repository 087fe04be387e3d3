"""The main job's table (λ_cat 2 against the paper's λ_cat 1, seeds 0-4 at 1 and 2 threads:
each run's cat_acc, bold below k-means on pixels), from the committed run dirs, written into
README.md between its markers:  python reports/digits_default/table.py"""

from __future__ import annotations

import json
import re
from pathlib import Path

from infogan_bench.analysis.report import write_between

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- main job table: begin -->", "<!-- main job table: end -->"
KMEANS = 0.793  # k-means on raw pixels (the README's line above the table)
COLUMNS = {  # header: run folder
    "λ_cat 2, 1 thread": "lambda_cat2-threads=1",
    "λ_cat 2, 2 threads": "lambda_cat2-threads=2",
    "λ_cat 1, 1 thread": "lambda_cat1-threads=1",
    "λ_cat 1, 2 threads": "lambda_cat1-threads=2",
}


def _cat_acc(folder: str, seed: int) -> str:
    (run,) = [p for p in (HERE / "runs" / folder).iterdir() if re.search(rf"seed={seed}$", p.name)]
    value = json.loads((run / "summary.json").read_text())["cat_acc"]
    return f"**{value:.3f}**" if value < KMEANS else f"{value:.3f}"


def table() -> str:
    lines = ["| seed | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for seed in range(5):
        cells = [_cat_acc(folder, seed) for folder in COLUMNS.values()]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    write_between(HERE / "README.md", BEGIN, END, table())
    print(table())
