"""Numeric precision of live training: ``float32``, ``bfloat16`` or ``auto``.

``bfloat16`` trains with Keras's ``mixed_bfloat16`` policy: layers compute in bfloat16 and
keep their weights in float32; the models' softmax output layer stays float32 (their
builders say ``dtype="float32"``), as Keras's mixed-precision guide advises. ``auto`` is
``bfloat16`` where the hardware multiplies bfloat16 natively (an x86 CPU with AVX512_BF16
or AMX-BF16, read from ``/proc/cpuinfo``) and ``float32`` elsewhere.

The precision a run trained with is part of its fidelity label (``runs.csv``), its
manifest and a recording's header.
"""

from __future__ import annotations

from pathlib import Path

FLOAT32, BFLOAT16, AUTO = "float32", "bfloat16", "auto"
PRECISIONS = (FLOAT32, BFLOAT16, AUTO)
#: The Keras dtype policy of each concrete precision.
KERAS_POLICIES = {FLOAT32: "float32", BFLOAT16: "mixed_bfloat16"}
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bfloat16 natively (False where that cannot be read)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return any(flag in flags for flag in _NATIVE_BF16_FLAGS)


def resolve(precision: str) -> str:
    """The concrete precision (``float32`` or ``bfloat16``) that ``precision`` means here."""
    if precision == AUTO:
        return BFLOAT16 if native_bfloat16() else FLOAT32
    if precision not in KERAS_POLICIES:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return precision


__all__ = ["AUTO", "BFLOAT16", "FLOAT32", "KERAS_POLICIES", "PRECISIONS", "native_bfloat16", "resolve"]
