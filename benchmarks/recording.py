"""The recording format: a benchmark's per-epoch curves for a fixed, seeded design of
configurations, and the design itself.

``tunebench record BENCHMARK`` (:mod:`tunebench.record`) trains every configuration of a
design with the live harness and writes it in this format; replay benchmarks
(:mod:`tunebench.benchmarks.replay`) read it. This module knows nothing of either.

The design is a seeded Latin hypercube over the search space (space-filling) plus a seeded
sample of the grid strategy's points. It is a pure function of its parameters (up to a float's
last bits from one CPU to another, which is why a recording keeps it), so a recording is
made in chunks of consecutive configurations, each written atomically as
``chunk-NNNN.csv.gz`` when it is finished: a killed recording loses at most the chunk in
progress, and running the same command again goes on with the next missing chunk.

Layout of ``<out>/<benchmark>/``:

- ``recording.json``: what was recorded (benchmark, options, epochs, data subset and
  sizes, design parameters, versions, hardware), the design's configurations themselves
  (``design_configs``, written when the recording starts: see :func:`recorded_design`) and, per
  finished chunk, its sha256, its wall time and the machine it ran on.
- ``chunk-NNNN.csv.gz``: :data:`RECORDING_COLUMNS`, then one ``hp_<name>`` column per
  parameter (empty where inactive), then ``test_confusion`` (JSON, rows = true class).
- ``chunk-NNNN.draw-K.csv.gz`` (optional, K >= 2): the same configurations trained again,
  the K-th *draw*, with training seed :func:`draw_seed` ``(K, config_id)``; the same columns.

One training seed is one draw of a configuration's outcome: on full-data fer-cnn another
seed moves the final validation accuracy by about half the spread between configurations.
A recording with several draws is served as each configuration's mean over its draws
(:func:`mean_over_draws`): what the configuration gives on average, the target a
surrogate can learn, rather than one seed's luck.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench.errors import InputError
from tunebench.files import sha256_hex, write_atomically
from tunebench.schema import CURVE_COLUMNS, HP_PREFIX, RUN_KEY
from tunebench.space import Config, Float, Int, SearchSpace

RECORDING_FILE = "recording.json"
METRIC_COLUMNS = [c for c in CURVE_COLUMNS if c not in RUN_KEY + ["trial"]]  # epoch, loss, ..., epoch_seconds
RECORDING_COLUMNS = ["config_id", "origin", "training_seed"] + METRIC_COLUMNS


@dataclass(frozen=True)
class DesignSpec:
    """What determines a recording's design (stored in ``recording.json``).

    Attributes
    ----------
    configs:
        Latin-hypercube configurations.
    grid_configs:
        Grid points added (a seeded sample when the grid is larger).
    seed:
        The design's seed.
    chunk_size:
        Configurations per chunk file.
    """

    configs: int
    grid_configs: int
    seed: int
    chunk_size: int


def from_unit(space: SearchSpace, point: np.ndarray) -> Config:
    """Map a point of the unit hypercube (one coordinate per parameter) to a configuration.

    Stepped and integer parameters and choices split [0, 1) into equal cells, one per value;
    continuous floats are linear (or log-linear) in the coordinate. Coordinates of inactive
    parameters are ignored.
    """
    values: dict[str, Any] = {}
    for param, u in zip(space.params, point, strict=True):
        choices = param.values()
        if choices is not None:
            values[param.name] = choices[min(int(u * len(choices)), len(choices) - 1)]
        elif isinstance(param, Float) and param.log:
            low, high = np.log(param.low), np.log(param.high)
            values[param.name] = float(np.exp(low + u * (high - low)))
        else:
            assert isinstance(param, (Float, Int))
            values[param.name] = param.low + u * (param.high - param.low)
    return space.active_config(values)


def latin_hypercube(n: int, dims: int, seed: int) -> np.ndarray:
    """``n`` points in ``[0, 1)^dims``, one in each of ``n`` equal strata of every axis."""
    rng = np.random.default_rng(seed)
    strata = np.stack([rng.permutation(n) for _ in range(dims)], axis=1)
    return (strata + rng.random((n, dims))) / n


def design(space: SearchSpace, spec: DesignSpec) -> list[tuple[str, Config]]:
    """The recording's configurations as ``(origin, config)``, origin ``"lhs"`` or ``"grid"``.

    Latin-hypercube points come first, then the grid sample; duplicates are dropped (the
    first one kept), so the list may be a little shorter than asked.
    """
    points = latin_hypercube(spec.configs, len(space.params), spec.seed)
    grid = space.grid()
    random.Random(spec.seed).shuffle(grid)
    candidates = [("lhs", from_unit(space, p)) for p in points] + [("grid", c) for c in grid[:spec.grid_configs]]
    seen: set[str] = set()
    unique = []
    for origin, config in candidates:
        key = json.dumps(config, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append((origin, config))
    return unique


#: The key of ``recording.json`` that keeps the design's configurations themselves.
DESIGN_CONFIGS = "design_configs"


def recorded_design(meta: dict[str, Any], space: SearchSpace, source: Path | str = RECORDING_FILE
                    ) -> list[tuple[str, Config]]:
    """The configurations of the recording whose ``recording.json`` (``source``) is ``meta``, as
    ``(origin, config)``: those it keeps under :data:`DESIGN_CONFIGS`, else (a recording begun
    before they were kept) the design rebuilt from its parameters.

    Rebuilding is exact on one machine but not across machines: ``np.exp`` of the log-uniform
    parameters can differ in the last bit between CPUs (AVX2 and AVX-512 code in NumPy), and
    so does every seed derived from such a configuration. The kept configurations are what
    the recording trains, wherever it goes on. Raises :class:`InputError` naming ``source``
    where they are not the design's, up to those last bits.
    """
    rebuilt = design(space, DesignSpec(**meta["design"]))
    if DESIGN_CONFIGS not in meta:
        return rebuilt
    kept = meta[DESIGN_CONFIGS]
    if not isinstance(kept, list) or len(kept) != len(rebuilt):
        raise InputError(f"recording {source}: {DESIGN_CONFIGS} must list the design's {len(rebuilt)} "
                         f"configurations as [origin, configuration] pairs")
    for index, (entry, (origin, config)) in enumerate(zip(kept, rebuilt)):
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == origin and isinstance(entry[1], dict)
                and _same_config(entry[1], config)):
            raise InputError(f"recording {source}: {DESIGN_CONFIGS}[{index}] is {entry!r}, not the design's "
                             f"{[origin, config]!r} (nor the same up to the last bits)")
    return [(origin, dict(config)) for origin, config in kept]


def _same_config(kept: dict[str, Any], rebuilt: Config) -> bool:
    """The same parameters and values, floats within a relative 1e-9."""
    return kept.keys() == rebuilt.keys() and all(_same_value(kept[name], value, 1e-9)
                                                 for name, value in rebuilt.items())


def _same_value(a: Any, b: Any, rel_tol: float) -> bool:
    """Equal, both empty (NaN or None), or, where either is a float, within ``rel_tol``."""
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    numbers = all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in (a, b))
    if numbers and any(isinstance(x, (float, np.floating)) for x in (a, b)):
        return math.isclose(float(a), float(b), rel_tol=rel_tol)
    return a == b


def chunk_path(directory: Path, index: int, draw: int = 1) -> Path:
    """Chunk ``index`` of draw ``draw``: ``chunk-NNNN.csv.gz`` for the first draw,
    ``chunk-NNNN.draw-K.csv.gz`` for draw K >= 2."""
    suffix = "" if draw == 1 else f".draw-{draw}"
    return Path(directory) / f"chunk-{index:04d}{suffix}.csv.gz"


def chunk_draw(name: str) -> int:
    """The draw a chunk file name (:func:`chunk_path`) belongs to."""
    found = _CHUNK_NAME.fullmatch(name)
    if not found:
        raise ValueError(f"{name!r} is not a chunk file name")
    return int(found.group(1) or 1)


#: The first training seed of draw 2 (:func:`draw_seed`); fixed, since committed draws were trained with it.
DRAW_SEED_BASE = 7000
#: How far apart the training seeds of two draws start: designs have fewer configurations.
DRAW_SEED_STRIDE = 100_000


def draw_seed(draw: int, config_id: int) -> int:
    """The training seed of configuration ``config_id`` in draw ``draw`` >= 2:
    ``7000 + 100000 * (draw - 2) + config_id``. (Draw 1 trains with the seed a run with the
    recording's seed would: ``recording.json``'s ``header.training_seed``.)"""
    if draw < 2:
        raise ValueError(f"draw {draw}: draw 1 trains with the run's seeds, later draws are 2, 3, ...")
    if not 0 <= config_id < DRAW_SEED_STRIDE:
        raise ValueError(f"config_id {config_id}: draws take designs of fewer than {DRAW_SEED_STRIDE} configurations")
    return DRAW_SEED_BASE + DRAW_SEED_STRIDE * (draw - 2) + config_id


def draws_phrase(counts: Any) -> str:
    """``"the mean over draws (draw 1: 56, draw 2: 14 configurations)"`` for :func:`draw_counts`
    of more than one draw; ``""`` for one draw (or none given)."""
    if not isinstance(counts, dict) or len(counts) <= 1:
        return ""
    listed = ", ".join(f"draw {draw}: {count}" for draw, count in sorted(counts.items(), key=lambda kv: int(kv[0])))
    return f"the mean over draws ({listed} configurations)"


#: The chunk columns averaged over draws (:func:`mean_over_draws`); the others are the first
#: draw's, ``epoch_seconds`` among them: a later draw may have trained on other hardware.
AVERAGED_COLUMNS = [c for c in METRIC_COLUMNS if c not in ("epoch", "epoch_seconds")]


def mean_over_draws(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (configuration, epoch): the metrics of :data:`AVERAGED_COLUMNS` averaged
    over the configuration's draws, every other column (origin, training seed,
    hyperparameters, epoch seconds, test confusion) from its first draw present, and
    ``draws``, how many draws the mean is of.

    ``table`` is :func:`load_recording`'s (with its ``draw`` column); a table without
    ``draw`` is one draw. Rows come out sorted by configuration and epoch. The test
    confusion stays one draw's: its accuracy is that draw's, not the mean's.
    """
    table = table.assign(draw=table["draw"] if "draw" in table.columns else 1)
    table = table.sort_values(["config_id", "epoch", "draw"], kind="stable")
    keys = [table["config_id"], table["epoch"]]
    first = table.drop_duplicates(["config_id", "epoch"]).set_index(["config_id", "epoch"])
    means = table.groupby(keys, sort=True)[AVERAGED_COLUMNS].mean()
    first[AVERAGED_COLUMNS] = means
    first["draws"] = table.groupby(keys, sort=True)["draw"].nunique()
    return first.reset_index()[list(table.columns) + ["draws"]].drop(columns="draw")


def draw_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many configurations each draw of :func:`load_recording`'s ``table`` holds, as
    ``{"1": 56, "2": 14}`` (``{"1": n}`` for a table without draws)."""
    if "draw" not in table.columns:
        return {"1": int(table["config_id"].nunique())}
    counts = table.groupby("draw")["config_id"].nunique()
    return {str(draw): int(count) for draw, count in counts.items()}


def rows_for(config_id: int, origin: str, config: Config, training_seed: int, curve, confusions) -> list[dict]:
    """The table rows of one recorded configuration (one per epoch)."""
    hp = {HP_PREFIX + name: value for name, value in config.items()}
    return [
        {"config_id": config_id, "origin": origin, "training_seed": training_seed, **asdict(point), **hp,
         "test_confusion": json.dumps(confusion, separators=(",", ":"))}
        for point, confusion in zip(curve, confusions, strict=True)
    ]


def write_chunk(path: Path, rows: list[dict], space: SearchSpace) -> str:
    """Write a chunk atomically as gzipped CSV; returns its sha256."""
    columns = RECORDING_COLUMNS + [HP_PREFIX + n for n in space.names] + ["test_confusion"]
    text = pd.DataFrame(rows, columns=columns).to_csv(index=False, float_format="%.6g")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    data = buffer.getvalue()
    write_atomically(path, data)
    return sha256_hex(data)


_CHUNK_NAME = re.compile(r"chunk-[0-9]{4,}(?:\.draw-([2-9]|[1-9][0-9]+))?\.csv\.gz")


__all__ = ["AVERAGED_COLUMNS", "DESIGN_CONFIGS", "DRAW_SEED_BASE", "DRAW_SEED_STRIDE", "DesignSpec", "METRIC_COLUMNS",
           "RECORDING_COLUMNS", "RECORDING_FILE", "chunk_draw", "chunk_path", "design", "draw_counts", "draw_seed", "draws_phrase",
           "from_unit", "latin_hypercube", "mean_over_draws", "recorded_design", "rows_for",
           "write_chunk"]
