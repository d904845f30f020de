"""The largest counts tunebench accepts, in one place, and the checks that name them.

Every count a user gives (a suite's ``seeds``, ``trials``, ``max_epochs``, a command-line
``--configs`` or ``--workers``) is checked against its limit where it is parsed, so that a
mistyped or hostile value is refused with exit 2 and a message that names the option and
the limit, before anything is allocated or written. The limits are far above any real use
(a suite of 10,000 seeds replays for days) and far below what would exhaust memory.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

#: Seeds a suite may run (a count, or the length of a list).
MAX_SEEDS = 10_000
#: The largest seed value (what derive_seed and the libraries' seeds accept).
MAX_SEED = 2**31 - 1
#: Trials' worth of budget per run.
MAX_TRIALS = 100_000
#: Epochs of one trial (a benchmark's fidelity).
MAX_EPOCHS = 10_000
#: A run's epoch budget.
MAX_BUDGET_EPOCHS = 10_000_000
#: Samples per training batch.
MAX_BATCH_SIZE = 1_000_000
#: Processes: Dask workers, parallel trials, recording workers.
MAX_WORKERS = 1024
#: Configurations of a recording's design, and per chunk.
MAX_CONFIGS = 100_000
#: Draws of a recording, repeats of a retraining.
MAX_REPEATS = 1000
#: The deepest nesting of a suite file's tables and arrays (a suite needs 4: the file, [benchmarks],
#: a benchmark's table, a subset table).
MAX_TOML_DEPTH = 32


def check_count(value: Any, name: str, low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool) from ``low`` to ``high``; else ``ValueError``
    naming ``name`` and both ends."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = (f"an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
                 if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12 else repr(value))
        raise ValueError(f"{name} must be an integer from {low:,} to {high:,} (tunebench.limits), got {shown}")
    return value


def count_option(high: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer of at most ``high`` (argparse names the option). The
    lower bound, and its message, stay with the code that uses the option."""

    def parse(text: str) -> int:
        text = text.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not digits.isdigit():
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}")
        if len(digits) > 12 or int(text) > high:
            raise argparse.ArgumentTypeError(f"expected an integer of at most {high:,} (tunebench.limits), "
                                             f"got {text[:40]}{'...' if len(text) > 40 else ''}")
        return int(text)

    return parse


def toml_depth(value: Any, limit: int = MAX_TOML_DEPTH) -> int:
    """How deeply ``value`` (parsed TOML) nests tables and arrays, counted without recursion;
    stops counting past ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


__all__ = ["MAX_BATCH_SIZE", "MAX_BUDGET_EPOCHS", "MAX_CONFIGS", "MAX_EPOCHS", "MAX_REPEATS", "MAX_SEED", "MAX_SEEDS",
           "MAX_TOML_DEPTH", "MAX_TRIALS", "MAX_WORKERS", "check_count", "count_option", "toml_depth"]
