"""Feature spaces for FID/KID: the domain classifier (trained on real train images, cached on disk).

Its 128-d penultimate features are the `domain` feature space of FID/KID (the one that works
offline), and its predictions give `cat_consistency`. The cache key is the dataset and a hash
of the training recipe; the file also records the classifier's test accuracy.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from infogan_bench.data.cache import cache_dir, one_writer
from infogan_bench.data.datasets import Data
from infogan_bench.rundir import atomic_save
from infogan_bench.scoring.metrics.fid import frechet_distance

# Adam with a one-cycle schedule peaking at max_lr; MNIST: 99.2 % test accuracy in ~95 s on 2 CPU cores
RECIPE = {
    "arch": "cnn3x3-bn-32-64-128",
    "steps": 1400,
    "batch_size": 128,
    "max_lr": 3e-3,
    "seed": 0,
}


class DomainClassifier(nn.Module):
    """conv 3x3 32-BN - pool - conv 3x3 64-BN - pool - FC 128 (features) - FC n_classes."""

    num_features = 128

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        channels, size, _ = image_shape
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (size // 4) ** 2, self.num_features),
            nn.ReLU(),
        )
        self.head = nn.Linear(self.num_features, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, C, H, W) in [0, 1] -> features (N, 128)."""
        return self.trunk(images)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(images))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Features of many images (N, 128), without gradients: chunks of 100 in channels_last
        (load_or_train puts the weights in it), about 4x faster on a CPU than chunks of 1000 in
        NCHW (same values up to rounding)."""
        to_channels_last = lambda x: self(x.contiguous(memory_format=torch.channels_last))  # noqa: E731
        return batched(to_channels_last, images, 100, desc="domain features")


GPU_MIN_BATCH = 500  # a GPU's chunk: the CPU sizes below (25, 100) leave one mostly idle


@torch.no_grad()
def batched(
    fn: nn.Module | object, images: torch.Tensor, batch: int = 1000, desc: str | None = None
) -> torch.Tensor:
    """fn over images in chunks of `batch` (the CPU's size; on a GPU at least GPU_MIN_BATCH),
    concatenated; desc: a progress bar of that name (on a terminal only: tqdm's disable=None),
    for the long passes a person waits on."""
    if images.device.type != "cpu":
        batch = max(batch, GPU_MIN_BATCH)
    starts = range(0, len(images), batch)
    if desc is not None:
        starts = tqdm(starts, desc=desc, unit="batch", leave=False, disable=None)
    return torch.cat([fn(images[i : i + batch]) for i in starts])  # type: ignore[operator]


def load_or_train(
    dataset: str, data: Data, progress: bool = True
) -> tuple[DomainClassifier, float]:
    """The cached classifier for dataset (trained on first use); returns it and its test accuracy."""
    path = _cache_path(dataset)
    model = DomainClassifier(data.image_shape, data.n_classes).to(data.train_images.device)
    with one_writer(path):
        if path.exists():
            state = torch.load(path, map_location=data.train_images.device, weights_only=True)
            model.load_state_dict(state["model"])
            return model.eval().to(memory_format=torch.channels_last), float(state["test_acc"])
        _train(model, data, progress, path)
        model.to(memory_format=torch.channels_last)
        predictions = model.head(model.features(data.test_images)).argmax(1)
        test_acc = float((predictions == data.test_labels).float().mean())
        state = {"model": model.state_dict(), "test_acc": test_acc, "recipe": json.dumps(RECIPE)}
        atomic_save(state, path)
    return model.eval(), test_acc


def real_reference(
    dataset: str, data: Data, classifier: DomainClassifier
) -> tuple[torch.Tensor, float]:
    """The classifier's features of the test split (N, 128) and the real-vs-real FID floor,
    computed once per dataset and classifier and cached beside it (see cached_reference)."""
    path = _cache_path(dataset).with_suffix(".real.pt")
    return cached_reference(path, classifier.features, data)


@dataclass(frozen=True)
class DomainReference:
    """What the domain scores of a dataset compare against: the classifier and its test accuracy,
    its features of the test split and the real-vs-real FID floor."""

    classifier: DomainClassifier
    test_acc: float
    real_features: torch.Tensor
    floor: float


def domain_reference(dataset: str, data: Data, progress: bool = True) -> DomainReference:
    """The one way a run or a rescoring gets its domain reference (trained and cached on first use)."""
    classifier, test_acc = load_or_train(dataset, data, progress)
    real_features, floor = real_reference(dataset, data, classifier)
    return DomainReference(classifier, test_acc, real_features, floor)


def cached_reference(
    path: Path, features: Callable[[torch.Tensor], torch.Tensor], data: Data
) -> tuple[torch.Tensor, float]:
    """features(test split) and the real-vs-real FID floor (the first len(test) train images
    against the test split), read from `path` or computed once and saved there."""
    device = data.test_images.device
    with one_writer(path):
        if path.exists():
            state = torch.load(path, map_location=device, weights_only=True)
            if len(state["test_features"]) == len(data.test_images):
                return state["test_features"], float(state["floor"])
        test_features = features(data.test_images)
        train_features = features(data.train_images[: len(data.test_images)])
        floor = frechet_distance(train_features, test_features)
        atomic_save({"test_features": test_features.cpu(), "floor": floor}, path)
    return test_features, floor


def _cache_path(dataset: str) -> Path:
    key = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / "domain" / f"{dataset}-{key}.pt"


PLAIN_PROGRESS_EVERY = 200  # steps between the classifier's progress lines off a terminal


def _train(model: DomainClassifier, data: Data, progress: bool, path: Path) -> None:
    """RECIPE's training; with progress, a bar on a terminal and plain lines off one (a log)."""
    gen = torch.Generator().manual_seed(RECIPE["seed"])
    torch.manual_seed(RECIPE["seed"])
    model.load_state_dict(DomainClassifier(data.image_shape, data.n_classes).state_dict())
    optimizer = torch.optim.Adam(model.parameters())
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, RECIPE["max_lr"], total_steps=RECIPE["steps"]
    )
    model.train()
    n = len(data.train_images)
    bar_off = None if progress else True  # None: a bar on a terminal only (tqdm)
    plain = progress and not sys.stderr.isatty()
    if plain:
        print(
            f"training the domain classifier once ({RECIPE['steps']} steps; its features score"
            f" FID/KID; cached at {path})",
            file=sys.stderr,
            flush=True,
        )
    for step in tqdm(range(1, RECIPE["steps"] + 1), desc="domain classifier", disable=bar_off):
        idx = torch.randint(n, (RECIPE["batch_size"],), generator=gen).to(data.train_images.device)
        loss = F.cross_entropy(model.classify(data.train_images[idx]), data.train_labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if plain and step % PLAIN_PROGRESS_EVERY == 0:
            print(
                f"domain classifier: step {step}/{RECIPE['steps']}  loss {loss.item():.3f}",
                file=sys.stderr,
                flush=True,
            )
    model.eval()
