"""The figures (PNG, matplotlib): metrics per variant, eval curves, sample grids, confusion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from infogan_bench.scoring.metrics import CURVES, PLOTTED  # noqa: E402

LOG_SPAN = 10  # a curve panel whose values span more than this factor gets a log axis


def variant_label(
    row: pd.Series | dict[str, Any], axes: list[str], defaults: dict[str, str]
) -> str:
    """A variant's label in plots: what differs from the default recipe, e.g.
    'real_consistency=2.0' or 'generator=upsample, d_norm=spectral'; 'default' for none.
    defaults: each axis's default level, as text."""
    changed = [f"{a}={row[a]}" for a in axes if str(row[a]) != defaults[a]]
    return ", ".join(changed) or "default"


def plot_metrics(
    table: pd.DataFrame, axes: list[str], defaults: dict[str, str], path: Path
) -> None:
    """Mean ± std of the main metrics per variant (one panel per metric), labelled by
    variant_label."""
    metrics = [m for m in PLOTTED if table[f"{m}_mean"].notna().any()]
    labels = [variant_label(row, axes, defaults) for _, row in table.iterrows()]
    fig, panels = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 0.4 * len(labels) + 1.5))
    for ax, metric in zip([panels] if len(metrics) == 1 else panels, metrics, strict=True):
        ax.errorbar(
            table[f"{metric}_mean"],
            range(len(labels)),
            xerr=table[f"{metric}_std"].fillna(0),
            fmt="o",
            capsize=3,
        )
        ax.set_yticks(range(len(labels)), labels if ax is fig.axes[0] else [""] * len(labels))
        ax.set_title(metric)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(curves: pd.DataFrame, variant_of: dict[str, str], path: Path) -> None:
    """eval_cat_acc and eval_fid_domain against the training step per variant: the mean over
    seeds (bold, dots) and each run (thin, same colour), so a bimodal variant shows as such."""
    curves = curves.assign(variant=curves["run"].map(variant_of)).dropna(subset=["variant"])
    metrics = [m for m in CURVES if curves[m].notna().any()]
    fig, panels = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(panels[0], metrics, strict=True):
        for variant, group in curves.groupby("variant"):
            mean = group.groupby("step")[metric].mean()
            (line,) = ax.plot(mean.index, mean.values, marker="o", label=variant)
            for _, run in group.groupby("run"):
                ax.plot(run["step"], run[metric], color=line.get_color(), alpha=0.3, linewidth=0.8)
        ax.set_xlabel("step")
        values = curves[metric].dropna()
        if (values > 0).all() and values.max() > LOG_SPAN * values.min():
            ax.set_yscale("log")  # e.g. FID from ~450 at the first eval to ~20
        ax.set_title(f"{metric} (mean over seeds; thin: each run)")
        ax.grid(alpha=0.3)
    panels[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(
    confusion: list[list[int]], path: Path, title: str, class_names: tuple[str, ...] | None = None
) -> None:
    """A matched confusion matrix as a heatmap: rows true label, columns the label Q's category
    was matched to; each cell shows its share of the row's images. Classes by name if given."""
    counts = np.asarray(confusion, dtype=float)
    shares = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    n = len(counts)
    fig, ax = plt.subplots(figsize=(0.35 * n + 1.6, 0.35 * n + 1.4))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, col), share in np.ndenumerate(shares):
        if share >= 0.05:
            ax.text(
                col,
                row,
                f"{100 * share:.0f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if share > 0.5 else "black",
            )
    names = list(class_names) if class_names else [str(k) for k in range(n)]
    ax.set_xticks(range(n), names, fontsize=7, rotation=90 if class_names else 0)
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set_xlabel("matched category", fontsize=7)
    ax.set_ylabel("true label", fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sample_grids(grids: dict[str, Path], path: Path, columns: int = 4) -> None:
    """PNG files side by side, each titled by its key (e.g. one categories.png per variant)."""
    rows = -(-len(grids) // columns)
    fig, panels = plt.subplots(rows, columns, figsize=(3 * columns, 3.3 * rows), squeeze=False)
    for ax in panels.flat:
        ax.axis("off")
    for ax, (variant, grid) in zip(panels.flat, grids.items(), strict=False):
        ax.imshow(plt.imread(grid), cmap="gray")
        ax.set_title(variant, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
