"""A plug-in that brings its data (tunebench.datasets.DatasetSpec), through the CLI.

The plug-in is a file written into a temporary folder, as a user's own would be (the example
in docs/guide.md): a loader of 260 synthetic 8x8 images of 3 classes and a small Keras MLP,
with no factory: the benchmark names the dataset, and the run goes through the built-in path
(stratified validation split, subset, seeds, the live harness, the manifest's data entry).
"""

from __future__ import annotations

import json
import re
import textwrap

import pandas as pd
import pytest

from tunebench.benchmarks import BENCHMARKS
from tunebench.cli import main
from tunebench.datasets import clear_cache
from tunebench.datasets.registry import PLUGIN_DATASETS
from tunebench.strategies import STRATEGIES

PLUGIN = textwrap.dedent('''
    """Bars: 8x8 images with a bright vertical bar on the left, in the middle or on the right."""
    import numpy as np

    from tunebench.benchmarks import BenchmarkSpec
    from tunebench.datasets import DatasetSpec
    from tunebench.models.compile import compile_classifier
    from tunebench.space import Float, Int, SearchSpace


    def load_bars(data_dir):
        """The raw arrays (no validation split: tunebench carves one out of the training set)."""
        rng = np.random.default_rng(0)  # the same arrays every call

        def images(count):
            labels = np.arange(count) % 3
            pixels = rng.integers(0, 60, size=(count, 8, 8), dtype=np.uint8)
            for i, label in enumerate(labels):
                pixels[i, :, 3 * label:3 * label + 2] = 230
            return pixels, labels

        x_train, y_train = images(200)
        x_test, y_test = images(60)
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


    def space(options):
        return SearchSpace([Int("units", low=8, high=32, step=8), Float("lr", low=1e-3, high=3e-2, log=True)])


    def build_model(config, steps_per_execution=1):
        import keras

        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(config["units"], activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        return compile_classifier(model, config["lr"], steps_per_execution)


    SPECS = [
        DatasetSpec(name="bars", description="synthetic 8x8 bars, 3 classes", load=load_bars,
                    class_names=("left", "middle", "right"), image_shape=(8, 8)),
        BenchmarkSpec(name="bars-mlp", dataset="bars", description="an MLP on the bars", max_epochs=2, trials=2,
                      batch_size=32, input_shape=(64,), options={}, make_space=space, build_model=build_model),
    ]
''')

SUITE = textwrap.dedent('''
    name = "bars"
    seeds = [0]
    strategies = ["random"]
    plugins = ["bars_plugin.py:SPECS"]

    [benchmarks.bars-mlp]
    subset = { train = 120 }
''')

LOADER = "bars_plugin.py:load_bars"
RETURN = 'return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}'


@pytest.fixture
def registries():
    """Leave the registries and the data cache as they were (a plug-in registers into the process)."""
    saved = [(registry, dict(registry)) for registry in (BENCHMARKS, STRATEGIES, PLUGIN_DATASETS)]
    yield
    for registry, entries in saved:
        registry.clear(), registry.update(entries)
    clear_cache()


def write(folder, plugin=PLUGIN, suite=SUITE):
    (folder / "bars_plugin.py").write_text(plugin)
    (folder / "bars.toml").write_text(suite)
    return folder / "bars.toml"


@pytest.mark.slow  # trains a Keras network
def test_a_plugin_dataset_trains_through_the_live_harness_without_a_factory(tmp_path, registries):
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path)), "--out", str(out), "--data-dir", str(tmp_path)]) == 0
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and (trials["benchmark"] == "bars-mlp").all() and (trials["status"] == "ok").all()
    assert all(len(json.loads(matrix)) == 3 for matrix in trials["test_confusion"])  # the plug-in's 3 classes
    assert pd.read_csv(out / "runs.csv")["best_val_accuracy"].iloc[0] > 0.5  # it learned the bars
    data = json.loads((out / "manifest.json").read_text())["data"]["bars-mlp"]
    assert data["source"] == f"loader {LOADER}"  # no file: the loader is named, and the arrays' digest kept
    assert re.fullmatch(r"[0-9a-f]{64}", data["sha256"])
    assert data["class_names"] == ["left", "middle", "right"]
    # 40 of the 200 training images became the validation split (0.2, stratified), the subset
    # kept 120 of the other 160, and the test split is the loader's 60.
    assert data["sizes"]["0"] == {"train": 120, "val": 40, "test": 60}
    assert data["class_counts"]["0"] == {"train": [40, 40, 40], "val": [14, 13, 13], "test": [20, 20, 20]}


def test_a_plugin_dataset_is_split_by_the_run_seeds_as_a_builtin_is(tmp_path, registries):
    from tunebench.from_plan import load_run_data
    from tunebench.suite import load_suite

    plugin = PLUGIN.replace('image_shape=(8, 8))', 'image_shape=(8, 8), val_fraction=0.3)')
    suite = load_suite(str(write(tmp_path, plugin, SUITE.replace("subset = { train = 120 }", ""))))
    plan = suite.benchmarks[0]
    first, again, other = (load_run_data(plan, tmp_path, seed) for seed in (0, 0, 1))
    assert first.sizes() == {"train": 140, "val": 60, "test": 60}  # 0.3 of the loader's 200 training images
    assert [int((first.y_val == label).sum()) for label in range(3)] == [20, 20, 20]  # stratified
    assert (first.x_val == again.x_val).all() and not (first.x_val == other.x_val).all()  # seeded
    assert first.source == f"loader {LOADER}" and first.digest == other.digest


@pytest.mark.parametrize("change, expected", [
    pytest.param(("x_train, y_train = images(200)", "x_train, y_train = images(200)\n    x_train = x_train[:, :, :7]"),
                 "array 'x_train' has shape (200, 8, 7); expected (N, 8, 8)", id="wrong-shape"),
    pytest.param(("x_test, y_test = images(60)", "x_test, y_test = images(60)\n    x_test = x_test / 255.0"),
                 "array 'x_test' has dtype float64; expected uint8", id="wrong-dtype"),
    pytest.param(("x_train, y_train = images(200)", "x_train, y_train = images(200)\n    y_train = y_train + 1"),
                 "array 'y_train' has label 3 outside 0..2", id="label-out-of-range"),
    pytest.param((RETURN, 'return {"x_train": x_train, "y_train": y_train, "x_test": x_test}'),
                 "returned no y_test", id="missing-array"),
    pytest.param((RETURN, 'return open(data_dir / "bars.bin").read()'),
                 "failed: FileNotFoundError", id="loader-raises"),
])
def test_a_loader_returning_bad_arrays_is_bad_input_naming_the_plugin(tmp_path, registries, capsys, change, expected):
    suite = write(tmp_path, PLUGIN.replace(*change))
    assert main(["run", str(suite), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"plug-in dataset 'bars' (loader {LOADER})" in error and expected in error, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("change, expected", [
    pytest.param(('dataset="bars"', 'dataset="barz"'),
                 "benchmark 'bars-mlp' trains on dataset 'barz', which neither tunebench nor a loaded plug-in has "
                 "(unknown dataset 'barz' (did you mean 'bars'?)", id="unknown-dataset"),
    pytest.param(('DatasetSpec(name="bars"', 'DatasetSpec(name="mnist"'),
                 f"plug-in dataset 'mnist' (loader {LOADER}): dataset name 'mnist' is taken by a built-in dataset",
                 id="builtin-name"),
    pytest.param(('class_names=("left", "middle", "right")', 'class_names="left middle right"'),
                 "plug-in dataset 'bars': class_names must be a tuple of at least two strings", id="bad-class-names"),
    pytest.param(("input_shape=(64,)", "input_shape=(63,)"),
                 f"benchmark 'bars-mlp' has input_shape (63,) (63 values), but the images of plug-in dataset 'bars' "
                 f"(loader {LOADER}) are 8x8 (64 values)", id="input-shape-mismatch"),
])
def test_a_bad_plugin_dataset_or_name_is_bad_input(tmp_path, registries, capsys, change, expected):
    suite = write(tmp_path, PLUGIN.replace(*change))
    assert main(["run", str(suite), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert expected in error, error
    assert not (tmp_path / "out").exists()


def test_a_loader_saying_its_file_is_missing_lets_skip_if_no_data_leave_the_benchmark_out(tmp_path, registries):
    from tunebench.runner.tasks import leave_out_missing_data
    from tunebench.suite import load_suite

    plugin = PLUGIN.replace("import numpy as np\n", "import numpy as np\n\nfrom tunebench.errors import DataMissingError\n")
    plugin = plugin.replace("rng = np.random.default_rng(0)  # the same arrays every call",
                            'raise DataMissingError(f"no bars.npz in {data_dir}")')
    bench = "[benchmarks.bars-mlp]\nskip_if_no_data = true\n[benchmarks.mnist-mlp]\n"
    suite = load_suite(str(write(tmp_path, plugin, SUITE.replace("[benchmarks.bars-mlp]\nsubset = { train = 120 }\n",
                                                                 bench))))
    kept = leave_out_missing_data(suite, tmp_path)
    assert [plan.name for plan in kept.benchmarks] == ["mnist-mlp"]
    (name, why), = kept.left_out
    assert name == "bars-mlp" and why == f"plug-in dataset 'bars' (loader {LOADER}): no bars.npz in {tmp_path}"


def test_the_guide_shows_this_plugin():
    """docs/guide.md's complete example is the plug-in these tests run, character for character."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text(encoding="utf-8")
    section = guide.split("### Your own data on the live Keras harness", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert example.strip() == PLUGIN.strip()
