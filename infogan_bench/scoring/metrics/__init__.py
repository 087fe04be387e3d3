"""Metrics: pure functions (tensors or arrays in, numbers out), one module per family, and
METRICS, the one registry of every reported number that the report, plots, results reader and
W&B tracker read. Adding a metric: its function, its key in evaluate.py's scores, one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    """How one reported number is read: which way is better and where it is shown."""

    better: Literal["max", "min"]
    doc: str  # one line: what it is
    plotted: bool = False  # a panel of the report's metrics.png
    curve: bool = False  # logged at eval steps and drawn against the step (curves.png)
    wandb_summary: bool = False  # W&B keeps its best over the run (define_metric)
    reported: bool = True  # a column of the report's variant and effect tables


METRICS: dict[str, Metric] = {
    "cat_acc": Metric(
        "max", "Hungarian-matched accuracy of Q's category on the test split", plotted=True
    ),
    "best_cat_acc": Metric("max", "cat_acc of best.pt (lowest eval-step domain FID)"),
    "fid_domain": Metric(
        "min", "FID on the domain classifier's features, generated vs test", plotted=True
    ),
    "best_fid_domain": Metric("min", "fid_domain of best.pt"),
    "fid_domain_rel": Metric("min", "fid_domain over its real-vs-real floor"),
    "kid_domain_mean": Metric("min", "KID on the domain features"),
    "kid_domain_std": Metric("min", "std of KID over its subsets", reported=False),
    "purity": Metric(
        "max", "accuracy with each category mapped to its majority label", reported=False
    ),
    "nmi": Metric("max", "normalised mutual information of categories and labels", reported=False),
    "ari": Metric("max", "adjusted Rand index of categories and labels", reported=False),
    "fid_inception": Metric(
        "min", "standard FID: TF Inception-v3 pool3 features, generated vs test (evaluate)"
    ),
    "kid_inception_mean": Metric("min", "KID on the Inception features"),
    "kid_inception_std": Metric("min", "std of Inception KID over its subsets", reported=False),
    "precision": Metric(
        "max", "share of generated images inside the real images' 3-NN balls (Inception pool3)"
    ),
    "recall": Metric(
        "max", "share of real test images inside the generated images' 3-NN balls: coverage"
    ),
    "is_mean": Metric(
        "max", "Inception Score of the generated images, 10 splits (where the weights allow)"
    ),
    "is_std": Metric("min", "std of the Inception Score over its splits", reported=False),
    "cat_consistency": Metric(
        "max", "the domain classifier's class of G(z, c) vs c, matched", plotted=True
    ),
    "mi_cat": Metric("max", "L_I = H(c) - CE of Q on generated images (nats)"),
    "cont_r2": Metric("max", "R^2 of Q's recovery of the continuous codes"),
    "mi_cat_K": Metric("max", "mi_cat of categorical code K", reported=False),
    "cont_r2_K": Metric("max", "cont_r2 of continuous code K", reported=False),
    "cont_brightness_corr_K": Metric(
        "max", "Pearson r of continuous code K and mean brightness", reported=False
    ),
    "cont_saturation_corr_K": Metric(
        "max", "Pearson r of continuous code K and mean saturation (RGB)", reported=False
    ),
    "cont_size_corr_K": Metric(
        "max",
        "Pearson r of continuous code K and object size (share off the border colour)",
        reported=False,
    ),
    "cont0_thickness_corr": Metric("max", "Pearson r of continuous code 0 and stroke thickness"),
    "checkerboard": Metric(
        "min", "Nyquist-band spectral energy of generated over real images", plotted=True
    ),
    "q_confidence": Metric(
        "max", "mean max category probability of Q on the real test images (no labels)"
    ),
    "q_marginal_entropy": Metric(
        "max", "entropy of Q's mean category posterior on the real test images, nats (no labels)"
    ),
    "q_aug_survival": Metric(
        "max", "share of real test images whose Q category survives a random affine (no labels)"
    ),
    "fid_domain_raw": Metric("min", "fid_domain of the raw G, where the moving average draws"),
    "d_won_steps": Metric(
        "min", "steps in which D separated real from generated (d_separation >= 0.98)"
    ),
    "d_won_last_step": Metric("min", "the last step D was in that phase", reported=False),
    "wall_time_s": Metric("min", "training time in seconds, over all resumes"),
    "images_per_s": Metric("max", "training images per second, over all resumes"),
    # logged during training
    "eval_cat_acc": Metric(
        "max",
        "cat_acc on the first 2,000 test images",
        curve=True,
        wandb_summary=True,
        reported=False,
    ),
    "eval_fid_domain": Metric(
        "min",
        "fid_domain of 2,000 generated images",
        curve=True,
        wandb_summary=True,
        reported=False,
    ),
    "eval_fid_domain_raw": Metric(
        "min", "eval_fid_domain of the raw G, where the moving average draws", reported=False
    ),
    "d_separation": Metric(
        "min",
        "share of (real, generated) pairs D ranks right, over the log interval",
        reported=False,
    ),
    "d_won": Metric("min", "1 when d_separation >= 0.98 over the log interval", reported=False),
    "mi_lower_bound": Metric(
        "max", "L_I over the log interval (nats)", wandb_summary=True, reported=False
    ),
}

# scored keys that describe the protocol, the model's categories in words or a matrix, or what
# the tracker failed to record, rather than measure the model with one number
PROTOCOL_KEYS = (
    "n_test",
    "fid_n_fake",
    "fid_n_real",
    "fid_ref_split",
    "fid_domain_floor",
    "domain_classifier_test_acc",
    "cat_diagnosis",
    "cat_confusion",
    "fid_inception_floor",
    "is_absent",
    "tracker_lost",
)

REPORTED = [name for name, m in METRICS.items() if m.reported]
PLOTTED = [name for name, m in METRICS.items() if m.plotted]
CURVES = [name for name, m in METRICS.items() if m.curve]
WANDB_SUMMARIES = {name: m.better for name, m in METRICS.items() if m.wandb_summary}


def registered(key: str) -> bool:
    """A key is a registered metric, or a per-code one (mi_cat_3 is mi_cat_K)."""
    stem, _, index = key.rpartition("_")
    return key in METRICS or (index.isdigit() and f"{stem}_K" in METRICS)
