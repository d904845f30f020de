"""How far does a configuration climb with more epochs than recorded, and do its epochs repeat?

Latest result (fer-cnn's config 24 for 30 epochs; 2-core AVX-512 EPYC, beside the recorder;
2026-12-03): validation accuracy 0.514 at epoch 15, 0.532 at 20, its best 0.546 at 28 (test
0.554), 0.537 at 30; training accuracy 0.537, still rising about 0.002 per epoch. Its first 10
epochs repeated the recording's to the chunk's 6 significant digits.

One recorded configuration trained for more epochs than its recording holds.

Answers two questions about a recording of a live benchmark (a full-data fer-cnn recording,
say): how far does a configuration climb with more epochs (is a bar like "best validation
accuracy >= 0.55" within reach of a longer second fidelity?), and do its first epochs repeat
the recording (the same configuration, training seed, data and precision as the recording's
header, through the run's own harness)?

The configuration is the recording's design point ``--config-id`` (rebuilt from the design in
``recording.json``, so its learning rate is exact, not the chunk's 6 significant digits), its
training seed the one the recording used. Prints one line per epoch (validation and test
accuracy, training accuracy, seconds), then whether the recorded epochs repeat to the chunk's
6 significant digits; ``--out`` also writes the curve as CSV.

Usage: ``python -m studies.longer_training --recording results/recordings/fer-cnn
--config-id 24 --epochs 30 --data-dir ../shared/datasets [--out curve.csv]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.recording import recorded_design  # noqa: E402
from tunebench.benchmarks.recording_load import load_recording  # noqa: E402
from tunebench.datasets import resolve_data_dir  # noqa: E402
from tunebench.from_plan import load_run_data, make_benchmark  # noqa: E402
from tunebench.suite import parse_suite  # noqa: E402

#: The chunk files' precision (significant digits) for the repeat check.
CHUNK_RTOL = 1e-5


def recorded_harness(meta: dict, epochs: int, data_dir: str | None) -> tuple[object, list[tuple[str, dict]]]:
    """The live benchmark that made the recording whose ``recording.json`` is ``meta``, set to
    ``epochs`` and predicting the test set after every epoch (the recording's header: options,
    data subset, precision, data seed), and the recording's design as ``(origin, config)``."""
    header = meta["header"]
    spec = get_benchmark_spec(header["benchmark"])
    benchmark_table = {"trials": 1, "max_epochs": epochs, "precision": header.get("precision", "float32"),
                       **header["options"]}
    if header.get("subset"):
        benchmark_table["subset"] = header["subset"]
    plan = parse_suite({"name": "longer", "seeds": [header["seed"]], "strategies": ["random"],
                        "benchmarks": {header["benchmark"]: benchmark_table}},
                       source="(studies/longer_training.py)").benchmarks[0]
    configs = recorded_design(meta, spec.make_space(plan.options))
    benchmark = make_benchmark(spec, load_run_data(plan, resolve_data_dir(data_dir), header["seed"]), plan)
    benchmark.test_every_epoch = True
    return benchmark, configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", required=True, help="a recording's folder (holds recording.json)")
    parser.add_argument("--config-id", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", help="write the curve here as CSV")
    args = parser.parse_args()

    meta, table = load_recording(Path(args.recording))
    table = table[table["draw"] == 1]  # the recorded draw, which this training repeats
    recorded = table[table.config_id == args.config_id].sort_values("epoch")
    if recorded.empty:
        parser.error(f"--config-id {args.config_id}: no such configuration in {args.recording}")
    benchmark, configs = recorded_harness(meta, args.epochs, args.data_dir)
    origin, config = configs[args.config_id]
    assert origin == recorded.origin.iloc[0], "the design does not rebuild this recording"
    seed = int(recorded.training_seed.iloc[0])
    print(f"config {args.config_id} ({origin}): {config}, training seed {seed}, {args.epochs} epochs", flush=True)

    curve = pd.DataFrame([vars(record) for record in benchmark.evaluate(config, args.epochs, seed).curve])
    print(curve[["epoch", "val_accuracy", "test_accuracy", "accuracy", "epoch_seconds"]].to_string(index=False))
    if args.out:
        curve.to_csv(args.out, index=False)
    columns = ["loss", "accuracy", "val_accuracy", "test_accuracy"]
    n = min(len(recorded), len(curve))
    repeats = np.allclose(curve[columns].head(n).to_numpy(), recorded[columns].head(n).to_numpy(),
                          rtol=CHUNK_RTOL, atol=0)
    best = curve.loc[curve.val_accuracy.idxmax()]
    print(f"best validation accuracy {best.val_accuracy:.4f} at epoch {int(best.epoch)} (test {best.test_accuracy:.4f});"
          f" final {curve.val_accuracy.iloc[-1]:.4f}")
    print(f"the first {n} epochs repeat the recording: {'yes' if repeats else 'NO'}")


if __name__ == "__main__":
    main()
