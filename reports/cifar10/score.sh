#!/usr/bin/env bash
# Scores finished CIFAR-10 runs whose last.pt is on this machine with the standard Inception
# network (FID/KID of 10,000 generated images vs the 10,000 test images; IS where the weights have
# the classifier layer) and commits each run's eval_last.json (COMMIT=0: no commit). The run.sh
# campaign calls it as each run finishes; a run already scored is skipped, so it also continues:
#   bash reports/cifar10/score.sh reports/cifar10/runs/*/*
set -uo pipefail
status=0
for run in "$@"; do
  grep -qs '"status": "finished"' "$run/summary.json" || { echo "skip $run: not finished"; continue; }
  grep -qs fid_inception "$run/eval_last.json" && continue
  [ -f "$run/checkpoints/last.pt" ] || { echo "skip $run: its last.pt is not on this machine"; continue; }
  echo "scoring $run with Inception"
  if OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} infogan-bench evaluate "$run" --features inception \
      --data-dir "${DATA_DIR:-../shared/data}" > "$run/score.log" 2>&1; then
    if [ "${COMMIT:-1}" = 1 ]; then
      for try in 1 2 3 4 5; do  # another lane may hold git's index lock
        git add -- "$run/eval_last.json" "$run/score.log" &&
          git commit -q -m "$run: Inception scores" -- "$run/eval_last.json" "$run/score.log" && break
        sleep 5
      done
    fi
  else
    echo "scoring $run failed: $(tail -1 "$run/score.log")"
    status=1
  fi
done
exit $status
