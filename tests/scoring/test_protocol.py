import math

import numpy as np
import pytest
import torch
from torch import nn

from infogan_bench.config import RunConfig
from infogan_bench.data.datasets import load_dataset
from infogan_bench.nets.latent import scored_code
from infogan_bench.rundir import RunDir
from infogan_bench.scoring import domain as features
from infogan_bench.scoring.domain import RECIPE, DomainReference, load_or_train, real_reference
from infogan_bench.scoring.metrics import PROTOCOL_KEYS, registered
from infogan_bench.scoring.metrics.fid import frechet_distance
from infogan_bench.scoring.protocol import generated_scores
from infogan_bench.scoring.rescore import evaluate_run_dir
from infogan_bench.training.loop import train
from infogan_bench.training.step import Trainer


def _unregistered(scores: dict) -> list[str]:
    """Scored keys that are neither a registered metric nor a protocol descriptor."""
    skip = {"checkpoint", "step", *PROTOCOL_KEYS}
    return [k for k in scores if k not in skip and not registered(k)]


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    """The digits domain classifier, trained once (a short recipe) into a temporary cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFOGAN_BENCH_CACHE", str(cache))
        mp.setitem(RECIPE, "steps", 150)
        data = load_dataset("digits", "unused")
        classifier, acc = load_or_train("digits", data, progress=False)
        again, acc_again = load_or_train("digits", data, progress=False)  # from the cache
    return data, classifier, acc, again, acc_again, cache


def test_domain_classifier_is_accurate_cached_and_reused(digits_classifier):
    data, classifier, acc, again, acc_again, cache = digits_classifier
    assert acc > 0.95  # digits test split
    assert acc_again == acc and len(list(cache.rglob("digits-*.pt"))) == 1
    assert all(
        torch.equal(a, b)
        for a, b in zip(classifier.state_dict().values(), again.state_dict().values(), strict=True)
    )


class ClassImageGenerator(nn.Module):
    """A generator stub that draws the mean test image of class (code + 3) % 10 for code value c."""

    def __init__(self, data, config: RunConfig) -> None:
        super().__init__()
        self.config = config
        means = torch.stack([data.test_images[data.test_labels == k].mean(0) for k in range(10)])
        self.register_buffer("class_images", means)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        code = latent[:, self.config.noise_dim : self.config.noise_dim + 10].argmax(1)
        return self.class_images[(code + 3) % 10]


def test_cat_consistency_is_one_for_a_generator_that_draws_each_codes_class(digits_classifier):
    data, classifier, acc, *_ = digits_classifier
    config = RunConfig()
    trainer = Trainer.create(config, data.image_shape, 10, torch.device("cpu"))
    stub = ClassImageGenerator(data, config)
    reference = DomainReference(classifier, acc, classifier.features(data.test_images), floor=0.0)
    scores = generated_scores(stub, trainer.discriminator, config, data, reference, n_samples=500)
    assert scores["cat_consistency"] == 1.0
    assert scores["fid_n_fake"] == 500 and scores["fid_ref_split"] == "test"
    assert scores["fid_domain"] > 0 and math.isfinite(scores["kid_domain_mean"])
    assert -0.5 < scores["mi_cat"] <= math.log(10) and set(scores) >= {
        "cont_r2_0",
        "cont_r2_1",
        "checkerboard",
    }


def test_trained_run_carries_the_full_score_set_and_rescoring_is_identical(
    tiny_config, digits_classifier, monkeypatch
):
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(digits_classifier[-1]))
    monkeypatch.setitem(RECIPE, "steps", 150)  # the fixture's cache key
    config = tiny_config(score_samples=300, eval_every=2)
    summary = train(config)
    expected = {
        "fid_domain",
        "kid_domain_mean",
        "kid_domain_std",
        "fid_domain_floor",
        "cat_consistency",
        "mi_cat",
        "cont_r2",
        "checkerboard",
        "domain_classifier_test_acc",
        "cat_acc",
        "nmi",
        "ari",
        "purity",
    }
    assert expected <= set(summary)
    assert (
        summary["fid_domain"] > summary["fid_domain_floor"]
    )  # an untrained G is far from real digits
    scores = evaluate_run_dir(config.run_dir)
    assert _unregistered(scores) == []  # every scored number has its line in the registry
    assert {k: scores[k] for k in expected} == {k: summary[k] for k in expected}
    assert np.isfinite([scores[k] for k in expected]).all()
    # eval steps scored FID on a fixed subset and kept the best checkpoint by it
    records = RunDir(config.run_dir).read_metrics()
    fids = {r["step"]: r["eval_fid_domain"] for r in records if "eval_fid_domain" in r}
    assert set(fids) == {2, 4}
    assert summary["best_step"] == min(fids, key=fids.get)
    assert RunDir(config.run_dir).load_checkpoint("best")["step"] == summary["best_step"]
    assert {f"best_{k}" for k in expected} <= set(summary)
    best = evaluate_run_dir(config.run_dir, checkpoint="best")
    assert (
        best["fid_domain"] == summary["best_fid_domain"]
        and best["cat_acc"] == summary["best_cat_acc"]
    )


@pytest.mark.parametrize(
    "cat_codes, n_cont_codes, present, absent",
    [
        ("10,10,10,10", 2, {"cat_acc", "mi_cat_3", "cont_r2_1", "cont0_thickness_corr"}, set()),
        ("10", 0, {"cat_acc", "mi_cat_0", "cat_consistency"}, {"cont_r2", "cont0_thickness_corr"}),
        ("none", 2, {"cont_r2_0", "cont_r2_1", "cont0_thickness_corr"}, {"cat_acc", "mi_cat"}),
        ("4,10", 1, {"cat_acc", "mi_cat_0", "mi_cat_1", "cont_r2_0"}, set()),
    ],
)
def test_code_layouts_train_and_score(
    tiny_config, digits_classifier, monkeypatch, cat_codes, n_cont_codes, present, absent
):
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(digits_classifier[-1]))
    monkeypatch.setitem(RECIPE, "steps", 150)  # the fixture's cache key
    config = tiny_config(cat_codes=cat_codes, n_cont_codes=n_cont_codes, score_samples=200, steps=2)
    summary = train(config)
    assert summary["status"] == "finished" and present <= set(summary) and not absent & set(summary)
    assert all(math.isfinite(summary[k]) for k in present)
    assert _unregistered(evaluate_run_dir(config.run_dir)) == []
    # accuracy is scored on the first code with as many classes as the dataset has labels
    assert (
        scored_code(config, 10) == {"10,10,10,10": 0, "10": 0, "none": None, "4,10": 1}[cat_codes]
    )


def test_real_reference_is_computed_once_and_cached_beside_the_classifier(
    digits_classifier, monkeypatch
):
    data, classifier, *_, cache = digits_classifier
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(cache))
    monkeypatch.setitem(RECIPE, "steps", 150)  # the fixture's cache key
    features, floor = real_reference("digits", data, classifier)
    assert len(list(cache.rglob("digits-*.real.pt"))) == 1
    test_features = classifier.features(data.test_images)
    train_features = classifier.features(data.train_images[: len(data.test_images)])
    assert torch.equal(features, test_features)
    assert floor == frechet_distance(train_features, test_features) and floor > 0
    cached, cached_floor = real_reference("digits", data, classifier)
    assert torch.equal(cached, features) and cached_floor == floor


def test_domain_classifier_training_prints_plain_progress_lines_off_a_terminal(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("INFOGAN_BENCH_CACHE", str(tmp_path))
    monkeypatch.setitem(RECIPE, "steps", 100)
    monkeypatch.setattr(features, "PLAIN_PROGRESS_EVERY", 50)
    load_or_train("digits", load_dataset("digits", "unused"), progress=True)
    lines = capsys.readouterr().err.splitlines()  # captured: not a terminal, as a log file
    assert lines[0].startswith("training the domain classifier once (100 steps;")
    assert [line.split()[3] for line in lines[1:]] == ["50/100", "100/100"]


def test_scores_do_not_depend_on_the_devices_random_generators(digits_classifier):
    # scoring draws its latents and affines from its own CPU generators: a GPU run and its CPU
    # rescoring score the same samples
    data, classifier, acc, *_ = digits_classifier
    config = RunConfig(score_samples=300)
    trainer = Trainer.create(config, data.image_shape, 10, torch.device("cpu"))
    reference = DomainReference(classifier, acc, classifier.features(data.test_images), floor=0.0)

    def scores(seed: int) -> dict:
        torch.manual_seed(seed)
        trainer.rng.manual_seed(seed)
        G, D = trainer.sampler, trainer.discriminator
        return generated_scores(G, D, config, data, reference, n_samples=300)

    assert repr(scores(1)) == repr(scores(2))  # repr: a NaN correlation equals itself
