#!/usr/bin/env bash
# The CIFAR-10 recipe screen, run from the repo root: nine candidates (sweeps/cifar10_screen_*.yaml)
# x seeds 0 and 1, every candidate's seed 0 first. Each run stops as failed once D has won for
# 1,000 steps in a row (--stop-when-d-won), and every run that ends, finished or stopped, is
# committed. A finished run is skipped, so the same command on a fresh clone trains what is missing:
#   WORKERS=2 nohup bash reports/cifar10_screen/run.sh > /tmp/screen.log 2>&1 &
#   DATA_DIR=/path/with/cifar10 COMMIT=0 bash reports/cifar10_screen/run.sh   # no commits
# Then: infogan-bench report --runs reports/cifar10_screen/runs --name cifar10_screen
set -uo pipefail
export COMMIT=${COMMIT:-1} DATA_DIR=${DATA_DIR:-../shared/data}
source reports/cifar10/domain/cache.sh  # the domain FID's classifier, one for every study

commit_ended() {  # the run dirs of $1 that finished or stopped (not another lane's live run)
  local dirs=() run try
  [ "$COMMIT" = 1 ] || return 0
  for run in "$1"/*/; do
    grep -qsE '"status": "(finished|failed)"' "$run/summary.json" && dirs+=("$run")
  done
  [ ${#dirs[@]} -gt 0 ] || return 0
  local readme=reports/cifar10_screen/README.md
  for try in 1 2 3 4 5; do  # another lane may hold git's index lock
    python reports/cifar10_screen/table.py > /dev/null &&  # the README's table, with these runs
      git add -- "${dirs[@]}" "$readme" && { git diff --cached --quiet -- "${dirs[@]}" "$readme" ||
      git commit -q -m "$1: runs ended" -- "${dirs[@]}" "$readme"; } && return 0
    sleep 5
  done
}

lane() {
  local count cand status=0
  for count in 1 2; do
    for cand in ${CANDIDATES:-dcgan hinge svhn_d svhn_d_dcgan svhn_d_ttur ttur_g plain mnist_recipe ttur_d}; do
      out=reports/cifar10_screen/runs/$cand
      # a candidate D beat on seed 0 is out (criterion 1): its seed 1 would not change that
      grep -qs '"stopped": "d_won"' "$out/000-seed=0/summary.json" && [ "$count" = 2 ] &&
        case $cand in mnist_recipe | plain) ;; *) continue ;; esac
      OMP_NUM_THREADS=1 infogan-bench sweep run "sweeps/cifar10_screen_$cand.yaml" --count "$count" \
        --out "$out" --workers 1 --tracker none --data-dir "$DATA_DIR" || status=1
      commit_ended "$out"
    done
  done
  return $status
}

source reports/lanes.sh
lanes lane
