"""The regression gate on tuner performance: the replay suite against a committed baseline.

``tunebench regress`` runs the ``replay`` suite (fixed seeds, no data, no training) and
compares each (benchmark, strategy)'s best validation accuracy with the baseline's, seed by
seed. A strategy *regressed* when a one-sided Wilcoxon signed-rank test over the paired
seeds says that its drop is larger than the stated effect size ``effect`` (the test is run on
``baseline - current - effect``, alternative "greater"), at level ``alpha`` after Holm's
correction over every (benchmark, strategy) pair. Improvements never fail the gate.

The default effect is 0: any consistent drop. ``studies/gate_power.py`` measured why: on
mnist-mlp@replay the whole distance from TPE to random search is about 0.003, so at the
former 0.005 the gate caught none of its injected slips; at 0 it catches a mean drop of
0.0014 in 81 % of draws of 10 seeds, and fails an equally good strategy with other random
numbers in 0.1 % (an unchanged tree replays identically and never fails).

The baseline (``results/baseline/``) is a copy of a replay run's ``runs.csv`` plus
``baseline.json``: the suite, the effect size and a fingerprint of the recordings it was
made from. A baseline made from other recordings is refused (exit 2): replaying another
recording is another benchmark, so the baseline must be made again
(``tunebench regress --update-baseline``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench.datasets import resolve_data_dir
from tunebench.errors import InputError
from tunebench.progress import plural
from tunebench.results_dir import RESULTS_MARKERS, load_results, read_suite_name
from tunebench.runner import run_suite
from tunebench.suite import load_suite
from tunebench.files import write_atomically
from tunebench.stats import MIN_SEEDS_FOR_TEST, holm

DEFAULT_SUITE = "regress"
DEFAULT_EFFECT = 0.0  # any consistent drop (see the module docstring and studies/gate_power.py)
DEFAULT_ALPHA = 0.05
METRIC = "best_val_accuracy"
BASELINE_RUNS, BASELINE_META = "replay-runs.csv", "baseline.json"


@dataclass(frozen=True)
class GateResult:
    """The comparison table (one row per benchmark and strategy) and whether the gate passed."""

    table: pd.DataFrame
    passed: bool


def check_effect(value: Any, where: str) -> float:
    """``value`` as an effect size (an accuracy drop in [0, 1)); :class:`InputError` naming ``where`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 <= value < 1):
        raise InputError(f"{where}: the effect size must be a finite accuracy drop in [0, 1), not {value!r}")
    return float(value)


def check_alpha(value: Any, where: str = "--alpha") -> float:
    """``value`` as a test level in (0, 1); :class:`InputError` naming ``where`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 < value < 1):
        raise InputError(f"{where}: the family-wise level must be a finite number in (0, 1), not {value!r}")
    return float(value)


def recordings_fingerprint(manifest: dict[str, Any]) -> dict[str, Any]:
    """What identifies the recordings behind a replay run: per benchmark, the recording's
    name, size and the digest of its chunks' sha256 (from the run's manifest)."""
    return {name: {k: entry[k] for k in ("recording", "configs_recorded", "chunks_sha256")}
            for name, entry in sorted(manifest["data"].items()) if "recording" in entry}


def drop_test(baseline: np.ndarray, current: np.ndarray, effect: float) -> float:
    """One-sided p-value for "current is worse than baseline by more than ``effect``".

    Wilcoxon signed-rank on ``baseline - current - effect``, alternative "greater"; 1.0 when
    every shifted difference is zero, NaN with fewer than ``MIN_SEEDS_FOR_TEST`` pairs.
    """
    from scipy.stats import wilcoxon

    shifted = np.asarray(baseline, dtype=float) - np.asarray(current, dtype=float) - effect
    shifted = shifted[np.isfinite(shifted)]
    if len(shifted) < MIN_SEEDS_FOR_TEST:
        return float("nan")
    if not np.any(shifted):
        return 1.0
    return float(wilcoxon(shifted, alternative="greater", zero_method="zsplit").pvalue)


def compare(baseline: pd.DataFrame, current: pd.DataFrame, effect: float = DEFAULT_EFFECT,
            alpha: float = DEFAULT_ALPHA) -> GateResult:
    """Compare two runs.csv tables seed by seed on :data:`METRIC`.

    Parameters
    ----------
    baseline, current:
        runs.csv tables (benchmark, strategy, seed, best_val_accuracy, ...).
    effect:
        The drop (in accuracy) that counts as a regression.
    alpha:
        Family-wise level (Holm over every benchmark and strategy).

    Returns
    -------
    GateResult
        ``table`` columns: benchmark, strategy, seeds, baseline_median, current_median,
        median_change (current - baseline, paired), p_value, p_holm, verdict (``regressed``,
        ``ok``, ``improved`` for a median change above +effect, ``missing`` when the strategy is
        absent from one side, ``too few seeds``); ``passed`` is False iff a row regressed or
        went missing, or could not be tested (``too few seeds``): a gate that cannot test
        cannot pass.

    Raises
    ------
    InputError
        ``effect`` or ``alpha`` out of range or not finite.
    """
    effect, alpha = check_effect(effect, "effect"), check_alpha(alpha, "alpha")
    key = ["benchmark", "strategy", "seed"]
    merged = baseline[key + [METRIC]].merge(current[key + [METRIC]], on=key, how="outer",
                                            suffixes=("_baseline", "_current"))
    rows = []
    for (benchmark, strategy), group in merged.groupby(["benchmark", "strategy"], sort=False):
        paired = group.dropna(subset=[f"{METRIC}_baseline", f"{METRIC}_current"])
        base, new = paired[f"{METRIC}_baseline"].to_numpy(), paired[f"{METRIC}_current"].to_numpy()
        rows.append({
            "benchmark": benchmark, "strategy": strategy, "seeds": len(paired),
            "baseline_median": float(np.median(base)) if len(base) else np.nan,
            "current_median": float(np.median(new)) if len(new) else np.nan,
            "median_change": float(np.median(new - base)) if len(base) else np.nan,
            "p_value": drop_test(base, new, effect),
            "missing": len(paired) < len(group),
        })
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy())
    table["verdict"] = [_verdict(row, effect, alpha) for row in table.itertuples()]
    table = table.drop(columns="missing")
    return GateResult(table=table, passed=table["verdict"].isin(["ok", "improved"]).all())


def _verdict(row, effect: float, alpha: float) -> str:
    if row.missing:
        return "missing"
    if row.seeds < MIN_SEEDS_FOR_TEST or not math.isfinite(row.p_holm):
        return "too few seeds"
    if row.p_holm < alpha:
        return "regressed"
    return "improved" if row.median_change > effect else "ok"


def format_table(table: pd.DataFrame) -> str:
    """The comparison as a plain-text table, regressions first."""
    order = {"regressed": 0, "missing": 1, "improved": 2, "too few seeds": 3, "ok": 4}
    shown = table.sort_values(by=["verdict", "benchmark", "strategy"], key=lambda c: c.map(order) if c.name == "verdict" else c)
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def load_baseline(directory: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """``(baseline.json, the baseline's runs)``; :class:`InputError` naming the file if absent or bad.

    Checked: baseline.json is an object whose ``effect`` (if present) is a valid effect
    size; the runs table has the key columns and :data:`METRIC`, one row per (benchmark,
    strategy, seed), integer seeds, and accuracies in [0, 1] (empty for a run without a
    completed trial).
    """
    directory = Path(directory)
    meta_path, runs_path = directory / BASELINE_META, directory / BASELINE_RUNS
    for path in (meta_path, runs_path):
        if not path.is_file():
            raise InputError(f"baseline file {path} does not exist; make it with 'tunebench regress --update-baseline'")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        runs = pd.read_csv(runs_path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"baseline in {directory} cannot be read: {error}") from None
    if not isinstance(meta, dict):
        raise InputError(f"baseline file {meta_path} is not a JSON object")
    if "effect" in meta:
        check_effect(meta["effect"], f"baseline file {meta_path}: effect")
    for column in ("benchmark", "strategy", "seed", METRIC):
        if column not in runs.columns:
            raise InputError(f"baseline file {runs_path}: missing column {column!r}")
    _check_numbers(runs, runs_path)
    duplicated = runs.duplicated(["benchmark", "strategy", "seed"])
    if duplicated.any():
        row = runs[duplicated].iloc[0]
        raise InputError(f"baseline file {runs_path}: run {row.benchmark}/{row.strategy}/seed {row.seed} appears twice")
    return meta, runs


def _check_numbers(runs: pd.DataFrame, path: Path) -> None:
    """Seeds are integers and :data:`METRIC` accuracies in [0, 1] or empty; else :class:`InputError`."""
    seeds = pd.to_numeric(runs["seed"], errors="coerce")
    metric = pd.to_numeric(runs[METRIC], errors="coerce")
    bad_seed = ~np.isfinite(seeds) | (seeds != np.round(seeds))
    bad_metric = (metric.isna() & runs[METRIC].notna()) | ~((metric >= 0) & (metric <= 1) | metric.isna())
    for column, bad in (("seed", bad_seed), (METRIC, bad_metric)):
        if bad.any():
            index = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"baseline file {path}: column {column} row {index + 1} holds {runs[column].iloc[index]!r}"
                             f", not {'an integer seed' if column == 'seed' else 'an accuracy in [0, 1]'}")
    runs["seed"], runs[METRIC] = seeds.astype(int), metric


def save_baseline(run_dir: Path, directory: Path, effect: float) -> None:
    """Make ``directory`` the baseline from the replay run in ``run_dir``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    meta = {"suite": manifest["suite"]["name"], "seeds": manifest["seeds"], "effect": effect,
            "recordings": recordings_fingerprint(manifest), "versions": manifest["versions"],
            "git_commit": manifest["git_commit"], "made": manifest["finished"]}
    write_atomically(directory / BASELINE_RUNS, (Path(run_dir) / "runs.csv").read_bytes())
    write_atomically(directory / BASELINE_META, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def check_same_recordings(meta: dict[str, Any], manifest: dict[str, Any], baseline_dir: Path) -> None:
    """Refuse a baseline made from other recordings than the current run's."""
    current = recordings_fingerprint(manifest)
    if meta.get("recordings") != current:
        raise InputError(f"baseline in {baseline_dir} was made from other recordings ({meta.get('recordings')}; "
                         f"now {current}); make it again with 'tunebench regress --update-baseline'")


def run_gate(suite_name: str, baseline_dir: Path, out_dir: Path, *, effect: float | None = None,
             alpha: float = DEFAULT_ALPHA, update: bool = False, workers: int = 1, overwrite: bool = False) -> bool:
    """``tunebench regress``: run the replay suite into ``out_dir``, then save it as the
    baseline (``update``) or compare it with the baseline and print the table.

    ``out_dir`` is replaced only when it is empty or holds an earlier run of the same suite
    (or ``overwrite``); another suite's results there are refused (:class:`InputError`).
    Every option and the baseline are checked before the suite runs.

    ``workers`` > 1 runs the suite on a local Dask cluster (the same rows, sooner).
    ``effect`` defaults to the baseline's (else :data:`DEFAULT_EFFECT`). Returns whether the
    gate passed; raises :class:`InputError` for a missing, unreadable or mismatched baseline
    (checked before the suite runs where possible).
    """
    suite = load_suite(suite_name)
    alpha = check_alpha(alpha)
    if effect is not None:
        effect = check_effect(effect, "--effect")
    if workers < 1:
        raise InputError(f"--parallel-runs {workers}: expected a positive number of processes")
    meta, baseline = (None, None) if update else load_baseline(baseline_dir)
    if effect is None:
        effect = (meta or {}).get("effect", DEFAULT_EFFECT)
    _check_out_dir(Path(out_dir), suite.name, overwrite)
    outcome = run_suite(suite, out_dir, resolve_data_dir(None), overwrite=True, workers=workers)  # checked above
    print(f"{plural(outcome.runs, 'replay run')} in {outcome.wall_seconds:.1f} s into {out_dir}")
    if update:
        save_baseline(out_dir, baseline_dir, effect)
        print(f"baseline saved to {baseline_dir}")
        return True
    current = load_results(Path(out_dir))
    check_same_recordings(meta, current.manifest, baseline_dir)
    result = compare(baseline, current.runs, effect=effect, alpha=alpha)
    print(f"{METRIC} per seed against {baseline_dir} (regressed: a drop larger than {effect} by a one-sided "
          f"paired Wilcoxon test, Holm-corrected at {alpha}):")
    print(format_table(result.table))
    print("regress: PASSED" if result.passed else "regress: FAILED (a strategy got worse; see above)")
    return result.passed


def _check_out_dir(out_dir: Path, suite_name: str, overwrite: bool) -> None:
    """Refuse to replace results of another suite in ``out_dir`` (or anything unknown) unless ``overwrite``."""
    if overwrite or not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise InputError(f"--out {out_dir} exists and is not a directory")
    found = read_suite_name(out_dir)
    if found == suite_name or not any((out_dir / name).exists() for name in RESULTS_MARKERS):
        return
    what = f"results of suite {found!r}" if found else "files that are not an earlier run of this suite"
    raise InputError(f"--out {out_dir} holds {what}; the gate replaces only its own earlier runs of "
                     f"{suite_name!r} there: choose another --out, or pass --overwrite to replace them")


__all__ = ["DEFAULT_ALPHA", "DEFAULT_EFFECT", "DEFAULT_SUITE", "GateResult", "METRIC",
           "check_alpha", "check_effect", "check_same_recordings", "compare", "drop_test", "format_table", "load_baseline", "run_gate", "save_baseline"]
