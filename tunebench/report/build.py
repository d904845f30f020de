"""``tunebench report RESULTS_DIR``: the comparison report, ``report.md`` plus PNG figures.

:func:`build_report` reads only ``runs.csv``, ``trials.csv``, ``curves.csv``,
``manifest.json`` and (when there) ``retrain.csv`` in the results directory, validates them before anything is written
(:class:`tunebench.errors.InputError` on bad input), then writes ``figures/*.png`` and,
last and atomically, ``report.md``, which embeds the figures by relative links.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from tunebench.errors import InputError
from tunebench.files import write_atomically
from tunebench.report.agreement import (
    agreement_headline,
    live_minus_replay,
    live_minus_replay_markdown,
    replay_agreement,
    replay_agreement_markdown,
)
from tunebench.report.analysis import (
    BenchmarkTables,
    aggregate_ranking,
    benchmark_tables,
)
from tunebench.report.audit import audit_markdown
from tunebench.report.budgets import budget_recommendations
from tunebench.report.figures import FigureFile, render_figures
from tunebench.report.markdown import (
    accuracy_markdown,
    aggregate_markdown,
    comparisons_markdown,
    cost_markdown,
    headline_markdown,
    left_out_markdown,
    rank_test_markdown,
    summary_flags_markdown,
)
from tunebench.report.noise import noise_flags_markdown, noise_markdown
from tunebench.report.recommendation import recommendation_markdown
from tunebench.report.reproducibility import reproducibility_markdown
from tunebench.resume import STAGING, partial_progress
from tunebench.results_dir import ResultsData, load_results
from tunebench.stats import MIN_SEEDS_FOR_TEST

REPORT_NAME = "report.md"
FIGURES_DIR = "figures"

HOW_TO_READ = {
    "summary": (
        "The winner of each benchmark is the strategy with the lowest mean rank of its best validation "
        "accuracy across seeds (test numbers never choose anything). *How sure* comes from a paired "
        f"Wilcoxon signed-rank test of the winner against the runner-up over seeds, Holm-adjusted; with fewer "
        f"than {MIN_SEEDS_FOR_TEST} seeds no test is run and the ranking only describes these seeds."
    ),
    "strategies": (
        "One row per strategy, best mean rank first. The IQM (mean of the middle half of the seeds) is robust "
        "to one lucky or unlucky seed; its bootstrap interval shows how much it could move with other seeds. "
        "Costs say how quickly the incumbent was found and what the search cost in time."
    ),
    "comparisons": (
        "Each row pairs two strategies seed by seed. The median difference says *by how much* (accuracy as a "
        "fraction), the rank-biserial correlation *how consistently* (+1: a beat b on every seed), the "
        "Holm p *how likely* a difference this consistent is under no real difference, correcting for the "
        "number of comparisons. A large p is not evidence of equality, only of too little evidence."
    ),
    "noise": (
        "A run's number is one training of one configuration. Training the same configuration again with "
        "another seed gives another number; this section shows how far, beside the differences between "
        "strategies, so that a win smaller than what re-running gives is not read as a better strategy."
    ),
    "figures": (
        "Anytime curves show which strategy is ahead at every budget, not only at the end; flat steps are "
        "trials that did not improve the incumbent. Box plots show every seed as a point. The sensitivity "
        "panels show where in each hyperparameter's range the good trials lie, and which strategies looked "
        "there."
    ),
    "audit": (
        "A fair comparison gives every run of a benchmark the same epoch budget. This table checks each run's "
        "budget, what it spent, and that its trials' charged epochs add up; a flagged run's numbers above are "
        "not on an equal footing."
    ),
    "reproducibility": (
        "What was run, on what, and with which versions (from `manifest.json`). The checksums say whether the "
        "CSVs this report was built from are the ones the run wrote."
    ),
}


def build_report(results_dir: Path, stage_seconds: dict[str, float] | None = None, *,
                 verify: bool = True, other_workers: Sequence[Path] = (),
                 validation: Sequence[Path] = ()) -> list[Path]:
    """Build ``report.md`` and its figures from a results directory.

    Parameters
    ----------
    results_dir:
        A directory written by ``tunebench run`` (runs.csv, trials.csv, curves.csv,
        manifest.json).
    other_workers:
        Results directories of the same benchmarks at other simulated worker counts: they
        add columns to the recommendation table (budgets x workers), nothing else.
    validation:
        Results directories whose runs join this one's for the replay-against-live section
        only (for example ``results/validation/live`` and ``results/validation/replay``); one
        that is not finished yet is named there with its progress instead.
    verify:
        Refuse results whose files do not match their manifest's checksums (default).
    stage_seconds:
        If given, filled with the wall seconds of each stage: ``load``, ``tables``,
        ``figures``, ``write``.

    Returns
    -------
    list of pathlib.Path
        The figures written, then ``report.md``.

    Raises
    ------
    InputError
        A file is missing or malformed; raised before anything is written.
    """
    results_dir = Path(results_dir)
    with _timed("load", stage_seconds):
        data = load_results(results_dir, verify=verify)
        others = [load_results(Path(path), verify=verify) for path in other_workers]
        agreement_runs, unfinished = _agreement_runs(data, validation, verify)
    for path, kind in ((results_dir / FIGURES_DIR, "a folder"), (results_dir / REPORT_NAME, "a file")):
        if path.exists() and path.is_dir() != (kind == "a folder"):
            raise InputError(f"{path} exists and is not {kind}; move it away so that the report can be written")
    with _timed("tables", stage_seconds):
        tables = benchmark_tables(data)
        recommendations = budget_recommendations([data, *others])
    with _timed("figures", stage_seconds):
        figures = render_figures(data, results_dir / FIGURES_DIR)
    with _timed("write", stage_seconds):
        report = results_dir / REPORT_NAME
        agreement = _agreement_markdown(agreement_runs, unfinished)
        write_atomically(report, render_markdown(data, tables, figures, recommendation_markdown(recommendations),
                                                 *agreement))
    return [figure.path for files in figures.values() for figure in files] + [report]


@contextmanager
def _timed(stage: str, sink: dict[str, float] | None) -> Iterator[None]:
    """Record the seconds the block takes as ``sink[stage]`` (when ``sink`` is given)."""
    started = time.perf_counter()
    yield
    if sink is not None:
        sink[stage] = time.perf_counter() - started


def render_markdown(data: ResultsData, tables: Sequence[BenchmarkTables],
                    figures: dict[str, list[FigureFile]], recommendation: str = "", agreement: str | None = None,
                    agreement_line: str = "") -> str:
    """The text of ``report.md``.

    Parameters
    ----------
    data:
        The loaded results.
    tables:
        :func:`tunebench.report.analysis.benchmark_tables`.
    figures:
        :func:`tunebench.report.figures.render_figures`; linked relative to ``data.directory``.
    recommendation:
        :func:`tunebench.report.recommendation.recommendation_markdown`, the first section.
    agreement, agreement_line:
        The replay-against-live section and its first-screen line (:func:`_agreement_markdown`);
        ``None``: both made from ``data.runs`` alone.

    Returns
    -------
    str
        GitHub-flavoured markdown.
    """
    suite = data.suite.get("name", data.directory.name)
    if agreement is None:
        agreement, agreement_line = _agreement_markdown(data.runs, [])
    sections = [
        f"# tunebench report: `{suite}`",
        _preamble(data),
        "## Which strategy, at which budget" if recommendation else "",
        recommendation,
        agreement_line,
        "## Summary",
        HOW_TO_READ["summary"],
        summary_flags_markdown(tables),
        noise_flags_markdown(data),
        left_out_markdown(data),
        headline_markdown(tables),
        aggregate_markdown(aggregate_ranking(tables, data.runs)),
        agreement,
    ]
    for benchmark_table in tables:
        sections += _benchmark_sections(data, benchmark_table, figures.get(benchmark_table.benchmark, []))
    sections += ["## Reproducibility", HOW_TO_READ["reproducibility"], reproducibility_markdown(data)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _agreement_runs(data: ResultsData, validation: Sequence[Path], verify: bool) -> tuple[pd.DataFrame, list[str]]:
    """This folder's runs with those of the finished ``validation`` folders, and a line for
    each unfinished one."""
    frames, unfinished = [data.runs], []
    for path in map(Path, validation):
        if not path.exists():
            unfinished.append(f"{path}: not made yet")
            continue
        if not (path / "runs.csv").is_file() and (path / STAGING).is_dir():
            unfinished.append(f"{path}: not finished yet ({partial_progress(path / STAGING)}); the section will "
                              "read it once it is")
            continue
        frames.append(load_results(path, verify=verify).runs)
    return pd.concat(frames, ignore_index=True), unfinished


def _agreement_markdown(runs: pd.DataFrame, unfinished: list[str]) -> tuple[str, str]:
    """The replay-against-live section (with a line per unfinished validation folder) and its
    first-screen line (:func:`agreement_headline`)."""
    agreement, differences = replay_agreement(runs), live_minus_replay(runs)
    section = replay_agreement_markdown(agreement)
    notes = "\n".join(f"- {line}" for line in unfinished)
    if not section:
        return (f"### Replay against live\n\n{notes}" if notes else ""), ""
    text = "\n\n".join(part for part in (section, live_minus_replay_markdown(differences), notes) if part)
    return text, agreement_headline(agreement, differences)


def _preamble(data: ResultsData) -> str:
    runs = data.runs
    return (f"Built from `runs.csv` ({len(runs):,} runs), `trials.csv` ({len(data.trials):,} trials), "
            f"`curves.csv` ({len(data.curves):,} epochs) and `manifest.json` in this directory: "
            f"{runs['benchmark'].nunique()} benchmark(s), {runs['strategy'].nunique()} strategies, "
            f"{runs['seed'].nunique()} seed(s). Accuracy and F1 are fractions (1.0 = every test image right).")


def _benchmark_sections(data: ResultsData, tables: BenchmarkTables, figures: list[FigureFile]) -> list[str]:
    benchmark = tables.benchmark
    sections = [
        f"## {benchmark}",
        f"Fidelity: {tables.fidelity}.",
        "### Strategies",
        HOW_TO_READ["strategies"],
        accuracy_markdown(tables),
        cost_markdown(tables),
        "### All strategies at once: ranks",
        rank_test_markdown(tables),
        "### Paired comparisons over seeds",
        HOW_TO_READ["comparisons"],
        comparisons_markdown(tables.comparisons),
        "### Training noise: incumbents retrained",
        HOW_TO_READ["noise"],
        noise_markdown(data, benchmark),
        "### Figures",
        HOW_TO_READ["figures"],
    ]
    for figure in figures:
        link = figure.path.relative_to(data.directory).as_posix()
        sections.append(f"#### {figure.title}\n\n![{figure.title}]({link})\n\n*{figure.caption}*")
    sections += ["### Equal-budget audit", HOW_TO_READ["audit"], audit_markdown(tables.audit)]
    return sections
