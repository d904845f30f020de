"""Does replay under ``replay_noise = "seed"`` spread as training does?

Latest result (2-core AVX-512 EPYC, 2026-12-07, 200 run seeds, 200 unrecorded configurations;
borrowed deviations capped at 3 typical seed spreads): fer-cnn@replay, recorded 0.0185 (0.71 of
the re-seeding sd 0.0262), unrecorded 0.0202 (0.77); mnist-mlp@replay, recorded 0.0143 (0.71 of
0.0202, a pooled sd dominated by unstably trained configurations), unrecorded 0.0046; under
``"mean"``, 0 for both.

Asks a replay benchmark (default ``fer-cnn@replay``, whose recording has two draws) for the
final validation accuracy of each configuration under many run seeds (``--seeds``: the
training seed each run would give it), for the recorded configurations and for as many
configurations it never recorded (uniform in the space), and compares the spread across run
seeds with the re-seeding spread that the recording measured: per recorded configuration,
the sd of its draws (``ddof = 1``), pooled as a root mean square.

Printed: the pooled re-seeding sd, the pooled sd across run seeds for recorded and for
unrecorded configurations (``ddof = 1`` over the seeds), each as a ratio to the re-seeding
sd, and, under ``"mean"``, the same (0: the noiseless replay of before). A recorded
configuration can only answer the draws it has: with two, its sd across many run seeds is
``|d1 - d2| / 2``, which is the re-seeding sd's ``1 / sqrt(2)`` (0.71) in expectation for a
pooled root mean square; an unrecorded one gets a deviation scaled to one seed's spread, so
its ratio should be near 1 where its nearest recorded configuration is typical.

Usage, from the repository root (the recordings are read from results/recordings/)::

    python -m studies.replay_noise [--benchmark fer-cnn@replay] [--seeds 200] [--unrecorded 200]
"""

from __future__ import annotations

import argparse
import json
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.recording import from_unit  # noqa: E402
from tunebench.from_plan import make_benchmark  # noqa: E402
from tunebench.seeding import RunSeeds  # noqa: E402
from tunebench.suite import parse_suite  # noqa: E402


def replay(name: str, noise: str):
    plan = parse_suite({"name": "noise", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {name: {"replay_noise": noise}}}, source="studies.replay_noise").benchmarks[0]
    return make_benchmark(get_benchmark_spec(name), None, plan)


def final_val(benchmark, config, seeds: range) -> np.ndarray:
    epochs = benchmark.max_epochs
    return np.array([benchmark.evaluate(config, epochs, RunSeeds(benchmark.name, seed).training(config))
                     .curve[-1].val_accuracy for seed in seeds])


def pooled(sds) -> float:
    """Root mean square of per-configuration sds."""
    return float(math.sqrt(np.mean(np.square(list(sds)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="fer-cnn@replay")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--unrecorded", type=int, default=200)
    args = parser.parse_args()
    seeds = range(args.seeds)
    seeded = replay(args.benchmark, "seed")
    recorded = {key: [draw.loc[seeded.max_epochs, "val_accuracy"] for draw in draws]
                for key, draws in seeded.recorded.draw_curves.items()}
    several = {key: values for key, values in recorded.items() if len(values) > 1}
    if not several:
        raise SystemExit(f"{args.benchmark}: its recording has one draw, so there is no seed spread to compare")
    reseeding = pooled(np.std(values, ddof=1) for values in several.values())
    rng = np.random.default_rng(0)
    unrecorded = [from_unit(seeded.space, rng.random(len(seeded.space.names))) for _ in range(args.unrecorded)]
    print(f"{args.benchmark}: {len(several)} configurations with {len(next(iter(several.values())))} draws; "
          f"{args.seeds} run seeds; re-seeding sd (pooled, ddof 1) {reseeding:.4f}")
    print(f"{'replay_noise':<13}{'configurations':<16}{'sd over run seeds':>18}{'/ re-seeding sd':>17}")
    for noise in ("seed", "mean"):
        benchmark = seeded if noise == "seed" else replay(args.benchmark, "mean")
        for label, configs in (("recorded", [json.loads(key) for key in several]), ("unrecorded", unrecorded)):
            spread = pooled(np.std(final_val(benchmark, config, seeds), ddof=1) for config in configs)
            print(f"{noise:<13}{label:<16}{spread:>18.4f}{spread / reseeding:>17.2f}")


if __name__ == "__main__":
    main()
