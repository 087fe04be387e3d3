#!/usr/bin/env bash
# digits recipes over seeds and thread counts, run from the repo root: recipe NAME is
# sweeps/digits_NAME.yaml, its runs go to reports/digits_default/runs/NAME-threads=N/, and each
# finished run is committed as it finishes, so a rerun trains only what is missing.
#   CANDIDATES=lambda_cat2 THREADS="1 2" bash reports/digits_default/run.sh   # the main job: 10 runs
#   CANDIDATES=lambda_cat1 THREADS="1 2" bash reports/digits_default/run.sh   # the paper's λ_cat 1
#   COUNT=2 CANDIDATES="noise_dim16 upsample" bash reports/digits_default/run.sh  # first 2 seeds each
#   COMMIT=0 ...                                                             # no commits
# Two threads only mean two threads on an otherwise idle 2-core machine for wall times; the
# numbers depend on the thread count, not the load. The report is made from the committed runs:
#   infogan-bench report --runs reports/digits_default/runs/lambda_cat{1,2}-threads=* \
#       --name digits_default --fail-below 0.7933
set -euo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
for threads in ${THREADS:-1}; do
  for name in ${CANDIDATES:-lambda_cat2}; do
    OMP_NUM_THREADS=$threads infogan-bench sweep run "sweeps/digits_$name.yaml" ${COUNT:+--count "$COUNT"} \
      --out "reports/digits_default/runs/$name-threads=$threads" --workers 1 --tracker none \
      --on-finish "$commit"
  done
done
