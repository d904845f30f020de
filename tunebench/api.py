"""tunebench from Python: run a suite, load a results folder as DataFrames, write its report.

The command line's three jobs for a notebook or a script, with the same checks, files and
numbers (the command line calls the same functions)::

    import tunebench.api as tb

    results = tb.run("replay", out="results/replay", seeds=3, strategies="tpe,random")
    results.runs.groupby("strategy")["best_val_accuracy"].median()
    tb.report("results/replay")            # results/replay/report.md and figures/
    print("\\n".join(tb.summary("results/replay")))

Bad input raises :class:`tunebench.errors.InputError` (the command line's exit status 2),
with the same message, naming the file or option.
"""

from __future__ import annotations

from pathlib import Path

from tunebench.datasets import resolve_data_dir
from tunebench.report import build_report
from tunebench.report.terminal import summary_lines
from tunebench.results_dir import ResultsData, load_results
from tunebench.runner import run_suite
from tunebench.suite import load_suite
from tunebench.suite_overrides import apply_overrides


def run(suite: str | Path, out: str | Path | None = None, *, seeds: int | str | None = None,
        strategies: str | None = None, benchmarks: str | None = None, budget: int | None = None,
        simulated_workers: int | None = None, parallel_trials: int | None = None,
        budget_seconds: float | None = None, charge_decision_time: bool = False,
        data_dir: str | Path | None = None, parallel_runs: int = 1, overwrite: bool = False) -> ResultsData:
    """Run (or resume) a suite, as ``tunebench run`` does, and load what it wrote.

    Parameters
    ----------
    suite:
        A named suite (``tunebench list``) or the path of a ``.toml`` suite file.
    out:
        The results folder (default ``results/<suite name>``).
    seeds, strategies, benchmarks, budget, simulated_workers, parallel_trials:
        The command line's overrides: ``seeds`` a count (``3``: seeds 0, 1, 2) or the option's
        text (``"0,5,7"``); ``strategies`` and ``benchmarks`` comma-separated names; ``budget``
        epochs per run; the worker counts as for ``--simulated-workers`` and
        ``--parallel-trials``.
    budget_seconds, charge_decision_time:
        Replay benchmarks: a budget in simulated seconds as well as the epochs, and the
        strategy's decision time charged to the simulated clock (``--budget-seconds``,
        ``--charge-decision-time``).
    data_dir:
        Where ``mnist.npz`` and ``fer2013.npz`` are (default: ``$TUNEBENCH_DATA``, as the
        command line); replay benchmarks need none.
    parallel_runs:
        Runs side by side on a local Dask cluster (``--parallel-runs``); 1 runs them in this
        process.
    overwrite:
        Replace results already in ``out`` (refused otherwise, as on the command line).

    Returns
    -------
    ResultsData
        The results folder loaded (``runs``, ``trials``, ``curves`` DataFrames, ``manifest``).
    """
    loaded = load_suite(str(suite))
    loaded = apply_overrides(loaded, seeds=None if seeds is None else str(seeds), strategies=strategies,
                             benchmarks=benchmarks, budget=budget, simulated_workers=simulated_workers,
                             parallel_trials=parallel_trials, budget_seconds=budget_seconds,
                             charge_decision_time=charge_decision_time)
    out_dir = Path(out) if out is not None else Path("results") / loaded.name
    run_suite(loaded, out_dir, resolve_data_dir(None if data_dir is None else str(data_dir)), overwrite=overwrite,
              workers=parallel_runs)
    return load_results(out_dir)


def load(results_dir: str | Path) -> ResultsData:
    """A finished results folder, checked against its manifest's checksums.

    Returns
    -------
    ResultsData
        ``runs`` (one row per run), ``trials`` (one per trial), ``curves`` (one per trial and
        epoch) as DataFrames with the columns of the results schema, and ``manifest`` (a dict).
    """
    return load_results(Path(results_dir))


def report(results_dir: str | Path) -> Path:
    """Write ``report.md`` and ``figures/`` into a results folder; returns the report's path."""
    return build_report(Path(results_dir))[-1]


def summary(results_dir: str | Path) -> list[str]:
    """The lines ``tunebench run`` and ``tunebench report`` end with: per benchmark, the rank
    test's verdict and each strategy's median best validation and test accuracy."""
    return summary_lines(load_results(Path(results_dir)))


__all__ = ["ResultsData", "load", "report", "run", "summary"]
