"""A sweep on a SLURM cluster: one job array, task i trains run i of the sweep's expansion.

    infogan-bench sweep slurm sweeps/digits_quick.yaml --out runs/digits_quick --partition cpu
    infogan-bench sweep status runs/digits_quick

The array's tasks use the expansion, order and run-dir names of `sweep run`, so a sweep started on
a laptop can finish on the cluster and back. A plain `sbatch` script, not submitit: the script is
the whole contract (the user can read it with --dry-run, edit it and submit it by hand), and it
needs nothing installed but SLURM's own commands.

Preemption and time limits: tasks are `--requeue`able and get SIGTERM `signal_seconds` before
their time limit (`--signal=B:TERM@S`, to the batch shell, which passes it on). The run then
checkpoints its step and exits 143; the script requeues its own task (`scontrol requeue`), which
resumes from that checkpoint. A run that fails for a reason of its own (a bad config, a diverged
loss) exits with another code and is not requeued; nor is a task after `max_requeues` restarts.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infogan_bench.errors import SweepError
from infogan_bench.rundir import RunDir, atomic_write_text
from infogan_bench.sweeping.sweep import Children, JobRunner, Outcome, prepare_jobs, run_env
from infogan_bench.training.signals import on_stop_signals

INTERRUPTED_EXIT = 143  # a run stopped by SIGTERM after a checkpoint: 128 + 15


@dataclass
class SlurmOptions:
    """What a cluster user sets per submission; each maps to one #SBATCH line (None: left out)."""

    partition: str | None = None  # --partition
    time: str | None = None  # --time, e.g. 2:00:00 (the cluster's default when None)
    cpus_per_task: int = 1  # --cpus-per-task; also the run's OMP_NUM_THREADS
    gpus_per_task: int = 0  # --gpus-per-task
    mem: str | None = None  # --mem, e.g. 8G
    account: str | None = None  # --account
    qos: str | None = None  # --qos
    max_parallel: int | None = None  # the array's %K: at most K tasks at once
    signal_seconds: int = 120  # SIGTERM this long before the time limit, to checkpoint
    max_requeues: int = 20  # a task interrupted more often than this stays down
    extra: list[str] = field(default_factory=list)  # more #SBATCH lines, e.g. "--constraint=avx2"


def batch_script(
    yaml_path: Path,
    out: Path,
    n_tasks: int,
    options: SlurmOptions,
    runner_args: list[str],
    wandb_sweep: str | None = None,
) -> str:
    """The job array's sbatch script; runner_args go to each task's `sweep task` (tracker, data)."""
    out = out.resolve()
    array = f"0-{n_tasks - 1}" + (f"%{options.max_parallel}" if options.max_parallel else "")
    lines = [
        f"--array={array}",
        "--output=/dev/null",  # the task's log: the script's own redirection below  # a requeued task's log continues the first attempt's
        "--requeue",
        f"--signal=B:TERM@{options.signal_seconds}",
        f"--cpus-per-task={options.cpus_per_task}",
    ]
    for flag, value in [
        ("partition", options.partition),
        ("time", options.time),
        ("mem", options.mem),
        ("account", options.account),
        ("qos", options.qos),
        ("gpus-per-task", options.gpus_per_task or None),
    ]:
        if value is not None:
            lines.append(f"--{flag}={value}")
    lines += options.extra
    python = shlex.quote(sys.executable)
    if wandb_sweep:  # one W&B agent run per task, as W&B documents for SLURM
        command = f"{python} -m infogan_bench.cli sweep agent {shlex.quote(wandb_sweep)} --count 1"
    else:
        # the copy in OUT: the sweep as submitted, whatever happens to its YAML later
        task = [str(out / "sweep.yaml"), "--out", str(out), *runner_args]
        args = " ".join(shlex.quote(a) for a in task)
        command = f'{python} -m infogan_bench.cli sweep task {args} --index "$SLURM_ARRAY_TASK_ID"'
    header = "\n".join(f"#SBATCH {line}" for line in lines)
    submitted = shlex.join(sbatch_command(yaml_path, out, out / "slurm" / "array.sbatch"))
    return f"""#!/bin/bash
{header}
# Written by `infogan-bench sweep slurm`: task i trains run i of the sweep (as `sweep run` names it).
# Submitted as: {submitted}
# Each task appends to OUT/slurm/JOB_TASK.out (a requeued task's log continues the first
# attempt's): redirected here, where the shell quotes any path, not by sbatch's --output, whose
# parser cannot take every path (a backslash, a quote).
exec >> {shlex.quote(str(out / "slurm"))}/"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}.out" 2>&1
export OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}
echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname), restart ${{SLURM_RESTART_COUNT:-0}}"
{command} &
child=$!
# SLURM's warning (or scancel --signal=TERM --batch) reaches this shell: pass it to the run,
# which checkpoints its step and exits {INTERRUPTED_EXIT}
trap 'kill -TERM "$child" 2>/dev/null' TERM
wait "$child"; code=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
if [ "$code" = {INTERRUPTED_EXIT} ] && [ "${{SLURM_RESTART_COUNT:-0}}" -lt {options.max_requeues} ]; then
  echo "interrupted after a checkpoint: requeueing task $SLURM_ARRAY_TASK_ID"
  scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit "$code"
"""


def sbatch_command(yaml_path: Path, out: Path, script: Path) -> list[str]:
    """sbatch's argv; the job name is an argument, not an #SBATCH line (a name with a space)."""
    return ["sbatch", "--parsable", f"--job-name=infogan-{yaml_path.stem}", str(script)]


def submit(
    yaml_path: str | Path,
    out: str | Path,
    options: SlurmOptions,
    runner_args: list[str],
    wandb_sweep: str | None = None,
    dry_run: bool = False,
) -> tuple[str, str | None]:
    """Write OUT/slurm/array.sbatch and submit it (unless dry_run); returns (script, job id)."""
    out = Path(out)
    jobs = prepare_jobs(yaml_path, out, record=not dry_run)  # validated; recorded in OUT
    script = batch_script(Path(yaml_path), out, len(jobs), options, runner_args, wandb_sweep)
    if dry_run:
        return script, None
    if shutil.which("sbatch") is None:
        raise SweepError(
            "sbatch not found: run this on a SLURM login node (or --dry-run to see the script)"
        )
    path = out / "slurm" / "array.sbatch"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, script)
    done = subprocess.run(
        sbatch_command(Path(yaml_path), out, path), capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SweepError(f"sbatch refused the array ({reason}); the script is {path}")
    job_id = done.stdout.strip().split(";")[0]
    with open(out / "slurm" / "jobs", "a") as jobs_file:  # every submission, for `sweep status`
        jobs_file.write(job_id + "\n")
    return script, job_id


def run_task(
    yaml_path: str | Path,
    out: str | Path,
    index: int,
    tracker: str = "wandb",
    wandb_mode: str = "offline",
    data_dir: str | None = None,
) -> tuple[Outcome, int]:
    """Train run `index` of the sweep into OUT (resuming it); returns its outcome and the exit
    code for the scheduler: 0 finished, 143 interrupted after a checkpoint (requeue), 1 else."""
    jobs = prepare_jobs(yaml_path, out)
    if not 0 <= index < len(jobs):
        raise SweepError(f"--index {index}: the sweep has runs 0-{len(jobs) - 1}")
    children = Children()
    runner = JobRunner(Path(out), children, run_env(1), tracker, wandb_mode, data_dir, None)
    with on_stop_signals(children.stop):
        outcome = runner.run(*jobs[index])
    if outcome.status in ("finished", "skipped"):
        return outcome, 0
    stopped = outcome.status == "interrupted" or children.stopping is not None
    return outcome, INTERRUPTED_EXIT if stopped else 1


@dataclass
class RunState:
    name: str
    status: str  # finished | failed | interrupted | running | pending | unfinished
    detail: str  # the failure's reason, the step, or the scheduler's state


def sweep_status(out: str | Path) -> list[RunState]:
    """Each run of the sweep recorded in OUT: from its run dir, and from squeue where present."""
    out = Path(out)
    if not (out / "sweep.yaml").is_file():
        raise SweepError(
            f"no sweep in {out}: pass the --out folder of `sweep run` or `sweep slurm`"
        )
    jobs = prepare_jobs(out / "sweep.yaml", out, record=False)  # a status only reads
    queued = _squeue(out)
    states = []
    for index, (name, _) in enumerate(jobs):
        run = RunDir(out / name)
        summary = run.read_summary()
        status, step = summary.get("status"), summary.get("step")
        slurm = queued.get(index)
        if status == "finished":
            state = RunState(name, "finished", f"step {step}")
        elif slurm is not None:
            scheduler = f"slurm {slurm[0]} {slurm[1].lower()}" + (
                f" ({slurm[2]})" if slurm[2] not in ("None", "") else ""
            )
            is_running = slurm[1] in ("RUNNING", "COMPLETING")
            where = f"step {step}, " if step is not None else ""
            state = RunState(name, "running" if is_running else "pending", where + scheduler)
        elif (holder := run.holder()) is not None:  # one look at the lock: it may change
            state = RunState(name, "running", f"step {step or 0}, pid {holder}")
        elif status == "failed":
            state = RunState(name, "failed", f"step {step}: {summary.get('reason', '')}")
        elif status == "interrupted":
            state = RunState(
                name, "interrupted", f"step {step}, {summary.get('signal', '')}; resumes"
            )
        elif run.holds_run():
            state = RunState(name, "unfinished", f"step {step or 0}; resumes")
        else:
            state = RunState(name, "pending", "not started")
        states.append(state)
    return states


def _squeue(out: Path) -> dict[int, tuple[str, str, str]]:
    """Array index -> (job id, state, reason) of the tasks still queued or running."""
    jobs_file = out / "slurm" / "jobs"
    if not jobs_file.is_file() or shutil.which("squeue") is None:
        return {}
    job_ids = ",".join(jobs_file.read_text().split())
    done = subprocess.run(
        ["squeue", "-h", "-r", "-j", job_ids, "-o", "%i|%K|%T|%r"], capture_output=True, text=True
    )
    queued = {}
    for line in done.stdout.splitlines():
        task_id, index, state, reason = line.split("|")
        if index.isdigit():
            queued[int(index)] = (task_id, state, reason)
    return queued
