"""Replay's array answers are the recording tables' answers, bit for bit (no training: the committed recordings)."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.replay import DEVIATION_CAP, ReplayBenchmark, _key
from tunebench.benchmarks.replay_arrays import NOISY, clip_like_pandas
from tunebench.benchmarks.surrogate import TARGETS
from tunebench.suite import parse_suite


def same_bits(a, b) -> bool:
    """Equal arrays of float64, NaN where NaN, and the same sign of every zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


def test_clip_like_pandas_is_dataframe_clip_with_nan_values_nan_bounds_and_signed_zeros():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(40, 5))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[0, :3] = [-0.0, 0.0, -0.0]
    limit = np.abs(rng.normal(size=values.shape))
    limit[rng.random(values.shape) < 0.2] = np.nan
    limit[0, :3] = 0.0
    expected = pd.DataFrame(values).clip(lower=-pd.DataFrame(limit), upper=pd.DataFrame(limit)).to_numpy()
    assert same_bits(clip_like_pandas(values, -limit, limit), expected)
    assert same_bits(clip_like_pandas(values, 0.0, 1.0), pd.DataFrame(values).clip(0.0, 1.0).to_numpy())


def tables_answer(replayed, config, epochs, seed, initial_epoch=0, warm_start=None):
    """What a replayed trial answered when it was read from the recording's pandas tables
    (the former ``ReplayBenchmark.evaluate``): the metrics array and the confusion matrices."""
    recorded = replayed.recorded
    wanted = list(range(initial_epoch + 1, epochs + 1))
    key = _key(config)
    curve = recorded.curves.get(key)
    donor = key if curve is not None else recorded.nearest(config)
    draw = replayed._draw(donor, seed, warm_start)
    if curve is not None:
        metrics = curve.loc[wanted, TARGETS].copy()
        if draw is not None:
            metrics[NOISY] = recorded.draw_curves[key][draw].loc[wanted, NOISY]
    else:
        metrics = pd.DataFrame(recorded.surrogate.predict([config])[0][initial_epoch:epochs], index=wanted,
                               columns=TARGETS)
        if draw is not None:
            draws = recorded.draw_curves[donor]
            deviation = (draws[draw][NOISY] - recorded.curves[donor][NOISY]) * math.sqrt(len(draws) / (len(draws) - 1))
            cap = DEVIATION_CAP * recorded.seed_spread.reindex(deviation.index)
            noisy = metrics[NOISY] + deviation.clip(lower=-cap, upper=cap).loc[wanted]
            losses = [name for name in NOISY if name.endswith("loss")]
            metrics[NOISY] = noisy.assign(**{name: noisy[name].clip(0.0, 1.0) for name in NOISY if name not in losses},
                                          **{name: noisy[name].clip(lower=0.0) for name in losses})
    confusions = recorded.curves[donor].loc[wanted, "test_confusion"]
    if draw is not None:
        drawn = recorded.draw_curves[donor][draw].loc[wanted, "test_confusion"]
        confusions = drawn.where(drawn.notna(), confusions)
    return metrics.to_numpy(), [json.loads(text) for text in confusions]


@pytest.fixture(scope="module", params=["mnist-mlp@replay", "fer-cnn@replay"])
def replayed(request):
    plan = parse_suite({"name": "t", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {request.param: {"max_epochs": 10, "trials": 2}}}, source="test").benchmarks[0]
    return ReplayBenchmark(get_benchmark_spec(request.param), plan)


def test_every_answer_is_the_tables_answer(replayed):
    """Recorded configurations (each draw) and unrecorded ones (the surrogate plus a borrowed,
    capped deviation), whole runs and continuations: the same bits, the same matrices."""
    recorded = list(replayed.recorded.curves)
    recorded = recorded[::math.ceil(len(recorded) / 60)]
    unrecorded = [config for config in replayed.space.grid() if _key(config) not in replayed.recorded.curves]
    unrecorded = unrecorded[::math.ceil(len(unrecorded) / 40)]
    assert len(unrecorded) >= 20
    cases = [(json.loads(key), 10, seed, 0, None) for key in recorded for seed in (0, 1)]
    cases += [(config, 10, seed, 0, None) for config in unrecorded for seed in (0, 1)]
    cases += [(json.loads(key), 10, 5, 3, {"draw": 1}) for key in recorded[::5]]
    cases += [(config, 7, 2, 3, {"draw": 0}) for config in unrecorded[::3]]
    capped = 0
    for config, epochs, seed, initial_epoch, warm_start in cases:
        evaluation = replayed.evaluate(config, epochs, seed, initial_epoch=initial_epoch, warm_start=warm_start)
        metrics, matrices = tables_answer(replayed, config, epochs, seed, initial_epoch, warm_start)
        got = np.array([[getattr(point, name) for name in TARGETS] for point in evaluation.curve])
        assert same_bits(got, metrics), config
        assert [point.epoch for point in evaluation.curve] == list(range(initial_epoch + 1, epochs + 1))
        assert evaluation.epoch_confusions == matrices and evaluation.test_confusion == matrices[-1]
        if _key(config) not in replayed.recorded.curves:
            donor = replayed.recorded.donors[replayed.recorded.nearest(config)]
            draw = replayed._draw(replayed.recorded.nearest(config), seed, warm_start)
            limit = DEVIATION_CAP * donor._spread
            capped += int(np.any(np.abs(donor.deviation(draw)) == limit))
    assert capped > 0  # the cap was in play for some of the unrecorded answers


def test_an_epoch_beyond_the_recording_is_refused(replayed):
    config = json.loads(next(iter(replayed.recorded.curves)))
    with pytest.raises(KeyError, match="epochs 1..11"):
        replayed.evaluate(config, 11, seed=0)


def test_the_surrogate_is_fitted_at_its_first_use_not_when_the_recording_loads():
    """A process that only checks a recording (a run's parent, before its workers start) never
    pays for the fit; the first unrecorded configuration does, once."""
    from tunebench.benchmarks.replay import _load

    _load.cache_clear()
    plan = parse_suite({"name": "t", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {"fer-cnn@replay": {"max_epochs": 10, "trials": 2}}}, source="test").benchmarks[0]
    replayed = ReplayBenchmark(get_benchmark_spec("fer-cnn@replay"), plan)
    recorded = replayed.recorded
    replayed.evaluate(json.loads(next(iter(recorded.curves))), 10, seed=0)
    assert "surrogate" not in vars(recorded)
    unrecorded = next(c for c in replayed.space.grid() if _key(c) not in recorded.curves)
    first = replayed.evaluate(unrecorded, 10, seed=0)
    assert "surrogate" in vars(recorded)
    surrogate = recorded.surrogate
    assert replayed.evaluate(unrecorded, 10, seed=0) == first and recorded.surrogate is surrogate
