"""The numeric precision option: parsing, 'auto', the fidelity label, bfloat16 layers, and
what a live run measures on the test set."""

from __future__ import annotations

import math

import pytest

from tunebench import precision
from tunebench.benchmarks import get_benchmark_spec
from tunebench.cli import main
from tunebench.errors import SuiteError
from tunebench.from_plan import load_run_data, make_benchmark
from tunebench.suite import parse_suite
from tunebench.suite_overrides import apply_overrides


def plan(name="mnist-mlp", **table):
    suite = parse_suite({"name": "p", "seeds": [0], "strategies": ["random"],
                         "benchmarks": {name: {"max_epochs": 2, "trials": 1, **table}}}, source="test")
    return suite, suite.benchmarks[0]


def test_auto_is_bfloat16_only_where_the_cpu_has_native_bfloat16(tmp_path, monkeypatch):
    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert precision.native_bfloat16(with_bf16) and not precision.native_bfloat16(without)
    assert not precision.native_bfloat16(tmp_path / "missing")
    monkeypatch.setattr(precision, "native_bfloat16", lambda: True)
    assert precision.resolve("auto") == "bfloat16"
    monkeypatch.setattr(precision, "native_bfloat16", lambda: False)
    assert precision.resolve("auto") == "float32"
    assert precision.resolve("bfloat16") == "bfloat16"


def test_the_fidelity_label_and_the_manifest_say_the_precision():
    suite, default = plan()
    assert default.precision == "float32" and default.fidelity.startswith("reduced")
    assert "bfloat16" not in default.fidelity
    suite, bf16 = plan(precision="bfloat16")
    assert bf16.fidelity.endswith("(bfloat16)")
    entry = suite.to_dict()["benchmarks"][0]
    assert entry["precision"] == "bfloat16" and entry["resolved_precision"] == "bfloat16"
    overridden = apply_overrides(suite, precision="float32").benchmarks[0]
    assert overridden.precision == "float32"


@pytest.mark.parametrize("table, message", [
    ({"precision": "half"}, "'precision' must be one of float32, bfloat16, auto"),
    ({"precision": 16}, "'precision' must be one of"),
])
def test_a_bad_precision_is_refused(table, message):
    with pytest.raises(SuiteError, match=message):
        plan(**table)


def test_a_replay_benchmark_takes_no_precision():
    with pytest.raises(SuiteError, match="replays a recording"):
        plan("mnist-mlp@replay", precision="bfloat16")


def test_precision_on_the_command_line_is_checked(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", "smoke", "--precision", "half"])
    assert exited.value.code == 2 and "--precision" in capsys.readouterr().err
    assert main(["run", "replay", "--precision", "bfloat16", "--out", "/nonexistent/x"]) == 2
    assert "none of the selected benchmarks trains" in capsys.readouterr().err


def test_bfloat16_builds_bfloat16_layers_with_a_float32_output(tiny_data_dir):
    import keras

    _, bf16 = plan(precision="bfloat16")
    benchmark = make_benchmark(get_benchmark_spec("mnist-mlp"), load_run_data(bf16, tiny_data_dir, 0), bf16)
    config = benchmark.space.grid()[0]
    model = benchmark.build(config)
    assert model.layers[1].compute_dtype == "bfloat16"  # the first Dense
    assert model.layers[-1].compute_dtype == "float32"
    assert "float32" in str(model(benchmark.training_arrays[0][:2]).dtype)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building


def test_a_live_run_measures_the_test_set_after_the_last_epoch_only(tiny_data_dir):
    _, live = plan()
    benchmark = make_benchmark(get_benchmark_spec("mnist-mlp"), load_run_data(live, tiny_data_dir, 0), live)
    config = benchmark.space.grid()[0]
    quick = benchmark.evaluate(config, 2, seed=3)
    assert math.isnan(quick.curve[0].test_accuracy) and not math.isnan(quick.curve[1].test_accuracy)
    assert quick.epoch_confusions[0] is None and quick.test_confusion == quick.epoch_confusions[1]
    benchmark.test_every_epoch = True  # what a recording does
    full = benchmark.evaluate(config, 2, seed=3)
    assert all(not math.isnan(p.test_accuracy) for p in full.curve)
    # measuring the test set changes nothing else: same training, same numbers
    assert [p.val_accuracy for p in full.curve] == [p.val_accuracy for p in quick.curve]
    assert full.curve[1].test_accuracy == quick.curve[1].test_accuracy
