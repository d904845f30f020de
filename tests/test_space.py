import pytest
from hyperopt.pyll import stochastic

from tunebench.models import fer_cnn, mnist_mlp
from tunebench.strategies.hyperopt_tpe import config_from_hyperopt, hyperopt_space
from tunebench.strategies.keras_tuner_oracles import keras_tuner_hyperparameters
from tunebench.strategies.optuna_tpe import suggest_config
from tunebench.space import Choice, Float, Int, SearchSpace


@pytest.fixture
def space():
    return SearchSpace([
        Int("layers", low=1, high=3),
        Int("width_2", low=8, high=32, step=8, grid_size=2, when=("layers", (2, 3))),
        Float("dropout", low=0.1, high=0.4, step=0.1),
        Float("lr", low=1e-4, high=1e-1, log=True, grid_size=4),
        Choice("act", choices=("relu", "tanh")),
    ])


def test_grid_prunes_inactive_parameters_and_has_no_duplicates(space):
    grid = space.grid()
    # layers=1: 3*4*2 points without width_2; layers in (2,3): 2 widths each.
    assert len(grid) == 1 * 3 * 4 * 2 + 2 * 2 * 3 * 4 * 2
    assert all("width_2" not in c for c in grid if c["layers"] == 1)
    assert all("width_2" in c for c in grid if c["layers"] > 1)
    assert len({tuple(sorted(c.items())) for c in grid}) == len(grid)
    for config in grid:
        assert space.validate(config) == config


def test_grid_points_are_spread_with_ends_included(space):
    assert space["dropout"].grid_values() == [0.1, 0.3, 0.4]  # positions 0, 1.5 -> 2, 3
    assert space["width_2"].grid_values() == [8, 32]
    lr = space["lr"].grid_values()
    assert lr[0] == pytest.approx(1e-4) and lr[-1] == pytest.approx(1e-1)
    assert lr[1] / lr[0] == pytest.approx(lr[2] / lr[1], rel=1e-3)  # log spacing


def test_validate_rejects_out_of_range_missing_and_inactive(space):
    good = {"layers": 1, "dropout": 0.2, "lr": 0.01, "act": "relu"}
    assert space.validate(good) == good
    with pytest.raises(ValueError, match="outside"):
        space.validate({**good, "dropout": 0.25})
    with pytest.raises(ValueError, match="misses"):
        space.validate({"layers": 2, "dropout": 0.2, "lr": 0.01, "act": "relu"})
    with pytest.raises(ValueError, match="inactive"):
        space.validate({**good, "width_2": 8})


def test_space_definition_errors():
    with pytest.raises(ValueError, match="duplicate"):
        SearchSpace([Int("a", low=1, high=2), Int("a", low=1, high=2)])
    with pytest.raises(ValueError, match="earlier"):
        SearchSpace([Int("b", low=1, high=2, when=("a", (1,))), Int("a", low=1, high=2)])
    with pytest.raises(ValueError, match="log"):
        SearchSpace([Float("lr", low=0.0, high=1.0, log=True)])


def test_keras_tuner_translation_keeps_names_ranges_and_conditions(space):
    hp = keras_tuner_hyperparameters(space)
    declared = {p.name: p for p in hp.space}
    assert list(declared) == space.names
    assert declared["width_2"].conditions  # conditional in keras-tuner too
    assert declared["lr"].sampling == "log"
    assert declared["dropout"].step == pytest.approx(0.1)


def test_optuna_define_by_run_skips_inactive_parameters(space):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen_layers = set()
    for _ in range(30):
        trial = study.ask()
        config = suggest_config(space, trial)
        assert space.validate(config) == config
        assert ("width_2" in trial.params) == (config["layers"] > 1)
        seen_layers.add(config["layers"])
        study.tell(trial, 0.0)
    assert seen_layers == {1, 2, 3}


def test_hyperopt_round_trip_gives_valid_configs_covering_the_steps(space):
    import numpy as np

    expression = hyperopt_space(space)
    rng = np.random.default_rng(0)
    dropouts = set()
    for _ in range(200):
        point = stochastic.sample(expression, rng=rng)
        config = config_from_hyperopt(space, point)
        assert space.validate(config) == config
        dropouts.add(config["dropout"])
    assert dropouts == {0.1, 0.2, 0.3, 0.4}  # every stepped value reachable, ends included


def test_active_config_casts_backend_values(space):
    import numpy as np

    values = {"layers": np.int64(2), "width_2": 16.0, "dropout": 0.30000000000000004, "lr": np.float32(0.01), "act": "tanh"}
    config = space.active_config(values)
    assert config == {"layers": 2, "width_2": 16, "dropout": 0.3, "lr": pytest.approx(0.01), "act": "tanh"}
    assert type(config["layers"]) is int and type(config["width_2"]) is int


def test_benchmark_spaces_match_the_seeds():
    fer = fer_cnn.search_space()
    assert fer["conv_layers"].values() == [1, 2, 3]
    assert fer["filters_1"].values() == [32, 64, 96, 128]
    assert fer["dense_units"].values() == list(range(64, 513, 64))
    assert (fer["learning_rate"].low, fer["learning_rate"].high, fer["learning_rate"].log) == (1e-5, 1e-2, True)
    mnist = mnist_mlp.search_space()
    assert [(mnist[f"units_{i}"].low, mnist[f"units_{i}"].high) for i in range(1, 5)] == [(40, 80), (70, 120), (35, 65), (15, 30)]
    assert mnist["dropout_1"].values() == [0.1, 0.2, 0.3, 0.4]
    assert set(mnist["learning_rate"].values()) == {1e-2, 1e-3, 1e-4}
    assert len(mnist.grid()) == 3**4 * 2**4 * 3
