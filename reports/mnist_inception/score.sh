#!/usr/bin/env bash
# Standard Inception FID/KID (10,000 generated images vs MNIST's 10,000 test images) of
# finished campaign runs whose last.pt is still on this machine, one run after another, run from
# the repo root. Each run's eval_last.json (domain and Inception scores of its last.pt) is
# committed, and its scoring time appended to reports/mnist_inception/report/times.tsv. Runs already
# scored are skipped, so the same command continues (COMMIT=0: no commits). The first run also computes and caches the
# test split's Inception features and the real-vs-real floor (20,000 more images).
#   bash reports/mnist_inception/score.sh reports/mnist_screen/runs/*/*
set -uo pipefail
times=reports/mnist_inception/report/times.tsv
[ -f "$times" ] || printf 'run\tthreads\twall_s\tuser_s\tsys_s\tload_before\n' > "$times"
status=0
for run in "$@"; do
  [ -f "$run/summary.json" ] || continue
  grep -q '^dataset: mnist' "$run/config.yaml" || continue
  grep -q '"status": "finished"' "$run/summary.json" || { echo "skip $run: not finished"; continue; }
  grep -q fid_inception "$run/eval_last.json" 2>/dev/null && continue
  [ -f "$run/checkpoints/last.pt" ] || { echo "skip $run: its last.pt is not on this machine"; continue; }
  threads=${OMP_NUM_THREADS:-1}
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "scoring $run ($threads thread(s), load $load)"
  if OMP_NUM_THREADS=$threads /usr/bin/time -f '%e %U %S' -o "$run/.inception_time" \
      infogan-bench evaluate "$run" --features inception --data-dir "${DATA_DIR:-../shared/data}"; then
    read -r wall user sys < "$run/.inception_time"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$threads" "$wall" "$user" "$sys" "$load" >> "$times"
    if [ "${COMMIT:-1}" = 1 ]; then
      git add -- "$run/eval_last.json" "$times" &&
        git commit -q -m "$run: Inception FID at 10k" -- "$run/eval_last.json" "$times"
    fi
  else
    status=1
  fi
  rm -f "$run/.inception_time"
done
exit $status
