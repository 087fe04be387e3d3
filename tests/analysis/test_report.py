import json

import pandas as pd
import pytest

from infogan_bench.analysis import report, results
from infogan_bench.analysis.plots import plot_confusion
from infogan_bench.cli import main
from infogan_bench.config import RunConfig
from infogan_bench.rundir import RunDir
from tests.conftest import finished, make_run


def test_variant_table_counts_statuses_and_computes_stats(ablation):
    runs = results.load_run_dirs([ablation])
    assert set(runs.frame.status) == {"finished", "failed", results.UNFINISHED}
    axes = report.variant_axes(runs.frame)
    assert axes == ["generator", "d_norm"]
    table = report.variant_table(runs.frame, axes, fail_below=0.9).set_index(axes)
    row = table.loc[("transpose", "batch")]
    # cat_acc of seeds 0 and 1: 0.7 and 0.82; the killed seed 2 is counted, not scored
    assert (row.n_runs, row.n_finished, row.n_failed, row.n_unfinished) == (3, 2, 0, 1)
    assert row.cat_acc_mean == pytest.approx(0.76)
    assert row.cat_acc_std == pytest.approx(0.12 / 2**0.5)
    assert (row.cat_acc_ci_low, row.cat_acc_ci_high) == pytest.approx((0.7, 0.82))
    assert row.fid_domain_rel_mean == pytest.approx(4.0)  # 20 / 5
    assert row.fail_rate == 1.0  # both finished seeds below 0.9
    assert (row.cat_acc_median, row.cat_acc_min) == pytest.approx((0.76, 0.7))
    row = table.loc[("upsample", "batch")]
    # seeds: 0.8 (below 0.9), 0.92 (not below), and one failed run: 2 of 3 seeds fail
    assert (row.n_finished, row.n_failed) == (2, 1)
    assert row.fail_rate == pytest.approx(2 / 3)
    assert table.loc[("upsample", "spectral")].fail_rate == pytest.approx(0.5)


def test_marginal_effects_pair_runs_on_the_other_axes_and_seed(ablation):
    runs = results.load_run_dirs([ablation])
    effects = report.marginal_effects(runs.frame, ["generator", "d_norm"]).set_index(
        ["axis", "metric"]
    )
    generator = effects.loc[("generator", "cat_acc")]
    assert (generator.level, generator.baseline, generator.n_pairs) == ("upsample", "transpose", 4)
    assert generator["mean"] == pytest.approx(0.1)
    assert (generator.ci_low, generator.ci_high) == pytest.approx((0.1, 0.1))
    assert generator.p_value == pytest.approx(2 / 16)  # all 4 pairs agree: ++++ and ----
    assert effects.loc[("d_norm", "cat_acc")]["mean"] == pytest.approx(0.05)
    assert effects.loc[("generator", "fid_domain")]["mean"] == pytest.approx(-4.0)
    assert effects.loc[("d_norm", "fid_domain")]["mean"] == pytest.approx(0.0)
    assert effects.loc[("d_norm", "fid_domain")].p_value == 1.0
    assert report.verdict("fid_domain", -4.0, 0.01) == "better"
    assert report.verdict("cat_acc", -0.1, 0.01) == "worse"
    assert report.verdict("cat_acc", 0.1, 0.2) == "not significant"


def test_report_command_writes_tables_and_plots(ablation, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--runs", str(ablation), "--name", "t"]) == 0
    out = tmp_path / "reports" / "t" / "report"  # a study's report/ folder
    text = capsys.readouterr().out
    for name in (
        "report.md",
        "variants.md",
        "variants.csv",
        "variants.tex",
        "effects.md",
        "effects.csv",
        "effects.tex",
        "metrics.png",
        "curves.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "10 runs: 8 finished, 1 failed, 1 unfinished" in text
    assert "non-finite loss" in text  # the failed run is listed with its reason
    assert "**0.910 ± 0.085 [0.850, 0.970]**" in text  # best cat_acc: upsample / spectral
    assert "| 0.910 / 0.850 " in text  # its median / min over seeds
    assert "\\textbf{" in (out / "variants.tex").read_text()
    assert "Too few pairs to test: generator (at most 4 pairs), d_norm (at most 4 pairs)." in text
    csv = pd.read_csv(out / "variants.csv")
    assert csv.n_runs.sum() == 10


def test_report_without_runs_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", "--runs", str(tmp_path), "--name", "t", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("infogan-bench: error: no run dirs") and "\n" not in err


def test_training_options_are_axes_with_effects_against_the_default(tmp_path):
    root = tmp_path / "tricks"
    for seed in (0, 1, 2):
        for mode, bonus in (("with-d", 0.0), ("with-g", 0.02), ("separate", -0.05)):
            for smoothing in (0.0, 0.1):
                acc = 0.8 + 0.01 * seed + bonus + (0.03 if smoothing else 0.0)
                make_run(
                    root, finished(acc), q_optimizer=mode, label_smoothing=smoothing, seed=seed
                )
    runs = results.load_run_dirs([root])
    axes = report.variant_axes(runs.frame)
    assert axes == ["q_optimizer", "label_smoothing"]
    effects = report.marginal_effects(runs.frame, axes)
    cat_acc = effects[effects.metric == "cat_acc"].set_index(["axis", "level"])
    assert set(cat_acc.baseline) == {"with-d", 0.0}  # RunConfig's defaults
    assert cat_acc.loc[("q_optimizer", "with-g")]["mean"] == pytest.approx(0.02)
    assert cat_acc.loc[("q_optimizer", "separate")]["mean"] == pytest.approx(-0.05)
    assert cat_acc.loc[("label_smoothing", 0.1)]["mean"] == pytest.approx(0.03)
    assert cat_acc.loc[("label_smoothing", 0.1)].n_pairs == 9  # 3 modes x 3 seeds
    # 9 pairs all positive: 2 of 512 sign patterns are as extreme
    assert cat_acc.loc[("label_smoothing", 0.1)].p_value == pytest.approx(2 / 512)
    # 6 pairs (smallest p 2/64) and 9 pairs can reach p < 0.05; 5 pairs could not (2/32)
    assert report.too_few_pairs(effects) == {}
    five = {"q_optimizer": 5, "label_smoothing": 5}
    assert report.too_few_pairs(effects.assign(n_pairs=5)) == five


def test_a_recipe_of_several_fields_is_one_joint_axis_paired_with_the_default(tmp_path):
    """A candidate that sets three fields at once (no run varies one without the others) is
    paired seed by seed with the default; an arm that varies one field stays its own axis."""
    recipe = dict(real_consistency=2.0, info_augment=1.0, augment_strength=2.0)
    for seed in (5, 6, 7):
        make_run(tmp_path, finished(0.8 + 0.01 * seed), seed=seed)
        make_run(tmp_path, finished(0.9 + 0.01 * seed), seed=seed, **recipe)
        make_run(tmp_path, finished(0.7), seed=seed, d_norm="spectral")
    runs = results.load_run_dirs([tmp_path])
    frame, axes = report.joint_axes(runs.frame, report.variant_axes(runs.frame))
    joint = "real_consistency+info_augment+augment_strength"
    assert axes == ["d_norm", joint]
    effects = report.marginal_effects(frame, axes)
    cat_acc = effects[effects.metric == "cat_acc"].set_index("axis")
    assert (cat_acc.loc[joint].level, cat_acc.loc[joint].baseline) == ("2.0/1.0/2.0", "0.0/0.0/1.0")
    assert cat_acc.loc[joint]["mean"] == pytest.approx(0.1) and cat_acc.loc[joint].n_pairs == 3
    assert cat_acc.loc["d_norm"].n_pairs == 3
    text = report.write_report(runs, tmp_path / "r", "t")
    assert f"Axes: d_norm, {joint}." in text and "2.0/1.0/2.0 − 0.0/0.0/1.0" in text


def test_a_joint_axis_of_an_int_and_a_float_field_finds_its_default_level(tmp_path):
    """noise_dim (int) with lambda_cont (float): the default runs' level is the default's."""
    for seed in (0, 1):
        make_run(tmp_path, finished(0.5), seed=seed)
        make_run(tmp_path, finished(0.6), seed=seed, noise_dim=64, lambda_cont=1.0)
        make_run(tmp_path, finished(0.4), seed=seed, noise_dim=16, lambda_cont=2.0)
    runs = results.load_run_dirs([tmp_path])
    frame, axes = report.joint_axes(runs.frame, report.variant_axes(runs.frame))
    assert axes == ["noise_dim+lambda_cont"]
    assert report.axis_default(axes[0]) == "62/0.1" and "62/0.1" in set(frame[axes[0]])
    effects = report.marginal_effects(frame, axes)
    cat_acc = effects[effects.metric == "cat_acc"].set_index("level")
    assert set(cat_acc.baseline) == {"62/0.1"}  # not the alphabetically first level, 16/2.0
    assert cat_acc.loc["64/1.0"]["mean"] == pytest.approx(0.1)


def test_report_of_one_pair_gives_p_one_not_a_crash(tmp_path, capsys):
    root = tmp_path / "runs"
    make_run(root, finished(0.6), d_norm="batch", seed=0)
    make_run(root, finished(0.7), d_norm="spectral", seed=0)
    assert main(["report", "--runs", str(root), "--out", str(tmp_path / "r"), "--name", "r"]) == 0
    effects = pd.read_csv(tmp_path / "r" / "effects.csv")
    row = effects[(effects["metric"] == "cat_acc")].iloc[0]
    assert row["n_pairs"] == 1 and row["p_value"] == 1.0
    assert row["mean"] == pytest.approx(0.1)


def test_run_table_shows_steps_to_target_and_diagnoses_only_low_runs(tmp_path):
    root = tmp_path / "runs"
    make_run(root, finished(0.95, cat_diagnosis=""), seed=0)
    make_run(root, finished(0.6, cat_diagnosis="4+9 merged in category 7"), seed=1)
    make_run(root, finished(0.92, cat_diagnosis="1 split over categories 2, 5"), seed=2)
    table = report.run_table(results.load_run_dirs([root]), fail_below=0.9)
    assert list(table["to 0.9"]) == ["100", "", "100"]  # eval curve: acc/2 at 50, acc at 100
    assert list(table["diagnosis"]) == ["", "4+9 merged in category 7", ""]
    lower = report.run_table(results.load_run_dirs([root]), fail_below=0.4)  # e.g. a k-means floor
    assert list(lower["to 0.4"]) == ["50", "100", "50"] and not any(lower["diagnosis"])
    text = report.write_report(results.load_run_dirs([root]), tmp_path / "r", "t")
    assert "4+9 merged in category 7" in text and (tmp_path / "r" / "runs.csv").exists()


def test_run_table_shows_the_inception_scores_some_run_has(tmp_path):
    root = tmp_path / "runs"
    make_run(root, finished(0.5, cat_diagnosis="", checkerboard=230.0), seed=0)
    scored = make_run(root, finished(0.6, cat_diagnosis="", checkerboard=0.6), seed=1)
    rescore = {"checkpoint": "last", "step": 100, "fid_inception": 88.7, "precision": 0.64}
    RunDir(scored).rescore_path().write_text(json.dumps(rescore))
    table = report.run_table(results.load_run_dirs([root]), fail_below=0.9)
    assert list(table["fid_inception"]) == ["", "88.7"]
    assert list(table["precision"]) == ["", "0.640"]
    assert list(table["checkerboard"]) == ["230", "0.600"]
    assert "recall" not in table and "cont_r2" not in table  # no run has them


def test_run_table_gives_the_training_minutes_to_target_from_the_logged_throughput(tmp_path):
    run = RunDir(tmp_path / "runs" / "a")
    run.create(RunConfig(batch_size=16))
    run.write_summary(finished(0.95, cat_diagnosis=""))
    for step, seconds, acc in [(50, 30, None), (100, 90, 0.5), (150, 60, 0.93), (200, 60, 0.95)]:
        row = {"step": step, "images_per_s": 50 * 16 / seconds}  # 50 steps of 16 images
        run.append_metrics(row if acc is None else row | {"eval_cat_acc": acc})
    runs = results.load_run_dirs([tmp_path / "runs"])
    assert list(runs.curves["train_s"]) == pytest.approx([120, 180, 240])
    table = report.run_table(runs, fail_below=0.9)
    assert list(table["to 0.9"]) == ["150"] and list(table["min to 0.9"]) == ["3.0"]
    assert list(report.run_table(runs, fail_below=0.99)["min to 0.99"]) == [""]


def test_runs_under_two_roots_with_the_same_folder_name_keep_apart(tmp_path):
    """a/threads=1 and b/threads=1 both hold 000-seed=0: each run keeps its own name and curve."""
    for arm, acc in (("a", 0.5), ("b", 0.9)):
        run = RunDir(tmp_path / arm / "threads=1" / "000-seed=0")
        run.create(RunConfig(lambda_cat=1.0 if arm == "a" else 2.0))
        run.write_summary(finished(acc))
        run.append_metrics({"step": 50, "images_per_s": 10.0, "eval_cat_acc": acc})
    runs = results.load_run_dirs([tmp_path / "a" / "threads=1", tmp_path / "b" / "threads=1"])
    assert sorted(runs.frame["run"]) == ["a/threads=1/000-seed=0", "b/threads=1/000-seed=0"]
    curves = runs.curves.set_index("run")["eval_cat_acc"]
    assert curves["a/threads=1/000-seed=0"] == 0.5 and curves["b/threads=1/000-seed=0"] == 0.9
    assert results.load_run_dirs([tmp_path / "a"]).frame["run"].tolist() == [
        "a/threads=1/000-seed=0"  # one root: named from its parent, as before
    ]


@pytest.mark.parametrize("dataset, baseline", [("mnist", 1.0), ("digits", 2.0)])
def test_effects_are_measured_against_the_datasets_own_default(tmp_path, dataset, baseline):
    for seed in (0, 1):
        for weight in (1.0, 2.0, 4.0):
            make_run(
                tmp_path,
                finished(0.8 + 0.01 * weight),
                dataset=dataset,
                lambda_cat=weight,
                seed=seed,
            )
    frame = results.load_run_dirs([tmp_path]).frame
    effects = report.marginal_effects(frame, ["lambda_cat"])
    assert set(effects.baseline) == {baseline}
    assert sorted(set(effects.level)) == sorted({1.0, 2.0, 4.0} - {baseline})


def test_replicates_of_a_seed_are_averaged_not_crossed(tmp_path):
    """The same recipe and seed twice (e.g. at 1 and 2 threads): one pair per seed."""
    for seed, (one, two) in enumerate([(0.0, 0.02), (0.04, 0.06), (0.08, 0.1)]):
        for replicate, bonus in (("a", one), ("b", two)):
            for weight, acc in ((1.0, 0.8), (2.0, 0.85)):
                make_run(
                    tmp_path / replicate,
                    finished(acc + bonus + weight * 0.01 * replicate.count("b")),
                    lambda_cat=weight,
                    seed=seed,
                )
    effects = report.marginal_effects(results.load_run_dirs([tmp_path]).frame, ["lambda_cat"])
    cat_acc = effects[effects.metric == "cat_acc"].iloc[0]
    assert (cat_acc.level, cat_acc.baseline, cat_acc.n_pairs) == (1.0, 2.0, 3)
    # per seed: mean(0.8+x, 0.8+y+0.01) - mean(0.85+x, 0.85+y+0.02) = -0.05 - 0.005
    assert cat_acc["mean"] == pytest.approx(-0.055)


def test_curves_show_each_run_beside_its_variants_mean(tmp_path, monkeypatch):
    from infogan_bench.analysis import plots

    curves = pd.DataFrame(
        {
            "run": ["a0", "a0", "a1", "a1", "b0", "b0"],
            "step": [1, 2] * 3,
            "eval_cat_acc": [0.5, 0.9, 0.5, 0.7, 0.4, 0.6],
            "eval_fid_domain": [9.0, 5.0] * 3,
        }
    )
    saved = []
    monkeypatch.setattr(plots.plt.Figure, "savefig", lambda fig, *a, **k: saved.append(fig))
    plots.plot_curves(curves, {"a0": "A", "a1": "A", "b0": "B"}, tmp_path / "curves.png")
    acc = saved[0].axes[0]
    assert len(acc.lines) == 2 + 3  # a mean per variant, then a thin line per run
    mean_a = next(line for line in acc.lines if line.get_label() == "A")
    assert list(mean_a.get_ydata()) == pytest.approx([0.5, 0.8])
    thin = [line for line in acc.lines if line.get_label().startswith("_")]
    assert {tuple(line.get_ydata()) for line in thin} == {(0.5, 0.9), (0.5, 0.7), (0.4, 0.6)}


def test_report_shows_the_confusion_matrix_of_each_run_below_fail_below(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    for seed, acc in enumerate((0.95, 0.6, 0.85)):
        path = make_run(root, finished(acc, cat_diagnosis=""), seed=seed)
        plot_confusion([[9, 1], [5, 5]], path / "samples" / "confusion.png", f"seed {seed}")
    tiled = {}
    real_tiles = report.plot_sample_grids
    monkeypatch.setattr(
        report,
        "plot_sample_grids",
        lambda grids, path, **kw: (
            tiled.update({path.name: list(grids)}),
            real_tiles(grids, path, **kw),
        ),
    )
    text = report.write_report(results.load_run_dirs([root]), tmp_path / "r", "t", fail_below=0.9)
    # 0.6 and 0.85, not 0.95, each titled by its variant (all "default" here) and run
    assert tiled["confusions.png"] == ["default: runs/seed=1", "default: runs/seed=2"]
    assert "(confusions.png)" in text and (tmp_path / "r" / "confusions.png").stat().st_size > 0
    text = report.write_report(results.load_run_dirs([root]), tmp_path / "r2", "t", fail_below=0.5)
    assert "confusions.png" not in text  # no run below 0.5
