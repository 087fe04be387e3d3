import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from infogan_bench.features import FeatureError, inception_extractor, inception_features


@pytest.fixture
def random_inception_weights(tmp_path, monkeypatch):
    """A weights file in torch-fidelity's format, with random values (the real ones can't be downloaded here)."""
    empty = tmp_path / "empty.pth"
    torch.save({}, empty)
    with monkeypatch.context() as patch:  # build the net without loading anything
        patch.setattr(
            tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None
        )
        model = inception_extractor(str(empty))
    path = tmp_path / "inception.pth"
    torch.save(model.state_dict(), path)
    return path, model.state_dict()


def test_inception_loads_weights_from_a_file_and_gives_2048d_features(random_inception_weights):
    path, saved = random_inception_weights
    extractor = inception_extractor(str(path))
    assert all(torch.equal(saved[k], v) for k, v in extractor.state_dict().items())
    grayscale = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    features = inception_features(extractor, grayscale)
    assert features.shape == (3, 2048) and torch.isfinite(features).all()
    # grayscale is fed as RGB with equal channels
    assert torch.allclose(features, inception_features(extractor, grayscale.expand(-1, 3, -1, -1)))


def test_inception_without_weights_is_a_clear_error(tmp_path, monkeypatch):
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", offline)
    with pytest.raises(FeatureError, match="--inception-weights PATH") as err:
        inception_extractor(None)
    assert "\n" not in str(err.value)
    with pytest.raises(FeatureError, match="no file"):
        inception_extractor(str(tmp_path / "missing.pth"))


def test_evaluate_with_inception_and_no_weights_exits_with_one_line(tiny_config, capsys):
    from infogan_bench.cli import main
    from infogan_bench.train import train

    config = tiny_config()
    train(config)
    assert (
        main(
            [
                "evaluate",
                config.run_dir,
                "--features",
                "inception",
                "--inception-weights",
                "nope.pth",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        err.startswith("infogan-bench: error: inception weights: no file nope.pth")
        and err.count("\n") == 1
    )
