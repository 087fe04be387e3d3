"""Image-folder datasets: CIFAR-10's label order, PNG and JPEG, a cache that follows the tree."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infogan_bench.data import image_folder
from infogan_bench.data.datasets import CIFAR10_CLASSES, DatasetError, load_dataset
from infogan_bench.data.image_folder import load_image_folder
from tests.conftest import SHARED_DATA, wait_for


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(tmp_path / "cache"))


def _write_tree(root: Path, classes, per_class: int = 2, size: int = 32, mode: str = "RGB") -> dict:
    """PNGs in train/, JPEGs in test/; returns {relative path: pixels (H, W[, C]) uint8}."""
    rng = np.random.default_rng(0)
    pixels = {}
    for split, suffix in (("train", ".png"), ("test", ".jpg")):
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                # a smooth ramp on a random base colour: JPEG keeps it close, PNG exact
                ramp = np.add.outer(np.arange(size), np.arange(size)) * 2
                base = rng.integers(0, 128, size=3 if mode == "RGB" else 1)
                image = (ramp[..., None] + base).astype(np.uint8)
                image = image if mode == "RGB" else image[..., 0]
                Image.fromarray(image, mode).save(folder / f"{i:04d}{suffix}", quality=95)
                pixels[f"{split}/{name}/{i:04d}{suffix}"] = image
    return pixels


def test_cifar10_image_folder_has_cifar10_label_order_and_exact_png_pixels(tmp_path):
    pixels = _write_tree(tmp_path / "cifar10", CIFAR10_CLASSES)
    data = load_dataset("cifar10", tmp_path)
    assert data.train_images.shape == (20, 3, 32, 32) and data.test_images.shape == (20, 3, 32, 32)
    assert data.class_names == CIFAR10_CLASSES and data.n_classes == 10
    assert sorted(data.train_labels.tolist()) == [c for c in range(10) for _ in range(2)]
    # labels follow CIFAR-10's order, not the alphabet ("cat" would come before "bird")
    for split, name, label in (("train", "truck/0001.png", 9), ("test", "bird/0000.jpg", 2)):
        expected = torch.from_numpy(pixels[f"{split}/{name}"]).permute(2, 0, 1).float() / 255
        images = data.train_images if split == "train" else data.test_images
        labels = data.train_labels if split == "train" else data.test_labels
        errors = (images - expected).abs().mean(dim=(1, 2, 3))
        assert labels[errors.argmin()] == label
        assert (
            errors.min() == 0 if split == "train" else errors.min() < 0.02
        )  # PNG exact, JPEG close


def test_decoded_tree_is_cached_and_decoded_again_when_the_tree_changes(tmp_path):
    classes = ("a", "b")
    _write_tree(tmp_path, classes)
    first = load_image_folder(tmp_path, classes)
    cached = list((tmp_path / "cache" / "datasets").glob("*.pt"))
    assert len(cached) == 1
    # a cached load reads the cache, not the images: prove it by corrupting an image's pixels
    # while keeping its size and modification time
    image = tmp_path / "train" / "a" / "0000.png"
    stat = image.stat()
    image.write_bytes(b"\0" * stat.st_size)
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert all(
        torch.equal(a, b) for a, b in zip(first, load_image_folder(tmp_path, classes), strict=True)
    )
    # a new image changes the key: decoded again, with the new image in it
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "train" / "b" / "0009.png")
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(DatasetError, match=f"cannot read image {image}"):
        load_image_folder(tmp_path, classes)


def test_two_runs_starting_at_once_decode_the_tree_once(tmp_path, monkeypatch, capsys):
    """Two threads stand in for two campaign lanes (flock conflicts between two open() calls);
    the first decodes until the second has said it waits for the cache: no timing assumed."""
    classes = ("a", "b")
    _write_tree(tmp_path, classes)
    decoded = []
    second_waits = threading.Event()

    def held_decode(files, split):
        decoded.append(split)
        assert second_waits.wait(timeout=60), "the second run never waited for the cache"
        return decode(files, split)

    decode = image_folder._decode
    monkeypatch.setattr(image_folder, "_decode", held_decode)
    results: list = [None, None]

    def load(i: int) -> None:
        results[i] = load_image_folder(tmp_path, classes)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
    threads[0].start()
    wait_for(lambda: decoded, timeout=60)  # the first holds the cache's lock and decodes
    threads[1].start()
    said: list[str] = []
    wait_for(lambda: said.append(capsys.readouterr().err) or "waiting for another" in "".join(said))
    second_waits.set()
    for thread in threads:
        thread.join()
    assert sorted(decoded) == ["test", "train"]  # each split decoded once, by one of the two
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))


def test_gray_28px_folder_loads_with_sorted_class_names(tmp_path):
    _write_tree(tmp_path, ("one", "zero"), per_class=3, size=28, mode="L")
    train_x, train_y, test_x, test_y = load_image_folder(tmp_path)
    assert train_x.shape == (6, 1, 28, 28) and train_x.dtype == torch.uint8
    assert sorted(train_y.tolist()) == [0, 0, 0, 1, 1, 1]


def test_splits_come_shuffled_the_same_way_every_time(tmp_path, monkeypatch):
    """A prefix of a split (the eval subset, the floor's train images) holds every class."""
    classes = tuple("abcdefghij")
    _write_tree(tmp_path, classes, per_class=20, size=28, mode="L")
    _, train_y, _, test_y = load_image_folder(tmp_path, classes)
    assert len(set(train_y[:40].tolist())) >= 8 and len(set(test_y[:40].tolist())) >= 8
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(tmp_path / "another-cache"))  # decoded anew
    _, again_y, _, _ = load_image_folder(tmp_path, classes)
    assert torch.equal(train_y, again_y)


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda root: (root / "test" / "b").rename(root / "test" / "c"),
            "class folder .*/test/b is missing",
        ),
        (lambda root: (root / "train" / "extra").mkdir(), "unexpected class folder .*/train/extra"),
        (
            lambda root: (root / "train" / "a" / "0001.png").write_bytes(b"not an image"),
            "cannot read image .*/train/a/0001.png",
        ),
        (
            lambda root: Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(
                root / "test" / "b" / "0009.png"
            ),
            "image .*/test/b/0009.png is 30x30 RGB, the others 32x32 RGB",
        ),
        (
            lambda root: Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(
                root / "train" / "a" / "0000.png"
            ),
            "image .*/train/a/0000.png is 64x64 RGB; the nets take 28x28 gray or 32x32 RGB",
        ),
    ],
    ids=["missing-class", "extra-class", "unreadable", "odd-size", "unsupported-size"],
)
def test_bad_tree_stops_with_one_line_naming_the_file(tmp_path, damage, message):
    _write_tree(tmp_path, ("a", "b"))
    damage(tmp_path)
    with pytest.raises(DatasetError, match=message) as err:
        load_image_folder(tmp_path, ("a", "b"))
    assert "\n" not in str(err.value)


@pytest.mark.skipif(not (SHARED_DATA / "cifar10").exists(), reason="needs ../shared/data/cifar10")
def test_shared_cifar10_jpeg_copy_has_its_documented_statistics(monkeypatch):
    # the user's cache, as a user's first load fills it: decoded once (~20 s), then seconds
    monkeypatch.delenv("INFOGAN_BENCH_CACHE", raising=False)
    data = load_dataset("cifar10", SHARED_DATA)
    assert data.train_images.shape == (50000, 3, 32, 32) and data.test_images.shape == (
        10000,
        3,
        32,
        32,
    )
    assert torch.bincount(data.test_labels).tolist() == [1000] * 10
    mean = data.train_images.mean(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.tensor([0.4913, 0.4821, 0.4465]), atol=1e-4)
