"""Does replay answer what training gave, on the very configurations a live run trained?

Latest result (2-core AVX-512 EPYC, 2026-12-08, ``results/validation/live``: mnist-mlp, 10
seeds x 6 strategies at 8 trials' epochs): of its 400 full-fidelity trials trained from
scratch, 1 configuration is in the recording (grid search's points are not among the
recording's grid configurations either); replay answers the other 399 with the surrogate
plus seed noise. Live − replay final validation accuracy: mean +0.0027 (95 % bootstrap
interval +0.0009 to +0.0044), median +0.0026, sd 0.018; Spearman 0.960. The offset is about
the same in the top half of the live accuracies (+0.0032) as in the bottom half (+0.0022),
so it is a level offset more than the surrogate's shrinkage towards the mean; it matches
the report's live − replay of the runs' best (+0.001 to +0.007 per strategy). Where it comes
from, by the recording's own figures: training has not drifted (draw 2, recorded with
today's harness, minus draw 1: +0.0002 [-0.0029, +0.0030] over 330 configurations), and the
surrogate, judged held out (5-fold), answers the good configurations low: recorded −
predicted +0.0007 over all, +0.0011 above the median, +0.0017 in the top tenth, where the
strategies search. That is about half the offset; the rest lies within its interval.

Reads a live results folder's ``trials.csv`` (default ``results/validation/live``), asks the
replay twin of its benchmark (``<name>@replay``, as the validate suite sets it) for each
full-fidelity trial that trained from scratch (Hyperband's continuations are left out: a
continuation's answer depends on its parent's), with the trial's own configuration, epochs
and training seed, and compares the last epoch's validation accuracy: live − replay with a
bootstrap interval, by whether the configuration is recorded, by strategy, by half of the
live accuracies, and the Spearman correlation. Then the two checks of where an offset comes
from, on the recording: its second draw minus its first (has training drifted?), and the
surrogate's held-out residual by how good the configuration is (does it answer the good ones
low?).

Usage, from the repository root::

    python -m studies.replay_on_live_configs [--live results/validation/live] [--suite validate]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tunebench.benchmarks.recording_load import load_recording
from tunebench.benchmarks.replay import SUFFIX as REPLAY_SUFFIX, _key
from tunebench.benchmarks.surrogate import TARGETS, curves_of, draws_of, held_out_predictions
from tunebench.from_plan import build_benchmark
from tunebench.places import recording_dir
from tunebench.schema import HP_PREFIX
from tunebench.space import Int
from tunebench.stats import bootstrap_ci
from tunebench.suite import load_suite


def compare(live: pd.DataFrame, benchmark) -> pd.DataFrame:
    """One row per full-fidelity trial of ``live`` trained from scratch: its strategy, whether
    the replay recorded its configuration, and the live and replayed last-epoch validation
    accuracy."""
    columns = [c for c in live.columns if c.startswith(HP_PREFIX) and live[c].notna().any()]
    space = {param.name: param for param in benchmark.space.params}
    rows = []
    fresh = live[(live["status"] == "ok") & (live["initial_epoch"] == 0) & (live["epochs"] == live["epochs"].max())]
    for trial in fresh.itertuples(index=False):
        config = {}
        for column in columns:
            name, value = column[len(HP_PREFIX):], getattr(trial, column)
            config[name] = int(value) if isinstance(space[name], Int) else float(value)  # CSV floats, as asked
        answer = benchmark.evaluate(config, int(trial.epochs), int(trial.training_seed))
        rows.append({"strategy": trial.strategy, "recorded": _key(config) in benchmark.recorded.curves,
                     "live": float(trial.val_accuracy), "replay": answer.curve[-1].val_accuracy})
    frame = pd.DataFrame(rows)
    frame["difference"] = frame["live"] - frame["replay"]
    return frame


def recording_checks(benchmark) -> None:
    """Print the recording's draw 2 − draw 1 and its surrogate's held-out residual by quantile
    of the recorded final validation accuracy."""
    _, table = load_recording(recording_dir(benchmark.recorded.header["benchmark"]))
    space = benchmark.recorded.space
    configs, curves = curves_of(space, table)
    draws = draws_of(space, table)
    column = TARGETS.index("val_accuracy")
    pairs = np.array([d[1, -1, column] - d[0, -1, column] for d in draws if len(d) >= 2])
    if len(pairs):
        low, high = bootstrap_ci(pairs, np.mean, n_resamples=2000, seed=0)
        print(f"the recording's draw 2 - draw 1 ({len(pairs)} configurations): mean {pairs.mean():+.4f} "
              f"[{low:+.4f}, {high:+.4f}]")
    recorded, predicted = held_out_predictions(space, configs, curves, fit_draws=draws,
                                               model=benchmark.recorded.surrogate_model)
    residual = recorded - predicted
    for quantile in (0.0, 0.5, 0.9):
        chosen = recorded >= np.quantile(recorded, quantile)
        print(f"surrogate held out, recorded - predicted, configurations at or above the {quantile:.0%} "
              f"quantile ({chosen.sum()}): mean {residual[chosen].mean():+.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", type=Path, default=Path("results/validation/live"))
    parser.add_argument("--suite", default="validate", help="the suite whose replay twin answers (its settings)")
    args = parser.parse_args(argv)
    live = pd.read_csv(args.live / "trials.csv")
    (name,) = live["benchmark"].unique()
    plan = next(p for p in load_suite(args.suite).benchmarks if p.name == f"{name}{REPLAY_SUFFIX}")
    benchmark = build_benchmark(plan, 0, Path("."))
    frame = compare(live, benchmark)
    low, high = bootstrap_ci(frame["difference"].to_numpy(), np.mean, n_resamples=2000, seed=0)
    print(f"{len(frame)} full-fidelity trials of {args.live} trained from scratch; "
          f"{int(frame['recorded'].sum())} of their configurations recorded")
    print(f"live - replay, last-epoch val accuracy: mean {frame['difference'].mean():+.4f} "
          f"[{low:+.4f}, {high:+.4f}], median {frame['difference'].median():+.4f}, sd {frame['difference'].std():.4f}; "
          f"Spearman {frame[['live', 'replay']].corr('spearman').iloc[0, 1]:.3f}")
    top = frame["live"] > frame["live"].median()
    print(f"top half of the live accuracies: {frame.loc[top, 'difference'].mean():+.4f}; "
          f"bottom half: {frame.loc[~top, 'difference'].mean():+.4f}")
    print(frame.groupby("strategy")["difference"].agg(["count", "mean", "median"]).round(4).to_string())
    recording_checks(benchmark)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
