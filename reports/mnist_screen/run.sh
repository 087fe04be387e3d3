#!/usr/bin/env bash
# The every-seed study's screening at 2,000 x 128 on MNIST, run from the repo root; each finished run is
# committed as it finishes, so the same command trains only what is missing:
#   bash reports/mnist_screen/run.sh lambda_cat2            # one candidate, one thread
#   bash reports/mnist_screen/run.sh lambda_cat2 consistency  # candidates in order, one lane
# Each candidate NAME is sweeps/mnist_screen_NAME.yaml, trained into reports/mnist_screen/runs/NAME.
# Two lanes at most on a 2-core machine: start this twice with different candidates.
# COUNT=N: only each candidate's first N seeds (a later run without it trains the rest).
set -uo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
status=0
for name in "$@"; do
  OMP_NUM_THREADS=1 infogan-bench sweep run "sweeps/mnist_screen_$name.yaml" \
    --out "reports/mnist_screen/runs/$name" --workers 1 --tracker none \
    --data-dir "${DATA_DIR:-../shared/data}" --on-finish "$commit" ${COUNT:+--count "$COUNT"} || status=1
done
exit $status
