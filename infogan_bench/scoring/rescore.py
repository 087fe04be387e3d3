"""Rescoring a run dir: its checkpoint's models through the protocol of evaluate.py, the scores
written to RUN_DIR/eval_<checkpoint>.json and sent to the run's tracker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from infogan_bench.data.datasets import load_dataset
from infogan_bench.device import resolve_device
from infogan_bench.errors import ScoringError
from infogan_bench.nets.models import non_finite_weight, trained_models
from infogan_bench.rundir import RunDir, atomic_write_text
from infogan_bench.scoring.inception import inception_extractor
from infogan_bench.scoring.protocol import inception_scores, score_model
from infogan_bench.tracking import write_back_scores


def require_finite(models: dict[str, torch.nn.Module]) -> None:
    """Raise ScoringError naming the first model with a NaN or infinite parameter or buffer."""
    bad = non_finite_weight(models)
    if bad is not None:
        name, key = bad
        raise ScoringError(
            f"the {name} has non-finite weights ({key}): the model diverged and cannot be "
            "scored; score an earlier checkpoint (--checkpoint best) or retrain with lower "
            "learning rates"
        )


def evaluate_run_dir(
    run_dir: str | Path,
    checkpoint: str = "last",
    data_dir: str | None = None,
    n_samples: int | None = None,
    features: str = "domain",
    inception_weights: str | None = None,
) -> dict[str, Any]:
    """Rescore a run dir's checkpoint; also written to RUN_DIR/eval_<checkpoint>.json."""
    run = RunDir(run_dir)
    config = run.load_config()
    device = resolve_device(config.device)
    data = load_dataset(config.dataset, data_dir or config.data_dir, device)
    state = run.load_checkpoint(checkpoint)
    generator, discriminator = trained_models(config, state, data.image_shape, device)
    require_finite({"generator": generator, "discriminator": discriminator})
    n = config.score_samples if n_samples is None else n_samples
    extractor = (
        inception_extractor(inception_weights).to(device) if features == "inception" else None
    )
    scores = {
        "checkpoint": checkpoint,
        "step": int(state["step"]),
        **score_model(generator, discriminator, config, data, n),
    }
    if extractor is not None:
        scores.update(inception_scores(generator, config, data, extractor, n))
    path = run.rescore_path(checkpoint)
    atomic_write_text(path, json.dumps(scores, indent=2, sort_keys=True) + "\n")
    lost = write_back_scores(config, run.path, scores, prefix=checkpoint)
    if lost is not None:  # the file says what W&B did not get
        scores["tracker_lost"] = lost
        atomic_write_text(path, json.dumps(scores, indent=2, sort_keys=True) + "\n")
    return scores
