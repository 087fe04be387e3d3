"""Sweeps: one W&B sweep YAML, launched on W&B (create/agent) or run here offline (run).

    infogan-bench sweep create sweeps/digits_quick.yaml --project infogan-bench
    infogan-bench sweep agent ENTITY/PROJECT/SWEEP_ID --count 4
    infogan-bench sweep run sweeps/digits_quick.yaml --out runs/digits_quick --workers 2

Parameter names are RunConfig field names. The offline runner expands `grid` and `random`
with W&B's own sweeps engine (same order as the W&B server) and runs each config as a
subprocess, so a failed run never stops the sweep; rerunning skips finished runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from infogan_bench.config import ConfigError, RunConfig, from_dict, names_with_role
from infogan_bench.errors import SweepError, first_line, hms
from infogan_bench.rundir import RunDir, atomic_write_text
from infogan_bench.training.signals import on_stop_signals

SWEEP_KEYS = {
    "program",
    "command",
    "method",
    "metric",
    "parameters",
    "name",
    "description",
    "project",
    "entity",
    "early_terminate",
    "run_cap",
}


def _sweeps_engine() -> Any:
    """W&B's open-source sweeps engine (its pydantic-v1 config names warn under pydantic 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import sweeps
    return sweeps


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read and validate a sweep YAML: W&B's schema, and parameters the trainer accepts."""
    sweeps = _sweeps_engine()

    try:
        sweep = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise SweepError(f"cannot read sweep {path}: {first_line(err)}") from None
    if not isinstance(sweep, dict):
        raise SweepError(f"{path}: a sweep is a mapping with method, metric and parameters")
    unknown = sorted(set(sweep) - SWEEP_KEYS)
    if unknown:
        raise SweepError(
            f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(SWEEP_KEYS))}"
        )
    # the engine's schema predates run_cap, which the W&B server accepts
    violations = sweeps.schema_violations_from_proposed_config(
        {k: v for k, v in sweep.items() if k != "run_cap"}
    )
    if violations:
        raise SweepError(f"{path}: not a valid W&B sweep: {'; '.join(violations)}")
    _check_parameters(path, sweep["parameters"])
    return sweep


def _check_parameters(path: str | Path, parameters: dict[str, Any]) -> None:
    fields = set(names_with_role("recipe", "length", "seed", "bookkeeping"))  # not the runner's
    for name, spec in parameters.items():
        if name not in fields:
            raise SweepError(
                f"{path}: parameter {name!r} is not a trainer field; known: {', '.join(sorted(fields))}"
            )
        values = spec.get("values", [spec["value"]] if "value" in spec else [])
        for value in values:
            try:
                from_dict({name: value})
            except ConfigError as err:
                raise SweepError(f"{path}: parameter {err}") from None


def expand(sweep: dict[str, Any], seed: int = 0) -> list[dict[str, Any]]:
    """The sweep's run configs in W&B's order: every grid point, or run_cap random draws."""
    sweeps = _sweeps_engine()

    method = sweep["method"]
    if method == "bayes":
        raise SweepError(
            "bayes sweeps need the W&B server: use `infogan-bench sweep create` and agents"
        )
    if method == "random" and "run_cap" not in sweep:
        raise SweepError("a random sweep run offline needs run_cap (the number of runs to draw)")
    # One call for every run: a grid ends in None once exhausted (asking one run at a time
    # re-hashes the whole grid per run, seconds for an 80-run grid).
    count = sweep["run_cap"] if method == "random" else sys.maxsize
    state = random.getstate()
    random.seed(seed)  # the engine samples with the random module
    try:
        runs = [run for run in sweeps.next_runs(sweep, [], n=count) if run is not None]
    finally:
        random.setstate(state)
    return [{name: spec["value"] for name, spec in run.config.items()} for run in runs]


NAME_PART_MAX = 40  # longer key=value parts of a run dir name are cut and given a hash


def run_dir_name(index: int, params: dict[str, Any], swept: list[str]) -> str:
    """Run dir name: index and the values that vary across the sweep, e.g. 003-d_norm=spectral-seed=1.

    A part longer than NAME_PART_MAX characters keeps its start and gets a stable hash of the
    whole value, so names stay short, unique and the same on every machine.
    """
    parts = [f"{index:03d}"]
    for key in swept:
        part = f"{key}={params[key]}"
        if len(part) > NAME_PART_MAX:
            digest = hashlib.sha1(part.encode()).hexdigest()[:8]
            part = f"{part[: NAME_PART_MAX - 9]}-{digest}"
        parts.append(part)
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", "-".join(parts))


@dataclass
class Outcome:
    name: str
    status: str  # finished | skipped (finished earlier) | failed | interrupted | unfinished
    #            | not started (the sweep was stopped first) | busy (another process trains it)


def _check_same_sweep(out: Path, sweep: dict[str, Any]) -> None:
    """Refuse a folder whose sweep.yaml describes other runs than `sweep` would make: another
    method, run cap, or value of a parameter that is not bookkeeping (how often a run checkpoints
    or evaluates may change between runners of one folder)."""
    saved_path = out / "sweep.yaml"
    if not saved_path.exists():
        return
    saved = yaml.safe_load(saved_path.read_text()) or {}
    bookkeeping = set(names_with_role("bookkeeping"))
    old, new = (
        {k: v for k, v in (s.get("parameters") or {}).items() if k not in bookkeeping}
        for s in (saved, sweep)
    )
    changed = [k for k in ("method", "run_cap") if saved.get(k) != sweep.get(k)]
    changed += sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if not changed:
        return
    raise SweepError(
        f"{out} holds the runs of another sweep ({', '.join(changed)} differ from its "
        "sweep.yaml); pass another --out to start this one fresh"
    )


def _die_with_parent() -> None:
    """In a child: SIGHUP it when the runner dies, even by SIGKILL (Linux prctl). The kernel
    sends it once per runner thread, so train treats a repeated SIGHUP as one; the child must
    not inherit an ignored SIGHUP from a runner started with nohup."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGHUP)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the run dir's lock still refuses a second writer


class Children:
    """The runner's train processes, each in its own process group, stopped with the runner."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[subprocess.Popen] = set()
        self.stopping: int | None = None  # the signal that stops the sweep

    def run(self, args: list[str], log: IO[str], env: dict[str, str]) -> int | None:
        with self.lock:
            if self.stopping is not None:
                return None
            child = subprocess.Popen(
                args,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            self.running.add(child)
        try:
            return child.wait()
        finally:
            with self.lock:
                self.running.discard(child)

    def stop(self, signum: int) -> None:
        """Pass the signal to every child's group: each stops after a checkpoint of its step."""
        with self.lock:
            self.stopping = signum
            for child in self.running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)


def run_sweep(
    path: str | Path,
    out: str | Path,
    workers: int = 1,
    tracker: str = "wandb",
    wandb_mode: str = "offline",
    seed: int = 0,
    data_dir: str | None = None,
    on_finish: str | None = None,
    count: int | None = None,
    gpus: list[str] | None = None,
) -> list[Outcome]:
    """Run every config of the sweep into out/NAME; finished runs are skipped, others resume.

    count: only the first `count` configs in the sweep's order (a rerun without it, or with a
    larger one, continues with the rest: the names keep their index).
    data_dir: overrides every run's data_dir (where this machine keeps the datasets).
    on_finish: a shell command run after each run that finishes, with RUN_DIR set to its dir
    (e.g. a `git add "$RUN_DIR" && git commit` that keeps a long campaign in git run by run).
    gpus: the GPU ids the workers take in turn (worker k runs on gpus[k % len(gpus)], through
    CUDA_VISIBLE_DEVICES), e.g. ["0", "1"]; more workers than GPUs pack several runs on one.
    SIGTERM/SIGINT/SIGHUP stop the sweep: each running child checkpoints its step and exits.
    """
    if count is not None and count < 1:
        raise SweepError(f"--count {count}: pass a number of runs of at least 1")
    if gpus is not None and (not gpus or not all(g.isdigit() for g in gpus)):
        raise SweepError(f"--gpus {','.join(gpus)}: pass GPU ids, e.g. --gpus 0,1")
    jobs = prepare_jobs(path, out, seed)[:count]
    children, progress = Children(), _Progress(len(jobs))
    job = JobRunner(Path(out), children, run_env(workers), tracker, wandb_mode, data_dir, on_finish)
    job.slots = _gpu_slots(workers, gpus)
    with on_stop_signals(children.stop), ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda j: progress.done(job.run(*j)), jobs))


def prepare_jobs(
    path: str | Path, out: str | Path, seed: int = 0, record: bool = True
) -> list[tuple[str, dict[str, Any]]]:
    """The sweep's (run dir name, parameters) in its order, after checking that out holds this
    sweep or nothing; record: out/sweep.yaml records it (every runner of out shares it)."""
    sweep = load_sweep(path)
    configs = expand(sweep, seed=seed)
    swept = sorted(k for k, spec in sweep["parameters"].items() if len(spec.get("values", [])) > 1)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file; pass a folder")
    _check_same_sweep(out, sweep)
    if record:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "sweep.yaml", yaml.safe_dump(sweep, sort_keys=False))
    return [(run_dir_name(i, params, swept), params) for i, params in enumerate(configs)]


@dataclass
class JobRunner:
    """Trains one run of a sweep into out/NAME as a child process, unless finished or held."""

    out: Path
    children: Children
    env: dict[str, str]
    tracker: str
    wandb_mode: str
    data_dir: str | None
    on_finish: str | None
    slots: queue.Queue[dict[str, str]] | None = None  # per worker: CUDA_VISIBLE_DEVICES

    def run(self, name: str, params: dict[str, Any]) -> Outcome:
        run = RunDir(self.out / name)
        summary = run.read_summary()
        if summary.get("status") == "finished":
            return Outcome(name, "skipped")
        if summary.get("stopped") == "d_won":  # --stop-when-d-won: resuming would stop again
            print(f"[{name}] stopped earlier: {summary.get('reason')}", flush=True)
            return Outcome(name, "failed")
        if self.children.stopping is not None:  # the sweep was stopped: start nothing new
            return Outcome(name, "not started")
        holder = run.holder()
        if holder is not None:  # another runner trains it now: leave it (and its log) to that one
            print(f"[{name}] in use by another process (pid {holder}); left to it", flush=True)
            return Outcome(name, "busy")
        args = [f"--{k}={v}" for k, v in params.items()]
        args += [
            f"--run-dir={run.path}",
            f"--resume={run.holds_run()}",
            f"--tracker={self.tracker}",
        ]
        args += [f"--wandb-mode={self.wandb_mode}", "--progress=false"]
        args += [f"--data-dir={self.data_dir}"] if self.data_dir else []
        run.path.mkdir(parents=True, exist_ok=True)
        slot = self.slots.get() if self.slots else {}
        try:
            with open(run.path / "train.log", "a") as log:
                code = self.children.run(
                    [sys.executable, "-m", "infogan_bench.cli", "train", *args],
                    log,
                    {**self.env, **slot},
                )
        finally:
            if self.slots:
                self.slots.put(slot)
        status = run.read_summary().get("status")  # 'running' after exit: killed or refused
        status = status if status in ("finished", "failed", "interrupted") else "unfinished"
        if code:
            print(f"[{name}] train exited {code}; see {run.path / 'train.log'}", flush=True)
        if status == "finished" and self.on_finish:
            hook = subprocess.run(
                self.on_finish, shell=True, env={**os.environ, "RUN_DIR": str(run.path)}
            )
            if hook.returncode != 0:
                print(f"[{name}] --on-finish exited {hook.returncode}", file=sys.stderr, flush=True)
        return Outcome(name, status)


def _gpu_slots(workers: int, gpus: list[str] | None) -> queue.Queue[dict[str, str]] | None:
    """One environment entry per worker, GPU ids dealt in turn; None without --gpus."""
    if gpus is None:
        return None
    slots: queue.Queue[dict[str, str]] = queue.Queue()
    for k in range(workers):
        slots.put({"CUDA_VISIBLE_DEVICES": gpus[k % len(gpus)]})
    return slots


def run_env(workers: int) -> dict[str, str]:
    """Every run's environment: OMP_NUM_THREADS (the caller's, or the cores shared among the
    workers), and this runner's own code first on the path (`python -m` would put the working
    directory first, and with it any checkout there)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use, as train counts them
    threads = os.environ.get("OMP_NUM_THREADS", str(max(1, cpus // workers)))
    return {**os.environ, "OMP_NUM_THREADS": threads, "PYTHONPATH": path, "PYTHONSAFEPATH": "1"}


class _Progress:
    """One line per run: [k/N] name status, elapsed time and an ETA from the runs trained here."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.trained = total, 0, 0
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def done(self, outcome: Outcome) -> Outcome:
        with self.lock:
            self.count += 1
            self.trained += outcome.status not in ("skipped", "not started", "busy")
            elapsed = time.monotonic() - self.start
            left = self.total - self.count
            eta = hms(elapsed / self.trained * left) if self.trained and left else "-"
            print(
                f"[{self.count}/{self.total}] {outcome.name} {outcome.status} "
                f"(elapsed {hms(elapsed)}, ETA {eta})",
                flush=True,
            )
        return outcome


def create_sweep(path: str | Path, project: str | None, entity: str | None) -> str:
    """Register the sweep with W&B; returns its id."""
    import wandb

    sweep = load_sweep(path)
    return wandb.sweep(
        sweep=sweep, project=project or sweep.get("project"), entity=entity or sweep.get("entity")
    )


def run_agent(sweep_id: str, count: int | None, project: str | None, entity: str | None) -> None:
    """Run a W&B agent: it asks the server for configs and runs the sweep's command for each."""
    import wandb

    wandb.agent(sweep_id, count=count, project=project, entity=entity)


def agent_run_dir(config: RunConfig) -> RunConfig:
    """Under a W&B agent, give each run its own dir runs/sweeps/SWEEP_ID/RUN_ID (unless set);
    a requeued run (its dir already holds it) resumes there, and so its W&B run."""
    sweep_id, run_id = os.environ.get("WANDB_SWEEP_ID"), os.environ.get("WANDB_RUN_ID")
    if not (sweep_id and run_id) or config.run_dir != RunConfig().run_dir:
        return config
    run_dir = f"runs/sweeps/{sweep_id}/{run_id}"
    return dataclasses.replace(config, run_dir=run_dir, resume=RunDir(run_dir).holds_run())
