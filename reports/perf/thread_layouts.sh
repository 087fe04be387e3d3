#!/usr/bin/env bash
# Images/s for the whole machine when trainings share its CPUs, per layout
# (processes x threads each), on digits at batch 64 (no eval, no scoring), from the repo root:
#   bash reports/perf/thread_layouts.sh            # layouts 1x2 2x1 2x2 (a 2-core machine)
#   LAYOUTS="1x4 2x2 4x1 4x4" STEPS=300 bash reports/perf/thread_layouts.sh
# Run it on an otherwise idle machine: the number is the sum of the runs' images/s.
set -euo pipefail
steps=${STEPS:-200}
out=$(mktemp -d)
echo "| layout (processes x threads) | images/s per process | images/s for the machine |"
echo "|---|---|---|"
for layout in ${LAYOUTS:-1x2 2x1 2x2}; do
  procs=${layout%x*} threads=${layout#*x}
  for p in $(seq 1 "$procs"); do
    infogan-bench train --dataset digits --batch-size 64 --steps "$steps" --log-every "$steps" \
      --eval-every 0 --score-samples 0 --tracker none --progress false --threads "$threads" \
      --run-dir "$out/$layout-$p" > /dev/null 2>&1 &
  done
  wait
  python - "$out" "$layout" <<'PY'
import json, sys
from pathlib import Path
rates = [json.loads(p.read_text())["images_per_s"] for p in sorted(Path(sys.argv[1]).glob(f"{sys.argv[2]}-*/summary.json"))]
print(f"| {sys.argv[2]} | {', '.join(f'{r:.0f}' for r in rates)} | {sum(rates):.0f} |")
PY
done
rm -rf "$out"
