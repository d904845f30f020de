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

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from tunebench.benchmarks.recording import (DESIGN_CONFIGS, DRAW_SEED_BASE, DRAW_SEED_STRIDE, RECORDING_FILE,
                                            DesignSpec, chunk_draw, chunk_path, design, draw_seed, draws_phrase,
                                            recorded_design, rows_for, write_chunk)
from tunebench.benchmarks.surrogate import MODELS, spread_phrase, stored_model, surrogate_quality
from tunebench.errors import InputError
from tunebench.files import claim, hold_lock, write_atomically
from tunebench.space import Config, SearchSpace

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
        meta = read_meta(meta_path, wanted)
        if DESIGN_CONFIGS not in meta and not meta["chunks"]:  # a new recording: its configurations are fixed here
            meta[DESIGN_CONFIGS] = [[origin, config] for origin, config in design(space, spec)]
            meta["total_configs"] = len(meta[DESIGN_CONFIGS])
            write_meta(meta_path, meta)
        total = meta.get("total_configs", 0)
        if draw > 1 and not (total and _complete(meta, spec, total)):
            done = sum(chunk_draw(name) == 1 for name in meta["chunks"])
            raise InputError(f"--draw {draw}: the first draw of the recording {meta_path} is not complete "
                             f"({done} of {math.ceil(total / spec.chunk_size)} chunks); finish it first (the same "
                             "command without --draw)")
        if draw > 1 and DRAWS_SEED not in meta:
            meta[DRAWS_SEED] = DRAWS_SEED_RULE
            write_meta(meta_path, meta)
        configs = recorded_design(meta, space, meta_path)
    written = []
    for index, start in enumerate(range(0, len(configs), spec.chunk_size)):
        path = chunk_path(directory, index, draw)
        if path.name in meta["chunks"]:
            continue
        if max_chunks is not None and len(written) >= max_chunks:
            break
        with claim(directory / f".{path.name}.lock") as claimed:
            if not claimed:
                continue  # another process records this chunk
            if path.name in read_meta(meta_path, wanted)["chunks"]:
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
                meta = read_meta(meta_path, wanted)
                meta["total_configs"] = len(configs)
                meta["chunks"][path.name] = entry
                if _complete(meta, spec, len(configs), draw) or (max_chunks and len(written) >= max_chunks):
                    meta["surrogate_quality"] = _quality(space, directory, meta, surrogate)
                write_meta(meta_path, meta)
    if not written:
        refresh_quality(directory, space, surrogate)
    return written


def refresh_quality(directory: Path, space: SearchSpace, surrogate: str) -> bool:
    """Measure the surrogate quality stored in ``directory``'s ``recording.json`` again where it
    is outdated: measured with another model than ``surrogate`` (or naming none, an older
    tunebench's, where ``surrogate`` is not the trees), or on other draws than the chunks hold
    (draws added by :func:`tunebench.record_draws.add_draw_chunk`). Only for a recording whose first draw is complete;
    returns whether it measured. Under the recording's lock, like :func:`record`."""
    directory = Path(directory)
    meta_path = directory / RECORDING_FILE
    if not meta_path.exists():
        raise InputError(f"recording {meta_path} does not exist; make it with 'tunebench record'")
    with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
        meta = read_meta(meta_path, {})
        stored = meta.get("surrogate_quality") or {}
        outdated = stored_model(stored) != surrogate or stored.get("draws") != _draws_in(meta)
        total = len(recorded_design(meta, space, meta_path))
        if not (outdated and _complete(meta, DesignSpec(**meta["design"]), total)):
            return False
        meta["surrogate_quality"] = _quality(space, directory, meta, surrogate)
        write_meta(meta_path, meta)
        return True


def write_meta(meta_path: Path, meta: dict[str, Any]) -> None:
    write_atomically(meta_path, json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")


def read_meta(meta_path: Path, wanted: dict[str, Any]) -> dict[str, Any]:
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


__all__ = ["quality_line", "read_meta", "record", "refresh_quality", "write_meta"]
