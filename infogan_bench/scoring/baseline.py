"""The reference point for cat_acc: k-means on raw pixels, fit on train, scored on test."""

from __future__ import annotations

from pathlib import Path

from sklearn.cluster import KMeans

from infogan_bench.data.datasets import load_dataset
from infogan_bench.scoring.metrics.clustering import clustering_scores


def kmeans_baseline(dataset: str, data_dir: str | Path, seed: int = 0) -> dict[str, float]:
    """k-means (k = number of classes, 10 inits) on flattened train pixels; scores of its test assignment."""
    data = load_dataset(dataset, data_dir)
    train = data.train_images.flatten(1).numpy()
    test = data.test_images.flatten(1).numpy()
    kmeans = KMeans(n_clusters=data.n_classes, n_init=10, random_state=seed).fit(train)
    return clustering_scores(data.test_labels.numpy(), kmeans.predict(test))
