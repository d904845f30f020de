"""A later draw of a recording trained elsewhere (another machine, a GPU, a study), added
chunk by chunk: :func:`add_draw_chunk` checks each curve against the recording's design and
the draw's training seeds, writes the chunk atomically and lists it in ``recording.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


from tunebench.benchmarks.base import EpochRecord
from tunebench.benchmarks.recording import (RECORDING_FILE,
                                            chunk_path, draw_seed, recorded_design, rows_for, write_chunk)
from tunebench.errors import InputError
from tunebench.files import claim, hold_lock
from tunebench.space import SearchSpace

from tunebench.record import DRAWS_SEED, DRAWS_SEED_RULE, LOCK_WAIT_SECONDS, META_LOCK, read_meta, write_meta


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
    meta = read_meta(meta_path, {})
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
    with claim(directory / f".{path.name}.lock") as claimed:
        if not claimed or path.name in read_meta(meta_path, {})["chunks"]:
            raise InputError(f"{where}: {path.name} is already in the recording or being recorded")
        entry = {"sha256": write_chunk(path, rows, space), "configs": [ids[0], ids[-1] + 1],
                 "wall_seconds": round(sum(p.epoch_seconds for _, curve in curves.values() for p in curve), 1),
                 "machine": machine}
        with hold_lock(directory / META_LOCK, timeout=LOCK_WAIT_SECONDS, what=f"the recording {directory}"):
            meta = read_meta(meta_path, {})
            meta["chunks"][path.name] = entry
            meta.setdefault(DRAWS_SEED, DRAWS_SEED_RULE)
            write_meta(meta_path, meta)
    return path


__all__ = ["add_draw_chunk"]
