"""Do two recordings of one design, from another backend or machine, measure the same thing?

Latest result (fer-cnn, TensorFlow on the CPU against JAX on the H200, the 41 configurations
both hold; 2-core AVX-512 EPYC, beside the re-seeding; 2026-12-04): mean difference -0.005,
95 % bootstrap interval [-0.021, +0.013]; Spearman 0.753 between them and a differences' sd of
0.057, against 0.979 and 0.018 that epoch-to-epoch noise alone would leave. With
``--surrogate-splits 10``, fitted on the mean of the two recordings and judged against it, the
Gaussian processes rank the 41 at 0.893, against 0.872 on the CPU recording alone and 0.671 on
the GPU's alone.

Two recordings of one design, configuration by configuration: do they measure the same thing?

Made for a recording of fer-cnn on another backend or machine (``tools/gpu_record.py``'s
``check`` phase, JAX on a GPU) against the committed one (TensorFlow on CPU), before the new
one replaces the old in the suites; it works for any two recordings of one benchmark.
Configurations are matched by their hyperparameters (a configuration only one recording holds
is counted and left out), and compared at one epoch (default: the last epoch both hold, so a
30-epoch recording is read at 10 against a 10-epoch one). Printed:

- the Spearman between the two recordings' validation accuracies at that epoch (how alike
  they rank the configurations), against what the epochs' own noise leaves (the noise
  ceiling of ``studies/surrogate_variants.py``, on the first recording);
- the mean paired difference (second - first) with a seeded bootstrap 95 % interval
  (``tunebench.stats.bootstrap_ci``, 10,000 resamples), and the differences' standard
  deviation against ``sqrt(2)`` times the first recording's epoch-to-epoch noise sd.
  Re-seeding moves a curve by more than its epoch-to-epoch noise: that figure is a floor,
  not the yardstick. On a TensorFlow and a JAX recording of 12 mnist-mlp configurations (4
  epochs, 3,000 training digits, CPU) the differences' sd was 0.094 against a floor of
  0.021, with a Spearman of 0.80 and a mean difference of -0.011 [-0.064, +0.038]. The yardstick is the re-seeding spread of one backend
  (``studies/reseed_spread.py``; ``studies/backend_fer.py`` prints it for a few configurations);
- whether both trained each configuration with the same training seed, and the five
  configurations that differ most;
- with ``--surrogate-splits N``: the benchmark's own surrogate (``BenchmarkSpec.surrogate``)
  on the configurations both hold, with the held-out check of ``recording.json`` (5-fold by
  configuration, N split seeds), fitted on the first recording, on the second, and on the
  mean of the two curves, each judged against the first's, the second's and the mean's
  accuracy at that epoch (medians over the splits). If a surrogate fitted on either ranks
  the held-out configurations of the other worse than those of its own, or the mean far
  better than one, each recording's own noise, not the model, is what caps its held-out
  Spearman. Two recordings are two independent draws of every configuration only where
  they trained it with different training seeds; the line above counts those that share
  one (another backend draws other random numbers from the same seed, but a shared seed
  may still share part of the outcome: ``studies/reseed_spread.py`` measures one backend's
  draws with other seeds), so their mean may be less than a mean of two draws.

Usage: ``python -m studies.compare_recordings results/recordings/fer-cnn
results/recordings-in-progress/gpu/check/fer-cnn [--epoch 10] [--surrogate-splits 10]``
(the Gaussian processes of fer-cnn: about a minute a split on 41 configurations, 2-core EPYC
beside two training processes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


from studies.surrogate_variants import noise_ceiling  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.recording_load import load_recording  # noqa: E402
from tunebench.benchmarks.surrogate import TARGETS, curves_of, held_out_predictions  # noqa: E402
from tunebench.stats import bootstrap_ci  # noqa: E402

VAL = TARGETS.index("val_accuracy")


def recorded(directory: Path) -> tuple[dict, dict[str, np.ndarray], dict[str, int]]:
    """A recording's header, and per configuration (as sorted JSON) its curves and training seed."""
    meta, table = load_recording(directory)
    table = table[table["draw"] == 1]  # each recording's own draw: the backends are compared draw for draw
    header = meta["header"]
    space = get_benchmark_spec(header["benchmark"]).make_space(header["options"])
    configs, curves = curves_of(space, table)
    seeds = table.sort_values(["config_id", "epoch"]).groupby("config_id", sort=True)["training_seed"].first()
    keys = [json.dumps(config, sort_keys=True) for config in configs]
    return header, dict(zip(keys, curves)), dict(zip(keys, seeds.to_numpy().tolist()))


#: The name of :func:`surrogate_cross_check`'s fit on each draw as a row of its own.
DRAWS_AS_ROWS = "each draw a row"


def surrogate_cross_check(benchmark: str, options: dict, configs: list[dict], curves: dict[str, np.ndarray],
                          splits: int, draws: list[np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """Median held-out Spearman over ``splits`` split seeds, fitted on each of ``curves``' draws, judged on each.

    ``curves`` maps a name ("first", "second", "mean") to the configurations' curves (same
    order as ``configs``), cut at the epoch compared. ``draws`` (per configuration, a stack of
    its draws' curves) adds the fit :data:`DRAWS_AS_ROWS`: each draw a row of its own
    (``held_out_predictions``'s ``fit_draws``). Returns ``{fitted on: {judged on: median}}``.
    """
    from scipy.stats import spearmanr

    spec = get_benchmark_spec(benchmark)
    space = spec.make_space(options)
    fits: dict[str, dict] = {fit: {"fit_curves": fit_curves} for fit, fit_curves in curves.items()}
    if draws is not None:
        fits[DRAWS_AS_ROWS] = {"fit_draws": draws}
    spearmans: dict[str, dict[str, list[float]]] = {fit: {judge: [] for judge in curves} for fit in fits}
    first = next(iter(curves.values()))  # the shape held_out_predictions needs; each fit says what it fits on
    for split_seed in range(splits):
        for fit, fit_options in fits.items():
            _, predicted = held_out_predictions(space, configs, first, split_seed=split_seed, model=spec.surrogate,
                                                **fit_options)
            for judge, judge_curves in curves.items():
                spearmans[fit][judge].append(spearmanr(judge_curves[:, -1, VAL], predicted).statistic)
    return {fit: {judge: float(np.median(values)) for judge, values in row.items()} for fit, row in spearmans.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path, help="a recording folder (the reference)")
    parser.add_argument("second", type=Path, help="a recording folder of the same benchmark")
    parser.add_argument("--epoch", type=int, help="the epoch compared (default: the last both hold)")
    parser.add_argument("--surrogate-splits", type=int, default=0, metavar="N",
                        help="also cross-check the surrogate fitted on each recording and their mean (N split seeds)")
    args = parser.parse_args()
    from scipy.stats import spearmanr

    (head_a, curves_a, seeds_a), (head_b, curves_b, seeds_b) = recorded(args.first), recorded(args.second)
    if head_a["benchmark"] != head_b["benchmark"]:
        sys.exit(f"{args.first} records {head_a['benchmark']}, {args.second} {head_b['benchmark']}")
    common = sorted(set(curves_a) & set(curves_b))
    if len(common) < 3:
        sys.exit(f"only {len(common)} configurations in both: nothing to compare")
    last = min(next(iter(curves_a.values())).shape[0], next(iter(curves_b.values())).shape[0])
    epoch = args.epoch or last
    if not 3 <= epoch <= last:
        sys.exit(f"--epoch {epoch}: both recordings hold epochs 1-{last}, and the noise estimate needs 3")
    a = np.array([curves_a[key][epoch - 1, VAL] for key in common])
    b = np.array([curves_b[key][epoch - 1, VAL] for key in common])
    noise, ceiling, low = noise_ceiling(np.stack([curves_a[key][:epoch] for key in common]))
    diff = b - a
    low_mean, high_mean = bootstrap_ci(diff, n_resamples=10_000)
    same_seed = sum(seeds_a[key] == seeds_b[key] for key in common)
    for name, head in (("first", head_a), ("second", head_b)):
        print(f"{name}: {getattr(args, name)}  ({head['keras_backend']}, {head['precision']}, {head['fidelity']})")
    print(f"{len(common)} configurations in both ({len(curves_a) - len(common)} only in the first, "
          f"{len(curves_b) - len(common)} only in the second); {same_seed} with the same training seed; "
          f"validation accuracy at epoch {epoch}")
    print(f"Spearman between the two: {spearmanr(a, b).statistic:.3f} (the first's noise alone would leave "
          f"about {ceiling:.3f}, 5th percentile {low:.3f})")
    print(f"mean difference (second - first): {diff.mean():+.4f}, 95 % bootstrap interval "
          f"[{low_mean:+.4f}, {high_mean:+.4f}]; first {a.mean():.4f}, second {b.mean():.4f}")
    print(f"sd of the differences: {diff.std(ddof=1):.4f} against {np.sqrt(2) * noise:.4f} "
          f"(sqrt(2) x the first's epoch-to-epoch noise sd {noise:.4f}: a floor for two seeds' differences)")
    print("largest differences:")
    for index in np.argsort(-np.abs(diff))[:5]:
        print(f"  {a[index]:.4f} -> {b[index]:.4f}  {common[index]}")
    if args.surrogate_splits > 0:
        first = np.stack([curves_a[key][:epoch] for key in common])
        second = np.stack([curves_b[key][:epoch] for key in common])
        table = surrogate_cross_check(head_a["benchmark"], head_a["options"], [json.loads(key) for key in common],
                                      {"first": first, "second": second, "mean": (first + second) / 2},
                                      args.surrogate_splits)
        print(f"held-out Spearman of the surrogate ({get_benchmark_spec(head_a['benchmark']).surrogate}, 5-fold,"
              f" median over {args.surrogate_splits} splits) on these {len(common)} configurations:")
        print("  fitted on \\ judged on   " + "  ".join(f"{judge:>6}" for judge in table))
        for fit, row in table.items():
            print(f"  {fit:>22}   " + "  ".join(f"{value:6.3f}" for value in row.values()))


if __name__ == "__main__":
    main()
