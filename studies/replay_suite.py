"""Where does the replay suite's time go, and how much does the Bayesian GP fast path save?

Latest result (``--seeds 2 --strategies bayesian``: 4 Bayesian runs in one process, both ways;
2-core EPYC shared with other work, load average 6-8; 2026-12-07): 367.7 s with keras-tuner's
own oracle, 29.6 s as tunebench runs it: 12.4x wall, 7.9x on the strategies' ask + tell
(200.6 s / 25.4 s; the first variant's "else" also carries the process's warm-up), 80
identical trials. ``--suite regress`` (replay_noise "mean"), same day: 7.3x wall, 5.9x ask +
tell (152.5 s / 26.0 s), 80 identical trials. (2026-12-02, before the per-fit terms and the
batched gradients: 2.26x wall.)

How long the replay suite takes, where the time goes, and what the Bayesian speed-up gives.

Runs the ``replay`` suite (or ``--suite``, or a part of it) in this process, twice, side by side:

- ``scikit-learn GP``: keras-tuner's own ``BayesianOptimizationOracle`` with scikit-learn's own
  ``GaussianProcessRegressor`` (the unpatched library),
- ``tunebench``: as ``tunebench run replay`` runs it
  (:func:`tunebench.strategies.keras_tuner_oracles.bayesian_oracle`: one-row predictions
  without re-validation and with the per-fit terms prepared once,
  :mod:`tunebench.strategies.gp_predict`; the 50 acquisition minimisations side by side, each
  round's points predicted in one call, :mod:`tunebench.strategies.gp_acquisition`).

For each it prints the wall time and the floor: the strategies' own decision time (the sum
of ``overhead_seconds``, ask + tell, over all runs, from ``runs.csv``) against everything else
(replaying the recording, bookkeeping, writing files). The two variants' trials must be
identical; the script checks that and exits 1 if they are not.

Usage: ``python -m studies.replay_suite [--suite replay] [--seeds 3] [--strategies ...] [--benchmarks ...]``, from
the repository root (the recordings are read from results/recordings/). One process, one
worker: the ratio is what matters; the whole suite's time with 2 workers is
``tunebench run replay --workers 2``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd  # noqa: E402

import tunebench.strategies.keras_tuner_oracles as oracles  # noqa: E402
from tunebench.runner import run_suite  # noqa: E402
from tunebench.suite import load_suite  # noqa: E402
from tunebench.suite_overrides import apply_overrides  # noqa: E402

#: Columns that hold measured times: they differ between any two runs.
TIME_COLUMNS = ("train_seconds", "overhead_seconds", "elapsed_seconds")


def stock_bayesian_oracle(keras_tuner, **options):
    """keras-tuner's own ``BayesianOptimizationOracle`` with scikit-learn's own GP: the unpatched library."""
    return keras_tuner.oracles.BayesianOptimizationOracle(**options)


def run_variant(suite, out: Path, unpatched: bool) -> tuple[float, pd.DataFrame, pd.DataFrame]:
    """Wall seconds, trials and runs of ``suite``; ``unpatched`` runs keras-tuner's own Bayesian oracle."""
    patched = oracles.bayesian_oracle
    if unpatched:
        oracles.bayesian_oracle = stock_bayesian_oracle
    try:
        started = time.perf_counter()
        run_suite(suite, out, Path("."), overwrite=True)
        wall = time.perf_counter() - started
    finally:
        oracles.bayesian_oracle = patched
    return wall, pd.read_csv(out / "trials.csv"), pd.read_csv(out / "runs.csv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="replay", help="a named suite of replay benchmarks (default replay; "
                        "regress replays the mean curves, replay_noise = \"mean\")")
    parser.add_argument("--seeds", default="3", help="seed count or list, as for 'tunebench run' (default 3)")
    parser.add_argument("--strategies", default=None, help="comma-separated (default: the suite's six)")
    parser.add_argument("--benchmarks", default=None, help="comma-separated (default: both @replay benchmarks)")
    args = parser.parse_args(argv)
    suite = apply_overrides(load_suite(args.suite), seeds=args.seeds, strategies=args.strategies,
                            benchmarks=args.benchmarks)
    results = {}
    with tempfile.TemporaryDirectory(prefix="tunebench-replay-perf-") as tmp:
        for name, unpatched in (("scikit-learn GP", True), ("tunebench", False)):
            results[name] = run_variant(suite, Path(tmp) / name.replace(" ", "-"), unpatched)
    print(f"{args.suite} suite, seeds {args.seeds}, one process ({len(results['tunebench'][2])} runs)")
    print(f"{'variant':<16} {'wall s':>8} {'ask+tell s':>11} {'else s':>8}   ask+tell by strategy (s)")
    for name, (wall, _, runs) in results.items():
        by_strategy = runs.groupby("strategy")["overhead_seconds"].sum()
        decisions = by_strategy.sum()
        shares = ", ".join(f"{s} {v:.1f}" for s, v in by_strategy.sort_values(ascending=False).items())
        print(f"{name:<16} {wall:8.1f} {decisions:11.1f} {wall - decisions:8.1f}   {shares}")
    (old_wall, old_trials, _), (new_wall, new_trials, _) = results.values()
    print(f"speed-up (scikit-learn GP / tunebench wall): {old_wall / new_wall:.2f}x")
    keep = [c for c in new_trials.columns if c not in TIME_COLUMNS]
    if not new_trials[keep].equals(old_trials[keep]):
        print("trials differ between the two variants: the speed-up changed a suggestion", file=sys.stderr)
        return 1
    print(f"trials identical ({len(new_trials)} rows, every column but {', '.join(TIME_COLUMNS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
