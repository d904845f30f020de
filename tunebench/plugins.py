"""Benchmarks and strategies from outside tunebench, without editing it.

A plug-in is a module attribute holding a :class:`~tunebench.benchmarks.BenchmarkSpec`, a
:class:`~tunebench.strategies.StrategySpec`, a :class:`~tunebench.datasets.DatasetSpec`, or a
list of them. A ``DatasetSpec`` brings a benchmark's data: its loader returns the arrays a
dataset file holds, and a ``BenchmarkSpec`` with ``dataset`` set to its name and no
``factory`` trains on them through the live Keras harness, split, subsampled and seeded as
the built-in datasets are (:mod:`tunebench.datasets.plugin`). Two ways to bring one in:

- **Entry points** of an installed package, in the groups ``tunebench.benchmarks``,
  ``tunebench.strategies`` and ``tunebench.datasets`` (any of them takes any spec;
  ``pyproject.toml``:
  ``[project.entry-points."tunebench.benchmarks"] mine = "mypkg.bench:SPECS"``); loaded
  whenever a suite is read and by ``tunebench list``.
- **A suite's** ``plugins = ["mypkg.bench:SPECS", "my_bench.py:SPECS"]``: a module on the
  Python path, or a ``.py`` file (relative to the suite file). Every Dask worker and every
  parallel-trial worker loads them too, so a plug-in benchmark runs there
  (:func:`plugin_benchmarks`: the benchmarks a worker process has).

Plug-ins are registered under their own names; a name already taken by another benchmark,
strategy or dataset is refused (exit 2), so a plug-in cannot silently replace a built-in.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator

from tunebench.benchmarks import BenchmarkSpec, register_benchmark
from tunebench.datasets import DatasetSpec, register_dataset
from tunebench.errors import SuiteError
from tunebench.strategies import StrategySpec, register_strategy

ENTRY_POINT_GROUPS = ("tunebench.benchmarks", "tunebench.strategies", "tunebench.datasets")
_loaded_entry_points = False


def load_entry_points() -> None:
    """Register every installed package's plug-ins (once per process)."""
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for value, where in _entry_point_values():
        register(value, where)


def resolve_reference(reference: str, base_dir: Path | None = None) -> str:
    """``reference`` with a ``.py`` file's path made absolute (relative to ``base_dir``)."""
    module, _, attribute = reference.rpartition(":")
    if not module or not attribute:
        raise SuiteError(f"plug-in {reference!r}: expected 'module:attribute' or 'file.py:attribute'")
    if module.endswith(".py"):
        path = Path(module)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise SuiteError(f"plug-in {reference!r}: file {path} does not exist")
        module = str(path.resolve())
    return f"{module}:{attribute}"


def load_plugins(references: Iterable[str] = ()) -> None:
    """Register the installed plug-ins and each ``module:attribute`` reference (resolved)."""
    load_entry_points()
    for reference in references:
        register(_reference_value(reference), f"plug-in {reference!r}")


def plugin_benchmarks(references: Iterable[str] = ()) -> frozenset[str]:
    """The names of the benchmarks that :func:`load_plugins` registers from ``references``
    (resolved) and the installed entry points: those that another process has once it loads
    the same plug-ins (a parallel-trial worker, a Dask worker). A benchmark registered any other
    way (:func:`~tunebench.benchmarks.register_benchmark` called in this process) is not one."""
    values = [value for value, _ in _entry_point_values()] + [_reference_value(r) for r in references]
    return frozenset(spec.name for value in values for spec in _specs(value) if isinstance(spec, BenchmarkSpec))


def register(value: Any, where: str) -> None:
    """Register a spec, or each spec of a list or tuple."""
    for spec in _specs(value):
        if isinstance(spec, BenchmarkSpec):
            register_benchmark(spec)
        elif isinstance(spec, StrategySpec):
            register_strategy(spec)
        elif isinstance(spec, DatasetSpec):
            try:
                register_dataset(spec)
            except SuiteError as error:
                raise SuiteError(f"{where}: {error}") from None
        else:
            raise SuiteError(f"{where}: expected a BenchmarkSpec, a StrategySpec, a DatasetSpec or a list of them, "
                             f"got {type(spec).__name__}")


def _specs(value: Any) -> list:
    """A plug-in's value as a list: its specs, or the one spec."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _entry_point_values() -> Iterator[tuple[Any, str]]:
    """``(value, where)`` for each installed package's plug-in entry point, loaded;
    :class:`SuiteError` for one that cannot be loaded."""
    for group in ENTRY_POINT_GROUPS:
        for entry in metadata.entry_points(group=group):
            try:
                value = entry.load()
            except Exception as error:  # noqa: BLE001 - a broken plug-in is the user's input
                raise SuiteError(f"plug-in entry point {entry.name!r} ({entry.value}) in group {group} cannot be "
                                 f"loaded: {type(error).__name__}: {error}") from None
            yield value, f"entry point {entry.name!r} ({entry.value})"


def _reference_value(reference: str) -> Any:
    """The attribute a resolved ``module:attribute`` reference names (its module imported once)."""
    module_name, _, attribute = reference.rpartition(":")
    module = _import(module_name, reference)
    if not hasattr(module, attribute):
        raise SuiteError(f"plug-in {reference!r}: module {module.__name__} has no attribute {attribute!r}")
    return getattr(module, attribute)


def _import(module_name: str, reference: str):
    try:
        if not module_name.endswith(".py"):
            return importlib.import_module(module_name)
        name = "tunebench_plugin_" + hashlib.sha256(module_name.encode()).hexdigest()[:12]
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, module_name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    except Exception as error:  # noqa: BLE001 - a broken plug-in is the user's input
        sys.modules.pop(locals().get("name", ""), None)
        raise SuiteError(f"plug-in {reference!r} cannot be imported: {type(error).__name__}: {error}") from None


__all__ = ["ENTRY_POINT_GROUPS", "load_entry_points", "load_plugins", "plugin_benchmarks", "register",
           "resolve_reference"]
