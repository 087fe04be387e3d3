"""Image-folder datasets (`ROOT/{train,test}/<class>/*.{png,jpg,jpeg}`), decoded once into a cache.

The layout is torchvision's `ImageFolder` convention and that of the common PNG/JPEG copies of
CIFAR-10. Each split comes in a fixed shuffled order (ORDER_SEED), as torchvision's CIFAR-10 files
do: the suite reads prefixes of a split (the eval subset of test images, the train images of the
real-vs-real floor), and a prefix of a class-sorted tree would hold one or two classes. Decoding 60,000 small JPEGs takes about a minute of one core, so the decoded uint8
tensors are cached under the suite's cache folder (the tree itself may be read-only), keyed by
every file's path, size and modification time: a changed tree is decoded again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from infogan_bench.data.cache import cache_dir, one_writer
from infogan_bench.errors import DatasetError, describe
from infogan_bench.rundir import atomic_save

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CACHE_VERSION = 2  # 2: splits in ORDER_SEED's shuffled order
ORDER_SEED = 0
# (channels, side) of the images the suite's nets take
ALLOWED_SHAPES = {(1, 28), (3, 32)}

Files = dict[str, list[tuple[Path, int]]]  # split -> [(file, label)]
CACHED = ("train_x", "train_y", "test_x", "test_y")  # the cache file's tensors, in return order


def load_image_folder(
    root: Path, class_names: tuple[str, ...] | None = None
) -> tuple[torch.Tensor, ...]:
    """(train_images, train_labels, test_images, test_labels) of the tree at root: images
    (N, C, H, W) uint8 in a fixed shuffled order, labels (N,) int64 in class_names' order
    (default: the folders, sorted).
    Every image has one shape, 28x28 gray or 32x32 RGB; a bad tree stops with one line."""
    classes = class_names or _class_folders(root)
    files = _list_files(root, classes)
    key = _tree_key(root, classes, files)
    path = cache_dir() / "datasets" / f"{root.name}-{key}.pt"
    with one_writer(path):  # two runs starting at once decode the tree once
        if path.exists():
            try:
                cached = torch.load(path, weights_only=True)
                return tuple(cached[name] for name in CACHED)
            except Exception:  # a torn or stale cache file: decode again
                path.unlink(missing_ok=True)
        splits = {split: _shuffled(*_decode(files[split], split)) for split in SPLITS}
        _check_shapes(splits)
        tensors = (*splits["train"], *splits["test"])
        atomic_save(dict(zip(CACHED, tensors, strict=True)), path)
    return tensors


def _class_folders(root: Path) -> tuple[str, ...]:
    train = root / "train"
    if not train.is_dir():
        raise DatasetError(f"no {train}: an image folder needs train/<class>/ and test/<class>/")
    return tuple(sorted(p.name for p in train.iterdir() if p.is_dir()))


def _list_files(root: Path, classes: tuple[str, ...]) -> Files:
    """Every image file of each split with its label; a missing or extra class folder stops."""
    files: Files = {}
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            raise DatasetError(f"no {folder}: expected {root}/{{train,test}}/<class>/*.png|jpg")
        present = {p.name for p in folder.iterdir() if p.is_dir()}
        missing, extra = [c for c in classes if c not in present], sorted(present - set(classes))
        if missing:
            raise DatasetError(
                f"class folder {folder / missing[0]} is missing (expected {', '.join(classes)})"
            )
        if extra:
            raise DatasetError(
                f"unexpected class folder {folder / extra[0]} (expected {', '.join(classes)})"
            )
        files[split] = [
            (path, label)
            for label, name in enumerate(classes)
            for path in sorted((folder / name).iterdir())
            if path.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not files[split]:
            raise DatasetError(f"no .png/.jpg images under {folder}")
    return files


def _tree_key(root: Path, classes: tuple[str, ...], files: Files) -> str:
    """A hash of the class order and every file's path, size and mtime: changes with the tree."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} {classes}".encode())
    for split in SPLITS:
        for path, label in files[split]:
            stat = path.stat()
            digest.update(
                f"{path.relative_to(root)} {label} {stat.st_size} {stat.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()[:16]


def _decode(files: list[tuple[Path, int]], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every file to (N, C, H, W) uint8; an unreadable file or a stray shape names the file."""
    from PIL import Image, UnidentifiedImageError

    images, shape = [], None
    for path, _ in tqdm(files, desc=f"decoding {split} images", unit="img", disable=None):
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L" if image.mode in ("L", "1", "I") else "RGB"))
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise DatasetError(
                f"cannot read image {path} ({describe(err)}); replace or remove it"
            ) from None
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        if shape is None:
            shape = pixels.shape
            if (shape[0], shape[1]) not in ALLOWED_SHAPES or shape[1] != shape[2]:
                raise DatasetError(
                    f"image {path} is {_describe(shape)}; the nets take 28x28 gray or 32x32 RGB"
                )
        elif pixels.shape != shape:
            raise DatasetError(
                f"image {path} is {_describe(pixels.shape)}, the others {_describe(shape)}"
            )
        images.append(pixels)
    labels = torch.tensor([label for _, label in files], dtype=torch.int64)
    return torch.from_numpy(np.stack(images)), labels


def _shuffled(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The split in a fixed random order (ORDER_SEED), the same on every machine."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(ORDER_SEED))
    return images[order], labels[order]


def _check_shapes(splits: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    train_shape, test_shape = (tuple(splits[s][0].shape[1:]) for s in SPLITS)
    if train_shape != test_shape:
        raise DatasetError(
            f"train images are {_describe(train_shape)} but test images {_describe(test_shape)}"
        )


def _describe(shape: tuple[int, ...]) -> str:
    channels, height, width = shape
    return f"{height}x{width} {'gray' if channels == 1 else 'RGB' if channels == 3 else f'{channels}-channel'}"
