"""How well the latent codes are used: code -> class agreement, MI bound, continuous R^2."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score

from infogan_bench.scoring.metrics.clustering import matched_accuracy


def cat_consistency(given_codes: np.ndarray, drawn_classes: np.ndarray) -> float:
    """Hungarian-matched agreement between the categorical code G was given and the class it drew."""
    return matched_accuracy(np.asarray(given_codes), np.asarray(drawn_classes))


def mi_lower_bound(logits: torch.Tensor, codes: torch.Tensor) -> float:
    """L_I = H(c) - CE(Q(c|x), c) in nats for a uniform code with logits (N, K), codes (N,)."""
    return math.log(logits.shape[1]) - float(F.cross_entropy(logits.double(), codes))


def cont_r2(given: np.ndarray, predicted: np.ndarray) -> list[float]:
    """R^2 of Q's recovery of each continuous code, given/predicted (N, n_codes)."""
    return [float(v) for v in r2_score(given, predicted, multioutput="raw_values")]
