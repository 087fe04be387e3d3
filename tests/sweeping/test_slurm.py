"""`sweep slurm`, `sweep task` and `sweep status`: the script, and (marked slurm) a real cluster.

The `slurm` tests submit to the one-node cluster that tests/slurm/start.sh starts (.ci/run does);
they skip, saying why, where no cluster answers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from infogan_bench.analysis.results import load_run_dirs
from infogan_bench.cli import main
from infogan_bench.rundir import RunDir
from infogan_bench.sweeping.slurm import SlurmOptions, batch_script, sweep_status
from tests.conftest import tiny_parameters, wait_for

TINY = tiny_parameters(checkpoint_every=5)


def _sweep(tmp_path: Path, name: str, **parameters: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    spec = {
        "name": name,
        "method": "grid",
        "metric": {"name": "cat_acc", "goal": "maximize"},
        "parameters": {**TINY, **parameters},
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def test_dry_run_prints_a_requeueable_array_with_every_option_and_writes_nothing(tmp_path, capsys):
    path = _sweep(tmp_path, "four", steps={"value": 20}, seed={"values": [0, 1, 2, 3]})
    out = tmp_path / "runs"
    argv = [
        "sweep",
        "slurm",
        str(path),
        "--out",
        str(out),
        "--dry-run",
        "--tracker=none",
        "--partition=cpu",
        "--time=1:00:00",
        "--cpus-per-task=2",
        "--gpus-per-task=1",
        "--mem=8G",
        "--account=lab",
        "--qos=low",
        "--max-parallel=2",
        "--signal-seconds=300",
        "--sbatch=--constraint=avx2",
    ]
    assert main(argv) == 0
    script = capsys.readouterr().out
    for line in [
        "--array=0-3%2",
        "--requeue",
        "--signal=B:TERM@300",
        "--output=/dev/null",
        "--partition=cpu",
        "--time=1:00:00",
        "--cpus-per-task=2",
        "--gpus-per-task=1",
        "--mem=8G",
        "--account=lab",
        "--qos=low",
        "--constraint=avx2",
    ]:
        assert f"#SBATCH {line}\n" in script
    assert f"sweep task {out.resolve()}/sweep.yaml --out {out.resolve()} --tracker=none" in script
    assert 'scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"' in script
    assert "# Submitted as: sbatch --parsable --job-name=infogan-four " in script
    assert (
        f'exec >> {out.resolve()}/slurm/"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}.out"'
        in script
    )
    assert not out.exists()  # a dry run submits and records nothing


def test_wandb_tasks_each_run_one_agent_run(tmp_path):
    path = _sweep(tmp_path, "two", steps={"value": 20}, seed={"values": [0, 1]})
    script = batch_script(path, tmp_path / "runs", 2, SlurmOptions(), [], "me/proj/abc123")
    assert "sweep agent me/proj/abc123 --count 1 &" in script and "sweep task" not in script
    assert "--partition" not in script and "--array=0-1\n" in script


def test_task_trains_its_index_and_status_reads_the_run_dirs(tmp_path, capsys):
    path = _sweep(
        tmp_path,
        "mixed",
        steps={"value": 10},
        lr_d={"values": [2e-4, 1e7]},
        lr_g={"values": [1e-3, 1e7]},
    )
    out = tmp_path / "runs"
    assert main(["sweep", "task", str(path), "--out", str(out), "--index=0", "--tracker=none"]) == 0
    # index 3 diverges (lr 1e7): failed, exit 1, so a scheduler would not requeue it
    assert main(["sweep", "task", str(path), "--out", str(out), "--index=3", "--tracker=none"]) == 1
    capsys.readouterr()
    states = {s.name: s for s in sweep_status(out)}
    assert [s.status for s in states.values()] == ["finished", "pending", "pending", "failed"]
    assert "non-finite" in states["003-lr_d=10000000.0-lr_g=10000000.0"].detail
    assert main(["sweep", "status", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "4 runs: 1 finished, 2 pending, 1 failed"
    assert main(["sweep", "task", str(path), "--out", str(out), "--index=4"]) == 2


def _cluster_up() -> str | None:
    """None when a SLURM cluster answers here, else why not."""
    if shutil.which("sbatch") is None:
        return "no SLURM client here (bash tests/slurm/start.sh installs and starts one)"
    done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if done.returncode != 0 or not any(s in done.stdout for s in ("idle", "mixed", "alloc")):
        return "no SLURM node answers (bash tests/slurm/start.sh starts one)"
    return None


needs_cluster = pytest.mark.skipif(_cluster_up() is not None, reason=str(_cluster_up()))


def _submit(path: Path, out: Path, capsys) -> str:
    assert main(["sweep", "slurm", str(path), "--out", str(out), "--tracker=none"]) == 0
    job = capsys.readouterr().out.split()[3].rstrip(";")
    return job


def _record(job: str) -> dict[str, str]:
    """`scontrol show job`'s fields of a job or array task, as KEY: value."""
    done = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True)
    return dict(field.split("=", 1) for field in done.stdout.split() if "=" in field)


def _queued(job: str) -> list[str]:
    done = subprocess.run(
        ["squeue", "-h", "-r", "-j", job, "-o", "%i %T"], capture_output=True, text=True
    )
    return done.stdout.split("\n")[:-1]


@pytest.mark.slurm
@needs_cluster
def test_a_four_run_array_finishes_and_the_report_reads_it(tmp_path, capsys):
    path = _sweep(tmp_path, "four", steps={"value": 20}, seed={"values": [0, 1, 2, 3]})
    # any folder a filesystem allows: a space, quotes, a backslash and sbatch's pattern sign
    out = tmp_path / "my runs" / 'it\'s "100%" a\\b'
    job = _submit(path, out, capsys)
    wait_for(lambda: not _queued(job), timeout=600, state=lambda: _queued(job))
    assert [s.status for s in sweep_status(out)] == ["finished"] * 4
    runs = load_run_dirs([out])
    assert list(runs.frame["status"]) == ["finished"] * 4 and runs.frame["step"].eq(20).all()
    logs = sorted((out / "slurm").glob(f"{job}_*.out"))
    assert len(logs) == 4 and all("finished" in log.read_text() for log in logs)


@pytest.mark.slurm
@needs_cluster
def test_a_preempted_task_is_requeued_and_resumes_where_it_stopped(tmp_path, capsys):
    # last.pt only when the TERM stops it and at the end
    path = _sweep(tmp_path, "one", steps={"value": 400}, checkpoint_every={"value": 1000})
    out = tmp_path / "runs"
    job = _submit(path, out, capsys)
    run = out / "000"
    metrics = run / "metrics.jsonl"
    wait_for(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 4, timeout=300)
    # the training process is held (SIGSTOP) from step >= 20 until the TERM has reached it, so
    # that it is preempted mid-run however fast this machine trains
    trainer = int(RunDir(run).holder() or 0)
    assert trainer, "the run dir's lock names its training process"
    os.kill(trainer, signal.SIGSTOP)
    # SLURM's time-limit warning, sent now: the batch shell gets TERM and passes it on
    subprocess.run(["scancel", "--signal=TERM", "--batch", f"{job}_0"], check=True)
    wait_for(lambda: _pending_signals(trainer) & 1 << (signal.SIGTERM - 1), timeout=60)
    os.kill(trainer, signal.SIGCONT)
    summary = lambda: json.loads((run / "summary.json").read_text())  # noqa: E731
    wait_for(lambda: summary()["status"] in ("interrupted", "finished"), timeout=120)
    stopped_at = summary()["step"]
    assert summary()["status"] == "interrupted" and 0 < stopped_at < 400
    # the task requeued itself; SLURM holds a requeued task ~2 minutes: start it now, but in a
    # later second than the requeue (slurmd refuses a task started in the same second with "Job
    # credential revoked", and SLURM then drops it)
    wait_for(
        lambda: any("PENDING" in q for q in _queued(job)), timeout=60, state=lambda: _queued(job)
    )
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={job}_0", "StartTime=now"], check=True)
    wait_for(lambda: not _queued(job), timeout=600, state=lambda: _queued(job))
    assert summary()["status"] == "finished" and summary()["step"] == 400
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == list(range(5, 401, 5))  # every logged step once: nothing trained twice
    log = (out / "slurm" / f"{job}_0.out").read_text()
    assert "requeueing task 0" in log and "restart 1" in log
    assert f"SIGTERM at step {stopped_at}: checkpoint written" in (run / "train.log").read_text()


@pytest.mark.slurm
@needs_cluster
def test_a_run_that_fails_by_itself_is_reported_failed_and_not_requeued(tmp_path, capsys):
    path = _sweep(
        tmp_path, "diverges", steps={"value": 50}, lr_d={"value": 1e7}, lr_g={"value": 1e7}
    )
    out = tmp_path / "runs"
    job = _submit(path, out, capsys)
    wait_for(lambda: not _queued(job), timeout=300, state=lambda: _queued(job))
    # SLURM's own record of the task (kept MinJobAge after it ends): failed, never restarted
    record = _record(f"{job}_0")
    assert (record["JobState"], record["Restarts"]) == ("FAILED", "0"), record
    [state] = sweep_status(out)
    assert state.status == "failed" and "non-finite" in state.detail
    log = (out / "slurm" / f"{job}_0.out").read_text()
    assert "requeueing" not in log and "restart 1" not in log


def _pending_signals(pid: int) -> int:
    """The signals sent to a process and not yet handled (its own and its thread group's)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":\t", 1) for line in status if ":\t" in line)
    return int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
