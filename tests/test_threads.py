"""Strategies think with one BLAS/OpenMP thread; training keeps its threads."""

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

from tunebench.strategies.keras_tuner_oracles import BayesianOptimization
from tunebench.progress import Progress
from tunebench.runner import run_suite
from tunebench.from_plan import make_benchmark
from tunebench.suite import parse_suite
from tunebench.threads import StrategyThreads


def _pool_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


def test_the_limit_holds_inside_and_is_undone_after():
    np.ones((4, 4)) @ np.ones((4, 4))  # OpenBLAS is loaded
    with threadpool_limits(2):
        one_thread = StrategyThreads()
        assert _pool_threads() == {2}
        with one_thread():
            assert _pool_threads() == {1}
        assert _pool_threads() == {2}


def test_the_runner_asks_and_tells_with_one_thread_and_trains_with_more(tiny_data_dir, tmp_path, monkeypatch):
    seen = {"ask": set(), "tell": set(), "train": set()}
    ask, tell = BayesianOptimization.ask, BayesianOptimization.tell

    def counting_ask(self):
        seen["ask"] |= _pool_threads()
        return ask(self)

    def counting_tell(self, suggestion, observation):
        seen["tell"] |= _pool_threads()
        return tell(self, suggestion, observation)

    def factory(spec, splits, plan):
        benchmark = make_benchmark(spec, splits, plan)
        evaluate = benchmark.evaluate

        def counting_evaluate(*args, **kwargs):
            seen["train"] |= _pool_threads()
            return evaluate(*args, **kwargs)

        benchmark.evaluate = counting_evaluate
        return benchmark

    monkeypatch.setattr(BayesianOptimization, "ask", counting_ask)
    monkeypatch.setattr(BayesianOptimization, "tell", counting_tell)
    suite = parse_suite({"name": "threads", "seeds": [0], "strategies": ["bayesian"],
                         "benchmarks": {"mnist-mlp": {"max_epochs": 1, "trials": 3}}}, source="(test)")
    with threadpool_limits(2):
        run_suite(suite, tmp_path / "out", tiny_data_dir, progress=Progress(1, 1, enabled=False),
                  benchmark_factory=factory)
    assert len(pd.read_csv(tmp_path / "out" / "trials.csv")) == 3
    assert seen == {"ask": {1}, "tell": {1}, "train": {2}}


def test_a_worker_that_shares_the_cores_trains_with_its_share_unless_the_driver_set_the_pools():
    from tunebench.process import THREAD_ENV, with_training_threads

    unset = tuple((name, None) for name in THREAD_ENV)
    sized = dict(with_training_threads(unset, 1))
    assert sized["TF_NUM_INTRAOP_THREADS"] == "1" and sized["TF_NUM_INTEROP_THREADS"] == "1"
    assert sized["OMP_NUM_THREADS"] is None and sized["OPENBLAS_NUM_THREADS"] is None  # BLAS left as it was
    given = dict(with_training_threads(tuple((name, "4" if name == "TF_NUM_INTRAOP_THREADS" else None)
                                             for name in THREAD_ENV), 1))
    assert given["TF_NUM_INTRAOP_THREADS"] == "4"  # the user's setting wins
