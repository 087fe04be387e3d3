"""Command line: `infogan-bench train|evaluate`. Parses, calls one function, prints.

Every RunConfig field is a flag (`batch_size` -> `--batch-size`), taking `--flag value` or
`--flag=value`; booleans take a value (`--resume true`), as sweep agents pass them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from infogan_bench.config import (
    ConfigError,
    RunConfig,
    field_choices,
    field_type,
    from_dict,
    load_yaml,
)
from infogan_bench.data import DatasetError
from infogan_bench.rundir import CheckpointError
from infogan_bench.train import NonFiniteLossError

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
        default = f.default
        help_text = f"{f.metadata['help']} (default: {default!r})"
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=parse_bool if kind is bool else kind,
            choices=choices,
            default=None,
            metavar=None if choices else kind.__name__.upper(),
            help=help_text,
        )


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
    from infogan_bench.train import train

    summary = train(config_from_args(args))
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from infogan_bench.evaluate import evaluate_run_dir

    scores = evaluate_run_dir(args.run_dir, checkpoint=args.checkpoint, data_dir=args.data_dir)
    print(json.dumps(scores, indent=2, sort_keys=True))
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from infogan_bench.baseline import kmeans_baseline

    scores = kmeans_baseline(args.dataset, args.data_dir, seed=args.seed)
    print(json.dumps({"method": "kmeans-pixels", "dataset": args.dataset, **scores}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infogan-bench", description="Train, score and compare InfoGAN variants."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one run into --run-dir")
    train.add_argument(
        "--config", metavar="YAML", help="YAML file of config values; flags override it"
    )
    _add_config_flags(train)
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
    evaluate.set_defaults(handler=_cmd_evaluate)

    baseline = commands.add_parser("baseline", help="k-means on raw pixels: the cat_acc to beat")
    baseline.add_argument("--dataset", default="digits", choices=field_choices(_field("dataset")))
    baseline.add_argument("--data-dir", default="data", help="dataset root in torchvision's layout")
    baseline.add_argument("--seed", type=int, default=0, help="k-means seed (default: 0)")
    baseline.set_defaults(handler=_cmd_baseline)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (ConfigError, DatasetError, CheckpointError) as err:
        print(f"infogan-bench: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteLossError as err:
        print(f"infogan-bench: training failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("infogan-bench: interrupted; rerun with --resume true to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
