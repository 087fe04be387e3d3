"""The scoring protocol: Q's categories on the real test split against the true labels, and
generated samples against the test split in the domain and Inception feature spaces. Loading a
run dir's checkpoint and recording its scores is rescore.py's."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from infogan_bench.config import RunConfig
from infogan_bench.data.augment import random_affine
from infogan_bench.data.datasets import Data
from infogan_bench.errors import ScoringError
from infogan_bench.nets.latent import Latent, sample_latent, scored_code, split_q
from infogan_bench.nets.models import Discriminator, Generator, eval_mode
from infogan_bench.scoring.domain import DomainReference, batched, domain_reference
from infogan_bench.scoring.inception import (
    NO_CLASSIFIER,
    POOL3,
    PoolAndLogits,
    inception_outputs,
    real_inception_reference,
)
from infogan_bench.scoring.metrics.appearance import code_correlations
from infogan_bench.scoring.metrics.artifacts import checkerboard_score
from infogan_bench.scoring.metrics.clustering import (
    clustering_scores,
    failure_diagnosis,
    matched_confusion,
)
from infogan_bench.scoring.metrics.codes import cat_consistency, cont_r2, mi_lower_bound
from infogan_bench.scoring.metrics.fid import frechet_distance, kernel_distance
from infogan_bench.scoring.metrics.inception_score import inception_score
from infogan_bench.scoring.metrics.posterior import marginal_entropy, mean_confidence, survival
from infogan_bench.scoring.metrics.precision_recall import precision_recall
from infogan_bench.scoring.metrics.thickness import stroke_thickness

SCORE_SEED = 2016  # latents of the scoring samples: the same for every run
SCORE_AUGMENT_STRENGTH = 1.0  # q_aug_survival's augmentation: the same for every run
EVAL_SUBSET = 2000  # test images (and generated images) scored at each eval_every step


@torch.no_grad()
def category_posteriors(
    discriminator: Discriminator,
    images: torch.Tensor,
    config: RunConfig,
    code: int,
    batch: int = 1000,
) -> torch.Tensor:
    """Q's posterior over the categories of code `code` for each image (N, C, H, W) -> (N, K)."""
    posteriors = []
    with eval_mode(discriminator):
        for start in range(0, len(images), batch):
            logits, _, _ = split_q(discriminator.q(images[start : start + batch]), config)
            posteriors.append(logits[code].softmax(dim=1))
    return torch.cat(posteriors)


def label_free_scores(
    discriminator: Discriminator, images: torch.Tensor, config: RunConfig, code: int
) -> dict[str, float]:
    """Q's mean confidence, its category marginal's entropy and the share of categories that
    survive the training augmentation (strength 1, fixed draws), on real images: no labels."""
    posteriors = category_posteriors(discriminator, images, config, code)
    gen = torch.Generator().manual_seed(SCORE_SEED)  # on the CPU: the same draws on any device
    augmented = random_affine(images, SCORE_AUGMENT_STRENGTH, gen)
    aug_posteriors = category_posteriors(discriminator, augmented, config, code)
    return {
        "q_confidence": mean_confidence(posteriors),
        "q_marginal_entropy": float(marginal_entropy(posteriors)),
        "q_aug_survival": survival(posteriors.argmax(1), aug_posteriors.argmax(1)),
    }


def categorical_scores(
    discriminator: Discriminator,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: RunConfig,
    n_classes: int,
    diagnose: bool = False,
    class_names: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """cat_acc, purity, nmi, ari of Q's categories on (images, labels); {} without a scored code.

    diagnose: also the failure diagnosis (which classes share a category, which are split;
    classes by class_names where given), the matched confusion matrix and the label-free scores.
    """
    code = scored_code(config, n_classes)
    if code is None:
        return {}
    clusters = category_posteriors(discriminator, images, config, code).argmax(1).cpu().numpy()
    true = labels.cpu().numpy()
    scores: dict[str, Any] = clustering_scores(true, clusters)
    if diagnose:
        scores["cat_diagnosis"] = failure_diagnosis(true, clusters, class_names=class_names)
        scores["cat_confusion"] = matched_confusion(true, clusters, n_classes).tolist()
        scores.update(label_free_scores(discriminator, images, config, code))
    return scores


def eval_scores(
    generator: Generator,
    discriminator: Discriminator,
    config: RunConfig,
    data: Data,
    reference: DomainReference | None,
) -> dict[str, float]:
    """Scores on a fixed subset during training: cat_acc on test images, FID on generated ones
    (reference None: cat_acc only)."""
    subset = slice(0, EVAL_SUBSET)
    scores = categorical_scores(
        discriminator, data.test_images[subset], data.test_labels[subset], config, data.n_classes
    )
    if reference is not None:
        scores.update(eval_generated_scores(generator, config, data, reference, EVAL_SUBSET))
    return {f"eval_{k}": v for k, v in scores.items()}


def score_model(
    generator: Generator,
    discriminator: Discriminator,
    config: RunConfig,
    data: Data,
    n_samples: int,
) -> dict[str, Any]:
    """The full protocol: Q's categories on the test split, and (n_samples > 0) generated samples."""
    scores: dict[str, Any] = {
        **categorical_scores(
            discriminator,
            data.test_images,
            data.test_labels,
            config,
            data.n_classes,
            diagnose=True,
            class_names=data.class_names,
        ),
        "n_test": len(data.test_images),
    }
    if n_samples > 0:
        reference = domain_reference(config.dataset, data, progress=config.progress)
        scores.update(
            generated_scores(generator, discriminator, config, data, reference, n_samples)
        )
        scores["fid_domain_floor"] = reference.floor
        scores["domain_classifier_test_acc"] = reference.test_acc
    return scores


@torch.no_grad()
def scoring_fakes(
    generator: Generator, config: RunConfig, n_samples: int, device: torch.device, seed: int
) -> tuple[Latent, torch.Tensor]:
    """The scoring latents (fixed by seed, drawn on the CPU so that every device scores the same
    samples) and G's images of them (n_samples, C, H, W), in eval mode."""
    with eval_mode(generator):
        cpu = torch.device("cpu")
        latent = sample_latent(config, n_samples, torch.Generator().manual_seed(seed), cpu)
        latent = latent.to(device)
        fake = batched(generator, latent.vector(), desc=f"generating {n_samples} samples")
    return latent, fake


def _finite_fakes(
    generator: Generator, config: RunConfig, n_samples: int, data: Data, seed: int
) -> tuple[Latent, torch.Tensor]:
    latent, fake = scoring_fakes(generator, config, n_samples, data.test_images.device, seed)
    if not torch.isfinite(fake).all():
        raise ScoringError(
            "generated images are not finite: the model diverged and cannot be scored"
        )
    return latent, fake


def _consistency(
    latent: Latent,
    fake_features: torch.Tensor,
    reference: DomainReference,
    config: RunConfig,
    data: Data,
) -> float:
    """cat_consistency: how often the domain classifier's class of an image follows its code."""
    drawn = reference.classifier.head(fake_features).argmax(1)
    code = scored_code(config, data.n_classes) or 0
    return cat_consistency(latent.cat_idx[:, code].cpu().numpy(), drawn.cpu().numpy())


@torch.no_grad()
def eval_generated_scores(
    generator: Generator,
    config: RunConfig,
    data: Data,
    reference: DomainReference,
    n_samples: int,
) -> dict[str, float]:
    """What an eval step keeps of generated_scores, and no more: fid_domain and (with a
    categorical code) cat_consistency (no KID, checkerboard or code metrics)."""
    latent, fake = _finite_fakes(generator, config, n_samples, data, SCORE_SEED)
    fake_features = reference.classifier.features(fake)
    scores = {"fid_domain": frechet_distance(reference.real_features, fake_features)}
    if config.cat_class_counts:
        scores["cat_consistency"] = _consistency(latent, fake_features, reference, config, data)
    return scores


@torch.no_grad()
def generated_scores(
    generator: Generator,
    discriminator: Discriminator,
    config: RunConfig,
    data: Data,
    reference: DomainReference,
    n_samples: int,
    seed: int = SCORE_SEED,
) -> dict[str, Any]:
    """FID/KID (domain features, n_samples fakes vs the test split), code metrics, checkerboard."""
    with eval_mode(discriminator):
        latent, fake = _finite_fakes(generator, config, n_samples, data, seed)
        real_features = reference.real_features
        fake_features = reference.classifier.features(fake)
        kid_mean, kid_std = kernel_distance(real_features, fake_features, seed=seed)
        scores: dict[str, Any] = {
            "fid_domain": frechet_distance(real_features, fake_features),
            "kid_domain_mean": kid_mean,
            "kid_domain_std": kid_std,
            "fid_n_fake": n_samples,
            "fid_n_real": len(data.test_images),
            "fid_ref_split": "test",
            "checkerboard": checkerboard_score(fake, data.test_images),
        }
        logits, mean, _ = split_q(batched(discriminator.q, fake), config)
        for k, code_logits in enumerate(logits):
            scores[f"mi_cat_{k}"] = mi_lower_bound(code_logits, latent.cat_idx[:, k])
        if logits:
            scores["mi_cat"] = scores["mi_cat_0"]
            scores["cat_consistency"] = _consistency(latent, fake_features, reference, config, data)
        if config.n_cont_codes:
            r2 = cont_r2(latent.cont.cpu().numpy(), mean.cpu().numpy())
            scores.update({f"cont_r2_{k}": v for k, v in enumerate(r2)})
            scores["cont_r2"] = sum(r2) / len(r2)
            scores.update(code_correlations(latent.cont, fake))
            if fake.shape[1] == 1:  # does code 0 control stroke thickness? (Pearson r)
                thickness = stroke_thickness(fake).cpu().numpy()
                scores["cont0_thickness_corr"] = float(
                    np.corrcoef(latent.cont[:, 0].cpu().numpy(), thickness)[0, 1]
                )
    return scores


@torch.no_grad()
def inception_scores(
    generator: Generator, config: RunConfig, data: Data, extractor: PoolAndLogits, n_samples: int
) -> dict[str, Any]:
    """Standard FID/KID and precision/recall: Inception-v3 pool3 features of n_samples fakes vs
    the test split; the Inception Score from the same forward pass where the weights have the
    classifier layer."""
    _, fake = scoring_fakes(generator, config, n_samples, data.test_images.device, SCORE_SEED)
    outputs = inception_outputs(extractor, fake)
    fake_features = outputs[:, :POOL3]
    real_features, floor = real_inception_reference(config.dataset, data, extractor)
    kid_mean, kid_std = kernel_distance(real_features, fake_features, seed=SCORE_SEED)
    scores: dict[str, Any] = {
        "fid_inception": frechet_distance(real_features, fake_features),
        "kid_inception_mean": kid_mean,
        "kid_inception_std": kid_std,
        "fid_inception_floor": floor,
    }
    scores["precision"], scores["recall"] = precision_recall(real_features, fake_features)
    if extractor.has_classifier():
        scores["is_mean"], scores["is_std"] = inception_score(outputs[:, POOL3:], seed=SCORE_SEED)
    else:
        scores["is_absent"] = NO_CLASSIFIER
    return scores
