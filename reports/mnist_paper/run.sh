#!/usr/bin/env bash
# The paper-protocol campaign (issue #12), run from the repo root; each finished run is committed
# as it finishes, so the same command on a fresh clone trains only what is missing:
#   WORKERS=1 bash reports/mnist_paper/run.sh        # one run at a time, one thread (default)
#   WORKERS=2 bash reports/mnist_paper/run.sh        # two at a time on an idle 2-core machine
#   DATA_DIR=/path/with/MNIST/raw COMMIT=0 bash reports/mnist_paper/run.sh   # elsewhere, no commits
# Order: the default recipe (seeds 0-4), then spectral norm, nearest-upsample G and 1 % labels
# (seeds 0-2 each). The report is made from the committed runs alone:
#   infogan-bench report --runs reports/mnist_paper/runs --out reports/mnist_paper --name report
set -euo pipefail
workers=${WORKERS:-1}
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
for arm in default spectral upsample supervised; do
  yaml=sweeps/mnist_paper_$arm.yaml
  [ "$arm" = default ] && yaml=sweeps/mnist_paper.yaml
  OMP_NUM_THREADS=1 infogan-bench sweep run "$yaml" --out "reports/mnist_paper/runs/$arm" \
    --workers "$workers" --tracker none --data-dir "${DATA_DIR:-../shared/data}" --on-finish "$commit"
done
