"""Cluster-vs-label agreement: Hungarian-matched accuracy, purity, NMI, ARI."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy under the best one-to-one map of clusters to labels (Hungarian on the contingency)."""
    counts = contingency_matrix(labels, clusters)  # (n_labels, n_clusters)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def purity(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy when each cluster is mapped to its most frequent label (many-to-one)."""
    counts = contingency_matrix(labels, clusters)
    return float(counts.max(axis=0).sum() / len(labels))


def clustering_scores(labels: np.ndarray, clusters: np.ndarray) -> dict[str, float]:
    """cat_acc, purity, nmi and ari of predicted clusters against true labels."""
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1 or len(labels) == 0:
        raise ValueError(
            f"need two equal-length 1-d arrays, got {labels.shape} and {clusters.shape}"
        )
    return {
        "cat_acc": matched_accuracy(labels, clusters),
        "purity": purity(labels, clusters),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
    }
