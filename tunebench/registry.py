"""Name -> spec registries (benchmarks, strategies): adding a spec under a name that must be
its own, and the message for a name that is not there."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from tunebench.errors import SuiteError


def register_unique(registry: dict[str, Any], spec: Any, kind: str, spec_type: type) -> None:
    """Add ``spec`` to ``registry`` under ``spec.name`` (again with an equal spec: nothing
    happens); :class:`SuiteError` if it is not a ``spec_type`` or its name is taken by
    another ``kind``."""
    if not isinstance(spec, spec_type):
        raise SuiteError(f"register_{kind}: expected a {spec_type.__name__}, got {type(spec).__name__}")
    known = registry.get(spec.name)
    if known is not None and known != spec:
        raise SuiteError(f"{kind} name {spec.name!r} is taken (by {known.description!r})")
    registry[spec.name] = spec


def unknown_name(kind: str, name: Any, known: Iterable[str], plural: str | None = None) -> str:
    """``unknown <kind> 'tpo' (did you mean 'tpe'?); known <kinds>: ...`` (the guess only when one is close)."""
    known = list(known)
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{guess}; known {plural or kind + 's'}: {', '.join(known)}"


__all__ = ["register_unique", "unknown_name"]
