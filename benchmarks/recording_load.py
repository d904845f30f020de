"""Reading a recording back: :func:`load_recording` checks ``recording.json`` and every chunk
(its sha256, then what its rows mean) before a replay or a study uses it. Every refusal is an
:class:`~tunebench.errors.InputError` naming the file, and for a chunk the row."""

from __future__ import annotations

import gzip
import io
import json
import math
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from tunebench.errors import InputError
from tunebench.files import sha256_hex
from tunebench.schema import HP_PREFIX
from tunebench.space import SearchSpace

from tunebench.limits import MAX_EPOCHS, check_count
from tunebench.benchmarks.recording import (_CHUNK_NAME, METRIC_COLUMNS, RECORDING_COLUMNS, RECORDING_FILE,
                                            _same_value, chunk_draw)


def load_recording(directory: Path, make_space: Callable[[dict], SearchSpace] | None = None
                   ) -> tuple[dict[str, Any], pd.DataFrame]:
    """``(recording.json, the table of every finished chunk)``; checks each chunk's sha256
    and contents. The table's last column, ``draw``, says which draw each row is of (1 for
    ``chunk-NNNN.csv.gz``; see :func:`mean_over_draws`).

    Raises :class:`InputError` naming the file (and, for a chunk, the row) when a file is
    missing, altered or unreadable, when ``recording.json`` lacks its header or chunk list,
    and when a chunk is not gzipped CSV, lacks a column of :data:`RECORDING_COLUMNS`, holds
    text or a non-finite value where a number is needed, an epoch that is not a whole number
    from 1 to the header's ``max_epochs``, a configuration id outside the chunk's listed
    ``configs`` (or the design), or a configuration without every epoch once and in order.
    With ``make_space`` (the benchmark's space from the header's options) every
    configuration's hyperparameters are checked against that space too. A chunk whose sha256
    was updated after an edit is thus still refused where its rows do not make sense.
    """
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"recording {meta_path} does not exist; make it with 'tunebench record'") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"recording {meta_path} cannot be read: {error}") from None
    _check_meta(meta, meta_path)
    space = make_space(meta["header"]["options"]) if make_space is not None else None
    frames = {}
    for name, chunk in sorted(meta["chunks"].items()):
        frame = _read_chunk(directory / name, chunk["sha256"], meta_path)
        _check_rows(frame, directory / name, meta["header"]["max_epochs"], _id_range(meta, chunk), space)
        frames[name] = frame.assign(draw=chunk_draw(name))
    if not frames:
        raise InputError(f"recording {directory} has no finished chunk yet")
    table = pd.concat(frames.values(), ignore_index=True)
    for name, frame in frames.items():
        if chunk_draw(name) > 1:
            _check_later_draw(frame, table[table["draw"] == 1], directory / name, meta["header"]["max_epochs"])
    return meta, table


def _check_later_draw(frame: pd.DataFrame, first: pd.DataFrame, path: Path, epochs: int) -> None:
    """:class:`InputError` naming ``path`` where a later draw's chunk is not the first draw's
    configurations again: other epochs than the recording's 1 .. ``epochs``, or another origin
    or hyperparameters than the first draw's rows of the same configuration."""
    for config_id, rows in frame.groupby("config_id"):
        if list(rows["epoch"]) != list(range(1, epochs + 1)):
            raise InputError(f"recording chunk {path}: config {config_id} holds epochs {list(rows['epoch'])}, not "
                             f"the recording's 1-{epochs}")
    columns = ["origin"] + [c for c in frame.columns if c.startswith(HP_PREFIX)]
    recorded = first.drop_duplicates("config_id").set_index("config_id")
    for config_id, row in frame.drop_duplicates("config_id").set_index("config_id").iterrows():
        if config_id in recorded.index:
            for column in columns:
                if not _same_value(row[column], recorded.at[config_id, column], 1e-5):  # chunks keep 6 digits
                    raise InputError(f"recording chunk {path}: config {config_id} has {column} {row[column]!r}, "
                                     f"the first draw {recorded.at[config_id, column]!r}")


def _id_range(meta: dict[str, Any], chunk: dict[str, Any]) -> tuple[int, int]:
    """The configuration ids a chunk may hold: its listed ``configs`` range, else the design's."""
    listed = chunk.get("configs")
    if (isinstance(listed, list) and len(listed) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                              for v in listed)):
        return listed[0], listed[1]
    total = meta.get("total_configs")
    return 0, total if isinstance(total, int) and not isinstance(total, bool) and total > 0 else 2**31


def _check_rows(frame: pd.DataFrame, path: Path, max_epochs: int, ids: tuple[int, int],
                space: SearchSpace | None) -> None:
    """:class:`InputError` naming ``path`` and the row where a chunk's rows do not make sense
    (see :func:`load_recording`); the numeric columns are already finite numbers."""
    def refuse(row: int, what: str) -> None:
        raise InputError(f"recording chunk {path}: row {row + 1} {what}")

    for column, low, high in (("epoch", 1, max_epochs), ("config_id", ids[0], ids[1] - 1)):
        values = frame[column].to_numpy(dtype=float)
        bad = (values != np.round(values)) | (values < low) | (values > high)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            refuse(row, f"has {column} {frame[column].iloc[row]!r}, not a whole number from {low} to {high}")
        frame[column] = values.astype(np.int64)
    expected = list(range(1, max_epochs + 1))
    for config_id, rows in frame.groupby("config_id", sort=False):
        if list(rows["epoch"]) != expected:
            refuse(int(rows.index[0]), f"starts config {config_id}, whose rows hold epochs {list(rows['epoch'])}, "
                                        f"not 1-{max_epochs} once each and in order")
    if space is None:
        return
    missing = [HP_PREFIX + name for name in space.names if HP_PREFIX + name not in frame.columns]
    if missing:
        raise InputError(f"recording chunk {path}: missing hyperparameter column(s) {', '.join(missing)}")
    columns = [HP_PREFIX + name for name in space.names]
    distinct = frame.drop_duplicates(["config_id"] + columns)
    twice = distinct["config_id"].duplicated()
    if twice.any():
        row = int(distinct.index[np.flatnonzero(twice.to_numpy())[0]])
        refuse(row, f"gives config {frame.at[row, 'config_id']} other hyperparameters than its earlier rows")
    for row, values in zip(distinct.index, distinct[columns].itertuples(index=False)):
        try:
            raw = dict(zip(space.names, values))
            config = space.active_config(raw)
            if any(isinstance(v, float) and not math.isfinite(v) for v in config.values()):
                raise ValueError(f"configuration {config} holds a value that is not a finite number")
            for name, value in config.items():  # a stepped value is read to its step, not snapped to it
                if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                        not _same_value(float(raw[name]), float(value), 1e-5):
                    raise ValueError(f"{name}={raw[name]!r} is not one of the parameter's values")
            space.validate(config)
        except (ValueError, TypeError) as error:
            refuse(int(row), f"holds a configuration outside the benchmark's space: {error}")


#: What a replay needs from ``recording.json``'s header, and the type of each.
_HEADER_FIELDS = {"benchmark": str, "options": dict, "max_epochs": int, "fidelity": str, "data": dict}
#: Chunk columns that must hold a finite number in every row (every metric: a loss of inf or
#: an epoch time of NaN would reach the surrogate).
_FINITE_COLUMNS = ["config_id", "training_seed"] + METRIC_COLUMNS
#: Chunk columns that are fractions (accuracies and macro-F1s).
_FRACTION_COLUMNS = ["accuracy", "val_accuracy", "val_f1", "test_accuracy", "test_f1"]


def _check_meta(meta: Any, path: Path) -> None:
    if not isinstance(meta, dict):
        raise InputError(f"recording {path} is not a JSON object")
    header = meta.get("header")
    if not isinstance(header, dict):
        raise InputError(f"recording {path} has no header object (the benchmark, options and fidelity recorded)")
    for field, kind in _HEADER_FIELDS.items():
        if not isinstance(header.get(field), kind) or isinstance(header.get(field), bool):
            raise InputError(f"recording {path}: header.{field} must be a {kind.__name__}, "
                             f"not {header.get(field)!r}")
    try:
        check_count(header["max_epochs"], "header.max_epochs", 1, MAX_EPOCHS)
    except ValueError as error:
        raise InputError(f"recording {path}: {error}") from None
    if not isinstance(header["data"].get("class_names"), list):
        raise InputError(f"recording {path}: header.data.class_names must be a list")
    chunks = meta.get("chunks", {})
    if not isinstance(chunks, dict):
        raise InputError(f"recording {path}: chunks must be an object of file name -> {{sha256: ...}}")
    meta.setdefault("chunks", chunks)
    for name, chunk in chunks.items():
        if not _CHUNK_NAME.fullmatch(name):
            raise InputError(f"recording {path}: chunk name {name!r} is not of the form chunk-NNNN.csv.gz "
                              "(or chunk-NNNN.draw-K.csv.gz, K >= 2)")
        if not (isinstance(chunk, dict) and isinstance(chunk.get("sha256"), str)):
            raise InputError(f"recording {path}: chunk {name} has no sha256 text")


def _read_chunk(path: Path, sha256: str, meta_path: Path) -> pd.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"recording chunk {path} cannot be read: {error.strerror or error}") from None
    if sha256_hex(data) != sha256:
        raise InputError(f"recording chunk {path} does not match the sha256 in {meta_path}")
    try:
        table = pd.read_csv(io.BytesIO(gzip.decompress(data)))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as error:
        raise InputError(f"recording chunk {path} is not a gzipped CSV table: {error}") from None
    missing = [column for column in RECORDING_COLUMNS if column not in table.columns]
    if missing:
        raise InputError(f"recording chunk {path}: missing column(s) {', '.join(missing)}")
    for column in METRIC_COLUMNS + ["config_id", "training_seed"]:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna() if column not in _FINITE_COLUMNS else ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"recording chunk {path}: column {column} row {row + 1} holds "
                             f"{table[column].iloc[row]!r}, not a {'finite ' if column in _FINITE_COLUMNS else ''}number")
        table[column] = values
    for column in _FRACTION_COLUMNS:
        outside = ~table[column].between(0.0, 1.0)
        if outside.any():
            row = int(np.flatnonzero(outside.to_numpy())[0])
            raise InputError(f"recording chunk {path}: column {column} row {row + 1} holds {table[column].iloc[row]!r}, "
                             "not a fraction from 0 to 1")
    return table


__all__ = ["load_recording"]
