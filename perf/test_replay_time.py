"""The replay suite's time, one run at a time: a slowdown anywhere in a replay run shows.

What is measured
----------------
``test_replay_run[<strategy>-<benchmark>]`` times one whole ``run_suite`` of the ``replay``
suite cut down to one strategy, one benchmark and seed 0, at the suite's budget: the
strategy's asks and tells, the recording's answers (recorded configurations and the
surrogate), the journal, the final files and the manifest, as ``tunebench run replay`` does
each of its 240 runs. Five strategies on ``mnist-mlp@replay`` (30 trials); Bayesian
optimisation, whose asks are almost all of the suite's time, on ``fer-cnn@replay`` (10
trials, seconds per run rather than half a minute). Each round writes a fresh output
directory; one warm-up round loads the recordings and the libraries.

``tox -e perf`` compares the medians with ``perf/baseline/replay_time.json`` and fails when
one is more than 3x the baseline's (``median:200%``, as for the strategy overhead: the
machine is shared). The whole suite's time is ``tunebench run replay --workers 2``
(docs/measurements.md); these runs are its parts, small enough to repeat.

A new baseline (on the reference machine, after an intended change)::

    pytest perf/test_replay_time.py -p no:cacheprovider --benchmark-only \\
        --benchmark-json=perf/baseline/replay_time.json
"""

from __future__ import annotations

import itertools

import pytest

from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.suite import load_suite
from tunebench.suite_overrides import apply_overrides

#: (strategy, replay benchmark, rounds)
CASES = [(strategy, "mnist-mlp@replay", 7) for strategy in ("grid", "random", "hyperband", "tpe", "tpe-hyperopt")]
CASES.append(("bayesian", "fer-cnn@replay", 3))


@pytest.mark.parametrize("strategy,replayed,rounds", CASES, ids=[f"{s}-{b}" for s, b, _ in CASES])
def test_replay_run(benchmark, strategy, replayed, rounds, tmp_path):
    suite = apply_overrides(load_suite("replay"), seeds="0,", strategies=strategy, benchmarks=replayed)
    numbers = itertools.count()

    def one_run():
        outcome = run_suite(suite, tmp_path / f"run-{next(numbers)}", tmp_path, progress=Progress(1, 1, enabled=False))
        assert outcome.runs == 1 and outcome.failed_trials == 0

    benchmark.pedantic(one_run, rounds=rounds, warmup_rounds=1)
