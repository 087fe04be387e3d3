"""Sweeps: one W&B sweep YAML, launched on W&B (create/agent) or run here offline (run).

    infogan-bench sweep create sweeps/digits_quick.yaml --project infogan-bench
    infogan-bench sweep agent ENTITY/PROJECT/SWEEP_ID --count 4
    infogan-bench sweep run sweeps/digits_quick.yaml --out runs/digits_quick --workers 2

Parameter names are RunConfig field names. The offline runner expands `grid` and `random`
with W&B's own sweeps engine (same order as the W&B server) and runs each config as a
subprocess, so a failed run never stops the sweep; rerunning skips finished runs.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infogan_bench.config import ConfigError, RunConfig, from_dict, names_with_role
from infogan_bench.errors import SweepError
from infogan_bench.rundir import RunDir

SWEEP_KEYS = {
    "program", "command", "method", "metric", "parameters", "name",
    "description", "project", "entity", "early_terminate", "run_cap",
}  # fmt: skip


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
        raise SweepError(f"cannot read sweep {path}: {str(err).splitlines()[0]}") from None
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
    state = random.getstate()
    random.seed(seed)  # the engine samples with the random module
    try:
        runs: list[Any] = []
        while method == "grid" or len(runs) < sweep["run_cap"]:
            suggestion = sweeps.next_runs(sweep, runs, n=1)[0]
            if suggestion is None:  # grid exhausted
                break
            suggestion.state = sweeps.RunState.finished
            runs.append(suggestion)
    finally:
        random.setstate(state)
    return [{name: spec["value"] for name, spec in run.config.items()} for run in runs]


def run_name(index: int, params: dict[str, Any], swept: list[str]) -> str:
    """Run dir name: index and the values that vary across the sweep, e.g. 003-d_norm=spectral-seed=1."""
    parts = [f"{index:03d}", *(f"{k}={params[k]}" for k in swept)]
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", "-".join(parts))


@dataclass
class Outcome:
    name: str
    status: str  # finished | failed | skipped (finished earlier)


def run_sweep(
    path: str | Path,
    out: str | Path,
    workers: int = 1,
    tracker: str = "wandb",
    wandb_mode: str = "offline",
    seed: int = 0,
    data_dir: str | None = None,
    on_finish: str | None = None,
) -> list[Outcome]:
    """Run every config of the sweep into out/NAME; finished runs are skipped, others (re)run.

    data_dir: overrides every run's data_dir (where this machine keeps the datasets).
    on_finish: a shell command run after each run that finishes, with RUN_DIR set to its dir
    (e.g. a `git add "$RUN_DIR" && git commit` that keeps a long campaign in git run by run).
    """
    sweep = load_sweep(path)
    configs = expand(sweep, seed=seed)
    swept = sorted(k for k, spec in sweep["parameters"].items() if len(spec.get("values", [])) > 1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    jobs = [(run_name(i, params, swept), params) for i, params in enumerate(configs)]
    threads = str(max(1, (os.cpu_count() or 1) // workers))

    def run_one(job: tuple[str, dict[str, Any]]) -> Outcome:
        name, params = job
        run = RunDir(out / name)
        if run.read_summary().get("status") == "finished":
            return Outcome(name, "skipped")
        args = [f"--{k}={v}" for k, v in params.items()]
        args += [f"--run-dir={run.path}", f"--resume={run.holds_run()}", f"--tracker={tracker}"]
        args += [f"--wandb-mode={wandb_mode}", "--progress=false"]
        args += [f"--data-dir={data_dir}"] if data_dir else []
        run.path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads)}
        with open(run.path / "train.log", "a") as log:
            subprocess.run(
                [sys.executable, "-m", "infogan_bench.cli", "train", *args],
                stdout=log,
                stderr=log,
                env=env,
            )
        status = run.read_summary().get("status")
        if status != "finished" and not run.read_summary():  # died before writing a summary
            status = "failed"
            run.write_summary(
                {"status": status, "reason": f"train exited early; see {run.path}/train.log"}
            )
        print(f"[{name}] {status}", flush=True)
        if status == "finished" and on_finish:
            hook = subprocess.run(
                on_finish, shell=True, env={**os.environ, "RUN_DIR": str(run.path)}
            )
            if hook.returncode != 0:
                print(f"[{name}] --on-finish exited {hook.returncode}", file=sys.stderr, flush=True)
        return Outcome(name, status)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run_one, jobs))


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
