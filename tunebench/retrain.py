"""``tunebench retrain RESULTS_DIR``: the training-noise floor of a comparison.

A run's result is its incumbent's validation accuracy, one training of one configuration
with one seed. Training the same configuration again with another seed gives another
number; if strategies differ by less than that, a "win" may be training noise. This module
retrains incumbents with fresh training seeds and writes ``retrain.csv`` beside the results
(:data:`tunebench.schema.RETRAIN_COLUMNS`), which the report shows beside the differences
between strategies (:mod:`tunebench.report.noise`).

Which incumbents: per benchmark and strategy, those of the runs with the ``runs_per_strategy``
lowest seeds (paired: the same seeds for every strategy). Each is the run's ``best_trial``
configuration, trained from scratch to that trial's epochs, ``repeats`` times, with
training seeds derived from the configuration and the repeat (so the same configuration
found by two strategies gets the same retrainings, done once).

Where it trains: a live benchmark's incumbents on the run's own data (the suite's plan and
the run seed's split, from ``manifest.json``); a replay benchmark's on the live benchmark it
was recorded from, with the recording's options, data, epochs and precision. The retraining
is live Keras training: a full-data fer-cnn incumbent costs minutes per epoch on a CPU.

``retrain.csv`` is rewritten atomically after each training; running the same command again
goes on where it stopped (rows made from other results, per ``manifest_sha256``, are
discarded with a message).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.base import TrialFailed
from tunebench.places import recording_dir
from tunebench.errors import InputError
from tunebench.files import write_atomically
from tunebench.results_dir import ResultsData, load_results
from tunebench.from_plan import load_run_data, make_benchmark
from tunebench.schema import HP_PREFIX, RETRAIN_COLUMNS, RETRAIN_FILE
from tunebench.seeding import derive_seed
from tunebench.space import Config, SearchSpace
from tunebench.suite import BenchmarkPlan

#: Default incumbents retrained per benchmark and strategy, and trainings of each.
RUNS_PER_STRATEGY = 2
REPEATS = 3


@dataclass(frozen=True)
class Incumbent:
    """The configuration a run ended with (``runs.csv``'s ``best_trial`` in ``trials.csv``)."""

    benchmark: str
    strategy: str
    seed: int
    trial: int
    config: Config
    epochs: int
    found_val_accuracy: float


@dataclass(frozen=True)
class Twin:
    """Where a benchmark's incumbents are retrained: a live plan and the data seed of its
    split (``None``: each run's own seed)."""

    plan: BenchmarkPlan
    data_seed: int | None


def live_twin(data: ResultsData, benchmark: str) -> Twin:
    """The live plan that retrains ``benchmark``'s incumbents.

    Raises
    ------
    InputError
        The benchmark has neither a dataset nor a recording of a live benchmark (a plug-in
        that brings its own answers), or the manifest or recording lacks what is needed.
    """
    spec = get_benchmark_spec(benchmark)
    if spec.recording:
        path = recording_dir(spec.recording) / "recording.json"
        try:
            header = json.loads(path.read_text(encoding="utf-8"))["header"]
            plan = BenchmarkPlan(name=header["benchmark"], max_epochs=int(header["max_epochs"]), trials=1,
                                 budget_epochs=int(header["max_epochs"]), batch_size=int(header["batch_size"]),
                                 subset=header.get("subset"), options=dict(header["options"]),
                                 precision=header.get("precision", "float32"))
            return Twin(plan, int(header["seed"]))
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{benchmark}: cannot read the recording header in {path} ({error!r})") from None
    if not spec.dataset:
        raise InputError(f"{benchmark} has no dataset and no recording of a live benchmark: nothing to retrain on")
    entries = [entry for entry in data.suite.get("benchmarks", []) if entry.get("name") == benchmark]
    if not entries:
        raise InputError(f"{data.directory / 'manifest.json'}: the suite lists no benchmark {benchmark!r}")
    known = {f.name for f in fields(BenchmarkPlan)}
    entry = {key: value for key, value in entries[0].items() if key in known}
    entry["precision"] = entries[0].get("resolved_precision", entry.get("precision", "float32"))
    entry["seeds"] = None
    return Twin(BenchmarkPlan(**entry), None)


def incumbents(data: ResultsData, benchmark: str, space: SearchSpace, runs_per_strategy: int) -> list[Incumbent]:
    """Each strategy's incumbents on ``benchmark`` from its runs with the lowest seeds.

    Runs without a completed trial are skipped.
    """
    runs = data.runs[(data.runs["benchmark"] == benchmark) & data.runs["best_trial"].notna()]
    seeds = sorted(runs["seed"].unique())[:runs_per_strategy]
    trials = data.trials.set_index(["benchmark", "strategy", "seed", "trial"]).sort_index()
    found = []
    for strategy in data.strategies:
        for run in runs[(runs["strategy"] == strategy) & runs["seed"].isin(seeds)].sort_values("seed").itertuples():
            key = (benchmark, strategy, run.seed, run.best_trial)
            if key not in trials.index:
                raise InputError(f"{data.directory / 'trials.csv'}: no trial {int(run.best_trial)} of "
                                 f"{benchmark}/{strategy}/seed {int(run.seed)}, its run's best_trial")
            row = trials.loc[key]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            # active_config reads only the active parameters: the empty cells of inactive ones are never used
            config = space.active_config({name: row.get(HP_PREFIX + name) for name in space.names})
            found.append(Incumbent(benchmark, strategy, int(run.seed), int(run.best_trial), config,
                                   int(row["epochs"]), float(run.best_val_accuracy)))
    return found


def retraining_seed(trained_on: str, data_seed: int, config: Config, epochs: int, repeat: int) -> int:
    """The training seed of one retraining: the same for the same configuration wherever found."""
    return derive_seed("retrain", trained_on, data_seed, config, epochs, repeat)


def retrain(results_dir: Path, data_dir: Path, *, benchmarks: Sequence[str] | None = None,
            runs_per_strategy: int = RUNS_PER_STRATEGY, repeats: int = REPEATS,
            on_start: Callable[[int, int], None] | None = None,
            on_done: Callable[[int, int, dict[str, Any]], None] | None = None) -> Path:
    """Retrain the incumbents of ``results_dir`` and write its ``retrain.csv``.

    Parameters
    ----------
    results_dir:
        A finished results directory (``tunebench run``).
    data_dir:
        The datasets' folder.
    benchmarks:
        Only these (default: every benchmark of the results).
    runs_per_strategy, repeats:
        Incumbents per strategy (the lowest seeds) and trainings of each (at least 2).
    on_start:
        Called once with ``(trainings total, trainings an earlier call already did)`` when
        the options, results and earlier rows are checked, before the first training (which
        can take many minutes): what a progress line needs.
    on_done:
        Called with ``(trainings done, trainings total, row)`` after each training.

    Returns
    -------
    Path
        ``retrain.csv``.

    Raises
    ------
    InputError
        A bad option, results or data (before anything is trained or written).
    """
    if runs_per_strategy < 1:
        raise InputError(f"--runs-per-strategy must be at least 1, got {runs_per_strategy}")
    if repeats < 2:
        raise InputError(f"--repeats must be at least 2 (a spread needs two trainings), got {repeats}")
    data = load_results(Path(results_dir))
    names = list(benchmarks) if benchmarks else data.benchmarks
    unknown = [name for name in names if name not in data.benchmarks]
    if unknown:
        raise InputError(f"--benchmarks {', '.join(unknown)}: not in {data.directory / 'runs.csv'} "
                         f"(it has {', '.join(data.benchmarks)})")
    work = []  # (twin, incumbent, data seed, repeat)
    for name in names:
        twin = live_twin(data, name)
        space = get_benchmark_spec(twin.plan.name).make_space(twin.plan.options)
        for incumbent in incumbents(data, name, space, runs_per_strategy):
            data_seed = incumbent.seed if twin.data_seed is None else twin.data_seed
            work += [(twin, incumbent, data_seed, repeat) for repeat in range(1, repeats + 1)]
    path = Path(results_dir) / RETRAIN_FILE
    rows = _earlier_rows(data, path)
    done = {_row_key(row) for row in rows}
    trained = {_training_key(row): row for row in rows}
    if on_start:
        on_start(len(work), sum(_work_key(incumbent, repeat) in done for _, incumbent, _, repeat in work))
    benchmarks_built: dict[tuple[str, int], Any] = {}
    for index, (twin, incumbent, data_seed, repeat) in enumerate(work, start=1):
        key = _work_key(incumbent, repeat)
        if key in done:
            continue
        seed = retraining_seed(twin.plan.name, data_seed, incumbent.config, incumbent.epochs, repeat)
        training = (twin.plan.name, data_seed, json.dumps(incumbent.config, sort_keys=True), incumbent.epochs, seed)
        if training in trained:
            result = {column: trained[training][column] for column in _RESULT_COLUMNS}
        else:
            benchmark = benchmarks_built.get((twin.plan.name, data_seed))
            if benchmark is None:
                splits = load_run_data(twin.plan, data_dir, data_seed)
                benchmark = make_benchmark(get_benchmark_spec(twin.plan.name), splits, twin.plan)
                benchmarks_built = {(twin.plan.name, data_seed): benchmark}  # one dataset in memory at a time
            result = _train(benchmark, incumbent, seed)
        row = {"benchmark": incumbent.benchmark, "strategy": incumbent.strategy, "seed": incumbent.seed,
               "trial": incumbent.trial, "found_val_accuracy": incumbent.found_val_accuracy,
               "trained_on": twin.plan.name, "data_seed": data_seed, "epochs": incumbent.epochs, "repeat": repeat,
               "training_seed": seed, **result, "manifest_sha256": data.manifest_sha256,
               **{HP_PREFIX + name: value for name, value in incumbent.config.items()}}
        rows.append(row)
        done.add(key)
        trained[_training_key(row)] = row
        _write(path, rows)
        if on_done:
            on_done(index, len(work), row)
    if not path.exists():
        _write(path, rows)
    return path


_RESULT_COLUMNS = ("val_accuracy", "val_f1", "test_accuracy", "test_f1", "seconds")


def _train(benchmark, incumbent: Incumbent, seed: int) -> dict[str, float]:
    """One training from scratch; a failed one gives NaN metrics (it still counts as tried)."""
    started = time.perf_counter()
    try:
        last = benchmark.evaluate(incumbent.config, incumbent.epochs, seed).curve[-1]
        metrics = {"val_accuracy": last.val_accuracy, "val_f1": last.val_f1, "test_accuracy": last.test_accuracy,
                   "test_f1": last.test_f1}
    except TrialFailed:
        metrics = dict.fromkeys(("val_accuracy", "val_f1", "test_accuracy", "test_f1"), float("nan"))
    return metrics | {"seconds": round(time.perf_counter() - started, 2)}


def _row_key(row: dict[str, Any]) -> tuple:
    return row["benchmark"], row["strategy"], int(row["seed"]), int(row["repeat"])


def _work_key(incumbent: Incumbent, repeat: int) -> tuple:
    """:func:`_row_key` of the row that retraining ``incumbent`` for ``repeat`` writes."""
    return incumbent.benchmark, incumbent.strategy, incumbent.seed, repeat


def _training_key(row: dict[str, Any]) -> tuple:
    config = {column[len(HP_PREFIX):]: value for column, value in row.items()
              if column.startswith(HP_PREFIX) and not pd.isna(value)}
    return row["trained_on"], int(row["data_seed"]), json.dumps(config, sort_keys=True), int(row["epochs"]), \
        int(row["training_seed"])


def _earlier_rows(data: ResultsData, path: Path) -> list[dict[str, Any]]:
    """The rows an earlier, interrupted call wrote for these same results."""
    if data.retrain is None:
        return []
    same = data.retrain["manifest_sha256"] == data.manifest_sha256
    if not same.all():
        print(f"tunebench: {path} was made from other results (manifest.json differs); starting it again")
        return []
    return [{key: value for key, value in row.items() if not (key.startswith(HP_PREFIX) and pd.isna(value))}
            for row in data.retrain.to_dict("records")]


#: retrain.csv's whole-number columns (written without a decimal point).
_WHOLE_COLUMNS = ("seed", "trial", "data_seed", "epochs", "repeat", "training_seed")


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    frame = frame.astype({column: "int64" for column in _WHOLE_COLUMNS})
    hp = sorted(column for column in frame.columns if column.startswith(HP_PREFIX))
    write_atomically(path, frame.reindex(columns=RETRAIN_COLUMNS + hp).to_csv(index=False))


__all__ = ["Incumbent", "REPEATS", "RUNS_PER_STRATEGY", "Twin", "incumbents", "live_twin", "retrain",
           "retraining_seed"]
