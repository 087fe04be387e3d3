#!/usr/bin/env bash
# The CIFAR-10 campaign, run from the repo root: five arms (sweeps/cifar10_*.yaml) x seeds 0-2,
# seed by seed (every arm's seed 0, then seed 1, then seed 2), so the paired table fills evenly.
# Each run that finishes is committed, then scored with the standard Inception FID/KID while its
# checkpoint is on this machine (reports/cifar10/score.sh), and that score committed. A finished
# run is skipped, so the same command on a fresh clone trains only what is missing:
#   WORKERS=2 nohup bash reports/cifar10/run.sh > /tmp/cifar10.log 2>&1 &
#   DATA_DIR=/path/with/cifar10 COMMIT=0 bash reports/cifar10/run.sh   # elsewhere, no commits
# WORKERS=N runs N lanes over that order, each one run at a time with one thread; a lane leaves a
# run another lane holds (`busy`) and takes the next. Report from the committed runs alone:
#   infogan-bench report --runs reports/cifar10/runs --name cifar10
set -uo pipefail
export COMMIT=${COMMIT:-1} DATA_DIR=${DATA_DIR:-../shared/data}

source reports/cifar10/domain/cache.sh  # the domain FID's classifier, one for every study
hook='bash reports/cifar10/score.sh "$RUN_DIR"'
[ "$COMMIT" = 1 ] && hook="bash reports/commit_run.sh && $hook"

lane() {  # every arm's first seed, then its first two, then all three
  local count arm status=0
  for count in 1 2 3; do
    for arm in ${ARMS:-default upsample spectral gaussian_nll supervised}; do
      OMP_NUM_THREADS=1 infogan-bench sweep run "sweeps/cifar10_$arm.yaml" --count "$count" \
        --out "reports/cifar10/runs/$arm" --workers 1 --tracker none --data-dir "$DATA_DIR" \
        --on-finish "$hook" || status=1
    done
  done
  return $status
}

source reports/lanes.sh
lanes lane
