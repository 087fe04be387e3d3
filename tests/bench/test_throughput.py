import json

import pytest
import torch

from infogan_bench.bench import throughput as bench
from infogan_bench.cli import main
from infogan_bench.config import RunConfig
from infogan_bench.data.datasets import load_dataset
from infogan_bench.nets.latent import sample_latent
from infogan_bench.training.step import Trainer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "unused", CPU)


def test_suite_and_naive_loop_compute_the_same_losses(digits):
    """fp32 on CPU, same weights, batches and latents: the fast path changes no number."""
    config = RunConfig(batch_size=16)
    trainer = Trainer.create(config, digits.image_shape, digits.n_classes, CPU)
    naive = bench.NaiveLoop(config, digits, CPU)
    for step in range(3):
        real = digits.train_images[step * 16 : (step + 1) * 16]
        twin = torch.Generator().set_state(trainer.rng.get_state())  # the latent step() draws
        latent = sample_latent(config, 16, twin, CPU)
        suite = trainer.step(real, None)
        naive.step(real, latent)
        assert naive.history[-1] == pytest.approx(
            (suite["loss_d"].item(), suite["loss_g"].item()), rel=1e-5
        )


def test_bench_command_prints_both_rates_flops_and_scoring(capsys):
    args = [
        "bench",
        "--dataset",
        "digits",
        "--device",
        "cpu",
        "--batch-size",
        "16",
        "32",
        "--round-steps",
        "2",
        "--rounds",
        "1",
        "--score-samples",
        "0",
    ]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["batch_size"] for r in lines] == [16, 32]
    for r in lines:
        assert r["suite_images_per_s"] > 0 and r["naive_images_per_s"] > 0
        # the rates are rounded to 0.1 image/s: their ratio is off by up to 0.05 (1 + speedup) / naive
        # (on a loaded machine a rate can be a few images/s)
        rounding = 0.05 * (1 + r["speedup"]) / r["naive_images_per_s"] + 0.001
        assert r["speedup"] == pytest.approx(
            r["suite_images_per_s"] / r["naive_images_per_s"], rel=0.01, abs=rounding
        )
        assert r["step_gflop"] > 0.1 and 0 < r["fraction_of_peak"] < 2
    # a step's FLOPs grow with the batch: twice the images, twice the work
    assert lines[1]["step_gflop"] == pytest.approx(2 * lines[0]["step_gflop"], rel=0.02)


def test_time_to_accuracy_stops_at_the_first_eval_reaching_the_target(digits, monkeypatch):
    accuracies = iter([0.5, 0.8, 0.95, 0.99])
    monkeypatch.setattr(bench, "eval_scores", lambda *a: {"eval_cat_acc": next(accuracies)})
    config = RunConfig(batch_size=8, steps=100, progress=False)
    result = bench.time_to_accuracy(config, digits, CPU, target=0.9, eval_every=2)
    assert result["reached"] and result["step"] == 6 and result["images_seen"] == 48
    assert [h["cat_acc"] for h in result["history"]] == [0.5, 0.8, 0.95]


def test_fast_paths_are_timed_against_the_plain_step(capsys):
    args = [
        "bench",
        "--dataset",
        "digits",
        "--device",
        "cpu",
        "--batch-size",
        "16",
        "--round-steps",
        "2",
        "--rounds",
        "1",
        "--fast-paths",
    ]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["fast_path"] for r in lines] == list(bench.FAST_PATHS)
    assert lines[0]["vs_plain"] == 1.0
    for r in lines:
        assert r["images_per_s"] > 0 and r["batch_size"] == 16


def test_a_recipe_is_timed_and_counted_against_the_default(capsys):
    """--real-consistency adds one pass of D's trunk over an augmented copy of the real batch
    in D's step: more FLOPs per step than the default, counted, not timed."""
    args = [
        "bench",
        "--dataset",
        "digits",
        "--device",
        "cpu",
        "--batch-size",
        "16",
        "--round-steps",
        "2",
        "--rounds",
        "1",
        "--recipe",
        "real_consistency=2",
        "--recipe",
        "info_augment=1",
        "augment_strength=2",
    ]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["recipe"] for r in lines] == [
        "default",
        "real_consistency=2",
        "info_augment=1 augment_strength=2",
    ]
    assert lines[0]["vs_default"] == 1.0 and lines[0]["gflop_vs_default"] == 1.0
    assert all(r["images_per_s"] > 0 for r in lines)
    # one more trunk pass (forward and backward) per step: measured 1.275 and 1.456 at batch 16
    assert 1.2 < lines[1]["gflop_vs_default"] < 1.35 < lines[2]["gflop_vs_default"] < 1.55


@pytest.mark.parametrize(
    "recipe, message",
    [
        ("bogus=1", "unknown config key(s): bogus"),
        ("real_consistency=-1", "real_consistency: expected a value >= 0.0"),
    ],
)
def test_a_bad_recipe_is_a_one_line_error_before_the_data_loads(recipe, message, capsys):
    assert (
        main(["bench", "--dataset", "mnist", "--data-dir", "/nonexistent", "--recipe", recipe]) == 2
    )
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_recipe_without_a_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--recipe", "real_consistency"])
    assert "--recipe: expected FIELD=VALUE, got 'real_consistency'" in capsys.readouterr().err
