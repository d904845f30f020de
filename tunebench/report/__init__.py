"""The comparison report: ``report.md`` and its figures, from a results directory's CSVs.

The layers of the package, lowest first:

- analysis (pure functions of the CSVs' rows, returning DataFrames and small records):
  :mod:`~tunebench.report.ranking` (rank tests, paired comparisons, the rank across
  benchmarks), :mod:`~tunebench.report.analysis` (per-benchmark summaries and regret),
  :mod:`~tunebench.report.agreement` (replay against live), :mod:`~tunebench.report.chance`,
  :mod:`~tunebench.report.noise`, :mod:`~tunebench.report.audit`;
- text: :mod:`~tunebench.report.formatting` (numbers as text, markdown tables),
  :mod:`~tunebench.report.markdown` (the sections), :mod:`~tunebench.report.reproducibility`;
- figures: :mod:`~tunebench.report.figure_style`, :mod:`~tunebench.report.figures_runs`,
  :mod:`~tunebench.report.figures_detail`, drawn by :mod:`~tunebench.report.figures`;
- :mod:`~tunebench.report.build`: :func:`build_report`, the one entry point.
"""

from tunebench.report.build import REPORT_NAME, build_report

__all__ = ["REPORT_NAME", "build_report"]
