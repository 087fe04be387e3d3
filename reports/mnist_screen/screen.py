"""The every-seed study's screening tables, from the committed run dirs alone (run from the repo root):

    python reports/mnist_screen/screen.py > reports/mnist_screen/report/tables.md

1. Is the outcome at 0.9 settled by step 2,000? For every paper-protocol run in
   reports/mnist_paper/runs: eval_cat_acc at step 2,000 (first 2,000 test images) beside the final
   cat_acc (10k test images, step 5,000).
2. Each candidate in reports/mnist_screen/runs/ (2,000 x 128) against the default's committed
   step-2,000 eval accuracy on the same seed: eval_cat_acc at step 2,000 (the same 2,000 test
   images), the final cat_acc on the 10k test images, its diagnosis and its label-free scores
   (from eval_last.json for a run scored before they existed: `infogan-bench evaluate RUN
   --n-samples 0`).
3. The confirmation at the paper protocol on fresh seeds 5-9 (reports/mnist_paper/runs/
   default_fresh and consistency_fresh): both arms seed by seed, each arm's median, min and
   failures, and the pick's paired cat_acc effect on the seeds both arms finished.
4. Do the label-free scores separate the failed runs from the good ones? Over the committed
   paper-protocol runs that carry them (the confirmation's, seeds 5-9), then over every committed
   MNIST run (paper protocol and screening) that carries them: each score's mean over runs below
   and at or above 0.9, and its AUROC for telling them apart (1: every good run scores higher
   than every failed one; 0.5: no better than chance), pooled and inside each recipe.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from infogan_bench.analysis.report import run_table
from infogan_bench.analysis.results import load_run_dirs
from infogan_bench.analysis.stats import paired_effect

ROOT = Path(__file__).resolve().parents[1]
STEP = 2000
FAIL_BELOW = 0.9
LABEL_FREE = ["q_confidence", "q_marginal_entropy", "q_aug_survival"]
CONFIRMATION = {"default": "default_fresh", "consistency 2": "consistency_fresh"}  # fresh seeds 5-9


def at_step(runs_root: Path) -> pd.DataFrame:
    """One row per run: run, seed, eval_cat_acc at STEP, final cat_acc, diagnosis, label-free."""
    runs = load_run_dirs([runs_root])
    curve = runs.curves[runs.curves["step"] == STEP].set_index("run")["eval_cat_acc"]
    frame = runs.frame.set_index("run").reindex(
        columns=["seed", "cat_acc", "cat_diagnosis", *LABEL_FREE]
    )
    table = frame.rename(columns={"cat_diagnosis": "diagnosis"})
    for run in table.index:  # runs scored before the label-free scores existed: `evaluate`'s file
        rescored = runs_root.parent / run / "eval_last.json"
        if rescored.exists() and pd.isna(table.loc[run, LABEL_FREE[0]]):
            scores = json.loads(rescored.read_text())
            table.loc[run, LABEL_FREE] = [scores[k] for k in LABEL_FREE]
    table.insert(1, f"eval@{STEP}", curve)
    return table.reset_index()


def settled() -> str:
    table = at_step(ROOT / "mnist_paper" / "runs").dropna(subset=["cat_acc"])  # finished runs
    table["same side of 0.9"] = (table[f"eval@{STEP}"] >= FAIL_BELOW) == (
        table["cat_acc"] >= FAIL_BELOW
    )
    same = int(table["same side of 0.9"].sum())
    columns = ["run", f"eval@{STEP}", "cat_acc", "same side of 0.9"]
    return (
        f"## Settled by step {STEP}? {same} of {len(table)} paper-protocol runs on the same side\n\n"
        + table[columns].to_markdown(index=False, floatfmt=".3f")
    )


def candidates() -> str:
    default = at_step(ROOT / "mnist_paper" / "runs" / "default").set_index("seed")
    parts = []
    for folder in sorted((ROOT / "mnist_screen" / "runs").iterdir()):
        if not folder.is_dir() or folder.name.startswith("digits"):
            continue
        table = at_step(folder).sort_values("seed")
        table[f"default eval@{STEP}"] = table["seed"].map(default[f"eval@{STEP}"])
        table["default diagnosis (step 5,000)"] = table["seed"].map(default["diagnosis"])
        table["Δ eval"] = table[f"eval@{STEP}"] - table[f"default eval@{STEP}"]
        done = int(table[f"eval@{STEP}"].notna().sum())
        low = int((table[f"eval@{STEP}"] < FAIL_BELOW).sum())
        columns = ["seed", f"default eval@{STEP}", f"eval@{STEP}", "Δ eval", "cat_acc",
                   "diagnosis", "default diagnosis (step 5,000)", *LABEL_FREE]  # fmt: skip
        parts.append(
            f"## {folder.name}: {done} of {len(table)} runs at step {STEP}, {low} below {FAIL_BELOW}\n\n"
            + table[columns].to_markdown(index=False, floatfmt=".3f")
        )
    return "\n\n".join(parts)


def confirmation() -> str:
    """Both confirmation arms seed by seed (diagnosis of every run, not only those below 0.9),
    each arm's median, min and failures, and the paired effect of the pick on the shared seeds."""
    arms = {}
    for arm, folder in CONFIRMATION.items():
        runs = load_run_dirs([ROOT / "mnist_paper" / "runs" / folder])
        frame = runs.frame[runs.frame["status"] == "finished"].set_index("run")
        table = run_table(runs, FAIL_BELOW).set_index("run").loc[frame.index]
        table["diagnosis"] = frame["cat_diagnosis"].fillna("")
        arms[arm] = table.assign(arm=arm, seed=frame["seed"], score=frame["cat_acc"])
    table = pd.concat(arms.values()).sort_values(["seed", "arm"])
    columns = ["seed", "arm", "cat_acc", "nmi", "fid_domain", f"to {FAIL_BELOW:g}",
               f"min to {FAIL_BELOW:g}", "diagnosis"]  # fmt: skip
    summary = [{"arm": arm, "runs": len(t), "median": t["score"].median(), "min": t["score"].min(),
                f"below {FAIL_BELOW}": int((t["score"] < FAIL_BELOW).sum()),
                "at or above 0.95": int((t["score"] >= 0.95).sum())}
               for arm, t in arms.items()]  # fmt: skip
    default, pick = (arms[arm].set_index("seed") for arm in CONFIRMATION)
    seeds = default.index.intersection(pick.index)
    effect = paired_effect((pick.loc[seeds, "score"] - default.loc[seeds, "score"]).to_numpy())
    return (
        f"## Confirmation on fresh seeds (5,000 x 128): {' vs '.join(CONFIRMATION)}\n\n"
        + table[columns].to_markdown(index=False)
        + "\n\n"
        + pd.DataFrame(summary).to_markdown(index=False, floatfmt=".3f")
        + f"\n\nPaired cat_acc effect ({list(CONFIRMATION)[1]} − default) on seeds "
        f"{', '.join(map(str, seeds))}: {effect.mean:+.3f} [95% CI {effect.ci_low:+.3f}, "
        f"{effect.ci_high:+.3f}], sign-flip p = {effect.p_value:.3g} ({effect.n_pairs} pairs; "
        f"the smallest possible p is {2 / 2**effect.n_pairs:.3g})."
    )


def label_free(roots: list[Path], which: str) -> str:
    tables = [
        at_step(root) for root in roots if root.is_dir() and not root.name.startswith("digits")
    ]
    table = pd.concat(tables).dropna(subset=[*LABEL_FREE, "cat_acc"])
    table["good"] = table["cat_acc"] >= FAIL_BELOW
    lines = [f"## Label-free scores against failure at {FAIL_BELOW}, {which}: {len(table)} runs carry "
             f"them ({int(table['good'].sum())} good, {int((~table['good']).sum())} failed)", ""]  # fmt: skip
    columns = ["run", "cat_acc", "good", *LABEL_FREE]
    lines += [table.sort_values("cat_acc")[columns].to_markdown(index=False, floatfmt=".3f"), ""]
    if table["good"].nunique() == 2:
        rows = [{"score": k, "mean (failed)": table.loc[~table["good"], k].mean(),
                 "mean (good)": table.loc[table["good"], k].mean(),
                 "AUROC (good vs failed)": roc_auc_score(table["good"], table[k])}
                for k in LABEL_FREE]  # fmt: skip
        lines += [pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"), ""]
    lines += ["AUROC inside each recipe with good and failed runs (a score that a recipe trains, "
              "like q_aug_survival under real-image consistency, separates recipes too):", ""]  # fmt: skip
    table["recipe"] = table["run"].str.removeprefix("runs/").str.split("/").str[0]
    rows = [{"recipe": recipe, "good": int(runs["good"].sum()), "failed": int((~runs["good"]).sum()),
             **{k: roc_auc_score(runs["good"], runs[k]) for k in LABEL_FREE}}
            for recipe, runs in table.groupby("recipe") if runs["good"].nunique() == 2]  # fmt: skip
    lines.append(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f") if rows else "(none)")
    return "\n".join(lines)


if __name__ == "__main__":
    paper = [ROOT / "mnist_paper" / "runs"]
    screening = sorted((ROOT / "mnist_screen" / "runs").iterdir())
    print(settled(), candidates(), confirmation(), sep="\n\n", end="\n\n")
    print(label_free(paper, "paper protocol (5,000 x 128)"), end="\n\n")
    print(label_free(paper + screening, "paper protocol and screening"))
