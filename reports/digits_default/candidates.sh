#!/usr/bin/env bash
# Candidates for the main job's digits recipe (issue #12), run from the repo root; each finished
# run is committed, so a rerun trains only what is missing:
#   COUNT=2 bash reports/digits_default/candidates.sh    # screen: seeds 0 and 2 of each, 1 thread
#   bash reports/digits_default/candidates.sh            # all five seeds of each, 1 thread
#   CANDIDATES=lambda_cat2 THREADS="1 2" bash reports/digits_default/candidates.sh   # and 2 threads
# Candidate NAME is sweeps/digits_NAME.yaml; its runs go to
# reports/digits_default/<its field=value>/threads=N. Two threads only mean two threads on an
# otherwise idle 2-core machine for wall times; the numbers depend on the thread count, not the load.
set -euo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
declare -A folder=([noise_dim16]=noise_dim=16 [lambda_cat2]=lambda_cat=2 [upsample]=upsample
                   [feature_matching]=feature_matching [consistency]=real_consistency=2)
for threads in ${THREADS:-1}; do
  for name in ${CANDIDATES:-noise_dim16 lambda_cat2}; do
    OMP_NUM_THREADS=$threads infogan-bench sweep run "sweeps/digits_$name.yaml" ${COUNT:+--count "$COUNT"} \
      --out "reports/digits_default/${folder[$name]}/threads=$threads" --workers 1 --tracker none \
      --on-finish "$commit"
  done
done
