"""Improved precision and recall of generated against real features (Kynkäänniemi et al. 2019),
through torch-fidelity's implementation.

Precision: the share of generated samples inside some real sample's k-NN ball (image quality);
recall: the share of real samples inside some generated sample's ball (coverage; a merged
category is a coverage loss). Features (N, D) of any extractor; k = 3 as in the paper.
"""

from __future__ import annotations

import torch

from infogan_bench.scoring.metrics.fid import require_finite_features

NEIGHBOURHOOD = 3


def precision_recall(
    real: torch.Tensor, fake: torch.Tensor, k: int = NEIGHBOURHOOD
) -> tuple[float, float]:
    """(precision, recall) of fake (M, D) against real (N, D) with k-nearest-neighbour balls."""
    from torch_fidelity.metric_prc import calculate_precision_recall_part

    require_finite_features(real, fake)
    # torch-fidelity's convention: the first set is the generated one; batches bound the memory
    return calculate_precision_recall_part(
        fake.float().cpu(), real.float().cpu(), neighborhood=k, batch_size=1000
    )
