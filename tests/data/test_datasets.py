import pickle

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd

from infogan_bench.data.datasets import DatasetError, labelled_subset, load_dataset
from tests.conftest import SHARED_DATA


def test_digits_is_resized_split_and_stratified():
    data = load_dataset("digits", "unused")
    assert data.train_images.shape == (1347, 1, 28, 28) and data.test_images.shape == (
        450,
        1,
        28,
        28,
    )
    assert 0 <= data.train_images.min() and data.train_images.max() <= 1
    assert data.n_classes == 10
    # stratified: each digit keeps a quarter of its images in the test split
    totals = torch.bincount(data.train_labels) + torch.bincount(data.test_labels)
    assert (torch.bincount(data.test_labels) - 0.25 * totals).abs().max() <= 1


@pytest.mark.skipif(
    not (SHARED_DATA / "MNIST" / "raw").exists(), reason="needs ../shared/data/MNIST"
)
def test_real_mnist_loads_from_torchvision_layout():
    data = load_dataset("mnist", SHARED_DATA)
    assert data.train_images.shape == (60000, 1, 28, 28) and data.test_images.shape == (
        10000,
        1,
        28,
        28,
    )
    assert data.train_images.dtype == torch.float32 and data.train_images.max() == 1.0
    expected_train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(data.train_labels).tolist() == expected_train


def _write_cifar10(root, n_per_batch: int) -> np.ndarray:
    """A small CIFAR-10 folder in torchvision's pickle format; returns the test images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    test_images = None
    for name in names:
        images = rng.integers(0, 256, size=(n_per_batch, 3 * 32 * 32), dtype=np.uint8)
        labels = [i % 10 for i in range(n_per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({"data": images, "labels": labels}, f)
        test_images = images
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    return test_images


def test_cifar10_folder_loads_through_torchvision(tmp_path, monkeypatch):
    test_images = _write_cifar10(tmp_path, n_per_batch=20)
    # our files are not the real ones, so their md5 cannot match torchvision's table
    monkeypatch.setattr(tvd.cifar, "check_integrity", lambda path, md5=None: True)
    data = load_dataset("cifar10", tmp_path)
    assert data.train_images.shape == (100, 3, 32, 32) and data.test_images.shape == (20, 3, 32, 32)
    # channel-first, scaled to [0, 1], pixel for pixel
    expected = torch.tensor(test_images).view(20, 3, 32, 32).float() / 255
    assert torch.equal(data.test_images, expected)
    assert data.n_classes == 10


@pytest.mark.parametrize(
    "name, folder", [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py")]
)
def test_missing_dataset_offline_says_where_to_put_files(tmp_path, monkeypatch, name, folder):
    def no_network(self):
        raise OSError("network unreachable")

    monkeypatch.setattr(tvd.MNIST, "download", no_network)
    monkeypatch.setattr(tvd.CIFAR10, "download", no_network)
    with pytest.raises(DatasetError) as err:
        load_dataset(name, tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"{tmp_path}/{folder}" in message and "--data-dir" in message


def test_labelled_subset_is_class_balanced_and_seeded():
    labels = torch.arange(1000) % 10
    subset = labelled_subset(labels, 0.05, 10, seed=3)
    assert len(subset) == 50 and torch.bincount(labels[subset]).tolist() == [5] * 10
    assert torch.equal(subset, labelled_subset(labels, 0.05, 10, seed=3))
    assert not torch.equal(subset, labelled_subset(labels, 0.05, 10, seed=4))
