"""The one reader of a results directory: report, regress, retrain and tracking all use it.

:func:`load_results` reads ``runs.csv``, ``trials.csv``, ``curves.csv``, ``manifest.json`` and,
when present, ``retrain.csv``
(schema :data:`tunebench.SCHEMA_VERSION`) and raises :class:`tunebench.errors.InputError`,
naming the file and, where one is at fault, the column, when a file is missing or
unreadable, a required column is missing, a numeric column holds text, ``runs.csv`` has no
rows, the manifest is not JSON or has another schema version, or a file does not match the
checksum its manifest lists (results being replaced, or edited). Extra columns are kept;
trials with a status other than ``"ok"`` (e.g. ``"failed"`` with NaN metrics) are kept and
left for the report to count.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench import SCHEMA_VERSION
from tunebench.files import sha256_hex
from tunebench.errors import InputError
from tunebench.resume import HEADER, STAGING, read_header
from tunebench.schema import (
    CONFUSION_COLUMN, CURVE_COLUMNS, HP_PREFIX, RESULT_FILES, RETRAIN_COLUMNS, RETRAIN_FILE, RUN_COLUMNS, RUN_KEY,
    SIMULATED_COLUMNS, TEXT_COLUMNS, TRIAL_COLUMNS,
    TrialStatus,
)
from tunebench.strategies import STRATEGIES


@dataclass(frozen=True)
class ResultsData:
    """The validated contents of one results directory.

    Attributes
    ----------
    directory:
        The results directory.
    runs, trials, curves:
        The three CSV tables, numeric columns as floats (NaN where empty).
    manifest:
        The parsed ``manifest.json``.
    retrain:
        ``retrain.csv`` (``tunebench retrain``: incumbents retrained with other training seeds)
        when the directory has one, else ``None``. Its ``manifest_sha256`` column says which
        results it was made from (compare with ``manifest_sha256``).
    """

    directory: Path
    runs: pd.DataFrame
    trials: pd.DataFrame
    curves: pd.DataFrame
    manifest: dict[str, Any]
    manifest_sha256: str = ""
    retrain: pd.DataFrame | None = None

    @property
    def suite(self) -> dict[str, Any]:
        """The manifest's ``suite`` (the suite as run), or an empty dict when it has none."""
        suite = self.manifest.get("suite")
        return suite if isinstance(suite, dict) else {}

    @property
    def benchmarks(self) -> list[str]:
        """Benchmarks in the order they first appear in ``runs.csv``."""
        return list(dict.fromkeys(self.runs["benchmark"]))

    @property
    def strategies(self) -> list[str]:
        """Strategies present in ``runs.csv``: registry order first, then unknown names sorted."""
        return order_strategies(self.runs["strategy"].unique())

    @property
    def hp_columns(self) -> list[str]:
        """The ``hp_<name>`` columns of ``trials.csv``, in file order."""
        return [column for column in self.trials.columns if column.startswith(HP_PREFIX)]

def completed(trials: pd.DataFrame) -> pd.Series:
    """Boolean mask of the trials that count: status ``"ok"`` and a validation accuracy.

    Parameters
    ----------
    trials:
        ``trials.csv`` rows.

    Returns
    -------
    pandas.Series
        True for completed trials (failed ones never count towards a best).
    """
    return (trials["status"] == TrialStatus.OK) & trials["val_accuracy"].notna()


def running_best(trials: pd.DataFrame) -> pd.Series:
    """Each trial's best-so-far: the best ``val_accuracy`` of its run's completed trials up to
    and including it (the one best-so-far of the report, the tracking and the anytime figures).

    Parameters
    ----------
    trials:
        ``trials.csv`` rows of one or more runs (:data:`~tunebench.schema.RUN_KEY`), each run's
        rows in the order trained.

    Returns
    -------
    pandas.Series
        Aligned with ``trials``; NaN before a run's first completed trial. A failed trial
        keeps the best before it.
    """
    codes = trials.groupby(RUN_KEY, sort=False).ngroup()
    accuracy = trials["val_accuracy"].where(completed(trials))
    return accuracy.groupby(codes).cummax().groupby(codes).ffill()


def fidelity_label(runs: pd.DataFrame) -> str:
    """The distinct ``fidelity`` labels of ``runs`` (one benchmark's rows), joined by "; "."""
    return "; ".join(str(label) for label in runs["fidelity"].dropna().unique()) if "fidelity" in runs else ""


def order_strategies(names: Any) -> list[str]:
    """``names`` (unique) in registry order (:data:`tunebench.strategies.STRATEGIES`), unknown names after, sorted."""
    present = set(names)
    known = [name for name in STRATEGIES if name in present]
    return known + sorted(present - set(known))


#: Manifest fields that must be JSON objects when present.
_MANIFEST_OBJECTS = ("suite", "data", "strategies", "files", "versions", "hardware", "budgets", "execution")

#: What marks a folder as holding (or being about to hold) a run's results.
RESULTS_MARKERS = RESULT_FILES + (STAGING,)


def read_suite_name(directory: Path) -> str | None:
    """The suite whose results (``manifest.json``) or interrupted run (``.partial/header.json``)
    ``directory`` holds; ``None`` when neither names one."""
    for read in (lambda: json.loads((Path(directory) / "manifest.json").read_text(encoding="utf-8")),
                 lambda: read_header(Path(directory) / STAGING)):
        try:
            found = read()
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        suite = found.get("suite") if isinstance(found, dict) else None
        if isinstance(suite, dict) and isinstance(suite.get("name"), str):
            return suite["name"]
    return None


def verify_checksums(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse a results folder whose files do not match the sha256 its manifest lists.

    Raises
    ------
    InputError
        Naming the first file that is missing or differs: the folder is being replaced by a
        run that was interrupted (running its command again finishes it), or was edited.
    """
    listed = manifest.get("files")
    if listed is None:
        return  # hand-made results without a checksum list
    if not isinstance(listed, dict):
        raise InputError(f"{directory / 'manifest.json'}: 'files' must map file names to sha256 checksums")
    for name, expected in listed.items():
        path = directory / str(name)
        try:
            actual = sha256_hex(path)
        except OSError:
            actual = None
        if actual != expected:
            state = "is missing" if actual is None else "does not match the sha256 in manifest.json"
            partial = (directory / STAGING / HEADER).exists()
            raise InputError(
                f"{path} {state}: the results in {directory} are not the set their manifest describes "
                + ("(a run replacing them was interrupted: run its command again to finish it)" if partial else
                   "(replaced or edited after the run wrote them)")
                + "; pass --ignore-checksums to read them anyway")


def load_results(directory: Path, *, as_written: bool = False, verify: bool = True) -> ResultsData:
    """Read and validate the four files of a results directory.

    Parameters
    ----------
    directory:
        A directory written by ``tunebench run``.
    as_written:
        Keep every column as pandas reads it and the ``hp_*`` columns as their text (for
        MLflow parameters: ``80``, not ``80.0``), after the same checks; default: required
        numeric columns as float64.
    verify:
        Check every file against the sha256 the manifest lists (:func:`verify_checksums`).

    Returns
    -------
    ResultsData

    Raises
    ------
    InputError
        The message names the file and, where relevant, the column and row.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"results directory {directory} does not exist")
    manifest = load_manifest(directory / "manifest.json")
    if verify:
        verify_checksums(directory, manifest)
    runs = load_table(directory / "runs.csv", RUN_COLUMNS, as_written=as_written)
    if runs.empty:
        raise InputError(f"{directory / 'runs.csv'}: no runs (the file has a header but no rows)")
    _reject_duplicate_runs(runs, directory / "runs.csv")
    trials = load_table(directory / "trials.csv", TRIAL_COLUMNS, as_written=as_written)
    trials = _with_simulated_columns(trials, directory / "trials.csv", as_written)
    curves = load_table(directory / "curves.csv", CURVE_COLUMNS, as_written=as_written)
    sha = sha256_hex(directory / "manifest.json")
    retrain_path = directory / RETRAIN_FILE
    retrain = load_table(retrain_path, RETRAIN_COLUMNS, as_written=as_written) if retrain_path.exists() else None
    return ResultsData(directory=directory, runs=runs, trials=trials, curves=curves, manifest=manifest,
                       manifest_sha256=sha, retrain=retrain)


def _with_simulated_columns(trials: pd.DataFrame, path: Path, as_written: bool) -> pd.DataFrame:
    """``trials`` with :data:`SIMULATED_COLUMNS` checked as numbers where the file has them,
    else added empty (results written before they existed), after :data:`TRIAL_COLUMNS`."""
    for column in SIMULATED_COLUMNS:
        if column not in trials.columns:
            trials.insert(trials.columns.get_loc(TRIAL_COLUMNS[-1]) + 1 + SIMULATED_COLUMNS.index(column), column,
                          math.nan)
        else:
            numbers = _numeric_column(trials[column], path, column)
            if not as_written:
                trials[column] = numbers
    return trials


def load_manifest(path: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` and check its ``schema_version``.

    Parameters
    ----------
    path:
        The manifest file.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    InputError
        Missing or unreadable file, not a JSON object, or a schema version other than
        :data:`tunebench.SCHEMA_VERSION`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if (path.parent / STAGING / HEADER).exists():
            raise InputError(f"{path}: file not found: a run writing results into {path.parent} was interrupted "
                             "(run its command again to finish it)") from None
        raise InputError(f"{path}: file not found (a results directory holds runs.csv, trials.csv, "
                         "curves.csv and manifest.json)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the file ({error})") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(manifest).__name__}")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        found = "no schema_version" if "schema_version" not in manifest else f"schema_version {version!r}"
        raise InputError(f"{path}: {found}; this tunebench reads results schema version {SCHEMA_VERSION}")
    for key in _MANIFEST_OBJECTS:
        if key in manifest and not isinstance(manifest[key], dict):
            raise InputError(f"{path}: {key!r} must be a JSON object, found {type(manifest[key]).__name__}")
    for name, entry in (manifest.get("data") or {}).items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: data[{name!r}] must be a JSON object, found {type(entry).__name__}")
    return manifest


def load_table(path: Path, required: list[str], *, as_written: bool = False) -> pd.DataFrame:
    """Read one CSV, check that ``required`` columns are present and numeric ones are numbers.

    Parameters
    ----------
    path:
        The CSV file.
    required:
        Its required columns (from :mod:`tunebench.results`); those not in
        :data:`TEXT_COLUMNS` must hold numbers or be empty.

    Returns
    -------
    pandas.DataFrame
        The table, required numeric columns as float64, text columns as strings.

    Raises
    ------
    InputError
        Missing or unreadable file, missing column, or text in a numeric column (the
        message gives the file, the column, the line and the value).
    """
    frame = _read_csv(path, hp_as_text=as_written)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        names = ", ".join(repr(column) for column in missing)
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {names}")
    for column in required:
        if column not in TEXT_COLUMNS:
            numbers = _numeric_column(frame[column], path, column)
            if column in ROW_KEYS:
                _check_whole(numbers, path, column)
            if not as_written:
                frame[column] = numbers
        elif column in ROW_KEYS:
            _check_present(frame[column], path, column)
    return frame


#: The columns that say which row is which: never empty, and whole numbers where numeric.
ROW_KEYS = frozenset(RUN_KEY + ["trial", "epoch"])


def _check_present(values: pd.Series, path: Path, column: str) -> None:
    empty = values.isna() | (values.astype(str).str.strip() == "")
    if empty.any():
        row = int(empty.to_numpy().nonzero()[0][0])
        raise InputError(f"{path}: column {column!r} line {row + 2} is empty (every row must name its {column})")


def _check_whole(numbers: pd.Series, path: Path, column: str) -> None:
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (numbers < 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{path}: column {column!r} line {row + 2}: {numbers.iloc[row]!r} is not a whole number "
                         "(every row must name its " + column + ")")


def _read_csv(path: Path, hp_as_text: bool = False) -> pd.DataFrame:
    text_dtypes = {column: "str" for column in TEXT_COLUMNS | {CONFUSION_COLUMN}}
    try:
        if hp_as_text:
            header = pd.read_csv(path, nrows=0).columns
            text_dtypes |= {column: "str" for column in header if column.startswith(HP_PREFIX)}
        return pd.read_csv(path, dtype=text_dtypes, low_memory=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found (a results directory holds runs.csv, trials.csv, "
                         "curves.csv and manifest.json)") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (not even a header row)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as error:
        raise InputError(f"{path}: not a readable CSV file ({error})") from None


def _numeric_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """``values`` as float64; text that is not a number raises an InputError naming the cell."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{path}: column {column!r} line {row + 2}: non-numeric value "
                         f"{values.iloc[row]!r} ({int(bad.sum())} such cell{'s' if bad.sum() > 1 else ''})")
    return numbers


def _reject_duplicate_runs(runs: pd.DataFrame, path: Path) -> None:
    duplicated = runs.duplicated(RUN_KEY, keep=False)
    if duplicated.any():
        lines = [str(i + 2) for i in duplicated.to_numpy().nonzero()[0]]
        first = runs[duplicated].iloc[0]
        key = ", ".join(f"{column}={first[column]}" for column in RUN_KEY)
        raise InputError(f"{path}: run {key} appears more than once (lines {', '.join(lines[:6])}); "
                         "each (benchmark, strategy, seed) must have one row")
