"""How much the harness costs: one fixed config per benchmark, harness against plain model.fit.

For each benchmark, in one process, each variant trains the same model for one epoch
``--repeats`` times, and the medians are compared:

- ``fit spe=1``: a plain ``model.fit`` as a user writes it (``steps_per_execution=1``),
- ``fit spe=N``: the same with the harness's ``steps_per_execution``,
- ``harness``: ``LiveKerasBenchmark.evaluate``, which also measures validation and test
  accuracy and macro-F1 after the epoch.

Usage: ``python perf/harness_vs_fit.py [--data-dir DIR] [--fer-train 5000] [--repeats 3]``
(``tox -e speed``). Times include building and compiling the model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tunebench.benchmarks import BENCHMARKS  # noqa: E402
from tunebench.benchmarks.live import STEPS_PER_EXECUTION, LiveKerasBenchmark, enable_determinism  # noqa: E402
from tunebench.datasets import load_dataset, resolve_data_dir, stratified_subset  # noqa: E402

CONFIGS = {
    "mnist-mlp": {"units_1": 57, "units_2": 93, "units_3": 50, "units_4": 22, "dropout_1": 0.2, "dropout_2": 0.2,
                  "dropout_3": 0.2, "dropout_4": 0.2, "learning_rate": 1e-3},
    "fer-cnn": {"conv_layers": 3, "filters_1": 64, "filters_2": 64, "filters_3": 128, "dense_units": 256,
                "learning_rate": 1e-3},
}


def plain_fit(spec, config, x, y, batch_size, steps_per_execution):
    import keras

    started = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    model = spec.build_model(config, steps_per_execution)
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--fer-train", type=int, default=5000, help="FER training images (0: all 28,709)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    enable_determinism()
    print(f"{'benchmark':<10} {'variant':<16} {'median s':>9} {'ratio to fit spe=1':>19}")
    for name, config in CONFIGS.items():
        spec = BENCHMARKS[name]
        splits = load_dataset(spec.dataset, data_dir, 0)
        if name == "fer-cnn" and args.fer_train:
            splits = stratified_subset(splits, {"train": args.fer_train}, 0)
        bench = LiveKerasBenchmark(spec, splits, spec.options, 1, spec.batch_size)
        x, y = bench.training_arrays
        variants = {
            "fit spe=1": lambda: plain_fit(spec, config, x, y, spec.batch_size, 1),
            f"fit spe={STEPS_PER_EXECUTION}": lambda: plain_fit(spec, config, x, y, spec.batch_size, STEPS_PER_EXECUTION),
            "harness": lambda: bench.evaluate(config, 1, seed=1).seconds,
        }
        medians = {label: statistics.median(run() for _ in range(args.repeats)) for label, run in variants.items()}
        base = medians["fit spe=1"]
        for label, value in medians.items():
            print(f"{name:<10} {label:<16} {value:>9.2f} {value / base:>19.2f}")
        print(f"{name:<10} train images {len(x)}, batch {spec.batch_size}, val {len(splits.y_val)}, test {len(splits.y_test)}")


if __name__ == "__main__":
    main()
