"""A run's end in a few lines: its headline scores with what they mean, its time and its files.

Everything else is in RUN_DIR/summary.json (and `--json` prints it all).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infogan_bench.scoring.metrics import METRICS

HEADLINE = ("cat_acc", "nmi", "fid_domain", "fid_inception", "is_mean", "precision", "recall")


def headline(scores: dict[str, Any], run_dir: str | Path, scores_file: str = "summary.json") -> str:
    """Status, step and time, the HEADLINE scores present (value, direction, meaning), the
    failure diagnosis, and where the run's files are."""
    run_dir = Path(run_dir)
    status = scores.get("status", "scored")
    seconds = scores.get("wall_time_s")
    took = f" after {seconds / 60:.1f} min of training" if seconds else ""
    lines = [f"{status} at step {scores.get('step', '?')}{took}: {run_dir}"]
    for name in HEADLINE:
        if isinstance(scores.get(name), int | float):
            metric = METRICS[name]
            better = "higher" if metric.better == "max" else "lower"
            lines.append(f"  {name:<13} {scores[name]:8.4g}  ({better} is better) {metric.doc}")
    if scores.get("cat_diagnosis"):
        lines.append(f"  diagnosis     {scores['cat_diagnosis']}")
    if scores.get("d_won_steps"):
        lines.append(
            f"  D won         {scores['d_won_steps']} steps, the last at step "
            f"{scores['d_won_last_step']} (d_separation >= 0.98: G learns little there)"
        )
    if scores.get("reason"):
        lines.append(f"  reason        {scores['reason']}")
    lines.append(f"  every score   {run_dir / scores_file}; samples in {run_dir / 'samples'}")
    return "\n".join(lines)
