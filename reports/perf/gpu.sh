#!/usr/bin/env bash
# The GPU measurements of reports/perf/gpu.py, from the repo root, on a machine with the suite
# installed (pip install -e .): digits only, no download, under ten minutes.
#   bash reports/perf/gpu.sh                # writes reports/perf/gpu-cuda.json on a GPU machine
#   bash reports/perf/gpu.sh --device cpu   # the dry run on a CPU
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python reports/perf/gpu.py "$@"
