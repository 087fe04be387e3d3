import dataclasses
import json

import pytest

from infogan_bench.cli import build_parser, main
from infogan_bench.config import RunConfig


def test_help_documents_every_config_field(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    for f in dataclasses.fields(RunConfig):
        assert "--" + f.name.replace("_", "-") in help_text


@pytest.mark.parametrize("command", ["train", "evaluate", "baseline"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: infogan-bench " + command in capsys.readouterr().out


def test_train_then_evaluate_from_the_command_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "--steps=2", "--batch-size", "8", "--log-every", "1", "--eval-every=0"]
    argv += ["--tracker", "none", "--score-samples=0", "--run-dir", str(run_dir)]
    assert main([*argv, "--device", "cpu", "--progress", "false", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "finished" and summary["step"] == 2
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["cat_acc"] == summary["cat_acc"] and scores["step"] == 2
    # without --json: a few lines, the headline scores with their meaning, and where the rest is
    assert main(["evaluate", str(run_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 10 and lines[0] == f"scored at step 2: {run_dir}"
    assert lines[1].split()[:2] == ["cat_acc", f"{scores['cat_acc']:.4g}"]
    assert "(higher is better) Hungarian-matched accuracy" in lines[1]
    assert lines[-1].endswith(f"{run_dir / 'eval_last.json'}; samples in {run_dir / 'samples'}")


def test_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infogan-bench: error: run_dir: no config.yaml") and err.count("\n") == 1


def test_kmeans_baseline_on_digits(capsys):
    assert main(["baseline", "--dataset", "digits"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert 0.7 < scores["cat_acc"] < 0.9  # measured 0.793 (seed 0)


def test_parser_accepts_equals_and_space_forms():
    args = build_parser().parse_args(
        ["train", "--d-norm=spectral", "--generator", "upsample", "--progress=0"]
    )
    assert (args.d_norm, args.generator, args.progress) == ("spectral", "upsample", False)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["train", "--upload-checkpoints", "sometimes"], "--upload-checkpoints"),
        (["train", "--d-norm=foo"], "--d-norm"),
        (["train", "--steps", "many"], "--steps"),
        (["sweep", "slurm"], "yaml, --out"),
    ],
)
def test_a_bad_flag_is_one_line_naming_it(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and named in err
