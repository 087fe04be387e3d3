"""The standard-Inception-FID table, from the committed files alone (run from the repo root):

    python reports/mnist_inception/table.py > reports/mnist_inception/report/table.md

Every MNIST run dir under reports/*/runs whose eval_last.json carries an Inception FID (written by
reports/mnist_inception/score.sh): its standard Inception FID/KID (10,000 generated images against
the 10,000 test images) beside the domain FID of the same checkpoint and samples, the real-vs-real
floors of both, how the two FIDs rank the runs (Spearman's rho over the runs scored), and the
scoring times of reports/mnist_inception/report/times.tsv.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["cat_acc", "fid_domain", "fid_inception", "kid_inception_mean"]


def scored_runs() -> pd.DataFrame:
    rows = []
    for path in sorted(ROOT.glob("*/runs/**/eval_last.json")):
        scores = json.loads(path.read_text())
        config = yaml.safe_load((path.parent / "config.yaml").read_text())
        if "fid_inception" in scores and config["dataset"] == "mnist":
            run = path.parent.relative_to(ROOT).as_posix()
            rows.append({"run": run, "step": scores["step"], **{k: scores[k] for k in COLUMNS},
                         "floors": (scores["fid_domain_floor"], scores["fid_inception_floor"])})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    table = scored_runs()
    if table.empty:
        print("No run scored yet: bash reports/mnist_inception/score.sh RUN_DIR ...")
        return
    domain_floor, inception_floor = table.pop("floors").iloc[0]
    print("## MNIST real vs real (the first 10,000 train images vs the 10,000 test images)\n")
    print(f"Inception FID {inception_floor:.2f}; domain FID {domain_floor:.2f}\n")
    print(f"## {len(table)} runs: Inception FID vs domain FID at 10,000 samples\n")
    print(table.sort_values("fid_inception").to_markdown(index=False, floatfmt=".3f"))
    if len(table) >= 3:
        rho, p = spearmanr(table["fid_domain"], table["fid_inception"])
        print(
            f"\nSpearman's rho (domain FID vs Inception FID, {len(table)} runs): {rho:.2f} (p {p:.2g})"
        )
    times = pd.read_csv(ROOT / "mnist_inception" / "report" / "times.tsv", sep="\t")
    print("\n## Scoring times (`infogan-bench evaluate RUN --features inception`)\n")
    print(times.to_markdown(index=False))


if __name__ == "__main__":
    main()
