"""Chaos run: a 2x2 digits sweep whose runner and children are killed at random moments, then
rerun to completion and compared with the same sweep run without interruption.

    OMP_NUM_THREADS=1 python reports/chaos/chaos.py --out /tmp/chaos --kills 12 --seed 0

Each round starts `infogan-bench sweep run` if none is running, waits a random 2-10 s, and sends
SIGTERM or SIGKILL (chosen at random) to the runner or to one of its train children. After the
kills, the sweep is rerun until it exits 0. Checks, printed as one JSON line at the end (exit
code 1 if any fails): every run finished; every last.pt equal (torch.equal) to the uninterrupted
run's; every metrics.jsonl has each logged step exactly once; no runner exited 0 while a run was
not finished.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

STEPS, LOG_EVERY = 60, 5  # ~60 steps a run, enough to see each fault
SWEEP = {
    "method": "grid",
    "metric": {"name": "cat_acc", "goal": "maximize"},
    "parameters": {
        "dataset": {"value": "digits"},
        "generator": {"values": ["transpose", "upsample"]},
        "d_norm": {"values": ["batch", "spectral"]},
        "steps": {"value": STEPS},
        "batch_size": {"value": 16},
        "log_every": {"value": LOG_EVERY},
        "checkpoint_every": {"value": 10},
        "eval_every": {"value": 0},
        "score_samples": {"value": 0},
    },
}


def sweep_command(sweep: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "infogan_bench.cli", "sweep", "run", str(sweep), "--out",
            str(out), "--tracker", "none"]  # fmt: skip


def children_of(parent: int) -> list[int]:
    """pids of the live processes whose parent is `parent` (the runner's train children)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return pids


def finished(out: Path) -> int:
    count = 0
    for summary in out.glob("*/summary.json"):
        with contextlib.suppress(json.JSONDecodeError, OSError):
            count += json.loads(summary.read_text()).get("status") == "finished"
    return count


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    return {**state["generator"], **{f"d.{k}": v for k, v in state["discriminator"].items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="scratch folder (made fresh)")
    parser.add_argument("--kills", type=int, default=12, help="signals to send (default: 12)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill schedule")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=False)
    sweep = args.out / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(SWEEP))
    chaos, straight = args.out / "chaos", args.out / "straight"

    log, early_zero, runner = [], [], None
    while len(log) < args.kills:
        if runner is None or runner.poll() is not None:
            if runner is not None and runner.returncode == 0 and finished(chaos) < 4:
                early_zero.append(len(log))  # exit 0 with runs not finished: a lie
            if runner is not None and runner.returncode == 0:
                break  # everything finished before the last kill
            runner = subprocess.Popen(sweep_command(sweep, chaos), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(2, 10))  # a runner and its child each take seconds to start
        children = children_of(runner.pid)
        target = "child" if children and rng.random() < 0.5 else "runner"
        pid = rng.choice(children) if target == "child" else runner.pid
        signum = rng.choice([signal.SIGTERM, signal.SIGKILL])
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue  # it ended by itself meanwhile: no kill
        log.append({"kill": len(log) + 1, "target": target, "signal": signum.name, "pid": pid,
                    "finished_runs": finished(chaos)})  # fmt: skip
        print(json.dumps(log[-1]), flush=True)
        if target == "runner":
            runner.wait()
    runner.wait()
    time.sleep(2)  # children orphaned by a SIGKILLed runner get SIGTERM and checkpoint
    reruns = []
    while True:
        code = subprocess.run(sweep_command(sweep, chaos), capture_output=True).returncode
        reruns.append(code)
        if code == 0 or len(reruns) > 5:
            break
        time.sleep(2)  # a child still holding its lock: try again
    subprocess.run(sweep_command(sweep, straight), check=True, capture_output=True)

    runs = sorted(p.parent.name for p in straight.glob("*/config.yaml"))
    checks = {}
    for name in runs:
        a, b = weights(chaos / name), weights(straight / name)
        steps = [json.loads(line)["step"] for line in (chaos / name / "metrics.jsonl").open()]
        checks[name] = {
            "status": json.loads((chaos / name / "summary.json").read_text())["status"],
            "last_pt_equal": a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a),
            "steps_once_each": steps == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY)),
        }
    ok = (
        len(runs) == 4
        and all(
            c["status"] == "finished" and c["last_pt_equal"] and c["steps_once_each"]
            for c in checks.values()
        )  # fmt: skip
        and not early_zero
        and reruns[-1] == 0
    )
    print(json.dumps({"kills": len(log), "runner_exit_0_with_runs_lost": early_zero,
                      "rerun_exit_codes": reruns, "runs": checks, "ok": ok}, indent=2))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
