"""The training-noise floor in the report: incumbents retrained beside the strategies' spread.

``retrain.csv`` (``tunebench retrain``) holds each retrained incumbent's validation accuracy
for several fresh training seeds. From it, per benchmark:

- the **retraining standard deviation**: how far one configuration's validation accuracy
  moves with another training seed, pooled over the distinct configurations retrained
  (``sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1))``), with a 95 % chi-square interval;
- the **noise band of a one-seed difference**: two trainings of one configuration differ by
  more than ``1.96 * sqrt(2) * sd`` one time in 20 (normal errors), so a win on one seed
  smaller than that can be training luck alone;
- the **winner's curse**: how much an incumbent's accuracy as found exceeds the mean of its
  retrainings (a search keeps the luckiest draw it saw);

set beside the spread of the strategies' median best validation accuracy in ``runs.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from tunebench.report.formatting import (
    WARNING,
    fmt_accuracy,
    fmt_count,
    fmt_signed,
    markdown_table,
)
from tunebench.results_dir import ResultsData, order_strategies
from tunebench.schema import HP_PREFIX

#: Two-sided 95 % normal quantile: the band of a one-seed difference is Z95 * sqrt(2) * sd.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class NoiseFloor:
    """One benchmark's retraining noise and the strategies' spread.

    Attributes
    ----------
    benchmark:
        As in ``runs.csv``.
    trained_on:
        The live benchmark the incumbents were retrained on.
    configs, trainings:
        Distinct configurations retrained and trainings that completed.
    sd, sd_low, sd_high:
        Pooled retraining standard deviation of the validation accuracy and its 95 % interval
        (NaN with no configuration trained twice).
    strategy_spread:
        Max minus min of the strategies' median ``best_val_accuracy`` over seeds (``runs.csv``).
    per_strategy:
        Indexed by strategy: ``incumbents``, ``found`` (median accuracy as found),
        ``retrained`` (median of each incumbent's mean over its retrainings), ``curse`` (median
        of found minus retrained mean), ``retrained_test`` (median retrained test accuracy).
    """

    benchmark: str
    trained_on: str
    configs: int
    trainings: int
    sd: float
    sd_low: float
    sd_high: float
    strategy_spread: float
    per_strategy: pd.DataFrame

    @property
    def one_seed_band(self) -> float:
        """Two trainings of one configuration differ by more than this one time in 20."""
        return Z95 * math.sqrt(2) * self.sd

    @property
    def spread_within_noise(self) -> bool:
        """The strategies' whole spread of medians is inside the one-seed noise band."""
        return not math.isnan(self.sd) and self.strategy_spread < self.one_seed_band


def retrain_is_current(data: ResultsData) -> bool:
    """``retrain.csv`` exists and was made from these results (its ``manifest_sha256``)."""
    return data.retrain is not None and bool((data.retrain["manifest_sha256"] == data.manifest_sha256).all())


def pooled_sd(groups: list[np.ndarray]) -> tuple[float, float, float]:
    """Pooled standard deviation of several groups and its 95 % chi-square interval.

    Groups with fewer than two values add nothing. Returns NaNs when no group has two.
    """
    usable = [g for g in groups if len(g) >= 2]
    dof = sum(len(g) - 1 for g in usable)
    if dof == 0:
        return math.nan, math.nan, math.nan
    sum_squares = sum(float(np.sum((g - g.mean()) ** 2)) for g in usable)
    sd = math.sqrt(sum_squares / dof)
    low = math.sqrt(sum_squares / scipy.stats.chi2.ppf(0.975, dof))
    high = math.sqrt(sum_squares / scipy.stats.chi2.ppf(0.025, dof))
    return sd, low, high


def noise_floor(data: ResultsData, benchmark: str) -> NoiseFloor | None:
    """``benchmark``'s :class:`NoiseFloor`, or ``None`` when ``retrain.csv`` has no row for it
    (or is missing, or was made from other results)."""
    if not retrain_is_current(data):
        return None
    rows = data.retrain[data.retrain["benchmark"] == benchmark]
    rows = rows[rows["val_accuracy"].notna()]
    if rows.empty:
        return None
    hp = sorted(column for column in rows.columns if column.startswith(HP_PREFIX))
    identity = ["trained_on", "data_seed", "epochs"] + hp
    distinct = rows.drop_duplicates(identity + ["repeat"])
    groups = [group["val_accuracy"].to_numpy(float)
              for _, group in distinct.groupby(identity, dropna=False, sort=False)]
    sd, low, high = pooled_sd(groups)
    per_incumbent = rows.groupby(["strategy", "seed"]).agg(
        found=("found_val_accuracy", "first"), retrained=("val_accuracy", "mean"),
        retrained_test=("test_accuracy", "mean"))
    per_incumbent["curse"] = per_incumbent["found"] - per_incumbent["retrained"]
    per_strategy = per_incumbent.groupby(level="strategy").agg(
        incumbents=("found", "size"), found=("found", "median"), retrained=("retrained", "median"),
        curse=("curse", "median"), retrained_test=("retrained_test", "median"))
    per_strategy = per_strategy.reindex(order_strategies(per_strategy.index))
    runs = data.runs[data.runs["benchmark"] == benchmark]
    medians = runs.groupby("strategy")["best_val_accuracy"].median()
    return NoiseFloor(benchmark=benchmark, trained_on=str(rows["trained_on"].iloc[0]), configs=len(groups),
                      trainings=len(distinct), sd=sd, sd_low=low, sd_high=high,
                      strategy_spread=float(medians.max() - medians.min()), per_strategy=per_strategy)


def noise_markdown(data: ResultsData, benchmark: str) -> str:
    """The benchmark's "Training noise" section body: a sentence, the table, the caption;
    how to make it when ``retrain.csv`` is missing; a warning when it is from other results."""
    if data.retrain is not None and not retrain_is_current(data):
        return (f"{WARNING} `retrain.csv` in this directory was made from other results (its `manifest_sha256` "
                f"is not this `manifest.json`'s): run `tunebench retrain {data.directory}` again.")
    floor = noise_floor(data, benchmark)
    if floor is None:
        return (f"Not measured: `tunebench retrain {data.directory} --benchmarks {benchmark}` retrains incumbents "
                "with other training seeds and adds their spread here.")
    header = ["strategy", "incumbents", "val accuracy as found (median)", "retrained: mean val accuracy (median)",
              "found − retrained (median)", "retrained: test accuracy (median)"]
    rows = [[strategy, fmt_count(row.incumbents), fmt_accuracy(row.found), fmt_accuracy(row.retrained),
             fmt_signed(row.curse), fmt_accuracy(row.retrained_test)]
            for strategy, row in floor.per_strategy.iterrows()]
    caption = ("*Source: `retrain.csv` (`tunebench retrain`): each incumbent (`runs.csv` `best_trial`) trained "
               f"again from scratch on {floor.trained_on} with fresh training seeds, the same seeds for the same "
               "configuration; `found_val_accuracy` is what the run saw. Found − retrained > 0 is the winner's curse: "
               "a search keeps its luckiest draw. The standard deviation is pooled over the distinct configurations "
               "(95 % chi-square interval).")
    if floor.trained_on != floor.benchmark:
        caption += (" On this replay benchmark the accuracy as found is the recording's answer for a recorded "
                    "configuration and the surrogate's prediction for any other, so found − retrained also holds "
                    "the surrogate's error.")
    caption += "*"
    return "\n\n".join([_verdict(floor), markdown_table(header, rows), caption])


def _verdict(floor: NoiseFloor) -> str:
    if math.isnan(floor.sd):
        return "No configuration was trained twice: no spread to show."
    measured = (f"Retraining one configuration with another seed moves its validation accuracy by a standard "
                f"deviation of **{fmt_accuracy(floor.sd)}** (95 % CI {fmt_accuracy(floor.sd_low)}–"
                f"{fmt_accuracy(floor.sd_high)}; {floor.configs} configurations, {floor.trainings} trainings), so "
                f"two trainings of one configuration differ by more than {fmt_accuracy(floor.one_seed_band)} one "
                f"time in 20. The strategies' median best validation accuracies span "
                f"{fmt_accuracy(floor.strategy_spread)}.")
    if floor.spread_within_noise:
        return (measured + f" {WARNING} That whole spread is inside what retraining alone gives: a win on one "
                "seed by less than the band can be training luck, and only a consistent win over many seeds "
                "(the tests above) says more.")
    return measured + " The spread between strategies is larger than a one-seed retraining difference."


def noise_flags_markdown(data: ResultsData) -> str:
    """Summary lines for benchmarks whose strategies' spread is inside the retraining noise."""
    lines = []
    for benchmark in data.benchmarks:
        floor = noise_floor(data, benchmark)
        if floor is not None and floor.spread_within_noise:
            lines.append(f"- {WARNING} **{benchmark}**: the strategies' median best validation accuracies span "
                         f"{fmt_accuracy(floor.strategy_spread)}, less than two trainings of one configuration "
                         f"differ one time in 20 ({fmt_accuracy(floor.one_seed_band)}; see its Training noise).")
    return "\n".join(lines)


__all__ = ["NoiseFloor", "Z95", "noise_flags_markdown", "noise_floor", "noise_markdown", "pooled_sd",
           "retrain_is_current"]
