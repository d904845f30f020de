"""Suites: which benchmarks, strategies, seeds and budgets a comparison runs.

A suite is a TOML file, either one of the named suites in ``benchmarks/suites/`` or any
path ending in ``.toml``::

    name = "smoke"
    description = "..."
    seeds = [0, 1]                       # or a count: seeds = 2 means 0, 1
    strategies = ["grid", "random", "bayesian", "hyperband", "tpe", "tpe-hyperopt"]
    plugins = ["my_bench.py:SPECS"]      # optional: benchmarks and strategies from outside (tunebench.plugins)

    [benchmarks.mnist-mlp]
    max_epochs = 2                       # full fidelity for this suite (default: the benchmark's)
    trials = 3                           # budget = max_epochs * trials epochs per run
    batch_size = 32                      # default: the benchmark's
    subset = { train = 1000, val = 300, test = 300 }   # or a count / fraction for all splits
    max_seconds = 600                    # optional wall-clock cap per run
    precision = "bfloat16"               # live benchmarks: float32 (default), bfloat16 or auto
    parallel_trials = 4                  # benchmarks that train: trials in flight at once (default 1; tunebench.runner.trial_pool)
    replay_noise = "mean"                # replay benchmarks: "seed" (default) or "mean" (tunebench.benchmarks.replay)
    simulated_workers = 4                # replay benchmarks: workers on a simulated clock (tunebench.runner.simulated_clock)
    budget_seconds = 3600                # replay benchmarks: a budget in simulated seconds as well (trials must end by it)
    charge_decision_time = true          # replay benchmarks: the strategy's ask and tell seconds move the simulated clock
    random_start = 10                    # random trials before a model-based strategy models (default: a third of the trials, at least 3)
    seeds = 2                            # this benchmark's own seeds (default: the suite's)
    skip_if_no_data = true               # live benchmarks: leave it out, saying why, when its data is missing
    id = "57935022"                      # benchmark options (mnist-mlp: id)

Command-line options override the file (:func:`tunebench.suite_overrides.apply_overrides`). Every problem raises
:class:`~tunebench.errors.SuiteError` naming the file and the key.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tunebench.benchmarks import BENCHMARKS, get_benchmark_spec
from tunebench import precision as numeric
from tunebench.limits import MAX_TOML_DEPTH, toml_depth
from tunebench.errors import SuiteError
from tunebench.registry import unknown_name
from tunebench.plugins import load_plugins, resolve_reference
from tunebench.strategies import STRATEGIES, get_spec
from tunebench.suite_checks import (check_budget, check_dataset, check_options, check_parallel_trials, check_precision,
                                    check_seconds, parse_seeds, positive_int)

_NAME = re.compile(r"[A-Za-z0-9._-]+")
_SUITE_KEYS = {"name", "description", "seeds", "strategies", "benchmarks", "plugins"}
_BENCHMARK_KEYS = {"max_epochs", "trials", "budget_epochs", "batch_size", "subset", "max_seconds", "precision",
                   "allow_weak_surrogate", "seeds", "skip_if_no_data", "parallel_trials", "replay_noise",
                   "simulated_workers", "random_start", "budget_seconds", "charge_decision_time"}
#: ``replay_noise``'s values: a recorded training seed's answer, or the mean over the draws
#: (:class:`tunebench.benchmarks.replay.ReplayBenchmark`).
REPLAY_NOISE = ("seed", "mean")


@dataclass(frozen=True)
class BenchmarkPlan:
    """One benchmark as a suite runs it. ``budget_epochs`` is the same for every strategy.

    ``seeds`` are this benchmark's own (``None``: the suite's, see :meth:`Suite.seeds_of`);
    ``skip_if_no_data`` lets a suite run without this live benchmark when its dataset is not
    there (:func:`tunebench.runner.tasks.leave_out_missing_data`). ``replay_noise`` (replay
    benchmarks only, ``None`` on the others) is ``"seed"``: a trial answers as one training
    seed did, or ``"mean"``: as the draws do on average (:data:`REPLAY_NOISE`).
    ``simulated_workers`` (replay benchmarks only; ``None``: the one-after-another loop) is
    how many workers share the run's simulated clock
    (:mod:`tunebench.runner.simulated_clock`). ``parallel_trials`` is how
    many of a run's trials are in flight at once (asked before the oldest is told;
    :mod:`tunebench.runner.trial_pool`); 1, the default, is one trial after another.
    ``budget_seconds`` (replay benchmarks only) is a second budget, in simulated seconds: a
    trial is started only if it ends by then on the simulated clock, and the run ends at the
    first that would not (as at the first that the epoch budget cannot pay); it puts the run on
    one simulated worker when ``simulated_workers`` is not given. ``charge_decision_time``
    (replay benchmarks only, off by default) moves the simulated clock by each trial's measured
    ask and tell seconds when it is told, so that a slow strategy's runs take longer; the rows
    then depend on the machine.
    ``random_start`` is how many random trials Bayesian optimisation and both TPEs take before
    they model (``None``: a third of the trial budget, at least 3, which grows with the budget;
    a number fixes it, so that a run's first trials are the whole of a shorter run's:
    :attr:`tunebench.strategies.StrategyContext.initial_random_trials`).
    """

    name: str
    max_epochs: int
    trials: int
    budget_epochs: int
    batch_size: int
    subset: Any = None
    max_seconds: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    precision: str = numeric.FLOAT32
    allow_weak_surrogate: bool = False
    seeds: tuple[int, ...] | None = None
    skip_if_no_data: bool = False
    parallel_trials: int = 1
    replay_noise: str | None = None
    simulated_workers: int | None = None
    random_start: int | None = None
    budget_seconds: float | None = None
    charge_decision_time: bool = False

    @property
    def resolved_precision(self) -> str:
        """The concrete precision (``float32`` or ``bfloat16``) ``precision`` means on this machine."""
        return numeric.resolve(self.precision)

    @property
    def fidelity(self) -> str:
        """``full``, or ``reduced`` with what was reduced (labelled in every output), followed by
        ``(bfloat16)`` when the run trains in bfloat16."""
        spec = get_benchmark_spec(self.name)
        reductions = []
        if self.max_epochs < spec.max_epochs:
            reductions.append(f"{self.max_epochs} of {spec.max_epochs} epochs")
        if self.subset is not None:
            subset = self.subset
            if isinstance(subset, dict):
                subset = " ".join(f"{split}={value}" for split, value in subset.items())
            reductions.append(f"data subset {subset}")
        label = "full" if not reductions else "reduced: " + "; ".join(reductions)
        resolved = self.resolved_precision
        return label if resolved == numeric.FLOAT32 else f"{label} ({resolved})"


@dataclass(frozen=True)
class Suite:
    """A validated suite. ``left_out`` holds ``(benchmark, why)`` for each benchmark the run
    leaves out (a ``skip_if_no_data`` benchmark without its data); it is part of the manifest."""

    name: str
    description: str
    source: str
    seeds: tuple[int, ...]
    strategies: tuple[str, ...]
    benchmarks: tuple[BenchmarkPlan, ...]
    plugins: tuple[str, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()

    def seeds_of(self, plan: BenchmarkPlan) -> tuple[int, ...]:
        """The seeds ``plan`` runs: its own, else the suite's."""
        return plan.seeds if plan.seeds is not None else self.seeds

    @property
    def total_runs(self) -> int:
        """Runs in the suite: per benchmark, its seeds times the strategies."""
        return sum(len(self.seeds_of(plan)) for plan in self.benchmarks) * len(self.strategies)

    @property
    def total_epochs(self) -> int:
        """The suite's epoch budget: per benchmark, its budget times its runs."""
        return sum(plan.budget_epochs * len(self.seeds_of(plan)) for plan in self.benchmarks) * len(self.strategies)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with each benchmark's fidelity label."""
        data = asdict(self)
        data["benchmarks"] = [_plan_dict(b) for b in self.benchmarks]
        return data


def _plan_dict(plan: BenchmarkPlan) -> dict[str, Any]:
    """``plan`` JSON-ready with its fidelity label; a replay-only key is left out of a live
    benchmark's, and ``random_start``, ``budget_seconds`` and ``charge_decision_time`` when unset
    (so that a plan's dict, and a partial run's fingerprint, stay as they were before these keys)."""
    data = asdict(plan) | {"fidelity": plan.fidelity, "resolved_precision": plan.resolved_precision}
    for key in ("replay_noise", "simulated_workers", "random_start", "budget_seconds"):
        if data[key] is None:
            del data[key]
    if not data["charge_decision_time"]:
        del data["charge_decision_time"]
    return data


def suites_dir() -> Path:
    """The folder of named suites shipped with the package."""
    return Path(str(resources.files("tunebench.benchmarks") / "suites"))


def named_suites() -> list[str]:
    """Names of the shipped suites."""
    return sorted(p.stem for p in suites_dir().glob("*.toml"))


def load_suite(name_or_path: str) -> Suite:
    """Read and validate a suite by name or by path to a ``.toml`` file."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        path = suites_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            raise SuiteError(unknown_name("suite", name_or_path, named_suites())
                             + " (or give a path to a .toml file)")
    if not path.is_file():
        raise SuiteError(f"suite file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SuiteError(f"suite file {path} is not valid TOML: {error}") from None
    except ValueError:  # Python's limit on the digits of an integer read from text
        raise SuiteError(f"suite file {path} holds an integer of more than {sys.get_int_max_str_digits():,} digits, "
                         "far beyond any count or seed it may hold (tunebench.limits)") from None
    except RecursionError:
        raise SuiteError(f"suite file {path} nests tables or arrays too deeply to read "
                         f"(a suite needs 4 levels; at most {MAX_TOML_DEPTH} are read)") from None
    except OSError as error:
        raise SuiteError(f"suite file {path} cannot be read: {error.strerror or error}") from None
    if toml_depth(raw) > MAX_TOML_DEPTH:
        raise SuiteError(f"suite file {path} nests tables or arrays more than {MAX_TOML_DEPTH} levels deep "
                         "(a suite needs 4)")
    return parse_suite(raw, source=str(path))


def parse_suite(raw: dict[str, Any], source: str) -> Suite:
    """Validate a suite's parsed TOML; ``source`` names it in error messages."""
    where = f"suite file {source}"
    unknown = set(raw) - _SUITE_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SUITE_KEYS)}")
    name = raw.get("name", Path(source).stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise SuiteError(f"{where}: 'name' must be letters, digits, '.', '_' or '-' (it names the output folder), got {name!r}")
    plugins = _parse_plugins(raw.get("plugins", []), Path(source).parent, f"{where}: 'plugins'")
    seeds = parse_seeds(raw.get("seeds", 1), f"{where}: 'seeds'")
    strategies = parse_strategies(raw.get("strategies", list(STRATEGIES)), f"{where}: 'strategies'")
    tables = raw.get("benchmarks")
    if not isinstance(tables, dict) or not tables:
        raise SuiteError(f"{where}: needs at least one [benchmarks.<name>] table; known: {', '.join(BENCHMARKS)}")
    plans = tuple(_parse_benchmark(bench, table, f"{where}: [benchmarks.{bench}]", plugins)
                  for bench, table in tables.items())
    return Suite(name=name, description=str(raw.get("description", "")), source=source,
                 seeds=seeds, strategies=strategies, benchmarks=plans, plugins=plugins)


def _parse_plugins(value: Any, base_dir: Path, where: str) -> tuple[str, ...]:
    """Load the installed plug-ins and the suite's own (``module:attribute`` references)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{where}: expected a list of 'module:attribute' strings, got {value!r}")
    try:
        references = tuple(resolve_reference(v, base_dir) for v in value)
        load_plugins(references)
    except SuiteError as error:
        raise SuiteError(f"{where}: {error}") from None
    return references


def parse_strategies(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{where}: expected a non-empty list of strategy names")
    for name in value:
        try:
            get_spec(name)
        except SuiteError as error:
            raise SuiteError(f"{where}: {error}") from None
    if len(set(value)) != len(value):
        raise SuiteError(f"{where}: duplicate strategies in {value}")
    return tuple(value)


def _parse_benchmark(name: str, table: Any, where: str, plugins: tuple[str, ...] = ()) -> BenchmarkPlan:
    """One ``[benchmarks.<name>]`` table, checked; ``plugins`` are the suite's (resolved) references."""
    try:
        spec = get_benchmark_spec(name)
    except SuiteError as error:
        raise SuiteError(f"{where}: {error}") from None
    if not isinstance(table, dict):
        raise SuiteError(f"{where}: expected a table of settings")
    check_dataset(spec, where)
    allowed = _BENCHMARK_KEYS | set(spec.options)
    unknown = set(table) - allowed
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    max_epochs = positive_int(table, "max_epochs", spec.max_epochs, where)
    trials = positive_int(table, "trials", spec.trials, where)
    budget = positive_int(table, "budget_epochs", max_epochs * trials, where)
    check_budget(budget, max_epochs, where + ": 'budget_epochs'")
    batch_size = positive_int(table, "batch_size", spec.batch_size, where)
    max_seconds = table.get("max_seconds")
    if max_seconds is not None:
        check_seconds(max_seconds, f"{where}: 'max_seconds'")
    subset = table.get("subset")
    if subset is not None and not isinstance(subset, (int, float, dict)):
        raise SuiteError(f"{where}: 'subset' must be a count, a fraction or a table of them, got {subset!r}")
    precision = check_precision(spec, table.get("precision", numeric.FLOAT32), f"{where}: 'precision'")
    allow_weak = table.get("allow_weak_surrogate", False)
    if not isinstance(allow_weak, bool) or (allow_weak and not spec.recording):
        raise SuiteError(f"{where}: 'allow_weak_surrogate' must be true or false, and only a replay benchmark "
                         f"takes it, got {allow_weak!r}")
    seeds = parse_seeds(table["seeds"], f"{where}: 'seeds'") if "seeds" in table else None
    skip = table.get("skip_if_no_data", False)
    if not isinstance(skip, bool) or (skip and not spec.dataset):
        raise SuiteError(f"{where}: 'skip_if_no_data' must be true or false, and only a benchmark that trains on a "
                         f"dataset takes it, got {skip!r}")
    parallel = check_parallel_trials(spec, positive_int(table, "parallel_trials", 1, where),
                                     f"{where}: 'parallel_trials'", plugins)
    replay_noise = table.get("replay_noise", REPLAY_NOISE[0] if spec.recording else None)
    if (replay_noise not in REPLAY_NOISE or not spec.recording) and "replay_noise" in table:
        raise SuiteError(f"{where}: 'replay_noise' must be one of {', '.join(map(repr, REPLAY_NOISE))}, and only a "
                         f"replay benchmark takes it, got {replay_noise!r}")
    simulated = None
    if "simulated_workers" in table:
        if not spec.recording:
            raise SuiteError(f"{where}: 'simulated_workers' is for replay benchmarks (a live one trains on real "
                             "workers: parallel_trials)")
        simulated = positive_int(table, "simulated_workers", 1, where)
    budget_seconds = table.get("budget_seconds")
    charge = table.get("charge_decision_time", False)
    for key, wrong in (("budget_seconds", budget_seconds is not None), ("charge_decision_time", charge is not False)):
        if wrong and not spec.recording:
            raise SuiteError(f"{where}: '{key}' is for replay benchmarks (it is kept on their simulated clock)")
    if budget_seconds is not None:
        check_seconds(budget_seconds, f"{where}: 'budget_seconds'")
    if not isinstance(charge, bool):
        raise SuiteError(f"{where}: 'charge_decision_time' must be true or false, got {charge!r}")
    if (budget_seconds is not None or charge) and simulated is None:
        simulated = 1  # both are kept on the simulated clock
    random_start = positive_int(table, "random_start", 1, where) if "random_start" in table else None
    options = {key: table.get(key, default) for key, default in spec.options.items()}
    plan = BenchmarkPlan(name=name, max_epochs=max_epochs, trials=trials, budget_epochs=budget,
                         batch_size=batch_size, subset=subset, max_seconds=max_seconds, options=options,
                         precision=precision, allow_weak_surrogate=allow_weak, seeds=seeds, skip_if_no_data=skip,
                         parallel_trials=parallel, replay_noise=replay_noise, simulated_workers=simulated,
                         random_start=random_start, budget_seconds=budget_seconds, charge_decision_time=charge)
    check_options(plan, where)
    return plan
