#!/usr/bin/env bash
# digits with the paper's recipe (lambda_cat 1, the main job until lambda_cat 2 became digits'
# default) over seeds 0-4 at 1 and at 2 threads (issue #12), run from the repo root; each finished
# run is committed as it finishes, so a rerun trains only what is missing. Today's main job over the
# same seeds and threads: CANDIDATES=lambda_cat2 THREADS="1 2" bash reports/digits_default/candidates.sh
#   THREADS="1 2" bash reports/digits_default/run.sh     # both thread counts, one run at a time
#   THREADS=1 COMMIT=0 bash reports/digits_default/run.sh  # one thread count, no commits
# Its wall times are for an otherwise idle 2-core machine (the losses do not depend on the load,
# only on the thread count). The report is made from the committed runs alone:
#   infogan-bench report --runs reports/digits_default/runs --out reports/digits_default --name report
set -euo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
for threads in ${THREADS:-1 2}; do
  OMP_NUM_THREADS=$threads infogan-bench sweep run sweeps/digits_lambda_cat1.yaml \
    --out "reports/digits_default/runs/threads=$threads" --workers 1 --tracker none --on-finish "$commit"
done
