"""Command line: `infogan-bench train|evaluate|baseline|sweep|report|bench`. Parses, calls one function, prints.

Every RunConfig field is a flag (`batch_size` -> `--batch-size`), taking `--flag value` or
`--flag=value`; booleans take a value (`--resume true`), as sweep agents pass them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import yaml

from infogan_bench.analysis.headline import headline
from infogan_bench.config import (
    DATASET_DEFAULTS,
    RunConfig,
    field_choices,
    field_type,
    from_dict,
    load_yaml,
)
from infogan_bench.errors import InfoganBenchError, NonFiniteLossError, describe

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def parse_bool(text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field; default None so only given flags override --config."""
    for f in dataclasses.fields(RunConfig):
        kind = field_type(f)
        choices = field_choices(f)
        if f.name in DATASET_DEFAULTS:
            paper, per_dataset = DATASET_DEFAULTS[f.name]
            default = "; ".join([f"{paper!r}", *(f"{k}: {v!r}" for k, v in per_dataset.items())])
        else:
            default = repr(f.default)
        help_text = f"{f.metadata['help']} (default: {default})"
        flags = ["--" + f.name.replace("_", "-")]
        if "_" in f.name:  # W&B agents pass sweep parameters as --field_name=value
            flags.append("--" + f.name)
        parser.add_argument(
            *flags,
            dest=f.name,
            type=parse_bool if kind is bool else kind,
            choices=choices,
            default=None,
            metavar=None if choices else kind.__name__.upper(),
            help=help_text,
        )


def _cmd_sweep_run(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.sweep import run_sweep

    outcomes = run_sweep(
        args.yaml,
        args.out,
        workers=args.workers,
        tracker=args.tracker,
        wandb_mode=args.wandb_mode,
        seed=args.draw_seed,
        data_dir=args.data_dir,
        on_finish=args.on_finish,
        count=args.count,
        gpus=args.gpus.split(",") if args.gpus else None,
    )
    done = {"finished", "skipped"}
    lost = [o for o in outcomes if o.status not in done]
    print(
        f"{len(outcomes)} runs: {len(outcomes) - len(lost)} finished ("
        f"{sum(o.status == 'skipped' for o in outcomes)} earlier), {len(lost)} not"
    )
    if lost:
        print("not finished: " + ", ".join(f"{o.name} ({o.status})" for o in lost), file=sys.stderr)
    return 0 if not lost else 1


def _cmd_sweep_create(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.sweep import create_sweep

    sweep_id = create_sweep(args.yaml, project=args.project, entity=args.entity)
    path = "/".join(p for p in (args.entity, args.project, sweep_id) if p)
    print(f"sweep id: {sweep_id}\nstart agents with: infogan-bench sweep agent {path}")
    return 0


def _cmd_sweep_agent(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.sweep import run_agent

    run_agent(args.sweep_id, count=args.count, project=args.project, entity=args.entity)
    return 0


def _cmd_sweep_slurm(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.slurm import SlurmOptions, submit

    options = SlurmOptions(
        partition=args.partition,
        time=args.time,
        cpus_per_task=args.cpus_per_task,
        gpus_per_task=args.gpus_per_task,
        mem=args.mem,
        account=args.account,
        qos=args.qos,
        max_parallel=args.max_parallel,
        signal_seconds=args.signal_seconds,
        max_requeues=args.max_requeues,
        extra=args.sbatch,
    )
    runner_args = [f"--tracker={args.tracker}", f"--wandb-mode={args.wandb_mode}"]
    runner_args += [f"--data-dir={args.data_dir}"] if args.data_dir else []
    script, job_id = submit(args.yaml, args.out, options, runner_args, args.wandb, args.dry_run)
    if job_id is None:
        print(script, end="")
    else:
        print(f"submitted array job {job_id}; progress: infogan-bench sweep status {args.out}")
    return 0


def _cmd_sweep_task(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.slurm import run_task

    outcome, code = run_task(
        args.yaml, args.out, args.index, args.tracker, args.wandb_mode, args.data_dir
    )
    print(f"[{outcome.name}] {outcome.status}", flush=True)
    return code


def _cmd_sweep_status(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.slurm import sweep_status

    states = sweep_status(args.out)
    width = max(len(s.name) for s in states)
    for state in states:
        print(f"{state.name:<{width}}  {state.status:<11}  {state.detail}")
    counts = {
        s: sum(x.status == s for x in states) for s in dict.fromkeys(x.status for x in states)
    }
    print(f"{len(states)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0


def _add_runner_flags(parser: argparse.ArgumentParser) -> None:
    """How each run of a sweep is tracked and where it reads data: sweep run, slurm and task."""
    parser.add_argument(
        "--tracker", choices=("wandb", "none"), default="wandb", help="default: wandb"
    )
    parser.add_argument(
        "--wandb-mode",
        choices=("offline", "online", "disabled"),
        default="offline",
        help="default: offline",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="dataset root for every run (default: the sweep's data_dir)",
    )


def _add_slurm_parser(actions: argparse._SubParsersAction) -> None:
    slurm = actions.add_parser(
        "slurm", help="submit the sweep to SLURM as one job array (task i = run i of `sweep run`)"
    )
    slurm.add_argument("yaml", help="sweep YAML (W&B format)")
    slurm.add_argument("--out", required=True, help="folder of the run dirs (shared by the nodes)")
    _add_runner_flags(slurm)
    slurm.add_argument("--partition", default=None, help="SLURM partition (default: the cluster's)")
    slurm.add_argument("--time", default=None, help="time limit per task, e.g. 2:00:00")
    slurm.add_argument(
        "--cpus-per-task", type=int, default=1, help="CPUs (and threads) per run (default: 1)"
    )
    slurm.add_argument("--gpus-per-task", type=int, default=0, help="GPUs per run (default: 0)")
    slurm.add_argument("--mem", default=None, help="memory per task, e.g. 8G")
    slurm.add_argument("--account", default=None, help="SLURM account")
    slurm.add_argument("--qos", default=None, help="SLURM quality of service")
    slurm.add_argument(
        "--max-parallel", type=int, default=None, metavar="K", help="at most K tasks at once (%%K)"
    )
    slurm.add_argument(
        "--signal-seconds",
        type=int,
        default=120,
        help="SIGTERM this many seconds before the time limit, to checkpoint and requeue (default: 120)",
    )
    slurm.add_argument(
        "--max-requeues",
        type=int,
        default=20,
        help="a task interrupted more often than this is not requeued again (default: 20)",
    )
    slurm.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="LINE",
        help="an extra #SBATCH option, e.g. --sbatch=--constraint=avx2 (repeatable)",
    )
    slurm.add_argument(
        "--wandb",
        default=None,
        metavar="ENTITY/PROJECT/SWEEP_ID",
        help="each task runs one W&B agent run of this sweep (`sweep create` it first)",
    )
    slurm.add_argument(
        "--dry-run", action="store_true", help="print the sbatch script, submit nothing"
    )
    slurm.set_defaults(handler=_cmd_sweep_slurm)


def _add_task_and_status_parsers(actions: argparse._SubParsersAction) -> None:
    task = actions.add_parser("task", help="train run --index of the sweep (a SLURM array task)")
    task.add_argument("yaml", help="sweep YAML (W&B format)")
    task.add_argument("--out", required=True, help="folder of the run dirs")
    task.add_argument(
        "--index", type=int, required=True, help="the run's index in the sweep's order"
    )
    _add_runner_flags(task)
    task.set_defaults(handler=_cmd_sweep_task)
    status = actions.add_parser(
        "status", help="each run of a sweep folder: finished / running / pending / failed (why)"
    )
    status.add_argument("out", help="the --out folder of `sweep run` or `sweep slurm`")
    status.set_defaults(handler=_cmd_sweep_status)


def _add_sweep_parser(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", help="run a sweep YAML here, or on W&B with agents")
    actions = sweep.add_subparsers(dest="sweep_command", required=True)
    run = actions.add_parser("run", help="run every config of a grid/random sweep here, resumably")
    run.add_argument("yaml", help="sweep YAML (W&B format), e.g. sweeps/digits_quick.yaml")
    run.add_argument("--out", required=True, help="folder of the run dirs")
    run.add_argument("--workers", type=int, default=1, help="runs at once (default: 1)")
    run.add_argument(
        "--gpus",
        metavar="IDS",
        default=None,
        help="GPU ids the workers take in turn, e.g. 0,1 (CUDA_VISIBLE_DEVICES per run; more"
        " workers than GPUs share them); default: every run sees every GPU and trains on cuda:0",
    )
    _add_runner_flags(run)
    run.add_argument(
        "--draw-seed", type=int, default=0, help="seed of a random sweep's draws (default: 0)"
    )
    run.add_argument(
        "--on-finish",
        metavar="CMD",
        default=None,
        help="shell command run after each finished run, with RUN_DIR set (e.g. a git commit)",
    )
    run.add_argument(
        "--count",
        type=int,
        default=None,
        help="only the sweep's first N runs, e.g. the seeds to screen first (default: all)",
    )
    run.set_defaults(handler=_cmd_sweep_run)
    create = actions.add_parser("create", help="register the sweep with W&B and print its id")
    create.add_argument("yaml", help="sweep YAML (W&B format)")
    create.add_argument(
        "--project", default=None, help="W&B project (default: the YAML's, else W&B's)"
    )
    create.add_argument(
        "--entity", default=None, help="W&B entity (default: the YAML's, else yours)"
    )
    create.set_defaults(handler=_cmd_sweep_create)
    agent = actions.add_parser("agent", help="run a W&B agent for a sweep (one per machine or GPU)")
    agent.add_argument("sweep_id", help="SWEEP_ID or ENTITY/PROJECT/SWEEP_ID")
    agent.add_argument(
        "--count", type=int, default=None, help="runs before the agent stops (default: until done)"
    )
    agent.add_argument("--project", default=None, help="W&B project")
    agent.add_argument("--entity", default=None, help="W&B entity")
    agent.set_defaults(handler=_cmd_sweep_agent)
    _add_slurm_parser(actions)  # sweep slurm
    _add_task_and_status_parsers(actions)  # sweep task (a SLURM array task), sweep status


def _field(name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(RunConfig) if f.name == name)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """--config YAML values, overridden by the flags given on the command line."""
    values: dict[str, Any] = load_yaml(args.config) if args.config else {}
    for f in dataclasses.fields(RunConfig):
        if getattr(args, f.name) is not None:
            values[f.name] = getattr(args, f.name)
    return from_dict(values)


def _cmd_train(args: argparse.Namespace) -> int:
    from infogan_bench.sweeping.sweep import agent_run_dir
    from infogan_bench.training.loop import train

    config = agent_run_dir(config_from_args(args))
    summary = train(config)
    print(
        json.dumps(summary, indent=2, sort_keys=True)
        if args.json
        else headline(summary, config.run_dir)
    )
    if "tracker_lost" in summary:
        # W&B's service died: its client threads can abort the interpreter's exit (seen as
        # SIGABRT, exit 134, with wandb 0.31) after every file is written; leave at once
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from infogan_bench.scoring.rescore import evaluate_run_dir

    scores = evaluate_run_dir(
        args.run_dir,
        args.checkpoint,
        data_dir=args.data_dir,
        n_samples=args.n_samples,
        features=args.features,
        inception_weights=args.inception_weights,
    )
    if args.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
    else:
        print(headline(scores, args.run_dir, f"eval_{args.checkpoint}.json"))
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from infogan_bench.scoring.baseline import kmeans_baseline

    scores = kmeans_baseline(args.dataset, args.data_dir, seed=args.seed)
    print(json.dumps({"method": "kmeans-pixels", "dataset": args.dataset, **scores}, indent=2))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infogan_bench.analysis import (
        report,
        results,  # pandas and matplotlib: only for this command
    )

    runs = (
        results.load_wandb(args.wandb, args.sweep)
        if args.wandb
        else results.load_run_dirs(args.runs, args.checkpoint)
    )
    out = Path(args.out) if args.out else Path("reports") / args.name / "report"
    print(report.write_report(runs, out, args.title or args.name, args.fail_below))
    print(f"\nwritten to {out}/ (report.md, variants.*, effects.*, *.png)", file=sys.stderr)
    if args.publish:
        entity, _, project = (args.wandb or "").rpartition("/")
        project = project or args.wandb_project
        entity = entity or args.wandb_entity or None
        print(report.publish(out, args.name, project, entity, args.sweep), file=sys.stderr)
    return 0


def _add_report_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report", help="tables, marginal effects and plots of a set of runs (local or W&B)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--runs", nargs="+", metavar="DIR", help="run dirs, or folders of them")
    source.add_argument("--wandb", metavar="ENTITY/PROJECT", help="read the runs from W&B")
    parser.add_argument("--sweep", help="with --wandb: only this sweep's runs (sweep id)")
    parser.add_argument(
        "--name", required=True, help="the study: its report goes to reports/NAME/report/"
    )
    parser.add_argument("--out", metavar="DIR", help="write the report to DIR instead")
    parser.add_argument(
        "--checkpoint",
        default="last",
        metavar="NAME",
        help="with --runs: the scores of each run's snapshot NAME (e.g. step_5000, scored by"
        " `evaluate RUN --checkpoint NAME`) instead of its end (default: last)",
    )
    parser.add_argument("--title", help="report title (default: --name)")
    parser.add_argument(
        "--publish",
        action="store_true",
        help="also log the report to W&B: one run of job type `report`, its tables, plots,"
        " headline and files (offline without a key, as train)",
    )
    parser.add_argument(
        "--wandb-project",
        default="infogan-bench",
        help="with --publish and --runs: the W&B project (default: infogan-bench)",
    )
    parser.add_argument(
        "--wandb-entity", default="", help="with --publish and --runs: the W&B entity"
    )
    parser.add_argument(
        "--fail-below",
        type=float,
        default=0.9,
        help="a seed fails when its cat_acc ends below this (default: 0.9)",
    )
    parser.set_defaults(handler=_cmd_report)


def _cmd_bench(args: argparse.Namespace) -> int:
    from infogan_bench.bench.throughput import BenchOptions, run_bench

    options = BenchOptions(
        dataset=args.dataset,
        data_dir=args.data_dir,
        device=args.device,
        batch_sizes=tuple(args.batch_size),
        round_steps=args.round_steps,
        rounds=args.rounds,
        score_samples=args.score_samples,
        fast_paths=args.fast_paths,
        recipes=tuple(dict(pairs) for pairs in args.recipe or []),
        time_to_acc=args.time_to_acc,
        eval_every=args.eval_every,
        max_steps=args.max_steps,
    )
    for result in run_bench(options):
        print(json.dumps(result), flush=True)
    return 0


def _field_value(text: str) -> tuple[str, Any]:
    """'real_consistency=2' -> ('real_consistency', 2): a config field and its YAML value."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    return name.replace("-", "_"), yaml.safe_load(value)


def _add_bench_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="training images/s of the suite against a naive loop; time to accuracy"
    )
    parser.add_argument(
        "--dataset",
        default=RunConfig.dataset,
        choices=field_choices(_field("dataset")),
        help=f"as in train (default: {RunConfig.dataset})",
    )
    parser.add_argument(
        "--data-dir",
        default=RunConfig.data_dir,
        help=f"as in train (default: {RunConfig.data_dir})",
    )
    parser.add_argument("--device", default="auto", choices=field_choices(_field("device")))
    parser.add_argument(
        "--batch-size",
        type=int,
        nargs="+",
        default=[64, 128],
        help="one benchmark per batch size (default: 64 128)",
    )
    parser.add_argument(
        "--round-steps", type=int, default=20, help="steps per timed round (default: 20)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default: 3)")
    parser.add_argument(
        "--score-samples",
        type=int,
        default=10000,
        help="generated images for the scoring timing; 0 = skip (default: 10000)",
    )
    _add_bench_modes(parser)
    parser.set_defaults(handler=_cmd_bench)


def _add_bench_modes(parser: argparse.ArgumentParser) -> None:
    """bench's other measurements, each instead of the suite against the naive loop."""
    parser.add_argument(
        "--fast-paths",
        action="store_true",
        help="instead: images/s of the suite's step with each candidate fast path",
    )
    parser.add_argument(
        "--recipe",
        nargs="+",
        action="append",
        type=_field_value,
        metavar="FIELD=VALUE",
        help="instead: images/s and FLOPs per step of the default against the "
        "default with these config fields set (one flag per recipe, e.g. "
        "--recipe real_consistency=2 --recipe info_augment=1 augment_strength=2)",
    )
    parser.add_argument(
        "--time-to-acc",
        type=float,
        metavar="TARGET",
        help="instead: train the default config until cat_acc >= TARGET",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=100,
        help="with --time-to-acc: steps between accuracy checks (default: 100)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=5000,
        help="with --time-to-acc: give up after this many steps (default: 5000)",
    )


class _OneLineParser(argparse.ArgumentParser):
    """A bad flag or value is one line naming it (`--help` shows the usage), as other errors are."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="infogan-bench", description="Train, score and compare InfoGAN variants."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one run into --run-dir")
    train.add_argument(
        "--config", metavar="YAML", help="YAML file of config values; flags override it"
    )
    _add_config_flags(train)
    train.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    train.set_defaults(handler=_cmd_train)

    evaluate = commands.add_parser(
        "evaluate", help="score a run dir's checkpoint on the test split"
    )
    evaluate.add_argument("run_dir", help="a run dir written by `infogan-bench train`")
    evaluate.add_argument(
        "--checkpoint",
        default="last",
        help="checkpoint name in RUN_DIR/checkpoints (default: last)",
    )
    evaluate.add_argument(
        "--data-dir", default=None, help="dataset root, if it moved since training"
    )
    evaluate.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="generated images to score (default: the run's score_samples)",
    )
    evaluate.add_argument(
        "--features",
        choices=("domain", "inception"),
        default="domain",
        help="domain: the suite's classifier (always scored); inception: also standard FID/KID (default: domain)",
    )
    evaluate.add_argument(
        "--inception-weights",
        default=None,
        help="Inception-v3 weights: torch-fidelity .pth or TorchScript .pt (default: the [inception] extra's file, else torchmetrics' download)",
    )
    evaluate.add_argument("--json", action="store_true", help="print every score as JSON")
    evaluate.set_defaults(handler=_cmd_evaluate)

    baseline = commands.add_parser("baseline", help="k-means on raw pixels: the cat_acc to beat")
    baseline.add_argument("--dataset", default="digits", choices=field_choices(_field("dataset")))
    baseline.add_argument("--data-dir", default="data", help="dataset root in torchvision's layout")
    baseline.add_argument("--seed", type=int, default=0, help="k-means seed (default: 0)")
    baseline.set_defaults(handler=_cmd_baseline)
    _add_sweep_parser(commands)
    _add_report_parser(commands)
    _add_bench_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except NonFiniteLossError as err:
        print(f"infogan-bench: training failed: {err}", file=sys.stderr)
        return err.exit_code
    except InfoganBenchError as err:  # every error a user can cause: one line, what to do
        print(f"infogan-bench: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("infogan-bench: interrupted; rerun with --resume true to continue", file=sys.stderr)
        return 130
    except Exception as err:
        if os.environ.get("INFOGAN_BENCH_DEBUG"):
            raise
        print(
            f"infogan-bench: unexpected {describe(err)} (results so far are kept; "
            "set INFOGAN_BENCH_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
