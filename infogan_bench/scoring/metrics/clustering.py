"""Cluster-vs-label agreement: Hungarian-matched accuracy, purity, NMI, ARI."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, confusion_matrix, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy under the best one-to-one map of clusters to labels (Hungarian on the contingency)."""
    counts = contingency_matrix(labels, clusters)  # (n_labels, n_clusters)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def matched_confusion(labels: np.ndarray, clusters: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true label, column = the label that Hungarian
    matching gave the image's category (labels and clusters both in 0..n_classes-1), so the
    diagonal holds the matched hits and a merge shows as a heavy off-diagonal cell."""
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    counts = confusion_matrix(labels, clusters, labels=range(n_classes))  # (label, category)
    categories, matched_labels = linear_sum_assignment(counts.T, maximize=True)
    label_of = np.empty(n_classes, dtype=int)
    label_of[categories] = matched_labels
    return confusion_matrix(labels, label_of[clusters], labels=range(n_classes))


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


MIX_SHARE = 0.2  # a class counts as part of a category (or a category of a class) from this share


def failure_diagnosis(
    labels: np.ndarray,
    clusters: np.ndarray,
    share: float = MIX_SHARE,
    class_names: Sequence[str] | None = None,
) -> str:
    """Which true classes share a category and which are split, from the contingency matrix.

    e.g. "4+9 merged in category 7; 1 split over categories 2, 5"; "" when every class
    has one category of its own; with class_names, "cat+dog merged in category 3". Category
    numbers are Q's code values (rows of categories.png).
    """
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    categories = np.unique(clusters)
    classes = [class_names[c] if class_names else str(c) for c in np.unique(labels)]
    counts = contingency_matrix(labels, clusters)  # (n_classes, n_categories)
    of_class = counts / counts.sum(axis=1, keepdims=True)  # share of each class per category
    of_category = counts / counts.sum(axis=0, keepdims=True)
    notes = []
    for j, category in enumerate(categories):
        members = [c for c, s in zip(classes, of_category[:, j], strict=True) if s >= share]
        if len(members) > 1:
            notes.append(f"{'+'.join(members)} merged in category {category}")
    for i, label in enumerate(classes):
        homes = [str(k) for k, s in zip(categories, of_class[i], strict=True) if s >= share]
        if len(homes) > 1:
            notes.append(f"{label} split over categories {', '.join(homes)}")
    return "; ".join(notes)
