# Sourced by a campaign script (reports/*/run.sh): `lanes FN` runs FN, a pass over the campaign's
# runs one at a time, in $WORKERS lanes (default 1). A lane leaves a run another lane holds
# (`busy`) and takes the next, so no lane idles while a run is left; lane n starts 30 s after
# lane n-1 so that the first one holds a run. After the lanes, one more pass finishes or lists
# what they left to each other. Returns that last pass's status.
lanes() {
  local fn=$1 workers=${WORKERS:-1} n status
  for n in $(seq 2 "$workers"); do
    (sleep $((30 * (n - 1))); "$fn" 2>&1 | sed -u "s/^/[lane $n] /") &
  done
  "$fn"
  status=$?
  wait
  if [ "$workers" -gt 1 ]; then
    "$fn"
    status=$?
  fi
  return $status
}
