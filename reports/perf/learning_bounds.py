"""The learning tests' numbers over seeds and thread counts, to set their bounds with margin
(tests/training/test_loop.py: the three short digits runs that assert learning):

    python reports/perf/learning_bounds.py --width 0.5 --seeds 0 1 2 3 4 --threads 1 2 4

One process per (test, seed, thread count), one at a time; prints one tab-separated line each
and, per test, each quantity's min-max over all runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = {  # the tests' configs, beside their shared 150-step digits protocol
    "supervised": {"supervised_fraction": 0.05},
    "real_consistency": {"real_consistency": 1.0},
    "info_augment": {"info_augment": 1.0, "augment_strength": 2.0},
}
COMMON = {
    "dataset": "digits",
    "steps": 150,
    "batch_size": 32,
    "log_every": 25,
    "eval_every": 150,
    "checkpoint_every": 150,
    "score_samples": 0,
    "lambda_cat": 1.0,
    "tracker": "none",
    "device": "cpu",
    "progress": False,
}
QUANTITIES = {  # name: (metrics row: first or last, key) or summary key
    "mi_first": ("first", "mi_lower_bound"),
    "mi_end": ("summary", "mi_lower_bound"),
    "cat_acc": ("summary", "cat_acc"),
    "q_aug_survival": ("summary", "q_aug_survival"),
    "q_confidence": ("summary", "q_confidence"),
    "q_marginal_entropy": ("summary", "q_marginal_entropy"),
    "aug_first": ("first", "loss_info_cat_aug"),
    "aug_last": ("last", "loss_info_cat_aug"),
}


def measure(case: str, width: float, seed: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        fields = {**COMMON, **CASES[case], "width": width, "seed": seed, "run_dir": folder}
        argv = [sys.executable, "-m", "infogan_bench.cli", "train"]
        argv += [f"--{k.replace('_', '-')}={v}" for k, v in fields.items()]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(argv, env=env, check=True, capture_output=True)
        rows = [json.loads(line) for line in (Path(folder) / "metrics.jsonl").open()]
        summary = json.loads((Path(folder) / "summary.json").read_text())
    found = {}
    for name, (where, key) in QUANTITIES.items():
        source = {"first": rows[0], "last": rows[-1], "summary": summary}[where]
        if key in source:
            found[name] = source[key]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    for case in args.cases:
        seen: dict[str, list[float]] = {}
        for threads in args.threads:
            for seed in args.seeds:
                found = measure(case, args.width, seed, threads)
                for name, value in found.items():
                    seen.setdefault(name, []).append(value)
                cells = "\t".join(f"{k}={v:.3f}" for k, v in found.items())
                print(f"{case}\tseed={seed}\tthreads={threads}\t{cells}", flush=True)
        ranges = ", ".join(f"{k} {min(v):.3f}-{max(v):.3f}" for k, v in seen.items())
        print(f"{case}: {ranges}", flush=True)


if __name__ == "__main__":
    main()
