#!/usr/bin/env bash
# The trained CIFAR-10 study, run from the repo root: CIFAR-10's default recipe and the four axes
# on top of it (sweeps/cifar10_trained_*.yaml) x seeds 0-2, seed by seed (every arm's seed 0, then
# seed 1, then seed 2), 10,000 x 64 each, one thread per run. Each run that finishes is committed,
# then scored with the standard Inception FID/KID at step 10,000 and at its step-5,000 snapshot
# while its checkpoints are on this machine (score.sh here), and those scores committed. A finished
# run is skipped, so the same command on a fresh clone trains only what is missing:
#   WORKERS=2 nohup bash reports/cifar10_trained/run.sh > /tmp/cifar10_trained.log 2>&1 &
#   DATA_DIR=/path/with/cifar10 COMMIT=0 bash reports/cifar10_trained/run.sh   # no commits
# Report from the committed runs alone:
#   infogan-bench report --runs reports/cifar10_trained/runs --name cifar10_trained
set -uo pipefail
export COMMIT=${COMMIT:-1} DATA_DIR=${DATA_DIR:-../shared/data}

source reports/cifar10/domain/cache.sh  # the domain FID's classifier, one for every study
hook='bash reports/cifar10_trained/score.sh "$RUN_DIR"'
[ "$COMMIT" = 1 ] && hook="bash reports/commit_run.sh && $hook"

lane() {  # every arm's first seed, then its first two, then all three
  local count arm status=0
  for count in 1 2 3; do
    for arm in ${ARMS:-default upsample spectral gaussian_nll supervised}; do
      OMP_NUM_THREADS=1 infogan-bench sweep run "sweeps/cifar10_trained_$arm.yaml" --count "$count" \
        --out "reports/cifar10_trained/runs/$arm" --workers 1 --tracker none --data-dir "$DATA_DIR" \
        --on-finish "$hook" || status=1
    done
  done
  return $status
}

source reports/lanes.sh
lanes lane
