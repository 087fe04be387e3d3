"""Scoring a trained model: Q's categories on the real test split against the true labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infogan_bench.config import RunConfig
from infogan_bench.losses import split_q
from infogan_bench.metrics.clustering import clustering_scores
from infogan_bench.models import Discriminator
from infogan_bench.rundir import RunDir


def scored_code(config: RunConfig, n_classes: int) -> int | None:
    """Index of the categorical code scored for accuracy: the first with n_classes classes."""
    for k, count in enumerate(config.cat_class_counts):
        if count == n_classes:
            return k
    return None


@torch.no_grad()
def predict_categories(
    discriminator: Discriminator,
    images: torch.Tensor,
    config: RunConfig,
    code: int,
    batch: int = 1000,
) -> np.ndarray:
    """Q's argmax category of code `code` for each image (N, C, H, W) -> (N,) int."""
    was_training = discriminator.training
    discriminator.eval()
    predictions = []
    for start in range(0, len(images), batch):
        logits, _, _ = split_q(discriminator.q(images[start : start + batch]), config)
        predictions.append(logits[code].argmax(dim=1))
    discriminator.train(was_training)
    return torch.cat(predictions).cpu().numpy()


def categorical_scores(
    discriminator: Discriminator,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: RunConfig,
    n_classes: int,
) -> dict[str, float]:
    """cat_acc, purity, nmi, ari of Q's categories on (images, labels); {} without a scored code."""
    code = scored_code(config, n_classes)
    if code is None:
        return {}
    clusters = predict_categories(discriminator, images, config, code)
    return clustering_scores(labels.cpu().numpy(), clusters)


def evaluate_run_dir(
    run_dir: str | Path, checkpoint: str = "last", data_dir: str | None = None
) -> dict[str, Any]:
    """Rescore a run dir's checkpoint on the full test split; also written to eval_<checkpoint>.json."""
    from infogan_bench.data import load_dataset
    from infogan_bench.trainer import Trainer, resolve_device

    run = RunDir(run_dir)
    config = run.load_config()
    device = resolve_device(config.device)
    data = load_dataset(config.dataset, data_dir or config.data_dir, device)
    trainer = Trainer.create(config, data.image_shape, data.n_classes, device)
    step = trainer.load_state_dict(run.load_checkpoint(checkpoint, device))
    scores = {
        "checkpoint": checkpoint,
        "step": step,
        **categorical_scores(
            trainer.discriminator, data.test_images, data.test_labels, config, data.n_classes
        ),
        "n_test": len(data.test_images),
    }
    (run.path / f"eval_{checkpoint}.json").write_text(
        json.dumps(scores, indent=2, sort_keys=True) + "\n"
    )
    return scores
