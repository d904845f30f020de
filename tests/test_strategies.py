"""Each strategy's ask/tell loop, on a cheap objective (no training)."""

import json
import math

import pytest

from tunebench.errors import SuiteError
from tunebench.models import fer_cnn, mnist_mlp
from tunebench.strategies import STRATEGIES, Observation, StrategyContext, make_strategy


def objective(config):
    """Peaks at learning_rate 1e-3 and wide layers: enough structure for model-based search."""
    return 1.0 - abs(math.log10(config["learning_rate"]) + 3) / 3 - 0.001 * abs(config.get("dense_units", 0) - 320) / 64


def drive(name, space, seed=7, trials=12, max_epochs=9):
    strategy = make_strategy(name, StrategyContext(space=space, seed=seed, max_epochs=max_epochs, trial_budget=trials))
    suggestions = []
    try:
        for _ in range(trials):
            suggestion = strategy.ask()
            if suggestion is None:
                break
            assert space.validate(suggestion.config) == suggestion.config
            assert 0 <= suggestion.initial_epoch < suggestion.epochs <= max_epochs
            strategy.tell(suggestion, Observation(val_accuracy=objective(suggestion.config)))
            suggestions.append(suggestion)
        assert strategy.settings()
    finally:
        strategy.close()
    return suggestions


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_ask_tell_loop_gives_valid_suggestions_deterministically(name):
    space = fer_cnn.search_space()
    first = drive(name, space)
    second = drive(name, space)
    assert len(first) == 12
    assert [s.config for s in first] == [s.config for s in second]
    assert len({s.trial_id for s in first}) == len(first)


@pytest.mark.parametrize("name", ["random", "bayesian", "tpe", "tpe-hyperopt", "grid"])
def test_seed_changes_the_suggestions(name):
    """Four trials: the 3 random-start ones and one from the model (Bayesian optimisation's GP
    asks take seconds each; more of them would not change what this shows)."""
    space = mnist_mlp.search_space()
    first, second = drive(name, space, seed=1, trials=4), drive(name, space, seed=2, trials=4)
    assert len(first) == len(second) == 4
    assert [s.config for s in first] != [s.config for s in second]


def test_model_based_strategies_leave_random_search_after_the_initial_trials():
    space = fer_cnn.search_space()
    random_configs = [s.config for s in drive("random", space, trials=10)]
    bayes_configs = [s.config for s in drive("bayesian", space, trials=10)]
    initial = StrategyContext(space=space, seed=7, max_epochs=9, trial_budget=10).initial_random_trials
    assert bayes_configs[:initial] == random_configs[:initial]  # common random numbers
    assert bayes_configs[initial:] != random_configs[initial:]


def test_hyperband_promotes_with_parent_and_initial_epoch():
    suggestions = drive("hyperband", fer_cnn.search_space(), trials=40, max_epochs=9)
    promoted = [s for s in suggestions if s.parent is not None]
    assert promoted, "Hyperband with max_epochs 9 must promote trials"
    by_id = {s.trial_id: s for s in suggestions}
    for child in promoted:
        parent = by_id[child.parent]
        assert child.config == parent.config
        assert child.initial_epoch == parent.epochs
    assert {s.epochs for s in suggestions} >= {1, 3, 9}


def test_a_grid_that_fits_the_budget_is_visited_whole_in_a_seeded_order_and_stops():
    space = fer_cnn.search_space()
    grid = space.grid()
    strategy = make_strategy("grid", StrategyContext(space=space, seed=3, max_epochs=2, trial_budget=len(grid)))
    seen = []
    while (s := strategy.ask()) is not None:
        seen.append(s.config)
        strategy.tell(s, Observation(0.5))
    key = lambda config: json.dumps(config, sort_keys=True)  # noqa: E731
    assert sorted(map(key, seen)) == sorted(map(key, grid))  # every point once
    assert seen != grid  # not lexicographic: the order a shorter budget would visit too


def test_grid_larger_than_budget_is_visited_in_seeded_order():
    space = mnist_mlp.search_space()
    first = [s.config for s in drive("grid", space, seed=1, trials=10)]
    assert first != space.grid()[:10]
    # The units of the first layer vary across the visited points (not one corner).
    assert len({c["units_1"] for c in first}) > 1


def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(SuiteError, match="unknown strategy 'annealing'.*tpe-hyperopt"):
        make_strategy("annealing", StrategyContext(space=fer_cnn.search_space(), seed=1, max_epochs=1, trial_budget=1))


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband", "tpe", "tpe-hyperopt"])
def test_a_failed_observation_is_recorded_and_the_search_goes_on(name):
    space = fer_cnn.search_space()
    strategy = make_strategy(name, StrategyContext(space=space, seed=5, max_epochs=3, trial_budget=6))
    try:
        for i in range(8):
            s = strategy.ask()
            assert s is not None and space.validate(s.config) == s.config
            strategy.tell(s, Observation(math.nan, failed=True) if i == 1 else Observation(objective(s.config)))
        if name == "tpe":
            assert [t.state.name for t in strategy.study.trials].count("FAIL") == 1
        elif name == "tpe-hyperopt":
            # hyperopt keeps errored jobs out of `trials.trials`, so TPE models only the 7 others.
            assert len(strategy.trials.trials) == 7
            assert [t["result"]["status"] for t in strategy.trials._dynamic_trials].count("fail") == 1
        else:
            assert [t.status for t in strategy.oracle.trials.values()].count("FAILED") == 1
    finally:
        strategy.close()


def _bayesian_suggestions(space, seed, trials, unpatched):
    """The Bayesian strategy's suggestions on :func:`objective`, with the last GP ask's fast-path and batch
    outcome; ``unpatched`` runs keras-tuner's own oracle with scikit-learn's own GP."""
    import tunebench.strategies.keras_tuner_oracles as oracles
    from tunebench.threads import StrategyThreads

    fast_oracle = oracles.bayesian_oracle
    if unpatched:
        oracles.bayesian_oracle = lambda keras_tuner, **options: keras_tuner.oracles.BayesianOptimizationOracle(**options)
    try:
        strategy = make_strategy("bayesian", StrategyContext(space=space, seed=seed, max_epochs=9, trial_budget=trials))
    finally:
        oracles.bayesian_oracle = fast_oracle
    one_thread = StrategyThreads()  # as the runner does: idle BLAS threads would only spin
    try:
        suggestions = []
        for _ in range(trials):
            with one_thread():
                suggestion = strategy.ask()
                strategy.tell(suggestion, Observation(val_accuracy=objective(suggestion.config)))
            suggestions.append(suggestion.config)
        outcome = (getattr(strategy.oracle.gpr, "_fast_path", None), getattr(strategy.oracle, "lockstep_outcome", None))
        return suggestions, outcome
    finally:
        strategy.close()


@pytest.mark.parametrize("seed", [3])  # not 0: keras-tuner replaces seed 0 by a random one
def test_bayesian_suggestions_are_the_unpatched_keras_tuner_oracles_bit_for_bit(seed):
    space = mnist_mlp.search_space()
    fast, (fast_path_used, (block_checked, blocks)) = _bayesian_suggestions(space, seed, trials=9, unpatched=False)
    reference, unpatched_outcome = _bayesian_suggestions(space, seed, trials=9, unpatched=True)
    assert unpatched_outcome == (None, None)  # really keras-tuner's oracle and scikit-learn's GP
    assert fast_path_used is True and block_checked is True and blocks > 0  # the speed-ups were really on
    assert fast == reference  # every float of every configuration, exactly


@pytest.mark.slow  # two 30-trial Bayesian runs, one of them unpatched: about 40 s
def test_bayesian_replay_runs_are_the_unpatched_keras_tuner_oracles_bit_for_bit(tmp_path):
    """The regress suite's mnist-mlp@replay Bayesian run (30 trials, replay_noise "mean") on its first
    seed, against keras-tuner's own oracle: every column of trials.csv but the measured times (20
    model-based asks with the speed-ups on; another seed's asks are compared above, bit for bit)."""
    import pandas as pd

    import tunebench.strategies.keras_tuner_oracles as oracles
    from tunebench.runner import run_suite
    from tunebench.suite import load_suite
    from tunebench.suite_overrides import apply_overrides

    suite = apply_overrides(load_suite("regress"), seeds="1", strategies="bayesian", benchmarks="mnist-mlp@replay")
    assert suite.benchmarks[0].replay_noise == "mean" and suite.benchmarks[0].trials == 30
    outcomes = []

    def watched(keras_tuner, **options):  # the fast oracle, remembering each ask's outcome
        oracle = fast_oracle(keras_tuner, **options)
        outcomes.append(oracle)
        return oracle

    fast_oracle = oracles.bayesian_oracle
    trials = {}
    for name, factory in (("unpatched", lambda keras_tuner, **options: keras_tuner.oracles.BayesianOptimizationOracle(**options)),
                          ("tunebench", watched)):
        oracles.bayesian_oracle = factory
        try:
            run_suite(suite, tmp_path / name, tmp_path, overwrite=True)
        finally:
            oracles.bayesian_oracle = fast_oracle
        trials[name] = pd.read_csv(tmp_path / name / "trials.csv")
    assert len(outcomes) == 1 and all(o.gpr._fast_path is True and o.lockstep_outcome[0] is True for o in outcomes)
    keep = [c for c in trials["tunebench"].columns if c not in ("train_seconds", "overhead_seconds", "elapsed_seconds")]
    assert len(trials["tunebench"]) == 30
    pd.testing.assert_frame_equal(trials["tunebench"][keep], trials["unpatched"][keep], check_exact=True)


def test_prevalidated_gp_matches_scikit_learn_and_falls_back_when_it_would_not():
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern

    from tunebench.strategies.gp_predict import PrevalidatedGaussianProcessRegressor

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(15, 4)), rng.normal(size=15)
    params = dict(kernel=Matern(nu=2.5), normalize_y=True, n_restarts_optimizer=2, random_state=1)
    plain = GaussianProcessRegressor(**params).fit(x, y)
    fast = PrevalidatedGaussianProcessRegressor(**params).fit(x, y)
    for row in rng.uniform(size=(20, 1, 4)):
        for got, want in zip(fast.predict(row, return_std=True), plain.predict(row, return_std=True)):
            assert np.array_equal(got, want)
    assert fast._fast_path is True
    several = rng.uniform(size=(3, 4))  # not one row: scikit-learn's own predict, same answer
    assert np.array_equal(fast.predict(several), plain.predict(several))
    with pytest.raises(ValueError, match="NaN|infinity"):  # bad input still meets scikit-learn's checks
        fast.predict(np.array([[np.nan, 0.1, 0.2, 0.3]]), return_std=True)

    class Drifted(PrevalidatedGaussianProcessRegressor):  # a fast path that no longer agrees
        def _posterior_mean_std(self, X):
            mean, std = super()._posterior_mean_std(X)
            return mean + 1e-12, std

    drifted = Drifted(**params).fit(x, y)
    for row in rng.uniform(size=(5, 1, 4)):
        for got, want in zip(drifted.predict(row, return_std=True), plain.predict(row, return_std=True)):
            assert np.array_equal(got, want)
    assert drifted._fast_path is False


def test_the_lockstep_minimisations_give_scipys_results_and_fall_back_when_the_block_disagrees():
    import numpy as np
    import scipy.optimize
    from sklearn.gaussian_process.kernels import Matern

    from tunebench.strategies.gp_acquisition import AcquisitionBlock
    from tunebench.strategies.gp_predict import PrevalidatedGaussianProcessRegressor
    from tunebench.strategies.lbfgsb_lockstep import minimize_from

    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=(15, 4)), rng.normal(size=15)
    params = dict(kernel=Matern(nu=2.5), normalize_y=True, n_restarts_optimizer=2, random_state=1)
    starts, bounds = rng.uniform(size=(8, 4)), np.array([[0, 1]] * 4)  # keras-tuner's integer bounds

    def acquisition_of(gpr):
        def ucb(x):
            mu, sigma = gpr.predict(x.reshape(1, -1), return_std=True)
            return mu - 2.6 * sigma
        return ucb

    reference_gpr = PrevalidatedGaussianProcessRegressor(**params).fit(x, y)
    plain = [scipy.optimize.minimize(acquisition_of(reference_gpr), x0=s, bounds=bounds, method="L-BFGS-B")
             for s in starts]
    gpr = PrevalidatedGaussianProcessRegressor(**params).fit(x, y)
    block = AcquisitionBlock(gpr, 2.6, acquisition_of(gpr))
    lockstep = minimize_from(block, starts, bounds)
    assert block.checked is True and block.blocks > 5
    for (fun, x_found), result in zip(lockstep, plain):  # every minimum and its value, exactly
        assert np.array_equal(x_found, result.x) and fun == (result.fun if np.isscalar(result.fun) else result.fun[0])

    class Drifted(PrevalidatedGaussianProcessRegressor):  # a block that no longer agrees
        def posteriors(self, X):
            return [(mu + 1e-12, sigma) for mu, sigma in super().posteriors(X)]

    drifted = Drifted(**params).fit(x, y)
    block = AcquisitionBlock(drifted, 2.6, acquisition_of(drifted))
    assert minimize_from(block, starts, bounds) is None  # the caller then runs scipy itself
    assert block.checked is False and block.blocks == 0


def drive_in_flight(name, space, in_flight=3, trials=12, seed=7, max_epochs=9):
    """Ask with up to ``in_flight`` trials not yet told, tell the oldest first (parallel trials)."""
    strategy = make_strategy(name, StrategyContext(space=space, seed=seed, max_epochs=max_epochs, trial_budget=trials))
    asked, told = [], []
    try:
        while len(told) < trials:
            while len(asked) < in_flight:
                suggestion = strategy.ask()
                assert suggestion is not None, f"{name} stopped with {len(asked)} trial(s) in flight"
                assert space.validate(suggestion.config) == suggestion.config
                assert suggestion.parent is None or suggestion.parent in {s.trial_id for s in told}
                asked.append(suggestion)
            oldest = asked.pop(0)
            strategy.tell(oldest, Observation(val_accuracy=objective(oldest.config)))
            told.append(oldest)
    finally:
        strategy.close()
    return told


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_asks_distinct_trials_with_three_in_flight(name):
    """What a run with ``parallel_trials = 3`` does: each ask is a new trial (keras-tuner's
    oracles hand one tuner id its ongoing trial again, so each ask needs its own id), a
    promotion's parent has been told, and the sequence is reproducible."""
    space = mnist_mlp.search_space()
    first = drive_in_flight(name, space)
    assert len({s.trial_id for s in first}) == len(first) == 12
    assert [s.config for s in first] == [s.config for s in drive_in_flight(name, space)]
