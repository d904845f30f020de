"""Recordings: a benchmark's per-epoch curves for a fixed, seeded design of configurations.

``tunebench record BENCHMARK`` trains every configuration of a design at full fidelity with
the live harness and stores one row per (configuration, epoch). Replay benchmarks
(:mod:`tunebench.benchmarks.replay`) answer from these tables.

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
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from tunebench.errors import InputError
from tunebench.results import CURVE_COLUMNS, HP_PREFIX, RUN_KEY, write_atomically
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
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
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


def record(benchmark, space: SearchSpace, directory: Path, header: dict[str, Any], spec: DesignSpec,
           training_seed: Callable[[Config], int], *, max_chunks: int | None = None,
           on_config: Callable[[int, int], None] | None = None, machine: dict[str, Any] | None = None) -> list[Path]:
    """Record the design's configurations chunk by chunk into ``directory``.

    Parameters
    ----------
    benchmark:
        A live benchmark (``evaluate(config, epochs, seed, keep_state=False)``) whose
        ``max_epochs`` is the recording's fidelity.
    space:
        Its search space.
    directory:
        The recording's folder; created if missing.
    header:
        What was recorded (benchmark, options, epochs, data...), stored in ``recording.json``.
        An existing recording with another header or design is refused (:class:`InputError`).
    spec:
        The design.
    training_seed:
        ``config -> seed`` each configuration trains with.
    max_chunks:
        Stop after writing this many new chunks (``None``: until the design is done).
    on_config:
        Called with ``(configs done, configs total)`` after each configuration.
    machine:
        Versions and hardware, stored with each chunk written.

    Returns
    -------
    list of Path
        The chunk files written by this call.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta_path = directory / RECORDING_FILE
    wanted = {"header": header, "design": asdict(spec)}
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {**wanted, "chunks": {}}
    for key, value in wanted.items():
        if json.loads(json.dumps(value, default=str)) != meta.get(key):
            raise InputError(f"recording {meta_path} was made with another {key} ({meta.get(key)}); "
                             "choose another --out or delete that folder")
    configs = design(space, spec)
    meta["total_configs"] = len(configs)
    written = []
    for index, start in enumerate(range(0, len(configs), spec.chunk_size)):
        path = chunk_path(directory, index)
        if path.name in meta["chunks"]:
            continue
        if max_chunks is not None and len(written) >= max_chunks:
            break
        started = time.time()
        rows = []
        for config_id in range(start, min(start + spec.chunk_size, len(configs))):
            origin, config = configs[config_id]
            seed = training_seed(config)
            evaluation = benchmark.evaluate(config, benchmark.max_epochs, seed)
            rows.extend(rows_for(config_id, origin, config, seed, evaluation.curve, evaluation.epoch_confusions))
            if on_config:
                on_config(config_id + 1, len(configs))
        meta["chunks"][path.name] = {"sha256": write_chunk(path, rows, space), "configs": [start, config_id + 1],
                                     "wall_seconds": round(time.time() - started, 1), "machine": machine}
        written.append(path)
        if len(meta["chunks"]) * spec.chunk_size >= len(configs) or (max_chunks and len(written) >= max_chunks):
            meta["surrogate_quality"] = _quality(space, directory, meta)
        write_atomically(meta_path, json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return written


def _quality(space: SearchSpace, directory: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The surrogate's held-out quality on every chunk finished so far (incl. the one not yet in
    ``recording.json``)."""
    from tunebench.benchmarks.surrogate import surrogate_quality

    frames = [pd.read_csv(directory / name) for name in sorted(meta["chunks"])]
    return surrogate_quality(space, pd.concat(frames, ignore_index=True))


def parse_subset(text: str | None) -> Any:
    """``--subset``: ``None``, a count (``4000``), a fraction (``0.2``) or ``train=N,val=N,test=N``."""
    if text is None:
        return None
    try:
        if "=" not in text:
            return float(text) if "." in text else int(text)
        parts = dict(item.split("=", 1) for item in text.split(","))
        return {split.strip(): float(v) if "." in v else int(v) for split, v in parts.items()}
    except ValueError:
        raise InputError(f"--subset {text!r}: expected a count, a fraction or train=N,val=N,test=N") from None


def record_benchmark(name: str, out: Path, data_dir: Path, *, configs: int, grid_configs: int, epochs: int | None,
                     subset: str | None, seed: int, chunk_size: int, max_chunks: int | None,
                     benchmark_id: str | None, precision: str | None = None) -> tuple[list[Path], Path]:
    """``tunebench record``: record benchmark ``name`` into ``out/<name>/``.

    The options are checked like a suite's (:func:`tunebench.suite.parse_suite`); the data is
    split and subsampled with the seeds a run with seed ``seed`` uses, and every
    configuration trains with the training seed such a run would give it.

    Returns the chunk files written and the recording's folder.
    """
    from tunebench.benchmarks import get_benchmark_spec
    from tunebench.manifest import hardware, keras_backend, package_versions
    from tunebench.progress import format_duration
    from tunebench.runner import load_run_data, make_benchmark, training_seed
    from tunebench.suite import parse_suite

    for option, value in (("--configs", configs), ("--chunk-size", chunk_size)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, got {value}")
    if grid_configs < 0:
        raise InputError(f"--grid-configs must be 0 or more, got {grid_configs}")
    table: dict[str, Any] = {"trials": 1}
    if epochs is not None:
        table["max_epochs"] = epochs
    if subset is not None:
        table["subset"] = parse_subset(subset)
    if benchmark_id is not None:
        table["id"] = benchmark_id
    if precision is not None:
        table["precision"] = precision
    plan = parse_suite({"name": "record", "seeds": [seed], "strategies": ["random"], "benchmarks": {name: table}},
                       source="(tunebench record options)").benchmarks[0]
    spec = get_benchmark_spec(plan.name)
    if spec.recording:
        raise InputError(f"{name} is a replay benchmark: record its live benchmark {spec.recording}")
    splits = load_run_data(plan, data_dir, seed)
    benchmark = make_benchmark(spec, splits, plan)
    header = {
        "benchmark": plan.name, "options": plan.options, "max_epochs": plan.max_epochs,
        "batch_size": plan.batch_size, "subset": plan.subset, "fidelity": plan.fidelity, "seed": seed,
        "precision": plan.resolved_precision, "keras_backend": keras_backend(),
        "data": {"file": Path(splits.source).name, "sizes": splits.sizes(), "class_names": list(splits.class_names)},
        "training_seed": "derive_seed('train', seed, config): what a run with this seed trains the config with",
    }
    directory = Path(out) / plan.name
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        print(f"  config {done}/{total}  {format_duration(elapsed)} elapsed", flush=True)

    written = record(benchmark, benchmark.space, directory, header,
                     DesignSpec(configs=configs, grid_configs=grid_configs, seed=seed, chunk_size=chunk_size),
                     lambda config: training_seed(seed, config), max_chunks=max_chunks, on_config=report,
                     machine={"versions": package_versions(), "hardware": hardware()})
    return written, directory


__all__ = ["DesignSpec", "METRIC_COLUMNS", "RECORDING_COLUMNS", "RECORDING_FILE", "design", "from_unit",
           "latin_hypercube", "load_recording", "parse_subset", "record", "record_benchmark"]
