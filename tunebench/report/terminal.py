"""The few lines a finished ``tunebench run`` or ``tunebench report`` prints: per benchmark,
the rank test's verdict and each strategy's median best validation and test accuracy over
its seeds, best mean rank first (as keras-tuner's ``results_summary()`` closes a search)."""

from __future__ import annotations

from tunebench.report.analysis import benchmark_tables
from tunebench.report.markdown import rank_verdict
from tunebench.results_dir import ResultsData


def summary_lines(data: ResultsData) -> list[str]:
    """The summary of ``data``: a verdict line per benchmark, then a line per strategy.

    The numbers are medians over seeds of runs.csv's ``best_val_accuracy`` and
    ``test_accuracy`` (the incumbent's), so each traces to rows of runs.csv."""
    lines = []
    for tables in benchmark_tables(data):
        runs = data.runs[data.runs["benchmark"] == tables.benchmark]
        medians = runs.groupby("strategy")[["best_val_accuracy", "test_accuracy"]].median()
        lines.append(f"{tables.benchmark} ({tables.seeds} seeds): {rank_verdict(tables)}")
        width = max(len(name) for name in tables.ranking)
        for strategy in tables.ranking:
            val, test = medians.loc[strategy]
            lines.append(f"  {strategy:<{width}}  median best val {val:.4f}  test {test:.4f}")
    return lines


__all__ = ["summary_lines"]
