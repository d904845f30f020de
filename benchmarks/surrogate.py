"""The replay benchmarks' surrogate: per-epoch metrics predicted from a configuration.

A random forest (scikit-learn ``RandomForestRegressor``, 300 trees, seeded) is fitted on
every row of a recording: the features are the configuration (one column per parameter:
its value, the log10 of log-scaled or decade-spanning numeric parameters, a choice's index
for non-numeric choices, -1 where a parameter is inactive) and the epoch; the targets are
every metric of an epoch record. Forests predict averages of recorded rows, so predictions
stay within the recorded range and a predicted curve looks like recorded ones.

:func:`surrogate_quality` measures it the way it is used: configurations held out by
group k-fold (all epochs of a configuration in the same fold), then the rank correlation
(Spearman) and R² between the recorded and the predicted final-epoch validation accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tunebench.results import HP_PREFIX
from tunebench.space import Config, Float, SearchSpace

#: Columns of an epoch record the surrogate predicts (``epoch`` is an input).
TARGETS = ["loss", "accuracy", "val_loss", "val_accuracy", "val_f1", "test_accuracy", "test_f1", "epoch_seconds"]
_INACTIVE = -1.0


def _log_scaled(param) -> bool:
    if isinstance(param, Float) and param.log:
        return True
    values = param.values()
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        return max(values) / min(values) > 100
    return False


def encode(space: SearchSpace, configs: list[Config]) -> np.ndarray:
    """One row of features per configuration (see the module docstring)."""
    columns = []
    for param in space.params:
        values = param.values()
        numeric = values is None or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        log = _log_scaled(param)
        column = []
        for config in configs:
            if param.name not in config:
                column.append(_INACTIVE)
            elif not numeric:
                column.append(float(values.index(config[param.name])))
            else:
                value = float(config[param.name])
                column.append(math.log10(value) if log else value)
        columns.append(column)
    return np.asarray(columns, dtype=np.float64).T


def table_configs(space: SearchSpace, table: pd.DataFrame) -> list[Config]:
    """The configuration of each row of a recording table (inactive parameters left out)."""
    hp = table[[HP_PREFIX + name for name in space.names]]
    return [space.active_config(dict(zip(space.names, values))) for values in hp.itertuples(index=False)]


class CurveSurrogate:
    """A fitted surrogate: ``predict(configs, epochs)`` -> one row of :data:`TARGETS` per pair."""

    def __init__(self, space: SearchSpace, seed: int = 0, trees: int = 300):
        self.space = space
        self.seed = seed
        self.trees = trees
        self._model = None

    def fit(self, configs: list[Config], epochs: np.ndarray, targets: np.ndarray) -> "CurveSurrogate":
        from sklearn.ensemble import RandomForestRegressor

        features = np.column_stack([encode(self.space, configs), epochs])
        self._model = RandomForestRegressor(n_estimators=self.trees, min_samples_leaf=2, random_state=self.seed,
                                            n_jobs=1).fit(features, targets)
        return self

    def predict(self, configs: list[Config], epochs: np.ndarray) -> np.ndarray:
        features = np.column_stack([encode(self.space, configs), np.asarray(epochs, dtype=np.float64)])
        return self._model.predict(features)


def fit_surrogate(space: SearchSpace, table: pd.DataFrame, seed: int = 0) -> CurveSurrogate:
    """Fit a :class:`CurveSurrogate` on every row of a recording table."""
    return CurveSurrogate(space, seed).fit(table_configs(space, table), table["epoch"].to_numpy(),
                                           table[TARGETS].to_numpy())


def surrogate_quality(space: SearchSpace, table: pd.DataFrame, folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Held-out quality of the surrogate on final-epoch validation accuracy.

    Configurations are split into ``folds`` groups; each group's rows are predicted by a
    surrogate fitted on the others. Returns ``spearman`` (rank correlation), ``r2``, the
    number of configurations and folds, and the final epoch used.
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold

    final_epoch = int(table["epoch"].max())
    ids = table["config_id"].to_numpy()
    n_configs = len(np.unique(ids))
    if n_configs < folds:
        return {"configs": n_configs, "folds": folds, "spearman": None, "r2": None, "epoch": final_epoch}
    configs = table_configs(space, table)
    epochs = table["epoch"].to_numpy()
    targets = table[TARGETS].to_numpy()
    column = TARGETS.index("val_accuracy")
    recorded, predicted = [], []
    for train, test in GroupKFold(n_splits=folds).split(targets, groups=ids):
        model = CurveSurrogate(space, seed).fit([configs[i] for i in train], epochs[train], targets[train])
        last = test[epochs[test] == final_epoch]
        recorded.extend(targets[last, column])
        predicted.extend(model.predict([configs[i] for i in last], epochs[last])[:, column])
    return {"configs": n_configs, "folds": folds, "epoch": final_epoch,
            "spearman": round(float(spearmanr(recorded, predicted).statistic), 4),
            "r2": round(float(r2_score(recorded, predicted)), 4)}


__all__ = ["CurveSurrogate", "TARGETS", "encode", "fit_surrogate", "surrogate_quality", "table_configs"]
