#!/usr/bin/env bash
# A campaign's --on-finish hook: commits the finished run in $RUN_DIR and nothing else (its
# config, summary, metrics, log and sample grids; reports/.gitignore keeps checkpoints, W&B's logs
# and locks out). Retries while another commit holds git's index lock (two workers at once).
#   infogan-bench sweep run SWEEP.yaml --out reports/NAME/runs --on-finish "bash reports/commit_run.sh"
set -u
: "${RUN_DIR:?commit_run.sh is a hook of infogan-bench sweep run --on-finish}"
for try in 1 2 3 4 5; do
  git add -- "$RUN_DIR" && git commit -q -m "$RUN_DIR finished" -- "$RUN_DIR" && exit 0
  sleep 5
done
exit 1
