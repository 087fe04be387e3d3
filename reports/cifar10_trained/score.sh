#!/usr/bin/env bash
# Scores finished runs of the trained CIFAR-10 study whose checkpoints are on this machine with the
# standard Inception network: FID/KID of 10,000 generated images vs the 10,000 test images, of
# last.pt (step 10,000, eval_last.json) and of the step-5,000 snapshot (eval_step_5000.json), and
# commits each file (COMMIT=0: no commit). run.sh calls it as each run finishes; a checkpoint
# already scored is skipped, so it also continues:
#   bash reports/cifar10_trained/score.sh reports/cifar10_trained/runs/*/*
set -uo pipefail
status=0
commit() {  # another lane may hold git's index lock
  local try
  [ "${COMMIT:-1}" = 1 ] || return 0
  for try in 1 2 3 4 5; do
    git add -- "$@" && git commit -q -m "$(dirname "$1"): Inception scores" -- "$@" && return 0
    sleep 5
  done
  return 1
}
for run in "$@"; do
  grep -qs '"status": "finished"' "$run/summary.json" || { echo "skip $run: not finished"; continue; }
  for checkpoint in step_5000 last; do
    grep -qs fid_inception "$run/eval_$checkpoint.json" && continue
    [ -f "$run/checkpoints/$checkpoint.pt" ] ||
      { echo "skip $run $checkpoint: its checkpoint is not on this machine"; continue; }
    echo "scoring $run $checkpoint with Inception"
    log=$run/score_$checkpoint.log
    if OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} infogan-bench evaluate "$run" --checkpoint "$checkpoint" \
        --features inception --data-dir "${DATA_DIR:-../shared/data}" > "$log" 2>&1; then
      commit "$run/eval_$checkpoint.json" "$log" || status=1
    else
      echo "scoring $run $checkpoint failed: $(tail -1 "$log")"
      status=1
    fi
  done
done
exit $status
