"""Is bfloat16 faster per epoch than float32 on fer-cnn, at the same accuracy?

Latest result (``--train all --epochs 3 --seeds 3 --configs mid``; 2-core AVX-512 EPYC with
AVX512_BF16, the FER recorder beside it at the lowest priority; 2026-12-02): 81.5 s per epoch
in float32, 66.7 s in bfloat16, 1.22x; final validation accuracy after 3 epochs 0.317 and
0.301, a paired difference of -0.016 against a re-seeding spread of 0.027: parity within seed
noise, on 3 seeds.

float32 against bfloat16 on fer-cnn: the per-epoch time ratio and the accuracy parity.

For each configuration and training seed, the same model trains in both precisions through
the live harness (``LiveKerasBenchmark``, the run's own code path), interleaved
(float32, bfloat16, float32, ...) so that machine load hits both alike. Printed per
configuration:

- seconds per epoch (median over seeds of the median epoch after the first, which also
  traces the model) in each precision, and the ratio float32 / bfloat16 (> 1: bfloat16 is
  faster);
- final validation accuracy in each precision (mean over seeds), the mean paired difference
  bfloat16 - float32, and the spread that re-seeding alone gives (the standard deviation
  over seeds of the float32 runs): a difference well inside that spread is parity.

Usage: ``python -m studies.precision_fer --data-dir ../shared/datasets [--train 3000 | --train all]
[--epochs 3] [--seeds 2] [--configs small,mid,large]``. ``--train all`` trains on all 28,709
faces with the whole PublicTest / PrivateTest splits as validation / test (the recording's
fidelity): on a few thousand faces the configurations sit at the majority share for several
epochs, where parity says nothing. Whether the CPU multiplies bfloat16
natively (AVX512_BF16 / AMX) is printed first: without it bfloat16 is emulated and slower.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tunebench.datasets import resolve_data_dir  # noqa: E402
from tunebench.precision import BFLOAT16, FLOAT32, native_bfloat16  # noqa: E402
from tunebench.from_plan import load_run_data, make_benchmark  # noqa: E402
from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.seeding import RunSeeds  # noqa: E402
from tunebench.suite import parse_suite  # noqa: E402

CONFIGS = {
    "small": {"conv_layers": 1, "filters_1": 32, "dense_units": 64, "learning_rate": 1e-3},
    "mid": {"conv_layers": 2, "filters_1": 64, "filters_2": 64, "dense_units": 256, "learning_rate": 1e-3},
    "large": {"conv_layers": 3, "filters_1": 64, "filters_2": 128, "filters_3": 128, "dense_units": 256,
              "learning_rate": 1e-3},
}


def benchmark_for(precision: str, data_dir, train: int | None, epochs: int):
    """The fer-cnn live benchmark in ``precision`` on ``train`` stratified faces (``None``: all)."""
    table = {"max_epochs": epochs, "trials": 1, "precision": precision}
    if train is not None:
        table["subset"] = {"train": train, "val": max(1, train // 4), "test": max(1, train // 4)}
    plan = parse_suite({"name": "precision", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {"fer-cnn": table}}, source="(studies/precision_fer.py)").benchmarks[0]
    return make_benchmark(get_benchmark_spec("fer-cnn"), load_run_data(plan, data_dir, 0), plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--train", type=lambda text: None if text == "all" else int(text), default=3000,
                        help="training faces (a stratified subset), or 'all'")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--configs", default="small,mid,large")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    faces = "all" if args.train is None else args.train
    print(f"native bfloat16 on this CPU: {native_bfloat16()}; {faces} training faces, {args.epochs} epochs, "
          f"{args.seeds} seeds", flush=True)
    benchmarks = {p: benchmark_for(p, data_dir, args.train, args.epochs) for p in (FLOAT32, BFLOAT16)}
    print(f"{'config':<7} {'s/epoch f32':>12} {'s/epoch bf16':>13} {'f32/bf16':>9} {'val f32':>8} {'val bf16':>9} "
          f"{'bf16-f32':>9} {'reseed sd':>10}")
    for name in args.configs.split(","):
        config = CONFIGS[name]
        seconds = {FLOAT32: [], BFLOAT16: []}
        final = {FLOAT32: [], BFLOAT16: []}
        for seed in range(args.seeds):
            train_seed = RunSeeds("fer-cnn", seed).training(config)
            for precision in (FLOAT32, BFLOAT16):
                evaluation = benchmarks[precision].evaluate(config, args.epochs, train_seed)
                times = [p.epoch_seconds for p in evaluation.curve]
                seconds[precision].append(statistics.median(times[1:] or times))
                final[precision].append(evaluation.curve[-1].val_accuracy)
        f32, bf16 = statistics.median(seconds[FLOAT32]), statistics.median(seconds[BFLOAT16])
        diff = statistics.mean(b - f for b, f in zip(final[BFLOAT16], final[FLOAT32]))
        spread = statistics.stdev(final[FLOAT32]) if args.seeds > 1 else float("nan")
        print(f"{name:<7} {f32:>12.2f} {bf16:>13.2f} {f32 / bf16:>9.2f} {statistics.mean(final[FLOAT32]):>8.4f} "
              f"{statistics.mean(final[BFLOAT16]):>9.4f} {diff:>+9.4f} {spread:>10.4f}", flush=True)


if __name__ == "__main__":
    main()
