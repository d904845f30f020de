"""Shared test fixtures.

The real datasets are looked up in $TUNEBENCH_DATA, then in ../shared/datasets beside the
repository; tests that need them are skipped when neither has them (and fail under CI).
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _real_data_dir() -> Path | None:
    candidates = []
    if os.environ.get("TUNEBENCH_DATA"):
        candidates.append(Path(os.environ["TUNEBENCH_DATA"]))
    candidates.append(REPO_ROOT.parent / "shared" / "datasets")
    for candidate in candidates:
        if (candidate / "mnist.npz").is_file() and (candidate / "fer2013.npz").is_file():
            return candidate.resolve()
    return None


#: Fixtures that mean a test trains real Keras models (on the tiny or the real datasets).
TRAINING_FIXTURES = frozenset({"tiny_data_dir", "real_data_dir"})
#: The slow tier's longest modules, longest first (their tests' seconds, the slow tier alone on
#: a 2-core EPYC: 521, 144, 122, 115, 113 of 1,373): handed out first, so that no worker starts one
#: while the others run out of modules.
LONGEST_MODULES = ("test_smoke_real_data.py", "test_recording.py", "test_retrain.py", "test_resume.py",
                   "test_replay.py")


def pytest_collection_modifyitems(items):
    """Every test that trains is marked ``slow`` (it asks, directly or through another fixture,
    for a dataset: :data:`TRAINING_FIXTURES`), so that ``-m "not slow"`` is the fast tier;
    then the slow modules first, the longest of them (:data:`LONGEST_MODULES`) before the rest
    (stable otherwise): with pytest-xdist handing out a module at a time, in this order
    (tox.ini: ``--no-loadscope-reorder``), the longest one starting last would leave the other
    workers idle at the end."""
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

    def order(item) -> tuple[bool, int]:
        name = Path(str(item.fspath)).name
        return item.get_closest_marker("slow") is None, (LONGEST_MODULES.index(name) if name in LONGEST_MODULES
                                                         else len(LONGEST_MODULES))

    items.sort(key=order)


def pytest_collection_finish(session):
    """No test module may leave the repository root on sys.path: a process spawned later
    (recording workers, parallel trials) would import the checkout's tunebench/ folder, which
    lacks the subpackages the installed package maps in, and die on its first import (where
    tunebench is installed from a build, as tox installs it; an editable install maps them)."""
    import tunebench

    if Path(tunebench.__file__).resolve().parent == REPO_ROOT / "tunebench":
        return  # editable: the checkout is the installed package
    if any(entry and Path(entry).resolve() == REPO_ROOT for entry in sys.path):
        raise pytest.UsageError(f"a test module put the repository root {REPO_ROOT} on sys.path while it was "
                                "imported; import from it inside a function and take it off again")


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The directory holding the real fer2013.npz and mnist.npz, or skip the test; under CI
    (``CI`` set) a missing dataset fails instead, so that a CI run never passes by skipping."""
    found = _real_data_dir()
    if found is None:
        message = "real datasets not found (set TUNEBENCH_DATA or provide ../shared/datasets)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the real-data tests", pytrace=False)
        pytest.skip(message)
    return found


def _learnable_images(rng, labels, side, n_classes):
    """uint8 images whose brightest band depends on the label: learnable in one epoch."""
    images = rng.integers(0, 60, size=(len(labels), side, side), dtype=np.uint8)
    band = side // n_classes
    for i, label in enumerate(labels):
        images[i, label * band:(label + 1) * band, :] = 220
    return images


def write_tiny_datasets(directory: Path, n_train: int = 200, n_test: int = 60) -> Path:
    """Write small but real-format mnist.npz and fer2013.npz into ``directory``."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    y_mnist_train = np.arange(n_train) % 10
    y_mnist_test = np.arange(n_test) % 10
    np.savez_compressed(
        directory / "mnist.npz",
        x_train=_learnable_images(rng, y_mnist_train, 28, 10), y_train=y_mnist_train.astype(np.uint8),
        x_test=_learnable_images(rng, y_mnist_test, 28, 10), y_test=y_mnist_test.astype(np.uint8),
    )
    fer = {}
    for split, count in (("train", n_train), ("val", n_test), ("test", n_test)):
        labels = np.arange(count) % 7
        fer[f"x_{split}"] = _learnable_images(rng, labels, 48, 7)
        fer[f"y_{split}"] = labels.astype(np.uint8)
    np.savez_compressed(directory / "fer2013.npz", **fer)
    return directory


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """A data directory with tiny mnist.npz and fer2013.npz in the real formats."""
    return write_tiny_datasets(tmp_path_factory.mktemp("tiny-data"))


#: A small suite for the resume and parallel tests: Hyperband with promotions (warm starts)
#: and Bayesian optimisation past its 3 random trials, on mnist-mlp.
SMALL_SUITE = """
name = "small"
seeds = [0]
strategies = ["hyperband", "bayesian"]
[benchmarks.mnist-mlp]
max_epochs = 3
trials = 4
"""


@pytest.fixture(scope="session")
def small_suite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small-suite") / "small.toml"
    path.write_text(SMALL_SUITE)
    return path


@pytest.fixture(scope="session")
def small_suite_results(tiny_data_dir, small_suite_file, tmp_path_factory) -> Path:
    """The small suite run uninterrupted, in this process (the reference for resumed and parallel runs)."""
    from tunebench.cli import main

    out = tmp_path_factory.mktemp("small-run") / "out"
    assert main(["run", str(small_suite_file), "--data-dir", str(tiny_data_dir), "--out", str(out)]) == 0
    return out


#: The plug-in reference of the analytic bowl (tests/analytic_benchmark.py: ``analytic`` and
#: ``analytic-b``); a suite file naming it runs in microseconds per trial, in any process.
ANALYTIC_PLUGIN = f"{Path(__file__).resolve().parent / 'analytic_benchmark.py'}:SPECS"


def analytic_suite(body: str) -> str:
    """A suite file's text: ``body`` (its keys and tables) with the analytic plug-in loaded."""
    return f"plugins = [{ANALYTIC_PLUGIN!r}]\n" + body.lstrip("\n")


#: A small suite on the analytic bowl, for the stop and scale-out tests where the model is not
#: the point: grid search, and TPE, which learns from every result told (so a resumed or
#: distributed run must tell them all, in order). Neither strategy is keras-tuner's, so a
#: process running it needs no Keras (see ``NO_TENSORFLOW`` in test_resume.py). Each epoch
#: sleeps 50 ms, so that a test can stop it mid-run.
SMALL_ANALYTIC_SUITE = analytic_suite("""
name = "small-analytic"
seeds = [0]
strategies = ["grid", "tpe"]
[benchmarks.analytic]
max_epochs = 3
trials = 4
sleep = 0.05
""")


@pytest.fixture(scope="session")
def no_data_dir(tmp_path_factory) -> Path:
    """An empty data directory: the analytic benchmark brings its own data."""
    return tmp_path_factory.mktemp("no-data")


@pytest.fixture(scope="session")
def small_analytic_suite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small-analytic-suite") / "small-analytic.toml"
    path.write_text(SMALL_ANALYTIC_SUITE)
    return path


@pytest.fixture(scope="session")
def small_analytic_suite_results(small_analytic_suite_file, no_data_dir, tmp_path_factory) -> Path:
    """The small analytic suite run uninterrupted, in this process (the reference for resumed,
    stopped and Dask runs whose model is not the point)."""
    from tunebench.cli import main

    out = tmp_path_factory.mktemp("small-analytic-run") / "out"
    assert main(["run", str(small_analytic_suite_file), "--data-dir", str(no_data_dir), "--out", str(out)]) == 0
    return out
