"""Warm-start states on disk while a run needs them (``.partial/states/<run>/<trial>.npz``):
the store, a state a resumed run knows of, and the codec that keeps them plain arrays."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tunebench.errors import InputError
from tunebench.files import atomic_file, fsync_dir


class StateStore:
    """Warm-start states (Hyperband's low-fidelity trials) kept on disk while a run needs them.

    A state is saved before its trial's journal line is written and deleted after the line of
    the promotion that consumed it, so a resumed run continues every promotion from exactly
    the weights and optimizer state an uninterrupted run would have used. States are dicts
    whose values are lists of arrays (weights, optimizer variables) or JSON values (or a
    JSON value such as ``None``), written as plain arrays; a file with anything else (a
    pickle) is refused on load, never run.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, trial_id: str) -> Path:
        name = trial_id if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", trial_id) else hashlib.sha256(trial_id.encode()).hexdigest()
        return self.directory / f"{name}.npz"

    def save(self, trial_id: str, state: Any) -> None:
        """Write ``state`` atomically (fsync'd)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        arrays = _encode_state(state)
        with atomic_file(self.path(trial_id)) as handle:
            np.savez(handle, **arrays)
        fsync_dir(self.directory)

    def load(self, trial_id: str) -> Any:
        """The state saved for ``trial_id``; :class:`InputError` if it is missing."""
        path = self.path(trial_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                return _decode_state({name: data[name] for name in data.files})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: the saved warm-start state of trial {trial_id} cannot be read ({error}); "
                             "pass --overwrite to start the interrupted run again") from None

    def discard(self, trial_id: str) -> None:
        self.path(trial_id).unlink(missing_ok=True)

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class StoredState:
    """A state that a resumed run knows is on disk; loaded only if a promotion needs it."""

    def __init__(self, store: StateStore, trial_id: str):
        self.store, self.trial_id = store, trial_id

    def load(self) -> Any:
        return self.store.load(self.trial_id)


def _encode_state(state: Any) -> dict[str, np.ndarray]:
    """``state`` as plain arrays: a dict's lists of arrays under ``<key>/<index>``, the rest
    as one JSON text under ``__json__``; a state that is not such a dict must be a JSON value
    (``None`` for a benchmark that keeps nothing). Anything else is a :class:`TypeError` (a
    benchmark's bug): states are never pickled, so reading one back can never run code."""
    if not (isinstance(state, dict) and all(isinstance(k, str) and "/" not in k for k in state)):
        try:
            return {"__json__": np.array(json.dumps({"value": state}, allow_nan=True))}
        except TypeError:
            raise TypeError(f"a warm-start state must be a dict of arrays and JSON values, or a JSON value, "
                            f"not {type(state).__name__}") from None
    arrays: dict[str, np.ndarray] = {}
    lists: dict[str, int] = {}
    plain: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (np.ndarray, np.generic)) for v in value):
            value = [np.asarray(v) for v in value]  # numpy scalars (an optimizer's step count) as 0-d arrays
            if any(v.dtype.hasobject for v in value):
                raise TypeError(f"warm-start state {key!r} holds an object array, which would need pickle")
            lists[key] = len(value)
            arrays.update({f"{key}/{i:06d}": v for i, v in enumerate(value)})
        else:
            plain[key] = value
    text = json.dumps({"lists": lists, "plain": plain}, allow_nan=True)  # TypeError for non-JSON values
    return arrays | {"__json__": np.array(text)}


def _decode_state(arrays: dict[str, np.ndarray]) -> Any:
    """The state :func:`_encode_state` wrote; :class:`ValueError` for anything else."""
    if "__json__" not in arrays:
        raise ValueError(f"not a tunebench warm-start state (entries {sorted(arrays)[:5]}, no __json__; "
                         "tunebench never reads pickled data)")
    meta = json.loads(str(arrays["__json__"]))
    if isinstance(meta, dict) and set(meta) == {"value"}:
        return meta["value"]
    if not (isinstance(meta, dict) and isinstance(meta.get("lists"), dict) and isinstance(meta.get("plain"), dict)):
        raise ValueError("its __json__ entry is not a tunebench warm-start state")
    state = dict(meta["plain"])
    for key, count in meta["lists"].items():
        state[key] = [arrays[f"{key}/{i:06d}"] for i in range(int(count))]
    return state


__all__ = ["StateStore", "StoredState"]
