"""How the report writes numbers and tables: one format per kind of number, shared by every
report module, so that the same quantity reads the same everywhere."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import pandas as pd

#: Marks a flagged row or a warning line.
WARNING = "⚠"
#: Marks the winner (or best group) of a benchmark.
WINNER = "★"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table; ``|`` in cells is escaped.

    Parameters
    ----------
    header:
        Column titles.
    rows:
        Cells, already formatted (converted with ``str``).

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header))] + [line(row) for row in rows])


def fmt_accuracy(value: float) -> str:
    """An accuracy or F1 as a fraction with 4 decimals; ``–`` for NaN."""
    return "–" if pd.isna(value) else f"{value:.4f}"


def fmt_count(value: float) -> str:
    """A count or a mean of counts: whole numbers without decimals, else one decimal."""
    if pd.isna(value):
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def fmt_seconds(value: float) -> str:
    """Seconds: one decimal from 1 s up, two significant digits below."""
    if pd.isna(value):
        return "–"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"


def fmt_p(value: float) -> str:
    """A p-value with 3 significant digits (``0.0625``, ``0.188``, ``1.00``); ``< 0.001`` below."""
    if pd.isna(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:#.3g}"


def p_equation(value: float) -> str:
    """``p = 0.0625`` or ``p < 0.001``."""
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_signed(value: float) -> str:
    """A difference with its sign and 4 decimals."""
    return "–" if pd.isna(value) else f"{value + 0.0:+.4f}"  # + 0.0 turns -0.0 into 0.0


def fmt_mean_std(mean: float, std: float) -> str:
    """``mean ± std`` (``mean ± –`` with one seed, ``–`` without a value)."""
    return "–" if pd.isna(mean) else f"{fmt_accuracy(mean)} ± {fmt_accuracy(std)}"


def fmt_regret(value: float, low: float, high: float) -> str:
    """``0.42 [0.10, 0.80]``; ``–`` when unknown."""
    if pd.isna(value):
        return "–"
    return f"{value + 0.0:.2f} [{low + 0.0:.2f}, {high + 0.0:.2f}]"


def fmt_iqm_ci(value: float, low: float, high: float, seeds: int) -> str:
    """``IQM [low, high]``; the interval is left out with fewer than 2 seeds."""
    if seeds < 2:
        return fmt_accuracy(value)
    return f"{fmt_accuracy(value)} [{fmt_accuracy(low)}, {fmt_accuracy(high)}]"


__all__ = ["WARNING", "WINNER", "fmt_accuracy", "fmt_count", "fmt_iqm_ci", "fmt_mean_std", "fmt_p", "p_equation", "fmt_regret",
           "fmt_seconds", "fmt_signed", "markdown_table"]
