from infogan_bench.analysis.plots import variant_label
from infogan_bench.analysis.report import axis_default


def test_variant_label_names_what_differs_from_the_default():
    axes = ["generator", "real_consistency", "lambda_cat"]
    defaults = {axis: str(axis_default(axis, "mnist")) for axis in axes}
    default = {"generator": "transpose", "real_consistency": 0.0, "lambda_cat": 1.0}
    assert variant_label(default, axes, defaults) == "default"
    assert (
        variant_label({**default, "real_consistency": 2.0}, axes, defaults)
        == "real_consistency=2.0"
    )
    both = {**default, "generator": "upsample", "lambda_cat": 2.0}
    assert variant_label(both, axes, defaults) == "generator=upsample, lambda_cat=2.0"
    # digits' own default lambda_cat is 2: there it is the default
    digits = {axis: str(axis_default(axis, "digits")) for axis in axes}
    assert variant_label({**default, "lambda_cat": 2.0}, axes, digits) == "default"
