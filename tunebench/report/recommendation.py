"""The report's first table: per benchmark, the best strategies at each budget (rows) and
worker count (columns), from :func:`tunebench.report.budgets.budget_recommendations`."""

from __future__ import annotations

import pandas as pd

from tunebench.report.formatting import markdown_table, p_equation
from tunebench.report.ranking import ALPHA, RankTest

NONE_STANDS_OUT = "no strategy stands out"


def recommendation_cell(ranks: RankTest) -> str:
    """``**tpe, grid** (p < 0.001)``, ``no strategy stands out (p = 0.41)`` or ``too few seeds``."""
    if ranks.friedman.too_few:
        return "too few seeds"
    p_text = p_equation(ranks.friedman.p_value)
    if not ranks.ranks_differ:
        return f"{NONE_STANDS_OUT} ({p_text})"
    return f"**{', '.join(ranks.best_group)}** ({p_text})"


def recommendation_markdown(recommendations: pd.DataFrame) -> str:
    """One table per benchmark (rows: budgets, columns: worker counts) and its caption, or
    ``""`` when there is nothing to show."""
    if recommendations.empty:
        return ""
    parts = []
    for benchmark, rows in recommendations.groupby("benchmark", sort=False):
        workers = sorted(rows["workers"].unique())
        header = ["budget (trials' epochs)"] + [f"{w} worker" + ("s" if w > 1 else "") for w in workers]
        table = []
        for budget, at_budget in rows.groupby("budget_trials", sort=True):
            cells = {row.workers: recommendation_cell(row.ranks) for row in at_budget.itertuples()}
            table.append([str(budget)] + [cells.get(w, "–") for w in workers])
        seeds = int(rows["seeds"].min())
        note = "" if rows["fixed_start"].all() else (
            " The model-based strategies' random start grew with this run's budget, so a smaller budget's "
            "answer is that of a run that modelled later than a run of that budget would.")
        seconds = rows["budget_seconds"].dropna()
        if not seconds.empty:
            note += (f" These runs also had {seconds.min():,.0f} simulated seconds (`budget_seconds`) and stopped at "
                     "whichever budget ran out first, so each row answers for a run with both budgets.")
        text = f"**{benchmark}** ({seeds} seed{'s' if seeds != 1 else ''})\n\n" + markdown_table(header, table)
        parts.append(text + (f"\n\n*{note.strip()}*" if note else ""))
    caption = ("*Which strategies to use, by budget and workers. Each cell ranks the strategies by their best "
               "validation accuracy at that budget, within each seed (a run's best among its first trials, in the "
               "order asked, whose epochs fit the budget: with a fixed random start that is exactly what a run of "
               "that budget finds). Bold: the best group, the first strategy and those the Nemenyi critical "
               f"difference cannot tell apart from it, named only when the Friedman test finds the ranks differ "
               f"(p < {ALPHA:g}). A budget of b trials' epochs is b full-fidelity trials' worth, the same for every "
               "strategy. Source: `trials.csv` `val_accuracy`, `epochs_trained`, `trial`.*")
    return caption + "\n\n" + "\n\n".join(parts)


__all__ = ["NONE_STANDS_OUT", "recommendation_cell", "recommendation_markdown"]
