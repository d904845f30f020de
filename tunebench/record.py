"""``tunebench record``: train a benchmark's recording design and store its curves.

The design and the file format are :mod:`tunebench.benchmarks.recording`'s. A recording is
made in chunks of consecutive configurations, each written atomically when it is finished:
a killed recording loses at most the chunk in progress, and running the same command again
goes on with the next missing chunk. ``--draw K`` (K >= 2) trains the same design again with
other training seeds, into that draw's own chunks, in the same way.

Several processes can record one design into one folder at once (``--workers N``, or the same
command started N times, on one machine or on machines sharing the folder): each claims a chunk
with a ``flock`` before training it and adds it to ``recording.json`` under a second lock, so
every chunk is trained once and none is lost; a killed process's claim dies with it.
"""

from __future__ import annotations

import fcntl
import json
import math
import multiprocessing
import os
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from tunebench.backend import JAX, jax_numerics, keras_backend
from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.base import EpochRecord
from tunebench.benchmarks.recording import (DESIGN_CONFIGS, DRAW_SEED_BASE, DRAW_SEED_STRIDE, RECORDING_FILE,
                                            DesignSpec, chunk_draw, chunk_path, design, draw_seed, draws_phrase,
                                            recorded_design, rows_for, write_chunk)
from tunebench.benchmarks.surrogate import MODELS, spread_phrase, stored_model, surrogate_quality
from tunebench.errors import InputError
from tunebench.files import write_atomically
from tunebench.journal import hold_lock
from tunebench.manifest import hardware, package_versions
from tunebench.progress import format_duration
from tunebench.runner.tasks import load_run_data, make_benchmark, quiet_tensorflow
from tunebench.seeding import RunSeeds
from tunebench.space import Config, SearchSpace
from tunebench.suite import parse_suite

#: The lock held while ``recording.json`` is read and rewritten (several processes may record
#: the same design into one folder: ``tunebench record --workers N``).
META_LOCK = ".recording.lock"
#: How long a process waits for that lock: the surrogate's quality is measured under it.
LOCK_WAIT_SECONDS = 3600.0
#: What a header written before these keys existed was recorded with: every such recording
#: trained in float32 on TensorFlow (a later draw's header then matches it, and is stored whole).
OLDER_HEADER_DEFAULTS = {"precision": "float32", "keras_backend": "tensorflow"}

#: The key of ``recording.json`` that says how later draws are seeded, and what it says.
DRAWS_SEED = "draws_training_seed"
DRAWS_SEED_RULE = (f"draw K >= 2 trains config_id with {DRAW_SEED_BASE} + {DRAW_SEED_STRIDE} * (K - 2) + config_id "
                   "(tunebench.benchmarks.recording.draw_seed)")


def record(benchmark, space: SearchSpace, directory: Path, header: dict[str, Any], spec: DesignSpec,
           training_seed: Callable[[Config], int], *, max_chunks: int | None = None,
           on_config: Callable[[int, int], None] | None = None, machine: dict[str, Any] | None = None,
           surrogate: str = "trees", draw: int = 1) -> list[Path]:
    """Record the design's configurations chunk by chunk into ``directory``.

    When the design is complete (or ``max_chunks`` is reached), the surrogate's held-out
    quality (:func:`tunebench.benchmarks.surrogate.surrogate_quality`, model ``surrogate``)
    is stored in ``recording.json``; a complete recording whose stored quality is of another
    model, or names none (an older tunebench's), has it measured again, so the same command
    brings a finished recording up to date without training anything. A new recording keeps
    its design's configurations in ``recording.json`` before it trains any, and goes on with
    them (:func:`tunebench.benchmarks.recording.recorded_design`) on whatever machine.

    ``draw`` >= 2 trains the design of a recording whose first draw is complete
    (:class:`InputError` otherwise, before anything is written) again, configuration ``i``
    with training seed :func:`~tunebench.benchmarks.recording.draw_seed` ``(draw, i)``, into
    that draw's chunks (``chunk-NNNN.draw-K.csv.gz``); the quality is then measured with
    every draw fitted and each configuration's mean over its draws judged
    (:func:`~tunebench.benchmarks.surrogate.surrogate_quality`), when the draw is complete (or
    ``max_chunks`` is reached). A call that trains nothing ends with :func:`refresh_quality`.

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
        ``config -> seed`` each configuration trains with in the first draw.
    max_chunks:
        Stop after writing this many new chunks (``None``: until the design is done).
    on_config:
        Called with ``(configs done, configs total)`` after each configuration.
    machine:
        Versions and hardware, stored with each chunk written.
    surrogate:
        The surrogate's model (the benchmark's ``BenchmarkSpec.surrogate``).
    draw:
        Which draw to train: 1 (the recording itself) or a later one, 2, 3, ...

    Returns
    -------
    list of Path
        The chunk files written by this call.
    """
    if draw < 1:
        raise InputError(f"--draw must be 1 or more, got {draw}")
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    if draw > 1 and not meta_path.exists():
        raise InputError(f"--draw {draw}: {directory} holds no recording; a later draw trains a recording's "
                         "design again once its first draw is complete (record without --draw first)")
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {"header": header, "design": asdict(spec)}
    with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
        meta = _read_meta(meta_path, wanted)
        if DESIGN_CONFIGS not in meta and not meta["chunks"]:  # a new recording: its configurations are fixed here
            meta[DESIGN_CONFIGS] = [[origin, config] for origin, config in design(space, spec)]
            meta["total_configs"] = len(meta[DESIGN_CONFIGS])
            _write_meta(meta_path, meta)
        total = meta.get("total_configs", 0)
        if draw > 1 and not (total and _complete(meta, spec, total)):
            done = sum(chunk_draw(name) == 1 for name in meta["chunks"])
            raise InputError(f"--draw {draw}: the first draw of the recording {meta_path} is not complete "
                             f"({done} of {math.ceil(total / spec.chunk_size)} chunks); finish it first (the same "
                             "command without --draw)")
        if draw > 1 and DRAWS_SEED not in meta:
            meta[DRAWS_SEED] = DRAWS_SEED_RULE
            _write_meta(meta_path, meta)
        configs = recorded_design(meta, space, meta_path)
    written = []
    for index, start in enumerate(range(0, len(configs), spec.chunk_size)):
        path = chunk_path(directory, index, draw)
        if path.name in meta["chunks"]:
            continue
        if max_chunks is not None and len(written) >= max_chunks:
            break
        with _claim(directory / f".{path.name}.lock") as claimed:
            if not claimed:
                continue  # another process records this chunk
            if path.name in _read_meta(meta_path, wanted)["chunks"]:
                continue  # another process finished it since this one last looked
            started = time.time()
            rows = []
            for config_id in range(start, min(start + spec.chunk_size, len(configs))):
                origin, config = configs[config_id]
                seed = training_seed(config) if draw == 1 else draw_seed(draw, config_id)
                evaluation = benchmark.evaluate(config, benchmark.max_epochs, seed)
                rows.extend(rows_for(config_id, origin, config, seed, evaluation.curve, evaluation.epoch_confusions))
                if on_config:
                    on_config(config_id + 1, len(configs))
            entry = {"sha256": write_chunk(path, rows, space), "configs": [start, config_id + 1],
                     "wall_seconds": round(time.time() - started, 1), "machine": machine}
            written.append(path)
            with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
                meta = _read_meta(meta_path, wanted)
                meta["total_configs"] = len(configs)
                meta["chunks"][path.name] = entry
                if _complete(meta, spec, len(configs), draw) or (max_chunks and len(written) >= max_chunks):
                    meta["surrogate_quality"] = _quality(space, directory, meta, surrogate)
                _write_meta(meta_path, meta)
    if not written:
        refresh_quality(directory, space, surrogate)
    return written


def refresh_quality(directory: Path, space: SearchSpace, surrogate: str) -> bool:
    """Measure the surrogate quality stored in ``directory``'s ``recording.json`` again where it
    is outdated: measured with another model than ``surrogate`` (or naming none, an older
    tunebench's, where ``surrogate`` is not the trees), or on other draws than the chunks hold
    (draws added by :func:`add_draw_chunk`). Only for a recording whose first draw is complete;
    returns whether it measured. Under the recording's lock, like :func:`record`."""
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    if not meta_path.exists():
        raise InputError(f"recording {meta_path} does not exist; make it with 'tunebench record'")
    with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
        meta = _read_meta(meta_path, {})
        stored = meta.get("surrogate_quality") or {}
        outdated = stored_model(stored) != surrogate or stored.get("draws") != _draws_in(meta)
        total = len(recorded_design(meta, space, meta_path))
        if not (outdated and _complete(meta, DesignSpec(**meta["design"]), total)):
            return False
        meta["surrogate_quality"] = _quality(space, directory, meta, surrogate)
        _write_meta(meta_path, meta)
        return True


def _write_meta(meta_path: Path, meta: dict[str, Any]) -> None:
    write_atomically(meta_path, json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")


def _read_meta(meta_path: Path, wanted: dict[str, Any]) -> dict[str, Any]:
    """``recording.json`` as it is now (a new one's start where there is none), after checking that
    it was made with the header and design in ``wanted`` and that its chunks have chunk names
    (:class:`InputError` otherwise)."""
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {**wanted, "chunks": {}}
    if isinstance(meta.get("header"), dict):  # an older recording's header names no precision or backend
        meta["header"] = {**OLDER_HEADER_DEFAULTS, **meta["header"]}
    for key, value in wanted.items():
        if json.loads(json.dumps(value, default=str)) != meta.get(key):
            raise InputError(f"recording {meta_path} was made with another {key} ({meta.get(key)}); "
                             "choose another --out or delete that folder")
    for name in meta.get("chunks", {}):
        try:
            chunk_draw(name)
        except ValueError:
            raise InputError(f"recording {meta_path}: chunk name {name!r} is not of the form chunk-NNNN.csv.gz "
                             "(or chunk-NNNN.draw-K.csv.gz, K >= 2)") from None
    return meta


@contextmanager
def _claim(path: Path) -> Iterator[bool]:
    """Claim a chunk for this process: ``True`` while this process holds an exclusive ``flock`` on
    ``path``, ``False`` at once where another process holds it. The lock dies with its process,
    so a killed worker's chunk is free again; the file is removed when the claim ends."""
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            current = os.stat(path).st_ino
        except (BlockingIOError, FileNotFoundError):
            current = None
        if current != os.fstat(handle.fileno()).st_ino:  # held, or removed when a claim ended
            yield False
            return
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)  # whoever opens it later finds the chunk in recording.json


def _complete(meta: dict[str, Any], spec: DesignSpec, total: int, draw: int = 1) -> bool:
    """Whether every chunk of draw ``draw`` of a design of ``total`` configurations is in ``meta``."""
    return sum(chunk_draw(name) == draw for name in meta["chunks"]) * spec.chunk_size >= total


def _draws_in(meta: dict[str, Any]) -> dict[str, int] | None:
    """The configurations per draw that ``meta``'s chunks hold, as the quality's ``draws``
    gives them (:func:`~tunebench.benchmarks.recording.draw_counts`); ``None`` for one draw."""
    counts: dict[str, int] = {}
    for name, chunk in meta["chunks"].items():
        start, end = chunk.get("configs", [0, 0])
        counts[str(chunk_draw(name))] = counts.get(str(chunk_draw(name)), 0) + end - start
    return counts if len(counts) > 1 else None


def add_draw_chunk(directory: Path, space: SearchSpace, draw: int, index: int,
                   curves: dict[int, tuple[int, list[EpochRecord]]], machine: Any = None) -> Path:
    """Add chunk ``index`` of draw ``draw`` >= 2, trained elsewhere, to the recording in
    ``directory``: ``curves`` maps each configuration of that chunk to its training seed and
    curve. The chunk (``chunk-NNNN.draw-K.csv.gz``) is written atomically, then added to
    ``recording.json`` under the recording's lock, the chunk claimed as :func:`record` claims
    it; returns its path. Its test confusion matrices are left empty (replay shows the first
    draw's); :func:`refresh_quality` then measures the quality again, judged on the means.

    Raises :class:`InputError` naming the recording for a first draw, a chunk outside the
    design, configurations other than the chunk's, a seed other than
    :func:`~tunebench.benchmarks.recording.draw_seed` ``(draw, config_id)``, epochs other
    than the recording's, and a chunk that is already there or being recorded.
    """
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    where = f"recording {meta_path}, draw {draw}, chunk {index}"
    if draw < 2 or not meta_path.exists():
        raise InputError(f"{where}: only a later draw (2, 3, ...) of an existing recording is added")
    meta = _read_meta(meta_path, {})
    configs = recorded_design(meta, space, meta_path)
    size = meta["design"]["chunk_size"]
    chunks = range(0, len(configs), size)
    if not 0 <= index < len(chunks):
        raise InputError(f"{where}: the design has chunks 0-{len(chunks) - 1}")
    ids = list(range(chunks[index], min(chunks[index] + size, len(configs))))
    if sorted(curves) != ids:
        raise InputError(f"{where}: the chunk holds configurations {ids}, not {sorted(curves)}")
    epochs = list(range(1, meta["header"]["max_epochs"] + 1))
    rows = []
    for config_id in ids:
        seed, curve = curves[config_id]
        if seed != draw_seed(draw, config_id):
            raise InputError(f"{where}: config {config_id} trained with seed {seed}, not the draw's "
                             f"{draw_seed(draw, config_id)}")
        if [point.epoch for point in curve] != epochs:
            raise InputError(f"{where}: config {config_id} has epochs {[point.epoch for point in curve]}, not the "
                             f"recording's 1-{epochs[-1]}")
        origin, config = configs[config_id]
        rows.extend(rows_for(config_id, origin, config, seed, curve, [None] * len(curve)))
    path = chunk_path(directory, index, draw)
    with _claim(directory / f".{path.name}.lock") as claimed:
        if not claimed or path.name in _read_meta(meta_path, {})["chunks"]:
            raise InputError(f"{where}: {path.name} is already in the recording or being recorded")
        entry = {"sha256": write_chunk(path, rows, space), "configs": [ids[0], ids[-1] + 1],
                 "wall_seconds": round(sum(p.epoch_seconds for _, curve in curves.values() for p in curve), 1),
                 "machine": machine}
        with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
            meta = _read_meta(meta_path, {})
            meta["chunks"][path.name] = entry
            meta.setdefault(DRAWS_SEED, DRAWS_SEED_RULE)
            _write_meta(meta_path, meta)
    return path


def _quality(space: SearchSpace, directory: Path, meta: dict[str, Any], surrogate: str) -> dict[str, Any]:
    """The held-out quality of the surrogate model ``surrogate`` on every chunk finished so far
    (incl. the one not yet in ``recording.json``)."""
    frames = [pd.read_csv(directory / name).assign(draw=chunk_draw(name)) for name in sorted(meta["chunks"])]
    return surrogate_quality(space, pd.concat(frames, ignore_index=True), model=surrogate)


def quality_line(directory: Path) -> str | None:
    """One line on the surrogate quality stored in ``directory``'s ``recording.json`` (``None``
    where none is stored yet: a recording still in progress)."""
    meta_path = Path(directory) / RECORDING_FILE
    quality = json.loads(meta_path.read_text(encoding="utf-8")).get("surrogate_quality") if meta_path.exists() else None
    if not isinstance(quality, dict) or quality.get("spearman") is None:
        return None
    phrase = spread_phrase(quality)
    spread = f" ({phrase})" if phrase else ""
    model = stored_model(quality)
    draws = f", judged against {draws_phrase(quality.get('draws'))}" if draws_phrase(quality.get("draws")) else ""
    return (f"{MODELS.get(model, model)} surrogate on {quality['configs']} "
            f"configurations: held-out Spearman {quality['spearman']:.3f}{spread}, R² {quality['r2']:.3f}{draws}")


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
                     benchmark_id: str | None, precision: str | None = None,
                     workers: int = 1, draw: int = 1) -> tuple[list[Path], Path]:
    """``tunebench record``: record benchmark ``name`` into ``out/<name>/``.

    The options are checked like a suite's (:func:`tunebench.suite.parse_suite`); the data is
    split and subsampled with the seeds a run with seed ``seed`` uses, and every
    configuration trains with the training seed such a run would give it. With ``workers``
    > 1, that many processes record side by side (each loads the data and trains one
    configuration at a time; ``max_chunks`` is per process), for a machine with more cores or
    a GPU than one training uses; the options are checked here first. ``draw`` >= 2 trains
    the design again as that draw (see :func:`record`), with the same options.

    Returns the chunk files written and the recording's folder.
    """
    options = dict(configs=configs, grid_configs=grid_configs, epochs=epochs, subset=subset, seed=seed,
                   chunk_size=chunk_size, max_chunks=max_chunks, benchmark_id=benchmark_id, precision=precision,
                   draw=draw)
    if draw < 1:
        raise InputError(f"--draw must be 1 or more, got {draw}")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
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
    if workers > 1:
        # A Pool, not a ProcessPoolExecutor: leaving the block (a stop signal raised in this
        # process included) terminates the workers instead of waiting for them.
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            done = [pool.apply_async(record_benchmark, (name, out, data_dir), options) for _ in range(workers)]
            results = [future.get() for future in done]
        return sorted(path for written, _ in results for path in written), results[0][1]
    quiet_tensorflow()  # as `tunebench run`: no TensorFlow start-up lines unless TF_CPP_MIN_LOG_LEVEL asks
    splits = load_run_data(plan, data_dir, seed)
    benchmark = make_benchmark(spec, splits, plan)
    benchmark.test_every_epoch = True  # a recording keeps every epoch's test numbers
    header = {
        "benchmark": plan.name, "options": plan.options, "max_epochs": plan.max_epochs,
        "batch_size": plan.batch_size, "subset": plan.subset, "fidelity": plan.fidelity, "seed": seed,
        "precision": plan.resolved_precision, "keras_backend": keras_backend(),
        "data": {"file": Path(splits.source).name, "sizes": splits.sizes(), "class_names": list(splits.class_names)},
        "training_seed": "derive_seed('train', seed, config): what a run with this seed trains the config with",
    }
    if keras_backend() == JAX:
        header["jax"] = jax_numerics()  # compiled or not, and at which matmul precision: refused if it changes
    directory = Path(out) / plan.name
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        print(f"  config {done}/{total}  {format_duration(elapsed)} elapsed", flush=True)

    written = record(benchmark, benchmark.space, directory, header,
                     DesignSpec(configs=configs, grid_configs=grid_configs, seed=seed, chunk_size=chunk_size),
                     RunSeeds(plan.name, seed).training, max_chunks=max_chunks, on_config=report,
                     machine={"versions": package_versions(), "hardware": hardware()}, surrogate=spec.surrogate,
                     draw=draw)
    return written, directory


__all__ = ["add_draw_chunk", "parse_subset", "quality_line", "record", "record_benchmark", "refresh_quality"]
