#!/usr/bin/env bash
# The paper-protocol campaign, run from the repo root; each finished run is committed
# as it finishes, so the same command on a fresh clone trains only what is missing:
#   WORKERS=1 bash reports/mnist_paper/run.sh        # one run at a time, one thread (default)
#   WORKERS=2 bash reports/mnist_paper/run.sh        # two at a time on an idle 2-core machine
#   DATA_DIR=/path/with/MNIST/raw COMMIT=0 bash reports/mnist_paper/run.sh   # elsewhere, no commits
# Order: the default recipe (seeds 0-4), then spectral norm, nearest-upsample G and 1 % labels
# (seeds 0-2 each), then the every-seed study's confirmation on fresh seeds 5-9: the default again
# (default_fresh) and the screening's pick, real-image consistency at weight 2
# (consistency_fresh). Each run that finishes is committed, then scored with the standard
# Inception FID (reports/mnist_inception/score.sh) while its checkpoint exists;
# INCEPTION=0 skips that (~30 min of one core per run). WORKERS=N runs N lanes over that order,
# each one run at a time with one thread; a lane leaves a run another lane trains to it (`busy`)
# and takes the next, so no worker idles while a run is left, across arms too. After the lanes,
# one last pass reports what is missing.
# ARMS="a b" trains only those arms, in that order: one lane per confirmation arm, so that the
# pairs on seeds 5-9 finish seed by seed rather than one arm after the other:
#   ARMS="consistency_fresh default_fresh" nohup bash reports/mnist_paper/run.sh > /tmp/a.log 2>&1 &
#   ARMS="default_fresh consistency_fresh" nohup bash reports/mnist_paper/run.sh > /tmp/b.log 2>&1 &
# The report is made from the committed runs alone:
#   infogan-bench report --runs reports/mnist_paper/runs --name mnist_paper
set -uo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
[ "${INCEPTION:-1}" = 1 ] && commit="$commit && COMMIT=${COMMIT:-1} bash reports/mnist_inception/score.sh \"\$RUN_DIR\""

arms() {  # every arm in order, one run at a time; fails when a run is left unfinished
  local arm yaml status=0
  for arm in ${ARMS:-default spectral upsample supervised default_fresh consistency_fresh}; do
    yaml=sweeps/mnist_paper_$arm.yaml
    [ "$arm" = default ] && yaml=sweeps/mnist_paper.yaml
    OMP_NUM_THREADS=1 infogan-bench sweep run "$yaml" --out "reports/mnist_paper/runs/$arm" \
      --workers 1 --tracker none --data-dir "${DATA_DIR:-../shared/data}" --on-finish "$commit" \
      || status=1
  done
  return $status
}

source reports/lanes.sh
lanes arms
