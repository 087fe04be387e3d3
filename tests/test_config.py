from pathlib import Path

import pytest

from infogan_bench.cli import build_parser, config_from_args, main
from infogan_bench.config import ROLES, ConfigError, RunConfig, from_dict, names_with_role
from infogan_bench.rundir import RunDir
from infogan_bench.scoring.metrics import METRICS


def test_defaults_are_the_paper_recipe_except_where_a_dataset_measured_another(capsys):
    config = RunConfig(dataset="mnist")
    assert (config.noise_dim, config.cat_class_counts, config.n_cont_codes) == (62, [10], 2)
    assert (config.lr_d, config.lr_g, config.beta1) == (2e-4, 1e-3, 0.5)
    assert (config.lambda_cat, config.lambda_cont) == (1.0, 0.1)
    assert config.variant == "dataset=mnist"
    # digits, the main job: lambda_cat 2 (reports/digits_default/); a given value wins
    assert RunConfig().lambda_cat == 2.0 and RunConfig().variant == "default"
    paper = from_dict({"lambda_cat": 1.0})
    assert paper.lambda_cat == 1.0 and paper.variant == "lambda_cat=1.0"
    assert (
        from_dict({"dataset": "cifar10", "lambda_cat": 2.0}).variant
        == "dataset=cifar10-lambda_cat=2.0"
    )
    # the flag's help names every dataset's default; a run dir's config records the number
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "categorical info loss (default: 1.0; digits: 2.0)" in " ".join(
        capsys.readouterr().out.split()
    )
    assert config_from_args(build_parser().parse_args(["train"])).to_dict()["lambda_cat"] == 2.0
    # CIFAR-10: the paper's SVHN D and a moving average of G (reports/cifar10_screen/)
    cifar = RunConfig(dataset="cifar10")
    assert (cifar.d_fc_layer, cifar.ema_decay, cifar.lr_g) == (False, 0.999, 1e-3)
    assert (config.d_fc_layer, config.ema_decay) == (True, 0.0)
    assert RunConfig(dataset="cifar10", ema_decay=0.0).variant == "dataset=cifar10-ema_decay=0.0"


def test_a_run_dir_written_before_a_datasets_own_default_reads_as_it_trained(tmp_path):
    # reports/cifar10/ trained with the D's linear layer and no moving average, the defaults
    # then; its config.yaml has no such fields, and must not read as today's CIFAR-10 recipe
    old = RunDir(Path(__file__).parents[1] / "reports/cifar10/runs/default/000-seed=0")
    assert "d_fc_layer" not in old.config_path.read_text()
    config = old.load_config()
    assert (config.dataset, config.d_fc_layer, config.ema_decay) == ("cifar10", True, 0.0)
    fresh = RunDir(tmp_path / "run")
    fresh.create(RunConfig(dataset="cifar10", run_dir=str(tmp_path / "run")))
    assert "d_fc_layer: false" in fresh.config_path.read_text()  # the resolved value, recorded
    assert fresh.load_config().ema_decay == 0.999


@pytest.mark.parametrize(
    "values, message",
    [
        ({"batch_sise": 64}, "unknown config key(s): batch_sise"),
        ({"batch_size": "64"}, "batch_size: expected int"),
        ({"batch_size": 0}, "batch_size: expected a value >= 1"),
        ({"supervised_fraction": 1.5}, "supervised_fraction: expected a value >= 0.0 and <= 1.0"),
        ({"lr_d": 0.0}, "lr_d: expected a value > 0.0"),
        ({"resume": "yes"}, "resume: expected bool"),
        ({"generator": "pixelshuffle"}, "generator: expected one of transpose, upsample"),
        ({"cat_codes": "10,1"}, "cat_codes: expected comma-separated class counts"),
        ({"cat_codes": "none", "n_cont_codes": 0}, "need at least one latent code"),
        ({"lambda_cat": float("nan")}, "lambda_cat: expected a finite number"),
        ({"real_consistency": 1.0, "cat_codes": "none"}, "real_consistency: needs a categorical"),
        ({"info_augment": 1.0, "cat_codes": "none"}, "info_augment: needs a categorical"),
        ({"augment_strength": 4.0}, "augment_strength: expected a value >= 0.0 and <= 3.0"),
    ],
)
def test_bad_values_raise_one_line_errors_naming_the_field(values, message):
    with pytest.raises(ConfigError) as err:
        from_dict(values)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_int_is_accepted_for_float_fields():
    assert from_dict({"lambda_cat": 2}).lambda_cat == 2


def test_flags_override_yaml_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("dataset: mnist\nbatch_size: 32\nd_norm: spectral\n")
    args = build_parser().parse_args(
        ["train", "--config", str(path), "--batch-size=128", "--resume", "true"]
    )
    config = config_from_args(args)
    assert (config.dataset, config.batch_size, config.d_norm, config.resume) == (
        "mnist",
        128,
        "spectral",
        True,
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--supervised-fraction", "1.5"],
            "supervised_fraction: expected a value >= 0.0 and <= 1.0",
        ),
        (["--batch-size", "0"], "batch_size: expected a value >= 1"),
    ],
)
def test_cli_rejects_bad_values_before_training(tmp_path, capsys, argv, message):
    code = main(["train", "--run-dir", str(tmp_path / "run"), *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_cli_rejects_unknown_yaml_key(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("steps: 10\nlearning_rate: 0.1\n")
    assert main(["train", "--config", str(path)]) == 2
    assert "unknown config key(s): learning_rate" in capsys.readouterr().err


def test_cli_rejects_bad_choice_with_allowed_values(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--d-norm", "layer"])
    assert exit_info.value.code == 2
    assert "choose from 'batch', 'spectral'" in capsys.readouterr().err


def test_configs_written_with_a_boolean_upload_checkpoints_still_load():
    # run dirs from before the three values say true (the full checkpoints) or false
    assert from_dict({"upload_checkpoints": True}).upload_checkpoints == "full"
    assert from_dict({"upload_checkpoints": False}).upload_checkpoints == "none"
    assert from_dict({}).upload_checkpoints == "weights"


def test_hinge_refuses_label_smoothing():
    with pytest.raises(ConfigError, match="label_smoothing: applies to the non-saturating loss"):
        RunConfig(adv_loss="hinge", label_smoothing=0.1)


def test_no_config_field_is_named_like_a_metric():
    # a run's row in a report holds its config and its scores side by side: a field called
    # `precision` hid the precision metric
    assert not set(names_with_role(*ROLES)) & set(METRICS)
