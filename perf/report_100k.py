"""How long ``tunebench report`` takes on a large results directory (about 100,000 trials).

Writes a synthetic but schema-valid results directory into a temporary folder: 2 benchmarks
x 6 strategies x ``--seeds`` seeds x ``--trials`` trials (default 140 x 60 = 100,800 trial
rows), a curves.csv with one row per trained epoch, a runs.csv summarised from the trials
with :func:`tunebench.results.summarize_run`'s rules, and a manifest with the real schema
version. About 1 % of trials are ``failed`` (NaN metrics and an ``error``). Then runs
:func:`tunebench.report.build_report` ``--repeats`` times and prints the median seconds, in
total and per stage (load / tables / figures / write).

Usage: ``python perf/report_100k.py [--seeds 140] [--trials 60] [--repeats 3] [--keep DIR]``
(run it outside the repository root, e.g. ``cd /tmp && python /path/to/perf/report_100k.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tunebench import SCHEMA_VERSION
from tunebench.report import build_report
from tunebench.schema import CURVE_COLUMNS, HP_PREFIX, RUN_COLUMNS, RUN_KEY, TRIAL_COLUMNS, TrialStatus
from tunebench.strategies import STRATEGIES

EPOCHS_PER_TRIAL = 3
FAILED_FRACTION = 0.01
BENCHMARKS = {  # name: (classes, typical best validation accuracy)
    "mnist-mlp": (10, 0.93),
    "fer-cnn": (7, 0.45),
}
STAGES = ("load", "tables", "figures", "write")


def sample_space(benchmark: str, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Hyperparameter columns shaped like the real search spaces (NaN where inactive)."""
    if benchmark == "mnist-mlp":
        columns = {f"dropout_{i}": rng.choice([0.1, 0.2, 0.3, 0.4], n) for i in range(1, 5)}
        columns["learning_rate"] = rng.choice([1e-2, 1e-3, 1e-4], n)
        for i, (low, high) in enumerate([(40, 80), (70, 120), (35, 65), (15, 30)], start=1):
            columns[f"units_{i}"] = rng.integers(low, high + 1, n).astype(float)
        return columns
    layers = rng.integers(1, 4, n)
    columns = {"conv_layers": layers.astype(float), "dense_units": rng.choice(np.arange(64, 513, 64), n).astype(float),
               "learning_rate": 10 ** rng.uniform(-5, -2, n)}
    for i in range(1, 4):
        columns[f"filters_{i}"] = np.where(layers >= i, rng.choice([32, 64, 96, 128], n), np.nan)
    return columns


def synthetic_trials(seeds: int, trials: int, rng: np.random.Generator) -> pd.DataFrame:
    """All trials.csv rows, vectorised per benchmark."""
    frames = []
    strategies = list(STRATEGIES)
    for benchmark, (classes, base) in BENCHMARKS.items():
        n = len(strategies) * seeds * trials
        frame = pd.DataFrame({
            "benchmark": benchmark,
            "strategy": np.repeat(strategies, seeds * trials),
            "seed": np.tile(np.repeat(np.arange(seeds), trials), len(strategies)),
            "trial": np.tile(np.arange(1, trials + 1), len(strategies) * seeds),
        })
        strategy_effect = frame["strategy"].map({s: 0.004 * i for i, s in enumerate(strategies)}).to_numpy()
        hyperband = (frame["strategy"] == "hyperband").to_numpy()
        epochs = np.where(hyperband, rng.choice([1, 2, 3], n), EPOCHS_PER_TRIAL)
        failed = rng.random(n) < FAILED_FRACTION
        val = np.clip(base + strategy_effect - rng.gamma(2.0, 0.03, n), 0, 1)
        val[failed] = np.nan
        frame = frame.assign(
            trial_id=[f"{t - 1:04d}" for t in frame["trial"]], parent_trial_id=None,
            status=np.where(failed, TrialStatus.FAILED, TrialStatus.OK), epochs=epochs, initial_epoch=0, epochs_trained=epochs,
            val_accuracy=val, val_f1=val - 0.01, val_loss=1 - val, test_accuracy=val - 0.005 + rng.normal(0, 0.004, n),
            test_f1=val - 0.015, train_seconds=epochs * rng.uniform(1.5, 2.5, n),
            overhead_seconds=rng.uniform(0.001, 0.05, n), training_seed=rng.integers(0, 2**31, n),
        )
        frame.loc[failed, ["test_accuracy", "test_f1"]] = np.nan
        run_groups = frame.groupby(RUN_KEY, sort=False)
        frame["epochs_used"] = run_groups["epochs_trained"].cumsum()
        frame["elapsed_seconds"] = (frame["train_seconds"] + frame["overhead_seconds"]).groupby(
            [frame[c] for c in RUN_KEY], sort=False).cumsum()
        for name, values in sample_space(benchmark, rng, n).items():
            frame[HP_PREFIX + name] = values
        matrices = [json.dumps(rng.integers(0, 50, (classes, classes)).tolist(), separators=(",", ":"))
                    for _ in range(16)]
        frame["test_confusion"] = np.where(failed, None, np.array(matrices, dtype=object)[rng.integers(0, 16, n)])
        frame["error"] = np.where(failed, "RuntimeError: synthetic failure", None)
        frames.append(frame)
    trials_frame = pd.concat(frames, ignore_index=True)
    hp_columns = [c for c in trials_frame.columns if c.startswith(HP_PREFIX)]
    return trials_frame[TRIAL_COLUMNS + hp_columns + ["test_confusion"]]


def runs_from_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """runs.csv rows: the incumbent (best ok val_accuracy, earliest on ties) and the run's costs."""
    groups = trials.groupby(RUN_KEY, sort=False)
    ok = trials[trials["status"] == TrialStatus.OK]
    best = ok.sort_values(["val_accuracy", "trial"], ascending=[False, True]).drop_duplicates(RUN_KEY)
    best = best.set_index(RUN_KEY)
    runs = groups.agg(trials=("trial", "size"), epochs_used=("epochs_used", "last"),
                      overhead_seconds=("overhead_seconds", "sum"), wall_seconds=("elapsed_seconds", "last"))
    runs = runs.join(best[["trial", "val_accuracy", "val_f1", "test_accuracy", "test_f1", "epochs_used",
                           "elapsed_seconds"]].rename(columns={
        "trial": "best_trial", "val_accuracy": "best_val_accuracy", "val_f1": "best_val_f1",
        "epochs_used": "epochs_to_best", "elapsed_seconds": "seconds_to_best"}))
    runs["trials_to_best"] = runs["best_trial"]
    budget = EPOCHS_PER_TRIAL * trials.groupby("benchmark")["trial"].max()
    runs = runs.reset_index()
    runs["budget_epochs"] = runs["benchmark"].map(budget)
    runs["status"] = np.where(runs["epochs_used"] < runs["budget_epochs"], "next_trial_exceeds_budget",
                              "budget_exhausted")
    runs["fidelity"] = "synthetic"
    runs["max_seconds"] = np.nan
    return runs[RUN_COLUMNS]


def synthetic_curves(trials: pd.DataFrame) -> pd.DataFrame:
    """One curves.csv row per trained epoch of every ok trial."""
    ok = trials[trials["status"] == TrialStatus.OK]
    repeats = ok["epochs_trained"].to_numpy(dtype=int)
    curves = ok.loc[ok.index.repeat(repeats), RUN_KEY + ["trial", "val_accuracy", "test_accuracy", "val_f1", "test_f1"]]
    curves["epoch"] = curves.groupby(level=0).cumcount() + 1
    curves = curves.assign(loss=1 - curves["val_accuracy"], accuracy=curves["val_accuracy"] + 0.01,
                           val_loss=1 - curves["val_accuracy"], epoch_seconds=2.0)
    return curves[CURVE_COLUMNS]


def write_directory(directory: Path, seeds: int, trials: int) -> dict[str, int]:
    rng = np.random.default_rng(0)
    trial_rows = synthetic_trials(seeds, trials, rng)
    tables = {"trials": trial_rows, "runs": runs_from_trials(trial_rows), "curves": synthetic_curves(trial_rows)}
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False, float_format="%.10g")
    manifest = {
        "schema_version": SCHEMA_VERSION, "seeds": list(range(seeds)),
        "suite": {"name": "synthetic-100k", "description": "perf/report_100k.py: synthetic results"},
        "budgets": {b: int(v) for b, v in tables["runs"].groupby("benchmark")["budget_epochs"].first().items()},
        "versions": {}, "hardware": {}, "objective": "val_accuracy", "warm_start": {"description": "none"},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return {name: len(frame) for name, frame in tables.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=140)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="copy the results directory and its report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        rows = write_directory(directory, args.seeds, args.trials)
        sizes = {name: (directory / f"{name}.csv").stat().st_size / 1e6 for name in rows}
        print(f"wrote {', '.join(f'{name}.csv {n:,} rows ({sizes[name]:.1f} MB)' for name, n in rows.items())} "
              f"in {time.perf_counter() - started:.1f} s")
        totals, cpu, stages = [], [], {stage: [] for stage in STAGES}
        for repeat in range(args.repeats):
            stage_seconds: dict[str, float] = {}
            started, cpu_started = time.perf_counter(), time.process_time()
            build_report(directory, stage_seconds)
            totals.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            for stage in STAGES:
                stages[stage].append(stage_seconds[stage])
            print(f"run {repeat + 1}: {totals[-1]:.2f} s wall ({cpu[-1]:.2f} s CPU)  "
                  + "  ".join(f"{s} {stage_seconds[s]:.2f}" for s in STAGES))
        print(f"median of {args.repeats}: {statistics.median(totals):.2f} s wall ({statistics.median(cpu):.2f} s CPU)  "
              + "  ".join(f"{s} {statistics.median(stages[s]):.2f}" for s in STAGES))
        if args.keep:
            shutil.copytree(directory, args.keep, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
