#!/usr/bin/env bash
# Starts a one-node SLURM cluster on this machine for the tests marked `slurm` (and for trying
# `infogan-bench sweep slurm` by hand): installs Debian's slurm-wlm (slurmctld, slurmd, munge)
# when missing, writes a slurm.conf with this node's line from `slurmd -C`, starts munged,
# slurmctld and slurmd, and waits until the node is idle. Needs root. Idempotent: a running
# cluster is left as it is. State and logs go to $SLURM_TEST_DIR (default /tmp/infogan-slurm).
#   bash tests/slurm/start.sh && sinfo
set -euo pipefail
dir=${SLURM_TEST_DIR:-/tmp/infogan-slurm}
if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "slurm: already running"; exit 0
fi
if ! command -v slurmctld > /dev/null; then
  echo "slurm: installing slurm-wlm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm > /dev/null
fi
host=$(hostname -s)
mkdir -p "$dir"/{state,spool,logs} /run/munge /etc/slurm
pgrep -x munged > /dev/null || munged --force
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=infogan-test
SlurmctldHost=$host
SlurmUser=root
ProctrackType=proctrack/pgid
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldLogFile=$dir/logs/ctld.log
SlurmdLogFile=$dir/logs/d.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=2
$(slurmd -C | head -1) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld > /dev/null || slurmctld
pgrep -x slurmd > /dev/null || slurmd
for _ in $(seq 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm: up ($(sinfo -h -o '%P %a %D %T %N'))"; exit 0
  fi
  sleep 1
done
echo "slurm: the node did not come up; see $dir/logs" >&2
exit 1
