"""Search spaces, written once per benchmark and translated for every backend.

A :class:`SearchSpace` is an ordered list of parameters: :class:`Int`, :class:`Float` and
:class:`Choice`. A parameter may be *conditional*: active only while an earlier parameter
takes one of a few values (``when=("conv_layers", (2, 3))``), like keras-tuner's
``conditional_scope``. Inactive parameters are left out of a configuration.

The same object is translated, by the strategy that needs it, into keras-tuner
``HyperParameters`` (:func:`tunebench.strategies.keras_tuner_oracles.keras_tuner_hyperparameters`),
Optuna's define-by-run calls (:func:`tunebench.strategies.optuna_tpe.suggest_config`) and a
hyperopt expression (:func:`tunebench.strategies.hyperopt_tpe.hyperopt_space`); the space
itself gives its finite grid (:meth:`SearchSpace.grid`) and casts a library's values to the
parameters' types (:meth:`SearchSpace.active_config`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

Config = dict[str, Any]


@dataclass(frozen=True)
class Param:
    """Fields shared by all parameters.

    ``when`` is ``None`` or ``(parent_name, parent_values)``. ``grid_size`` is how many
    points a range contributes to the grid (a Choice contributes all its values).
    """

    name: str
    when: tuple[str, tuple] | None = None
    grid_size: int = 3

    def values(self) -> list | None:
        """All values for a finite parameter, ``None`` for a continuous one."""
        raise NotImplementedError

    def grid_values(self) -> list:
        """The points this parameter contributes to the grid, evenly spread, ends included."""
        values = self.values()
        if values is None:
            raise NotImplementedError
        if len(values) <= self.grid_size:
            return list(values)
        if self.grid_size == 1:
            return [values[0]]
        positions = [round(i * (len(values) - 1) / (self.grid_size - 1)) for i in range(self.grid_size)]
        return [values[p] for p in positions]

    def contains(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Param):
    """An integer in ``[low, high]`` on multiples of ``step`` from ``low``."""

    low: int = 0
    high: int = 0
    step: int = 1

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high and (value - self.low) % self.step == 0


@dataclass(frozen=True)
class Float(Param):
    """A float in ``[low, high]``; log-uniform if ``log``; on a lattice if ``step``."""

    low: float = 0.0
    high: float = 1.0
    step: float | None = None
    log: bool = False

    def values(self) -> list[float] | None:
        if self.step is None:
            return None
        count = int(round((self.high - self.low) / self.step)) + 1
        return [round(self.low + i * self.step, 10) for i in range(count)]

    def grid_values(self) -> list[float]:
        if self.step is not None:
            return super().grid_values()
        if self.grid_size == 1:
            return [self.low]
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            return [float(f"{10 ** (lo + i * (hi - lo) / (self.grid_size - 1)):.6g}") for i in range(self.grid_size)]
        return [self.low + i * (self.high - self.low) / (self.grid_size - 1) for i in range(self.grid_size)]

    def contains(self, value: Any) -> bool:
        if not isinstance(value, (int, float)) or not (self.low - 1e-12 <= value <= self.high + 1e-12):
            return False
        return self.step is None or any(abs(value - v) < 1e-9 for v in self.values())


@dataclass(frozen=True)
class Choice(Param):
    """One of a fixed tuple of values (numbers or strings), unordered."""

    choices: tuple = ()

    def values(self) -> list:
        return list(self.choices)

    def grid_values(self) -> list:
        return list(self.choices)

    def contains(self, value: Any) -> bool:
        return value in self.choices


class SearchSpace:
    """An ordered, validated list of parameters.

    Parameters
    ----------
    params:
        The parameters, parents before the parameters conditioned on them.

    Raises
    ------
    ValueError
        On duplicate names, empty ranges, or a condition on an unknown or later parameter.
    """

    def __init__(self, params: Sequence[Param]):
        self.params: tuple[Param, ...] = tuple(params)
        seen: dict[str, Param] = {}
        for param in self.params:
            if param.name in seen:
                raise ValueError(f"search space: duplicate parameter {param.name!r}")
            _check_param(param)
            if param.when is not None:
                parent, parent_values = param.when
                if parent not in seen:
                    raise ValueError(f"search space: {param.name!r} is conditioned on {parent!r}, which must come earlier")
                if not all(seen[parent].contains(v) for v in parent_values):
                    raise ValueError(f"search space: {param.name!r} is conditioned on values outside {parent!r}")
            seen[param.name] = param
        self._by_name = seen

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [p.name for p in self.params]

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def is_active(self, param: Param, config: Config) -> bool:
        """Whether ``param`` is active given the (partial) ``config`` of its parents."""
        if param.when is None:
            return True
        parent, parent_values = param.when
        return parent in config and config[parent] in parent_values

    def validate(self, config: Config) -> Config:
        """Check that ``config`` holds exactly the active parameters, each within range.

        Returns the config with keys in space order; raises ``ValueError`` otherwise.
        """
        ordered: Config = {}
        for param in self.params:
            if not self.is_active(param, ordered):
                continue
            if param.name not in config:
                raise ValueError(f"configuration misses active parameter {param.name!r}")
            if not param.contains(config[param.name]):
                raise ValueError(f"configuration value {param.name}={config[param.name]!r} is outside the space")
            ordered[param.name] = config[param.name]
        extra = set(config) - set(ordered)
        if extra:
            raise ValueError(f"configuration has inactive or unknown parameters {sorted(extra)}")
        return ordered

    def active_config(self, values: dict[str, Any]) -> Config:
        """Keep only the active parameters of a full assignment, cast to native types."""
        config: Config = {}
        for param in self.params:
            if self.is_active(param, config):
                config[param.name] = _native(param, values[param.name])
        return config

    # ----------------------------------------------------------------- grid
    def grid(self) -> list[Config]:
        """Every combination of grid points, inactive parameters left out, no duplicates.

        The order is lexicographic in space order (the first parameter varies slowest).
        """
        configs: list[Config] = [{}]
        for param in self.params:
            expanded = []
            for config in configs:
                if self.is_active(param, config):
                    expanded.extend({**config, param.name: v} for v in param.grid_values())
                else:
                    expanded.append(config)
            configs = expanded
        return configs


def _check_param(param: Param) -> None:
    if param.grid_size < 1:
        raise ValueError(f"search space: {param.name!r} needs grid_size >= 1")
    if isinstance(param, Choice):
        if not param.choices:
            raise ValueError(f"search space: {param.name!r} has no choices")
        return
    if not param.low <= param.high:
        raise ValueError(f"search space: {param.name!r} has low > high")
    if isinstance(param, Int) and param.step < 1:
        raise ValueError(f"search space: {param.name!r} needs step >= 1")
    if isinstance(param, Float):
        if param.log and (param.low <= 0 or param.step is not None):
            raise ValueError(f"search space: {param.name!r}: log needs low > 0 and no step")
        if param.step is not None and param.step <= 0:
            raise ValueError(f"search space: {param.name!r} needs step > 0")


def _native(param: Param, value: Any) -> Any:
    """Cast a backend's value (numpy scalar, float for an int...) to the parameter's type."""
    if isinstance(param, Int):
        return int(round(float(value)))
    if isinstance(param, Float):
        value = float(value)
        if param.step is not None:
            return min(param.values(), key=lambda v: abs(v - value))
        return value
    for choice in param.choices:
        if choice == value or (isinstance(choice, str) and str(value) == choice):
            return choice
    return value.item() if hasattr(value, "item") else value


__all__ = [
    "Choice",
    "Config",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
]
