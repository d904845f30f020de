"""How much the harness costs, and how far training is from what the CPU can do.

For each benchmark, in one process, each variant trains the same fixed configuration for
``--epochs`` epochs, ``--repeats`` times, interleaved (variant 1, 2, 3, 4, then again), and
the medians are compared:

- ``fit``: a plain ``model.fit`` (``steps_per_execution=1``), no validation;
- ``fit spe=N``: the same with the harness's ``steps_per_execution``;
- ``fit spe=N + val``: ``model.fit(..., validation_data=...)``, what a user who watches
  validation accuracy writes: **the fair baseline**;
- ``harness``: ``LiveKerasBenchmark.evaluate`` as a live run calls it: validation accuracy,
  loss and macro-F1 after every epoch, test accuracy and macro-F1 after the last.

The limit: the epochs' floating-point work (forward and backward passes over the training
images, a forward pass over the validation images, counted from the model's Dense and
Conv2D layers: 2 multiply-adds per weight use, backward = 2 x forward) divided by this
CPU's float32 matrix-multiply throughput measured here (TensorFlow ``matmul`` of 2048 x 2048
matrices on all cores). ``floor s`` is that time; ``x floor`` says how many times slower a
variant is than a machine doing nothing but those multiplications at full speed. Small
layers (the MLP's) cannot reach the big-matmul rate, so the floor is a bound, not a goal.

A slowdown shows: ``--check FILE`` compares each benchmark's harness / baseline ratio
with the one committed in ``FILE`` (``perf/baseline/harness_ratios.json``, written by
``--save FILE``) and exits 1 when one is more than ``--tolerance`` (default 1.3) times the
committed ratio. Ratios measured in one run travel between machines far better than times.

Usage: ``python perf/harness_vs_fit.py [--data-dir DIR] [--fer-train 5000] [--epochs 3]
[--repeats 3] [--check FILE | --save FILE]`` (``tox -e speed`` checks against the committed
ratios). Times include building and compiling the model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tunebench.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

from tunebench.backend import enable_determinism  # noqa: E402
from tunebench.benchmarks import BENCHMARKS  # noqa: E402
from tunebench.benchmarks.live import STEPS_PER_EXECUTION, LiveKerasBenchmark  # noqa: E402
from tunebench.datasets import load_dataset, resolve_data_dir, stratified_subset  # noqa: E402
from tunebench.process import quiet_tensorflow  # noqa: E402

CONFIGS = {
    "mnist-mlp": {"units_1": 57, "units_2": 93, "units_3": 50, "units_4": 22, "dropout_1": 0.2, "dropout_2": 0.2,
                  "dropout_3": 0.2, "dropout_4": 0.2, "learning_rate": 1e-3},
    "fer-cnn": {"conv_layers": 3, "filters_1": 64, "filters_2": 64, "filters_3": 128, "dense_units": 256,
                "learning_rate": 1e-3},
}

#: The fair baseline's label.
BASELINE = f"fit spe={STEPS_PER_EXECUTION} + val"


def plain_fit(spec, config, train, batch_size, steps_per_execution, epochs, validation=None):
    """Seconds for a fresh model's ``model.fit`` (optionally with ``validation_data``)."""
    import keras

    started = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    model = spec.build_model(config, steps_per_execution)
    model.fit(*train, batch_size=batch_size, epochs=epochs, verbose=0, validation_data=validation,
              validation_batch_size=1024 if validation is not None else None)
    return time.perf_counter() - started


def forward_flops(model) -> int:
    """Floating-point operations of one image's forward pass through the Dense and Conv2D layers."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2D):
            height, width, channels_out = layer.output.shape[1:]
            kernel_h, kernel_w, channels_in, _ = layer.kernel.shape
            flops += 2 * height * width * channels_out * kernel_h * kernel_w * channels_in
    return flops


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This CPU's float32 matrix-multiply rate through TensorFlow, best of ``repeats``."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
    b = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
    tf.linalg.matmul(a, b).numpy()  # warm up
    best = min(_timed(lambda: tf.linalg.matmul(a, b).numpy()) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--fer-train", type=int, default=5000, help="FER training images (0: all 28,709)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", type=Path, help="committed ratios to compare with (exit 1 on a slowdown)")
    parser.add_argument("--save", type=Path, help="write this run's ratios as the new baseline")
    parser.add_argument("--tolerance", type=float, default=1.3)
    args = parser.parse_args()
    ratios: dict[str, float] = {}
    data_dir = resolve_data_dir(args.data_dir)
    quiet_tensorflow()
    enable_determinism()
    rate = matmul_gflops()
    print(f"float32 matmul throughput (2048 x 2048, TensorFlow, all cores): {rate:.1f} GFLOP/s")
    print(f"{'benchmark':<10} {'variant':<20} {'median s':>9} {'vs fit':>7} {'vs ' + BASELINE:>22} {'x floor':>8}")
    for name, config in CONFIGS.items():
        spec = BENCHMARKS[name]
        splits = load_dataset(spec.dataset, data_dir, 0)
        if name == "fer-cnn" and args.fer_train:
            splits = stratified_subset(splits, {"train": args.fer_train}, 0)
        bench = LiveKerasBenchmark(spec, splits, spec.options, args.epochs, spec.batch_size)
        train = bench.training_arrays
        validation = bench.validation_arrays
        model = spec.build_model(config, 1)
        work = args.epochs * forward_flops(model) * (3 * len(train[0]) + len(validation[0]))
        floor = work / (rate * 1e9)
        variants = {
            "fit": lambda: plain_fit(spec, config, train, spec.batch_size, 1, args.epochs),
            f"fit spe={STEPS_PER_EXECUTION}": lambda: plain_fit(spec, config, train, spec.batch_size,
                                                                STEPS_PER_EXECUTION, args.epochs),
            BASELINE: lambda: plain_fit(spec, config, train, spec.batch_size, STEPS_PER_EXECUTION, args.epochs,
                                        validation),
            "harness": lambda: bench.evaluate(config, args.epochs, seed=1).seconds,
        }
        times: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(args.repeats):
            for label, run in variants.items():
                times[label].append(run())
        medians = {label: statistics.median(values) for label, values in times.items()}
        for label, value in medians.items():
            print(f"{name:<10} {label:<20} {value:>9.2f} {value / medians['fit']:>7.2f} "
                  f"{value / medians[BASELINE]:>22.2f} {value / floor:>8.1f}")
        print(f"{name:<10} {args.epochs} epoch(s); train {len(train[0])}, batch {spec.batch_size}, val "
              f"{len(validation[0])}, test {len(splits.y_test)}; {work / 1e9:.1f} GFLOP of Dense/Conv2D work, "
              f"floor {floor:.2f} s")
        ratios[name] = round(medians["harness"] / medians[BASELINE], 3)
    if args.save:
        args.save.write_text(json.dumps({"harness_over_fit_with_validation": ratios, "epochs": args.epochs,
                                         "fer_train": args.fer_train}, indent=2) + "\n")
        print(f"wrote {args.save}")
    if args.check:
        sys.exit(check(ratios, json.loads(args.check.read_text())["harness_over_fit_with_validation"],
                       args.tolerance))


def check(ratios: dict[str, float], committed: dict[str, float], tolerance: float) -> int:
    """0 when every harness / baseline ratio is within ``tolerance`` times its committed value, else 1."""
    status = 0
    for name, ratio in ratios.items():
        limit = committed[name] * tolerance
        verdict = "ok" if ratio <= limit else "SLOWER"
        status |= verdict != "ok"
        print(f"{name:<10} harness / {BASELINE}: {ratio:.2f} (committed {committed[name]:.2f}, limit {limit:.2f}) "
              f"{verdict}")
    return status


if __name__ == "__main__":
    main()
