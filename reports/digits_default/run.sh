#!/usr/bin/env bash
# The README's main job over seeds 0-4 at 1 and at 2 threads (issue #12), run from the repo root;
# each finished run is committed as it finishes, so a rerun trains only what is missing:
#   THREADS="1 2" bash reports/digits_default/run.sh     # both thread counts, one run at a time
#   THREADS=1 COMMIT=0 bash reports/digits_default/run.sh  # one thread count, no commits
# Two threads only mean two threads on an otherwise idle 2-core machine: don't run it beside
# another job. The report is made from the committed runs alone:
#   infogan-bench report --runs reports/digits_default/runs --out reports/digits_default --name report
set -euo pipefail
commit='bash reports/commit_run.sh'
[ "${COMMIT:-1}" = 1 ] || commit=true
for threads in ${THREADS:-1 2}; do
  OMP_NUM_THREADS=$threads infogan-bench sweep run sweeps/digits_default.yaml \
    --out "reports/digits_default/runs/threads=$threads" --workers 1 --tracker none --on-finish "$commit"
done
