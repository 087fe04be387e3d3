"""What share of each run's wall time went outside its training steps (evals, sample grids,
checkpoints, the end-of-run scoring): 1 - (steps' seconds, from metrics.jsonl's images_per_s) /
summary.json's wall_time_s.

    python reports/perf/outside.py RUN_DIR [RUN_DIR ...]

The suite's images_per_s times a log interval's steps alone since this script was written; before
that, a log interval's clock started before its checkpoint write, so a checkpoint counted as
steps and the share printed for such a run is a lower bound.
"""

from __future__ import annotations

import sys

from infogan_bench.analysis.results import train_seconds
from infogan_bench.rundir import RunDir


def main(paths: list[str]) -> None:
    print("run\twall_s\tsteps_s\toutside")
    for path in paths:
        run = RunDir(path)
        wall = run.read_summary()["wall_time_s"]
        seconds = train_seconds(run.read_metrics(), run.load_config().batch_size)
        steps = max(seconds.values())
        print(f"{path}\t{wall:.0f}\t{steps:.0f}\t{1 - steps / wall:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
