"""The recording format: a benchmark's per-epoch curves for a fixed, seeded design of
configurations, and the design itself.

``tunebench record BENCHMARK`` (:mod:`tunebench.record`) trains every configuration of a
design with the live harness and writes it in this format; replay benchmarks
(:mod:`tunebench.benchmarks.replay`) read it. This module knows nothing of either.

The design is a seeded Latin hypercube over the search space (space-filling) plus a seeded
sample of the grid strategy's points. It is a pure function of its parameters, so a
recording is made in chunks of consecutive configurations, each written atomically as
``chunk-NNNN.csv.gz`` when it is finished: a killed recording loses at most the chunk in
progress, and running the same command again goes on with the next missing chunk.

Layout of ``<out>/<benchmark>/``:

- ``recording.json``: what was recorded (benchmark, options, epochs, data subset and
  sizes, design parameters, versions, hardware) and, per finished chunk, its sha256, its
  wall time and the machine it ran on.
- ``chunk-NNNN.csv.gz``: :data:`RECORDING_COLUMNS`, then one ``hp_<name>`` column per
  parameter (empty where inactive), then ``test_confusion`` (JSON, rows = true class).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench.errors import InputError
from tunebench.files import write_atomically
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


def chunk_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"chunk-{index:04d}.csv.gz"


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
    return hashlib.sha256(data).hexdigest()


def load_recording(directory: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """``(recording.json, the table of every finished chunk)``; checks each chunk's sha256.

    Raises :class:`InputError` naming the file when a file is missing, altered or unreadable.
    """
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"recording {meta_path} does not exist; make it with 'tunebench record'") from None
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"recording {meta_path} cannot be read: {error}") from None
    frames = []
    for name, chunk in sorted(meta.get("chunks", {}).items()):
        path = directory / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputError(f"recording chunk {path} cannot be read: {error.strerror or error}") from None
        if hashlib.sha256(data).hexdigest() != chunk["sha256"]:
            raise InputError(f"recording chunk {path} does not match the sha256 in {meta_path}")
        frames.append(pd.read_csv(io.BytesIO(gzip.decompress(data))))
    if not frames:
        raise InputError(f"recording {directory} has no finished chunk yet")
    return meta, pd.concat(frames, ignore_index=True)


__all__ = ["DesignSpec", "METRIC_COLUMNS", "RECORDING_COLUMNS", "RECORDING_FILE", "chunk_path", "design", "from_unit",
           "latin_hypercube", "load_recording", "rows_for", "write_chunk"]
