"""Name -> spec registries (benchmarks, strategies): adding a spec under a name that must be its own."""

from __future__ import annotations

from typing import Any

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


__all__ = ["register_unique"]
