"""Datasets as whole tensors on the training device: images (N, C, H, W) in [0, 1], labels (N,)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from infogan_bench.config import RunConfig
from infogan_bench.data.image_folder import load_image_folder
from infogan_bench.errors import DatasetError, describe, first_line

# Files torchvision expects under DATA_DIR, per dataset, for the offline error message.
_EXPECTED_FILES = {
    "mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "fashion-mnist": "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "cifar10": "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} or cifar10/{train,test}/<class>/*.jpg",
}
# CIFAR-10's classes in its label order: the class folders of an image-folder copy
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_FOLDER = "cifar10"  # DATA_DIR/cifar10/{train,test}/<class>/*.png|jpg
DIGITS_TEST_FRACTION = 0.25


@dataclass
class Data:
    """Train and test splits. Labels of the train split are only read for supervision."""

    train_images: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    n_classes: int
    class_names: tuple[str, ...] | None = None  # label i's name, where the dataset has names

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])  # type: ignore[return-value]


def load_dataset(name: str, data_dir: str | Path, device: torch.device | str = "cpu") -> Data:
    """Load a dataset by name ('digits', 'mnist', 'fashion-mnist', 'cifar10') onto device."""
    if name == "digits":
        splits = _load_digits()
    elif name == "cifar10" and _has_image_folder(Path(data_dir)):
        splits = _load_cifar10_folder(Path(data_dir))
    elif name in _EXPECTED_FILES:
        splits = tuple(_load_torchvision(name, Path(data_dir), train) for train in (True, False))
        splits = (*splits[0], *splits[1])
    else:
        raise DatasetError(
            f"unknown dataset {name!r}; expected digits, mnist, fashion-mnist, cifar10"
        )
    train_x, train_y, test_x, test_y = (t.to(device) for t in splits)
    n_classes = int(torch.cat([train_y, test_y]).max().item()) + 1
    class_names = CIFAR10_CLASSES if name == "cifar10" else None
    return Data(train_x, train_y, test_x, test_y, n_classes, class_names)


def _has_image_folder(root: Path) -> bool:
    """CIFAR-10 as an image-folder copy, used where torchvision's pickles are absent."""
    pickles = root / "cifar-10-batches-py"
    return not pickles.exists() and (root / CIFAR10_FOLDER).is_dir()


def _load_cifar10_folder(root: Path) -> tuple[torch.Tensor, ...]:
    """DATA_DIR/cifar10/{train,test}/<class>/ in CIFAR-10's label order, as float in [0, 1]."""
    train_x, train_y, test_x, test_y = load_image_folder(root / CIFAR10_FOLDER, CIFAR10_CLASSES)
    return train_x.float().div_(255.0), train_y, test_x.float().div_(255.0), test_y


def _load_digits() -> tuple[torch.Tensor, ...]:
    """scikit-learn's 8x8 digits (values 0..16), bilinearly resized to (N, 1, 28, 28) in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        range(len(labels)), test_size=DIGITS_TEST_FRACTION, stratify=digits.target, random_state=0
    )
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def _load_torchvision(name: str, root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision.datasets as tvd

    cls = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    try:
        dataset = cls(root=str(root), train=train, download=False)
    except (RuntimeError, ValueError, OSError, IndexError) as err:
        if "not found" not in str(err):  # the files are there but cannot be parsed
            raise DatasetError(
                f"{name} files in {root} cannot be read ({first_line(err)}); they look corrupt: replace "
                f"{root}/{_EXPECTED_FILES[name]} with good copies"
            ) from None
        try:
            dataset = cls(root=str(root), train=train, download=True)
        except Exception as err:  # no network, or a broken download
            raise DatasetError(
                f"{name} missing or corrupt in {root} and could not be downloaded "
                f"({describe(err)}); put its files at {root}/{_EXPECTED_FILES[name]} "
                "(torchvision's layout) or pass --data-dir"
            ) from None
    images = torch.as_tensor(dataset.data)
    if images.ndim == 3:  # MNIST-like (N, 28, 28)
        images = images.unsqueeze(1)
    else:  # CIFAR-10 (N, 32, 32, 3)
        images = images.permute(0, 3, 1, 2)
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return images.float().div_(255.0).contiguous(), labels


def labelled_subset(
    labels: torch.Tensor, fraction: float, n_classes: int, seed: int
) -> torch.Tensor:
    """Indices of a class-balanced `fraction` of the images, drawn once from `seed` (>= 1 per class)."""
    per_class = max(1, round(fraction * len(labels) / n_classes))
    gen = torch.Generator().manual_seed(seed)
    labels_cpu = labels.cpu()
    chosen = []
    for cls in range(n_classes):
        idx = torch.nonzero(labels_cpu == cls).flatten()
        chosen.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    return torch.cat(chosen).sort().values.to(labels.device)


class Batches:
    """Real training batches, shuffled per epoch, and labelled batches for supervision."""

    def __init__(self, data: Data, config: RunConfig, rng: torch.Generator) -> None:
        self.images, self.labels = data.train_images, data.train_labels
        self.batch_size, self.seed, self.rng = config.batch_size, config.seed, rng
        self.real_size = config.batch_size * config.d_steps  # a batch for each D update
        self.steps_per_epoch = len(self.images) // self.real_size
        self.epoch, self.order = -1, self.labels.new_empty(0)
        self.labelled_idx = None
        if config.supervised_fraction > 0:
            self.labelled_idx = labelled_subset(
                self.labels, config.supervised_fraction, data.n_classes, config.seed
            )

    def real(self, step: int) -> torch.Tensor:
        """Real images of step `step` (d_steps * B, C, H, W), a batch for each D update: a pure
        function of (seed, step), so resume needs no state."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self.epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self.epoch = epoch
            self.order = torch.randperm(len(self.images), generator=gen).to(self.images.device)
        return self.images[self.order[position * self.real_size : (position + 1) * self.real_size]]

    def labelled(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(images, labels) drawn with replacement from the labelled subset; None without one."""
        if self.labelled_idx is None:
            return None
        n = len(self.labelled_idx)
        pick = torch.randint(n, (self.batch_size,), generator=self.rng, device=self.rng.device)
        idx = self.labelled_idx[pick]
        return self.images[idx], self.labels[idx]
