"""The replay benchmarks' surrogate: a configuration's whole per-epoch curve, predicted.

A multi-output extremely randomized trees regressor (scikit-learn ``ExtraTreesRegressor``,
100 trees, leaves of at least 2 configurations, seeded) maps a configuration to its whole
curve: every metric of :data:`TARGETS` at every recorded epoch, each output standardised so
that all count equally when the trees split. The features are the configuration: one
column per parameter (its value, the log10 of log-scaled or decade-spanning numeric
parameters, a choice's index for non-numeric choices, -1 where a parameter is inactive).
Tree ensembles predict averages of recorded curves, so a predicted curve stays within the
recorded range and keeps the shape of recorded ones. A recording of several training seeds
("draws") is fitted with every draw of a configuration a row of its own
(:meth:`CurveSurrogate.fit_draws`), and judged against each configuration's mean over them.

:func:`surrogate_quality` measures it the way it is used: configurations held out by
k-fold, then the rank correlation (Spearman) and R² between the recorded and the
predicted final-epoch validation accuracy, and the Spearman's spread over repeated splits.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from tunebench.benchmarks.recording import AVERAGED_COLUMNS, draw_counts, mean_over_draws
from tunebench.schema import HP_PREFIX
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


#: A feature map: configurations in, one row of features per configuration out.
Features = Callable[[list[Config]], np.ndarray]


#: The surrogate's models (see :class:`CurveSurrogate`), each with the name outputs show.
MODELS = {"trees": "extra-trees", "gp": "Gaussian-process"}


class CurveSurrogate:
    """Configuration -> curve: ``predict(configs)`` has shape (configs, epochs, len(TARGETS)).

    ``features`` replaces :func:`encode` (the space's own columns) and ``min_samples_leaf``
    the trees' leaf size. ``model="gp"`` replaces the trees by Gaussian-process regression
    (scikit-learn ``GaussianProcessRegressor``): one process per metric of :data:`TARGETS`,
    its epochs the outputs of one kernel (a constant times an anisotropic Matern 5/2 on the
    standardised features, plus white noise; hyperparameters by marginal likelihood, 2
    seeded restarts), each prediction clipped to the recorded range of its output so that a
    predicted curve, like the trees', stays within what was recorded. A benchmark chooses
    its model (``BenchmarkSpec.surrogate``); ``studies/surrogate_variants.py`` compares them.
    """

    def __init__(self, space: SearchSpace, seed: int = 0, trees: int = 100, features: Features | None = None,
                 min_samples_leaf: int = 2, model: str = "trees"):
        if model not in MODELS:
            raise ValueError(f"surrogate model {model!r}: expected one of {', '.join(MODELS)}")
        self.space = space
        self.seed = seed
        self.trees = trees
        self.features = features
        self.min_samples_leaf = min_samples_leaf
        self.model = model

    def _encode(self, configs: list[Config]) -> np.ndarray:
        return self.features(configs) if self.features else encode(self.space, configs)

    def fit(self, configs: list[Config], curves: np.ndarray) -> "CurveSurrogate":
        """Fit on ``curves`` of shape (configs, epochs, len(TARGETS))."""
        self._shape = curves.shape[1:]
        flat = curves.reshape(len(curves), -1)
        self._mean, self._scale = flat.mean(axis=0), flat.std(axis=0)
        self._scale[self._scale == 0] = 1.0
        standardised = (flat - self._mean) / self._scale
        features = self._encode(configs)
        if self.model == "gp":
            self._fit_processes(features, standardised)
        else:
            from sklearn.ensemble import ExtraTreesRegressor

            self._model = ExtraTreesRegressor(n_estimators=self.trees, min_samples_leaf=self.min_samples_leaf,
                                              random_state=self.seed, n_jobs=1).fit(features, standardised)
        return self

    def fit_draws(self, configs: list[Config], draws: list[np.ndarray]) -> "CurveSurrogate":
        """Fit on every draw of every configuration, a row each: ``draws`` holds one array of
        shape (draws, epochs, len(TARGETS)) per configuration (:func:`draws_of`). A
        configuration with two draws counts twice, and the Gaussian processes' white noise
        sees how far a configuration's draws differ. One draw each is :meth:`fit` itself."""
        return self.fit([config for config, stack in zip(configs, draws, strict=True) for _ in stack],
                        np.concatenate(draws))

    def _fit_processes(self, features: np.ndarray, standardised: np.ndarray) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        self._feature_mean, self._feature_scale = features.mean(axis=0), features.std(axis=0)
        self._feature_scale[self._feature_scale == 0] = 1.0
        inputs = (features - self._feature_mean) / self._feature_scale
        self._low, self._high = standardised.min(axis=0), standardised.max(axis=0)
        by_metric = standardised.reshape(len(features), self._shape[0], len(TARGETS))
        self._processes = []
        for metric in range(len(TARGETS)):
            kernel = (ConstantKernel(1.0, (1e-2, 1e2))
                      * Matern(np.ones(inputs.shape[1]), (1e-2, 1e3), nu=2.5) + WhiteKernel(1e-2, (1e-6, 1.0)))
            process = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self._processes.append(process.fit(inputs, by_metric[:, :, metric]))

    def _predict_processes(self, features: np.ndarray) -> np.ndarray:
        """The processes' posterior means, clipped, shape (configs, epochs * len(TARGETS)).

        Each mean is taken as ``GaussianProcessRegressor.predict`` takes it without
        normalisation (the kernel between the new and the training inputs times the fitted
        ``alpha_``; the white-noise term is zero between distinct inputs), without its
        input checks: the same numbers (checked by the tests) for a fraction of the time of a
        one-configuration call.
        """
        inputs = (features - self._feature_mean) / self._feature_scale
        by_metric = np.stack([process.kernel_(inputs, process.X_train_) @ process.alpha_
                              for process in self._processes], axis=2)
        return np.clip(by_metric.reshape(len(inputs), -1), self._low, self._high)

    def predict(self, configs: list[Config]) -> np.ndarray:
        """The predicted curves, shape (configs, epochs, len(TARGETS)).

        With the trees, the forest's mean is taken here, tree by tree in the forest's order
        and in float64, exactly as ``ExtraTreesRegressor.predict`` takes it (the same numbers,
        checked by the tests): the forest's own method sends each tree through joblib and
        scikit-learn's checks, a median 3.2 ms per one-configuration call against 0.83 ms with
        each tree's ``predict(check_input=False)`` (mnist-mlp, 100 trees, 2-core machine), and
        was most of a non-Bayesian replay run's time. Each tree's fitted ``tree_`` is asked
        directly, what ``DecisionTreeRegressor.predict`` does after its fitted-state and tag
        checks (about half of the remaining time).
        """
        if self.model == "gp":
            flat = self._predict_processes(self._encode(configs))
        else:
            features = np.ascontiguousarray(self._encode(configs), dtype=np.float32)
            flat = np.zeros((len(configs), self._model.n_outputs_), dtype=np.float64)
            for tree in self._model.estimators_:
                flat += tree.tree_.predict(features)[:, :, 0].reshape(len(configs), -1)
            flat /= len(self._model.estimators_)
        return (flat * self._scale + self._mean).reshape(len(configs), *self._shape)


def curves_of(space: SearchSpace, table: pd.DataFrame) -> tuple[list[Config], np.ndarray]:
    """Each recorded configuration and its curve, shape (configs, epochs, len(TARGETS)).

    Every configuration of a recording has the same epochs (1 .. the recording's fidelity).
    A table with several draws (a ``draw`` column, as :func:`load_recording
    <tunebench.benchmarks.recording_load.load_recording>` gives it) gives each configuration's
    mean over its draws (:func:`~tunebench.benchmarks.recording.mean_over_draws`).
    """
    if "draw" in table.columns:
        table = mean_over_draws(table)
    table = table.sort_values(["config_id", "epoch"], kind="stable")
    epochs = int(table["epoch"].max())
    first = table[table["epoch"] == 1]
    configs = table_configs(space, first)
    curves = table[TARGETS].to_numpy(dtype=np.float64).reshape(len(first), epochs, len(TARGETS))
    return configs, curves


def draws_of(space: SearchSpace, table: pd.DataFrame) -> list[np.ndarray]:
    """Each recorded configuration's draws, in :func:`curves_of`'s order: one array of shape
    (draws, epochs, len(TARGETS)) per configuration, its first draw first.

    The targets that :func:`~tunebench.benchmarks.recording.mean_over_draws` takes from the
    first draw rather than averaging (the epoch seconds: a later draw may have trained on
    other hardware) are the first draw's in every draw. A table without a ``draw`` column is
    one draw; ``space`` is there to match :func:`curves_of`.
    """
    table = table.assign(draw=table["draw"] if "draw" in table.columns else 1)
    table = table.sort_values(["config_id", "draw", "epoch"], kind="stable")
    epochs = int(table["epoch"].max())
    kept = [TARGETS.index(name) for name in TARGETS if name not in AVERAGED_COLUMNS]
    draws = []
    for _, rows in table.groupby("config_id", sort=True):
        stack = rows[TARGETS].to_numpy(dtype=np.float64, copy=True).reshape(-1, epochs, len(TARGETS))
        stack[:, :, kept] = stack[:1, :, kept]
        draws.append(stack)
    return draws


def fit_surrogate(space: SearchSpace, table: pd.DataFrame, seed: int = 0, model: str = "trees") -> CurveSurrogate:
    """Fit a :class:`CurveSurrogate` (``model`` of :data:`MODELS`) on every configuration of a
    recording table: on every draw, a row each (:meth:`CurveSurrogate.fit_draws`)."""
    configs, _ = curves_of(space, table)
    return CurveSurrogate(space, seed, model=model).fit_draws(configs, draws_of(space, table))


def held_out_curves(space: SearchSpace, configs: list[Config], curves: np.ndarray, folds: int = 5,
                    split_seed: int = 0, seed: int = 0, fit_curves: np.ndarray | None = None,
                    fit_draws: list[np.ndarray] | None = None, **surrogate_options: Any) -> np.ndarray:
    """Every configuration's whole curve as predicted with it held out, shape (configs, epochs,
    len(TARGETS)).

    ``configs`` and ``curves`` are a recording's, as :func:`curves_of` gives them. The
    configurations are split into ``folds`` groups (shuffled with ``split_seed``); each group
    is predicted by a :class:`CurveSurrogate` (seeded with ``seed``, built with
    ``surrogate_options``: ``features``, ``min_samples_leaf``, ``trees``, ``model``) fitted on
    the others. ``fit_curves`` (same shape as ``curves``, default ``curves``) are what the
    surrogates fit on, for a variant that transforms the curves first. ``fit_draws`` instead
    (one array of shape (draws, epochs, len(TARGETS)) per configuration, in ``configs``'
    order, as :func:`draws_of` gives them) fits each draw of a training configuration as a
    row of its own (:meth:`CurveSurrogate.fit_draws`).
    """
    from sklearn.model_selection import KFold

    if fit_draws is None:
        fit_draws = list((curves if fit_curves is None else fit_curves)[:, None])  # one draw each
    predicted = np.empty_like(curves)
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=split_seed).split(curves):
        model = CurveSurrogate(space, seed, **surrogate_options).fit_draws([configs[i] for i in train],
                                                                          [fit_draws[i] for i in train])
        predicted[test] = model.predict([configs[i] for i in test])
    return predicted


def held_out_predictions(space: SearchSpace, configs: list[Config], curves: np.ndarray, folds: int = 5,
                         split_seed: int = 0, seed: int = 0, fit_curves: np.ndarray | None = None,
                         fit_draws: list[np.ndarray] | None = None,
                         **surrogate_options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Recorded and held-out predicted final-epoch validation accuracy, one per configuration:
    :func:`held_out_curves` (the same arguments) read at the last epoch. The predictions are
    always judged against the recorded ``curves``, whatever the surrogates fitted on."""
    column = TARGETS.index("val_accuracy")
    predicted = held_out_curves(space, configs, curves, folds, split_seed, seed, fit_curves, fit_draws,
                                **surrogate_options)
    return curves[:, -1, column], predicted[:, -1, column]


def surrogate_quality(space: SearchSpace, table: pd.DataFrame, folds: int = 5, seed: int = 0,
                      repeats: int = 10, model: str = "trees") -> dict[str, Any]:
    """Held-out quality of the surrogate ``model`` on final-epoch validation accuracy.

    :func:`held_out_predictions` with split seed ``seed``: returns ``model``, ``spearman`` (rank
    correlation) and ``r2`` of that split, the number of configurations and folds, the final
    epoch, and ``spearman_repeats``: the median, minimum and maximum Spearman over
    ``repeats`` splits (split seeds ``seed`` .. ``seed + repeats - 1``, the first being the
    split above; the surrogate's own seed stays ``seed``). On a few dozen configurations one
    split's Spearman moves by 0.1 or more with the split alone, so the spread says how far
    the single number can be trusted. ``None`` values with fewer configurations than folds.

    A recording with several draws is fitted on every draw, a row each (:func:`draws_of`,
    as :func:`fit_surrogate` fits it), and judged against each configuration's mean over its
    draws (:func:`curves_of`, what replay serves for a recorded configuration); ``draws``
    then says how many configurations each draw holds (``{"1": 56, "2": 14}``), and is left
    out for a recording of one draw.
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import r2_score

    configs, curves = curves_of(space, table)
    draws = draws_of(space, table)
    summary: dict[str, Any] = {"model": model, "configs": len(configs), "folds": folds, "epoch": curves.shape[1]}
    counts = draw_counts(table)
    if len(counts) > 1:
        summary["draws"] = counts
    if len(configs) < folds:
        return summary | {"spearman": None, "r2": None, "spearman_repeats": None}
    spearmans, r2 = [], None
    for split_seed in range(seed, seed + max(1, repeats)):
        recorded, predicted = held_out_predictions(space, configs, curves, folds, split_seed, seed,
                                                   fit_draws=draws, model=model)
        spearmans.append(float(spearmanr(recorded, predicted).statistic))
        r2 = r2_score(recorded, predicted) if r2 is None else r2
    return summary | {"spearman": round(spearmans[0], 4), "r2": round(float(r2), 4),
                      "spearman_repeats": {"splits": len(spearmans), "median": round(float(np.median(spearmans)), 4),
                                           "min": round(float(np.min(spearmans)), 4),
                                           "max": round(float(np.max(spearmans)), 4)}}


def stored_model(quality: Any) -> str:
    """The model a stored :func:`surrogate_quality` was measured with: its ``model``, or
    ``"trees"`` where it names none (recordings made before the models had names)."""
    return quality.get("model", "trees") if isinstance(quality, dict) else "trees"


def spread_phrase(quality: Any) -> str:
    """``"median 0.902 over 10 splits"`` for a stored :func:`surrogate_quality` measured over
    repeated splits; ``""`` for one measured over a single split (or none)."""
    repeats = quality.get("spearman_repeats") if isinstance(quality, dict) else None
    if not isinstance(repeats, dict) or repeats.get("splits", 1) <= 1:
        return ""
    return f"median {repeats['median']:.3f} over {repeats['splits']} splits"


__all__ = ["CurveSurrogate", "Features", "MODELS", "TARGETS", "curves_of", "draws_of", "encode", "fit_surrogate",
           "held_out_curves", "held_out_predictions", "spread_phrase", "stored_model", "surrogate_quality",
           "table_configs"]
