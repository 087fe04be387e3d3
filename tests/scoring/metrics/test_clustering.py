import numpy as np
import pytest

from infogan_bench.data.datasets import CIFAR10_CLASSES
from infogan_bench.scoring.metrics.clustering import (
    clustering_scores,
    failure_diagnosis,
    matched_accuracy,
    matched_confusion,
    purity,
)


def test_permuted_labels_score_exactly_one():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=500)
    permutation = rng.permutation(10)
    scores = clustering_scores(labels, permutation[labels])
    assert scores == {
        "cat_acc": 1.0,
        "purity": 1.0,
        "nmi": pytest.approx(1.0),
        "ari": pytest.approx(1.0),
    }


def test_known_confusion_matrix():
    # contingency (rows = labels 0..2, cols = clusters 0..2):
    #   [[5, 1, 0],
    #    [4, 0, 0],
    #    [0, 1, 3]]
    # Best one-to-one: 0->c0, 1->c1, 2->c2 = 5 + 0 + 3 = 8, tied with 0->c1, 1->c0, 2->c2
    # = 1 + 4 + 3 = 8; so 8 / 14.
    # Purity maps each cluster to its majority label: c0 -> 5, c1 -> 1, c2 -> 3 = 9 / 14.
    labels = np.array([0] * 6 + [1] * 4 + [2] * 4)
    clusters = np.array([0] * 5 + [1] + [0] * 4 + [1] + [2] * 3)
    assert matched_accuracy(labels, clusters) == pytest.approx(8 / 14)
    assert purity(labels, clusters) == pytest.approx(9 / 14)


def test_fewer_clusters_than_labels_counts_unmatched_as_wrong():
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([0, 0, 0, 0, 1, 1])  # labels 0 and 1 share a cluster
    assert matched_accuracy(labels, clusters) == pytest.approx(4 / 6)


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equal-length"):
        clustering_scores(np.array([0, 1]), np.array([0]))


def test_failure_diagnosis_names_merged_and_split_classes():
    # class 4 and 9 both land in category 7; class 1 is split half/half over categories 2 and 5
    labels = np.array([4] * 10 + [9] * 10 + [1] * 10 + [0] * 10)
    clusters = np.array([7] * 10 + [7] * 9 + [3] + [2] * 5 + [5] * 5 + [0] * 10)
    assert failure_diagnosis(labels, clusters) == (
        "4+9 merged in category 7; 1 split over categories 2, 5"
    )
    assert failure_diagnosis(labels, clusters, class_names=CIFAR10_CLASSES) == (
        "deer+truck merged in category 7; automobile split over categories 2, 5"
    )


def test_failure_diagnosis_is_empty_for_a_clean_permutation():
    labels = np.repeat(np.arange(10), 20)
    clusters = (labels + 3) % 10
    clusters[:3] = 9  # a few strays stay below the share
    assert failure_diagnosis(labels, clusters) == ""


def test_matched_confusion_puts_a_permutation_on_the_diagonal_and_a_merge_off_it():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    permuted = np.array([2, 2, 0, 0, 1, 1, 1])  # category = a relabelling of the label
    np.testing.assert_array_equal(matched_confusion(labels, permuted, 3), np.diag([2, 2, 3]))
    # labels 1 and 2 share category 0; category 1 holds one image of label 2
    merged = np.array([2, 2, 0, 0, 0, 0, 1])
    confusion = matched_confusion(labels, merged, 3)
    assert confusion.sum() == len(labels)
    # best one-to-one map: category 0 -> label 1, category 1 -> label 2 (5 hits; 0 -> 2 and
    # 1 -> 1 would give 4): two images of label 2 land in label 1's column
    np.testing.assert_array_equal(confusion, [[2, 0, 0], [0, 2, 0], [0, 2, 1]])
    assert np.trace(confusion) / len(labels) == pytest.approx(matched_accuracy(labels, merged))
