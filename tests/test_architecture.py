"""The layers point one way and no module imports itself in a circle (ARCHITECTURE.md).

Every import counts, at module level or inside a function, so a lazy import cannot hide a
cycle or an upward reach.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Lowest first. A module may import from its own layer and those below it.
LAYERS = (
    ("core", ("tunebench", "tunebench.errors", "tunebench.space", "tunebench.seeding", "tunebench.schema",
              "tunebench.files", "tunebench.precision", "tunebench.metrics", "tunebench.journal", "tunebench.ledger",
              "tunebench.threads", "tunebench.progress", "tunebench.stats", "tunebench.registry",
              "tunebench.redaction", "tunebench.interrupts", "tunebench.eta", "tunebench.backend", "tunebench.quiet",
              "tunebench.limits", "tunebench.process", "tunebench.places")),
    ("parts", ("tunebench.strategies", "tunebench.datasets", "tunebench.models")),
    ("benchmarks", ("tunebench.benchmarks",)),
    ("application", ("tunebench.plugins", "tunebench.suite", "tunebench.suite_overrides", "tunebench.suite_checks", "tunebench.from_plan", "tunebench.manifest",
                     "tunebench.resume", "tunebench.state_store", "tunebench.attempts",
                     "tunebench.results", "tunebench.results_dir")),
    ("runner and consumers", ("tunebench.runner", "tunebench.record", "tunebench.record_draws",
                              "tunebench.record_command", "tunebench.report", "tunebench.retrain",
                              "tunebench.regress", "tunebench.tracking", "tunebench.tracking_store")),
    ("front doors", ("tunebench.cli", "tunebench.api")),
)


def package_modules() -> dict[str, Path]:
    """Every module of the installed package, from pyproject's package-dir mapping."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {}
    for package, folder in config["package-dir"].items():
        for path in sorted((ROOT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
        for sub in config["packages"]:
            if sub.startswith(package + ".") and sub not in config["package-dir"]:
                sub_folder = ROOT / folder / sub[len(package) + 1:].replace(".", "/")
                for path in sorted(sub_folder.glob("*.py")):
                    modules[sub if path.stem == "__init__" else f"{sub}.{path.stem}"] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that ``name`` imports anywhere in its source."""
    is_package = path.stem == "__init__"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(module: str) -> int:
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    if best is None:
        pytest.fail(f"module {module} is in no layer of tests/test_architecture.py: add it where it belongs")
    return best


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_the_package_is_found(graph):
    assert {"tunebench.cli", "tunebench.runner.trial_loop", "tunebench.benchmarks.recording"} <= set(graph)


def test_layers_import_downwards_only(graph):
    upward = [f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
              for module, targets in graph.items() for target in sorted(targets)
              if layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles(graph):
    # A package's __init__ that re-exports its submodules is not a cycle: Python imports the
    # package before the submodule either way. Cycles among other modules are.
    without_reexports = {module: {t for t in targets if not (graph_is_package(module) and t.startswith(module + "."))}
                         for module, targets in graph.items()}
    cycle = find_cycle(without_reexports)
    assert cycle is None, " -> ".join(cycle)


def graph_is_package(module: str) -> bool:
    return package_modules()[module].stem == "__init__"


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
