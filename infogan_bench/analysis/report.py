"""Ablation reports: run dirs (or W&B runs) -> one DataFrame -> tables, effects and plots.

    infogan-bench report --runs runs/digits_quick --name digits_quick
    infogan-bench report --wandb ENTITY/PROJECT --sweep SWEEP_ID --name my_ablation

A variant is a setting of every config field that differs between the runs, other than the
seed and bookkeeping (run dir, data dir, logging, tracking). Failed and unfinished runs stay in
the frame with their status: they are counted in every table, never dropped.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infogan_bench.analysis.plots import plot_curves, plot_metrics, plot_sample_grids, variant_label
from infogan_bench.analysis.results import UNFINISHED, Runs
from infogan_bench.analysis.stats import bootstrap_ci, paired_effect
from infogan_bench.config import RunConfig, names_with_role
from infogan_bench.scoring.metrics import METRICS, REPORTED

# Reported metrics and which way is better (the registry's order).
DIRECTIONS: dict[str, str] = {name: METRICS[name].better for name in REPORTED}
ALPHA = 0.05  # significance level: verdicts, bold effects, axes with too few pairs


def variant_axes(frame: pd.DataFrame) -> list[str]:
    """Config fields that take more than one value among the runs (the report's axes)."""
    fields = names_with_role("recipe", "length")  # the same rule as the W&B group
    return [name for name in fields if name in frame and frame[name].nunique(dropna=False) > 1]


def joint_axes(frame: pd.DataFrame, axes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Axes that change together in every run become one axis `a+b` with levels `x/y`.

    A recipe that sets several fields at once (e.g. real_consistency=2 with info_augment=1)
    has no run that varies one field without the others, so only their joint effect can be
    paired against the default. The frame gains one column per joint axis.
    """
    groups: list[list[str]] = []
    for axis in axes:
        group = next((g for g in groups if _move_together(frame, g[0], axis)), None)
        if group is None:
            groups.append([axis])
        else:
            group.append(axis)
    frame = frame.copy()
    for group in groups:
        if len(group) > 1:
            # object rows keep an int field an int (a float row would read 62 as 62.0)
            frame["+".join(group)] = frame[group].astype(object).agg(_joint_level, axis=1)
    return frame, ["+".join(group) for group in groups]


def _joint_level(values: Any) -> str:
    """A joint axis's level from its fields' values, e.g. (2.0, 1.0) -> '2.0/1.0'."""
    return "/".join(str(value) for value in values)


def _move_together(frame: pd.DataFrame, a: str, b: str) -> bool:
    """Each value of a goes with one value of b and back: the runs cannot tell them apart."""
    pairs = frame[[a, b]].astype(str).drop_duplicates()
    return len(pairs) == pairs[a].nunique() == pairs[b].nunique()


def _groups(frame: pd.DataFrame, axes: list[str]):
    return frame.groupby(axes, sort=True, dropna=False) if axes else [((), frame)]


def variant_table(frame: pd.DataFrame, axes: list[str], fail_below: float = 0.9) -> pd.DataFrame:
    """Per variant: run counts, seed-failure rate and mean/std/95% CI of each metric.

    fail_rate: share of seeds that failed (diverged, crashed) or finished with cat_acc below
    fail_below; cat_acc_median and cat_acc_min: over the finished seeds (is it every seed?).
    Unfinished runs are counted in n_unfinished and left out of every statistic.
    """
    rows = []
    for key, group in _groups(frame, axes):
        done = group[group.status == "finished"]
        n_failed = int((group.status == "failed").sum())
        accuracy = done["cat_acc"].dropna().astype(float) if "cat_acc" in done else pd.Series([])
        low = int((accuracy < fail_below).sum())
        settled = len(done) + n_failed
        row: dict[str, Any] = dict(
            zip(axes, key if isinstance(key, tuple) else (key,), strict=True)
        )
        row.update(
            n_runs=len(group),
            n_finished=len(done),
            n_failed=n_failed,
            n_unfinished=len(group) - settled,
            fail_rate=(low + n_failed) / settled if settled else np.nan,
            cat_acc_median=accuracy.median() if len(accuracy) else np.nan,
            cat_acc_min=accuracy.min() if len(accuracy) else np.nan,
        )
        for metric in DIRECTIONS:
            values = done[metric].dropna().astype(float) if metric in done else pd.Series([])
            row[f"{metric}_n"] = len(values)
            row[f"{metric}_mean"] = values.mean() if len(values) else np.nan
            row[f"{metric}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = bootstrap_ci(values.to_numpy())
        rows.append(row)
    return pd.DataFrame(rows)


def axis_default(axis: str, dataset: str = RunConfig.dataset) -> Any:
    """The default level of an axis for the dataset; a joint axis `a+b` (see joint_axes) has
    the defaults of its fields."""
    defaults = RunConfig(dataset=dataset)
    parts = axis.split("+")
    if len(parts) > 1:
        return _joint_level(getattr(defaults, part) for part in parts)
    return getattr(defaults, axis)


def runs_dataset(frame: pd.DataFrame) -> str:
    """The runs' one dataset, whose defaults are the baselines; RunConfig's when they mix."""
    datasets = frame["dataset"].unique() if "dataset" in frame else []
    return datasets[0] if len(datasets) == 1 else RunConfig.dataset


def baseline_level(axis: str, levels: list[Any], dataset: str = RunConfig.dataset) -> Any:
    """The level effects are measured against: the dataset's default when present, else the
    first."""
    default = axis_default(axis, dataset)
    return default if default in levels else sorted(levels, key=str)[0]


def marginal_effects(frame: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """Each axis level minus its baseline, paired on every other axis and the seed.

    Only finished runs with both members of a pair take part; replicates of one key (the same
    recipe and seed run twice, e.g. at two thread counts) are averaged into one member, so a
    pair is one seed, never a cross of replicates. One row per (axis, level, metric) with
    n_pairs, mean difference, its bootstrap 95% CI and the sign-flip permutation p-value.
    """
    done = frame[frame.status == "finished"]
    dataset = runs_dataset(done)  # baselines are the defaults of the runs' one dataset
    rows = []
    for axis in axes:
        levels = list(done[axis].dropna().unique())
        if len(levels) < 2:
            continue
        base = baseline_level(axis, levels, dataset)
        keys = [a for a in axes if a != axis] + ["seed"]
        reference = _mean_per_key(done[done[axis] == base], keys)
        for level in sorted((lv for lv in levels if lv != base), key=str):
            other = _mean_per_key(done[done[axis] == level], keys)
            pairs = reference.join(other, how="inner", lsuffix="_base", rsuffix="_level")
            for metric in DIRECTIONS:
                if f"{metric}_base" not in pairs:
                    continue
                diffs = (pairs[f"{metric}_level"] - pairs[f"{metric}_base"]).dropna()
                effect = paired_effect(diffs.astype(float).to_numpy())
                if effect.n_pairs:
                    rows.append(
                        {"axis": axis, "level": level, "baseline": base, "metric": metric}
                        | dataclasses.asdict(effect)
                    )
    columns = [
        "axis",
        "level",
        "baseline",
        "metric",
        "n_pairs",
        "mean",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    return pd.DataFrame(rows, columns=columns)


def _mean_per_key(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The runs' metrics, one row per pairing key: the mean over that key's replicates."""
    metrics = [m for m in DIRECTIONS if m in runs]
    values = runs[metrics].apply(pd.to_numeric, errors="coerce")
    return values.groupby([runs[k] for k in keys], dropna=False).mean()


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    return (
        f"{value:.0f}"
        if abs(value) >= 100
        else f"{value:.1f}"
        if abs(value) >= 10
        else f"{value:.3f}"
    )


def _bold(text: str, style: str) -> str:
    return f"\\textbf{{{text}}}" if style == "latex" else f"**{text}**"


def format_variants(table: pd.DataFrame, axes: list[str], style: str = "md") -> pd.DataFrame:
    """Cells 'mean ± std [CI low, high]' per metric, best mean per column in bold."""
    pm = "$\\pm$" if style == "latex" else "±"
    cells = table[axes].astype(str).copy()
    cells["n"] = [
        f"{r.n_finished}/{r.n_runs}" + (f" ({r.n_failed} failed)" if r.n_failed else "")
        for r in table.itertuples()
    ]
    cells["fail rate"] = [_number(v) for v in table["fail_rate"]]
    cells["cat_acc median / min"] = [
        f"{_number(median)} / {_number(low)}"
        for median, low in zip(table["cat_acc_median"], table["cat_acc_min"], strict=True)
    ]
    for metric, better in DIRECTIONS.items():
        means = table[f"{metric}_mean"]
        if means.isna().all():
            continue
        best = means.max() if better == "max" else means.min()
        column = []
        for _, r in table.iterrows():
            text = _number(r[f"{metric}_mean"])
            if np.isfinite(r[f"{metric}_std"]):
                text += f" {pm} {_number(r[f'{metric}_std'])}"
            if np.isfinite(r[f"{metric}_ci_low"]):
                text += f" [{_number(r[f'{metric}_ci_low'])}, {_number(r[f'{metric}_ci_high'])}]"
            column.append(_bold(text, style) if r[f"{metric}_mean"] == best else text)
        cells[metric] = column
    return cells


def format_effects(effects: pd.DataFrame, style: str = "md") -> pd.DataFrame:
    """Effect rows with their verdict; significant ones (p < 0.05) in bold."""
    cells = pd.DataFrame(
        {
            "axis": effects["axis"],
            "level − baseline": [f"{r.level} − {r.baseline}" for r in effects.itertuples()],
            "metric": effects["metric"],
            "pairs": effects["n_pairs"],
            "effect [95% CI]": [
                f"{_number(r.mean)} [{_number(r.ci_low)}, {_number(r.ci_high)}]"
                for r in effects.itertuples()
            ],
            "p": [f"{p:.3f}" if p >= 0.001 else "<0.001" for p in effects["p_value"]],
            "verdict": [verdict(r.metric, r.mean, r.p_value) for r in effects.itertuples()],
        }
    )
    significant = effects["p_value"] < ALPHA
    cells.loc[significant, "verdict"] = [_bold(v, style) for v in cells.loc[significant, "verdict"]]
    return cells


def too_few_pairs(effects: pd.DataFrame, alpha: float = ALPHA) -> dict[str, int]:
    """Axes (with their most pairs) where no effect can reach p < alpha whatever its size.

    With n pairs the smallest two-sided sign-flip p-value is 2 / 2**n (all signs agree).
    """
    most = effects.groupby("axis", sort=False)["n_pairs"].max()
    return {str(axis): int(n) for axis, n in most.items() if 2.0 / 2.0**n >= alpha}


def verdict(metric: str, mean: float, p_value: float, alpha: float = ALPHA) -> str:
    """'better', 'worse' (for the level, by the metric's direction) or 'not significant'."""
    if not p_value < alpha:
        return "not significant"
    return "better" if (mean > 0) == (DIRECTIONS[metric] == "max") else "worse"


def to_markdown(cells: pd.DataFrame) -> str:
    return cells.to_markdown(index=False)


def to_latex(cells: pd.DataFrame) -> str:
    escaped = cells.rename(columns=lambda c: c.replace("_", "\\_").replace("−", "$-$"))
    escaped = escaped.map(lambda v: str(v).replace("_", "\\_").replace("−", "$-$"))
    return escaped.to_latex(index=False)


def _status_lines(frame: pd.DataFrame) -> list[str]:
    counts = frame.status.value_counts()
    lines = [
        f"{len(frame)} runs: {counts.get('finished', 0)} finished, {counts.get('failed', 0)} "
        f"failed, {counts.get(UNFINISHED, 0)} unfinished (running, killed or not started)."
    ]
    for r in frame[frame.status != "finished"].itertuples():
        reason = getattr(r, "reason", None)
        detail = f": {reason}" if isinstance(reason, str) else ""
        lines.append(f"- {r.status}: `{r.run}` (step {getattr(r, 'step', '?')}){detail}")
    return lines


# Per-run scores shown only when some run has them (Inception scores come from a rescore).
OPTIONAL_RUN_COLUMNS = [
    "fid_inception", "kid_inception_mean", "precision", "recall", "checkerboard", "cont_r2",
    "d_real", "d_fake", "wall_time_s",
]  # fmt: skip


def run_table(runs: Runs, fail_below: float = 0.9) -> pd.DataFrame:
    """One row per run: the accuracy scores, FID (and the scores of OPTIONAL_RUN_COLUMNS that
    some run has, e.g. a rescore's Inception FID), the first eval step at fail_below and the
    training minutes to it (scoring excluded) and, for a run below it, its failure diagnosis."""
    frame = runs.frame.sort_values("run")
    at_target = runs.curves[runs.curves["eval_cat_acc"] >= fail_below].sort_values("step")
    reached = at_target.groupby("run")[["step", "train_s"]].first()
    optional = [c for c in OPTIONAL_RUN_COLUMNS if c in frame and frame[c].notna().any()]
    columns = ["cat_acc", "best_cat_acc", "nmi", "fid_domain", *optional]
    table = pd.DataFrame({"run": frame["run"], "status": frame["status"]})
    for column in columns:
        values = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
        table[column] = values.map(lambda v: "" if pd.isna(v) else _number(v))
    table[f"to {fail_below:g}"] = (
        frame["run"].map(reached["step"]).map(lambda v: "" if pd.isna(v) else str(int(v)))
    )
    table[f"min to {fail_below:g}"] = (
        frame["run"].map(reached["train_s"]).map(lambda v: f"{v / 60:.1f}" if v > 0 else "")
    )
    low = frame["cat_acc"].lt(fail_below) | frame["status"].ne("finished")
    table["diagnosis"] = frame["cat_diagnosis"].where(low, "").fillna("")
    return table.reset_index(drop=True)


def write_report(runs: Runs, out: Path, title: str, fail_below: float = 0.9) -> str:
    """Tables (md, csv, tex), plots and report.md in `out`; returns the Markdown report."""
    out.mkdir(parents=True, exist_ok=True)
    frame, axes = joint_axes(runs.frame, variant_axes(runs.frame))
    table = variant_table(frame, axes, fail_below)
    effects = marginal_effects(frame, axes)
    variants_md, effects_md = _write_tables(table, effects, axes, out)
    constant = [
        f"{name}={frame[name].iloc[0]}"
        for name in ("dataset", "steps", "batch_size", "score_samples")
        if name in frame and name not in axes
    ]
    lines = [f"# {title}", "", *_status_lines(frame), ""]
    lines += [f"Axes: {', '.join(axes) or 'none'}. Fixed: {', '.join(constant)}.", ""]
    lines += ["## Variants", "", f"Seed failure: failed, or cat_acc < {fail_below}.", ""]
    lines += [variants_md, ""]
    lines += ["## Marginal effects (level − baseline, paired over the other axes and seeds)", ""]
    lines += [effects_md, "", *_too_few_pairs_lines(effects)]
    if "cat_diagnosis" in frame:  # runs scored with a failure diagnosis
        per_run = run_table(runs, fail_below)
        per_run.to_csv(out / "runs.csv", index=False)
        lines += [
            "## Runs",
            "",
            f"Diagnosis shown for runs with cat_acc < {fail_below:g}. "
            f"`to {fail_below:g}`: the first eval step with eval_cat_acc ≥ {fail_below:g}.",
            "",
        ]
        lines += [to_markdown(per_run.fillna("").astype(str)), ""]
    lines += ["## Plots", "", *_plots(runs, frame, table, axes, out, fail_below)]
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    return text


def _write_tables(
    table: pd.DataFrame, effects: pd.DataFrame, axes: list[str], out: Path
) -> tuple[str, str]:
    """The variant and effect tables as csv, tex and md in `out`; returns the two md tables."""
    table.to_csv(out / "variants.csv", index=False)
    effects.to_csv(out / "effects.csv", index=False)
    (out / "variants.tex").write_text(to_latex(format_variants(table, axes, "latex")))
    (out / "effects.tex").write_text(to_latex(format_effects(effects, "latex")))
    variants_md = to_markdown(format_variants(table, axes))
    effects_md = (
        to_markdown(format_effects(effects)) if len(effects) else "(no axis with paired runs)"
    )
    (out / "variants.md").write_text(variants_md + "\n")
    (out / "effects.md").write_text(effects_md + "\n")
    return variants_md, effects_md


def _too_few_pairs_lines(effects: pd.DataFrame) -> list[str]:
    """A note on the axes whose pairs are too few for any p-value below ALPHA; [] if none."""
    capped = too_few_pairs(effects)
    if not capped:
        return []
    listed = ", ".join(f"{axis} (at most {n} pairs)" for axis, n in capped.items())
    return [
        f"Too few pairs to test: {listed}. With n pairs the smallest two-sided sign-flip "
        f"p-value is 2/2^n, so these effects cannot reach p < {ALPHA} whatever their size; "
        "read them by their CIs (a CI that excludes 0 with p = 2/2^n: every pair agrees).",
        "",
    ]


def _plots(
    runs: Runs,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    axes: list[str],
    out: Path,
    fail_below: float,
) -> list[str]:
    """metrics.png, curves.png, samples.png (first seed per variant) and confusions.png (the
    runs below fail_below) in `out`, labelled by what differs from the default; their md lines."""
    defaults = {axis: str(axis_default(axis, runs_dataset(frame))) for axis in axes}
    plot_metrics(table, axes, defaults, out / "metrics.png")
    lines = ["![metrics per variant](metrics.png)", ""]
    variant_of = {r["run"]: variant_label(r, axes, defaults) for _, r in frame.iterrows()}
    if len(runs.curves):
        plot_curves(runs.curves, variant_of, out / "curves.png")
        lines += ["![eval curves](curves.png)", ""]
    grids: dict[str, Path] = {}
    for run, grid in sorted(runs.sample_grids.items()):
        grids.setdefault(variant_of[run], grid)
    if grids:
        plot_sample_grids(dict(sorted(grids.items())), out / "samples.png")
        lines += ["![categories per variant (first seed)](samples.png)", ""]
    failed = set(frame.loc[frame["cat_acc"].lt(fail_below), "run"]) if "cat_acc" in frame else set()
    confusions = {
        f"{variant_of[run]}: {run}": path
        for run, path in sorted(runs.confusions.items())
        if run in failed
    }
    if confusions:
        plot_sample_grids(confusions, out / "confusions.png", columns=5)
        lines += [f"![confusion matrices of the runs below {fail_below:g}](confusions.png)", ""]
    return lines


def headline(variants: pd.DataFrame, effects: pd.DataFrame, alpha: float = ALPHA) -> dict[str, Any]:
    """The report's verdict in a few numbers: per reported metric the best variant (its axes'
    levels) and its mean, and the effects with p < alpha ("axis=level" -> "metric mean")."""
    axes = list(variants.columns[: list(variants.columns).index("n_runs")])
    best: dict[str, Any] = {}
    for metric, better in DIRECTIONS.items():
        column = f"{metric}_mean"
        if column not in variants or variants[column].isna().all():
            continue
        row = variants.loc[
            variants[column].idxmax() if better == "max" else variants[column].idxmin()
        ]
        best[f"best/{metric}"] = ", ".join(f"{a}={row[a]}" for a in axes) or "all runs"
        best[f"best/{metric}_mean"] = float(row[column])
    significant = effects[effects["p_value"] < alpha] if len(effects) else effects
    best["significant_effects"] = [
        f"{r.axis}={r.level} vs {r.baseline}: {r.metric} {r.mean:+.4g}"
        for r in significant.itertuples()
    ]
    return best


def publish(out: Path, name: str, project: str, entity: str | None, sweep: str | None) -> str:
    """The report written in `out` to W&B (tracking.publish_report): its variant and effect
    tables with numeric columns, its plots, its headline and the folder as an artifact."""
    from infogan_bench.tracking import publish_report

    variants = pd.read_csv(out / "variants.csv")
    effects = pd.read_csv(out / "effects.csv")
    tables = {"variants": variants, "effects": effects}
    return publish_report(out, name, tables, headline(variants, effects), project, entity, sweep)


def write_between(path: Path, begin: str, end: str, body: str) -> None:
    """Put body between the markers begin and end of the text file at path (a study README's
    generated table: reports/*/table.py), replacing what was there."""
    text = path.read_text()
    start, stop = text.index(begin) + len(begin), text.index(end)
    path.write_text(f"{text[:start]}\n{body}\n{text[stop:]}")
