#!/usr/bin/env bash
# The training-options comparison at the CPU protocol of reports/mnist_cpu (400 steps, batch 64, eval and
# checkpoint every 100, 5,000 scoring samples): the default variant and the default with one
# option switched on, seeds 0-2, two runs at a time with one thread each. Run from the repo root:
#   bash reports/mnist_tricks/run.sh && infogan-bench report --runs runs/mnist_tricks --name mnist_tricks
# (sweeps/mnist_tricks.yaml is the full factorial at the paper protocol, a GPU job.)
set -euo pipefail
out=runs/mnist_tricks
options=(
  "default|"
  "cont_guidance=thickness|--cont-guidance thickness"
  "label_smoothing=0.1|--label-smoothing 0.1"
  "q_optimizer=with-g|--q-optimizer with-g"
  "q_optimizer=separate|--q-optimizer separate"
  "feature_matching=1|--feature-matching 1"
  "n_cont_codes=0|--n-cont-codes 0"
)
jobs=()
for option in "${options[@]}"; do
  for seed in 0 1 2; do jobs+=("${option%%|*}-seed=$seed|${option#*|} --seed $seed"); done
done
mkdir -p "$out"
printf '%s\n' "${jobs[@]}" | OMP_NUM_THREADS=1 xargs -P 2 -I{} bash -c '
  job="{}"; name="${job%%|*}"; flags="${job#*|}"; dir='"$out"'/$name
  grep -qs "\"status\": \"finished\"" "$dir/summary.json" && exit 0
  mkdir -p "$dir"
  infogan-bench train --dataset mnist --data-dir ../shared/data --steps 400 --batch-size 64 \
    --eval-every 100 --checkpoint-every 100 --score-samples 5000 --tracker wandb \
    --wandb-mode offline --progress false --run-dir "$dir" $flags > "$dir/train.log" 2>&1
  echo "[$name] exit $?"'
