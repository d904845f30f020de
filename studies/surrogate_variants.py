"""Would other features, another leaf size or another model rank held-out configurations better?

Latest results: on fer-cnn's first draw (2-core AVX2 EPYC, nothing else running; 2026-12-04)
the Gaussian processes on the space's columns win every split, median 0.842 (0.82-0.87) against
the trees' 0.765 (0.66-0.81), a median paired lead of +0.075, and the epochs' noise ceiling is
about 0.98 (2-core AVX2 EPYC; 2026-12-04). The benchmark's own surrogate on the two draws:
split 0 0.823, 95 % bootstrap interval [0.711, 0.891] (2-core AVX-512 EPYC, beside a
retraining; 2026-12-06). With ``--sizes 16,24,32,40,48,56`` (one draw; 2-core AVX-512 EPYC,
beside the re-seeding; 2026-12-04) the median rises from 0.531 at 16 configurations to
0.844 at 48 and stops (0.842 at 56).

The replay surrogate's held-out quality against variants of its features and model.

Answers "would other features, another leaf size or another model rank held-out
configurations better?" for one recording, with the check the recordings use
(``held_out_predictions``, as in ``surrogate_quality``: 5-fold by configuration, Spearman of
the final-epoch validation accuracy), repeated over ``--splits`` split seeds, since on a few
dozen configurations one split's number moves by 0.1 or more.

Feature maps compared, each with three models: the trees with leaves of at least 2 (what
replay uses) and of 1 configuration, and Gaussian processes (``CurveSurrogate(model="gp")``):

- ``space``: the search space's own columns (:func:`encode`), what replay uses;
- ``space + log10 params``: those and the log10 of the model's parameter count (Keras's
  ``count_params`` of the benchmark's own ``build_model``);
- ``lr, structure, log10 params``: the learning rate's column, the parameters others
  depend on (fer-cnn's ``conv_layers``), and the log10 parameter count: the
  configuration summarised as step size and capacity.

``--curve-ends K`` adds, for each model, the space's columns fitted on curves whose every
metric but the epoch seconds is replaced, epoch by epoch, by a straight line fitted to its
last ``K`` epochs up to that one and read at that epoch (:func:`line_smoothed`): the
surrogate learns a configuration's trend rather than its last epoch's noise, and is judged,
like every variant, against the recorded final epoch.

First it prints an estimate of what the recorded epochs' own noise leaves a surrogate
(:func:`noise_ceiling`), and the benchmark's own surrogate's split-0 Spearman (what
``recording.json`` keeps: on a recording of several draws fitted on every draw, a row each,
and judged against the means) with a 95 % bootstrap interval over the configurations
(:func:`configuration_interval`): how far that number could move with another sample of as
many configurations from the same design, the same surrogate judging it. Then, per variant:
split 0's Spearman, the median and range over the splits, and the median paired difference to
``space`` with ``trees 2`` and the number of splits on which the variant ranks better (the
same splits for all). Picking the best of nine on the same configurations flatters the
winner a little; a variant should win on most splits, and on the complete recording, before
the surrogate changes. The variants, and ``--sizes`` below, fit each configuration's mean
over its draws (one row a configuration). The last column is the seconds of one fit on all
the configurations, which every replay process pays once (the parameter counts come from a
cache that the held-out fits filled).

``--sizes 16,24,...`` asks instead how the benchmark's own surrogate (``BenchmarkSpec.surrogate``)
grows with the number of configurations (:func:`learning_curve`): for each size, ``--splits``
seeded random subsets of the recording, each checked as above on its own split seed. A
Spearman still rising at the recording's size says more configurations would lift it; a flat
one says they would not.

Usage: ``python -m studies.surrogate_variants --recording results/recordings/fer-cnn
[--splits 10] [--models "trees 2,gp"]``, or ``[--sizes 16,24,32,40,48,56]``. The Gaussian
processes fit in seconds on a few dozen configurations and in minutes on mnist-mlp's 330
(eight processes, each an L-BFGS-B search over its kernel's hyperparameters on 264
configurations per fold): there, ``--splits 1 --models gp``. ``--sizes`` costs 10 five-fold
fits a size: about 37 minutes for the six sizes above on fer-cnn (2-core EPYC, beside two
training processes).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.recording_load import load_recording  # noqa: E402
from tunebench.benchmarks.surrogate import (TARGETS, CurveSurrogate, Features, curves_of, draws_of,  # noqa: E402
                                            encode, held_out_predictions)
from tunebench.quiet import import_tensorflow_quietly  # noqa: E402
from tunebench.space import Config, SearchSpace  # noqa: E402
from tunebench.stats import bootstrap_ci  # noqa: E402

from studies.common import paired_spearman  # noqa: E402


def parameter_counter(build_model):
    """``configs -> log10 parameter counts`` (one column), from the built Keras models (cached)."""
    cache: dict[tuple, float] = {}

    def log_parameters(configs: list[Config]) -> np.ndarray:
        column = []
        for config in configs:
            key = tuple(sorted(config.items()))
            if key not in cache:
                cache[key] = math.log10(build_model(config).count_params())
            column.append(cache[key])
        return np.asarray(column)[:, None]

    return log_parameters


#: The models compared: label -> the surrogate's options.
MODELS = {"trees 2": {"min_samples_leaf": 2}, "trees 1": {"min_samples_leaf": 1}, "gp": {"model": "gp"}}


def feature_maps(space: SearchSpace, build_model) -> dict[str, Features | None]:
    """The feature maps compared (see the module docstring); ``None`` is the replay surrogate's."""
    log_parameters = parameter_counter(build_model)
    parents = sorted({param.when[0] for param in space.params if param.when is not None})
    summary = [space.names.index(name) for name in ["learning_rate", *parents] if name in space.names]
    return {
        "space": None,
        "space + log10 params": lambda configs: np.hstack([encode(space, configs), log_parameters(configs)]),
        "lr, structure, log10 params": lambda configs: np.hstack([encode(space, configs)[:, summary],
                                                                  log_parameters(configs)]),
    }


def line_smoothed(curves: np.ndarray, window: int) -> np.ndarray:
    """``curves`` (configs, epochs, len(TARGETS)) with each metric but ``epoch_seconds`` at
    epoch ``t`` replaced by a least-squares line through epochs ``t - window + 1 .. t`` (as
    many as exist), read at ``t``; the first epoch, with no earlier one, is kept."""
    smoothed = curves.copy()
    metrics = [i for i, name in enumerate(TARGETS) if name != "epoch_seconds"]
    for t in range(1, curves.shape[1]):
        epochs = np.arange(max(0, t - window + 1), t + 1)
        segment = curves[:, epochs][:, :, metrics]
        centred = epochs - epochs.mean()
        slope = np.einsum("e,cem->cm", centred, segment - segment.mean(axis=1, keepdims=True)) / (centred ** 2).sum()
        smoothed[:, t, metrics] = segment.mean(axis=1) + slope * centred[-1]
    return smoothed


def noise_ceiling(curves: np.ndarray, draws: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(noise sd, median ceiling, 5th percentile)``: how well a surrogate that knew every
    configuration's trend exactly could rank the recorded final-epoch validation accuracy.

    The epoch-to-epoch noise's standard deviation is estimated from the second differences of
    the last three epochs (``v[T] - 2 v[T-1] + v[T-2]`` has variance ``6 sd²`` for independent
    noise around a locally straight trend), the trend as the line through the last 5 epochs
    read at the last (:func:`line_smoothed`). The ceiling is the Spearman between that trend
    and the trend plus fresh noise of that size, over ``draws`` seeded draws. A surrogate far
    below it is limited by what it learns from the configurations, not by the noise. An
    estimate, not a bound: the second differences also count a curve's bend as noise, and a
    training seed's deviation need not be independent from epoch to epoch.
    """
    from scipy.stats import spearmanr

    column = TARGETS.index("val_accuracy")
    values = curves[:, :, column]
    noise = float(np.sqrt(np.var(values[:, -1] - 2 * values[:, -2] + values[:, -3], ddof=1) / 6))
    trend = line_smoothed(curves, 5)[:, -1, column]
    rng = np.random.default_rng(seed)
    ceilings = [spearmanr(trend, trend + rng.normal(0.0, noise, len(trend))).statistic for _ in range(draws)]
    return noise, float(np.median(ceilings)), float(np.percentile(ceilings, 5))


def configuration_interval(recorded: np.ndarray, predicted: np.ndarray, resamples: int = 10_000
                           ) -> tuple[float, float, float]:
    """``(Spearman, low, high)``: the held-out Spearman of ``recorded`` against ``predicted``
    and its 95 % percentile bootstrap interval, resampling the configurations (the pairs) with
    :func:`tunebench.stats.bootstrap_ci` (seed 0). The predictions stay those of the fits made;
    the interval speaks of the sample of configurations judged, not of the surrogate's fits."""
    pairs = np.column_stack([recorded, predicted])
    low, high = bootstrap_ci(pairs, paired_spearman, resamples)
    return float(paired_spearman(pairs)), float(low), float(high)


def per_split_spearman(space, configs, curves, splits: int, **options) -> np.ndarray:
    """The held-out Spearman on split seeds 0 .. ``splits - 1`` (the surrogate seeded 0, as in
    :func:`surrogate_quality`); ``options`` go to the surrogate."""
    from scipy.stats import spearmanr

    return np.array([spearmanr(*held_out_predictions(space, configs, curves, split_seed=split, **options)).statistic
                     for split in range(splits)])


def learning_curve(space, configs, curves, sizes: list[int], draws: int, model: str
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """``(size, held-out Spearmans)`` for each size, on ``draws`` random subsets of ``size`` configurations each.

    Draw ``d`` of a size picks its subset with a generator seeded by ``(size, d)`` and splits it
    with split seed ``d``; the surrogate is ``model`` (a key of the surrogate module's
    ``MODELS``), seeded 0 as in :func:`surrogate_quality`. At the full size every draw holds
    all the configurations and only the split differs.
    """
    from scipy.stats import spearmanr

    for size in sizes:
        values = []
        for draw in range(draws):
            pick = np.sort(np.random.default_rng([size, draw]).choice(len(configs), size, replace=False))
            values.append(spearmanr(*held_out_predictions(space, [configs[i] for i in pick], curves[pick],
                                                          split_seed=draw, model=model)).statistic)
        yield size, np.array(values)


def fit_seconds(space, configs, curves, **options) -> float:
    """Seconds of one fit on all the configurations: what every replay process pays once."""
    started = time.perf_counter()
    CurveSurrogate(space, **options).fit(configs, curves)
    return time.perf_counter() - started


def parse_sizes(text: str) -> list[int]:
    """``--sizes``: comma-separated integers of at least 10 (two configurations a fold)."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if min(sizes) < 10:
        raise argparse.ArgumentTypeError(f"{min(sizes)} is under 10 (two configurations a fold)")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True, help="a recording folder (recording.json and chunks)")
    parser.add_argument("--splits", type=int, default=10, help="split seeds (default 10)")
    parser.add_argument("--models",
                        help=f"models to compare, comma-separated (default all: {','.join(MODELS)}); the "
                             "reference, space with trees 2, always runs")
    parser.add_argument("--curve-ends", type=int, metavar="K",
                        help="also fit on curves smoothed by a line over the last K epochs (see above)")
    parser.add_argument("--sizes", type=parse_sizes,
                        help="instead, the benchmark's surrogate on random subsets of these sizes, comma-separated "
                             "(see above)")
    args = parser.parse_args()
    if args.sizes and (args.models or args.curve_ends is not None):
        parser.error("--sizes measures the benchmark's own surrogate: no --models or --curve-ends with it")
    if args.curve_ends is not None and args.curve_ends < 2:
        parser.error(f"--curve-ends: {args.curve_ends}: a line needs at least 2 epochs")
    models = [name.strip() for name in (args.models or ",".join(MODELS)).split(",")]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"--models: unknown {', '.join(unknown)}; expected some of {', '.join(MODELS)}")
    import_tensorflow_quietly()

    meta, table = load_recording(args.recording)
    header = meta["header"]
    spec = get_benchmark_spec(header["benchmark"])
    space = spec.make_space(header["options"])
    configs, curves = curves_of(space, table)
    print(f"{args.recording}: {header['benchmark']}, {len(configs)} configurations, {header['fidelity']} fidelity; "
          f"5-fold held-out Spearman of final-epoch validation accuracy over {args.splits} split seeds")
    if curves.shape[1] >= 3:
        noise, ceiling, low = noise_ceiling(curves)
        print(f"epoch-to-epoch noise of validation accuracy: sd {noise:.4f}; with that noise alone, a surrogate "
              f"that knew every trend would reach a Spearman of about {ceiling:.3f} (5th percentile {low:.3f})")
    spearman, low, high = configuration_interval(*held_out_predictions(space, configs, curves, model=spec.surrogate,
                                                                       fit_draws=draws_of(space, table)))
    print(f"{spec.surrogate} (the benchmark's surrogate), split 0: held-out Spearman {spearman:.3f}, 95 % bootstrap "
          f"interval over the {len(configs)} configurations [{low:.3f}, {high:.3f}]")
    if args.sizes:
        sizes = args.sizes
        if max(sizes) > len(configs):
            parser.error(f"--sizes: {max(sizes)} is more than the {len(configs)} configurations of {args.recording}")
        print(f"{spec.surrogate} on random subsets ({args.splits} draws a size, each its own subset and split):")
        print(f"{'configurations':>14s} {'median':>7s} {'min':>6s} {'max':>6s}")
        for size, values in learning_curve(space, configs, curves, sizes, args.splits, spec.surrogate):
            print(f"{size:14d} {np.median(values):7.3f} {values.min():6.3f} {values.max():6.3f}", flush=True)
        return
    print(f"{'features':30s} {'model':>8s} {'split 0':>8s} {'median':>7s} {'min':>6s} {'max':>6s} "
          f"{'median diff':>11s} {'better':>7s} {'fit s':>6s}")
    reference = per_split_spearman(space, configs, curves, args.splits, **MODELS["trees 2"])
    variants = [(name, features, None) for name, features in feature_maps(space, spec.build_model).items()]
    if args.curve_ends is not None:
        variants.append((f"space, line over last {args.curve_ends}", None, line_smoothed(curves, args.curve_ends)))
    for name, features, fit_curves in variants:
        for model in models:
            values = (reference if (name, model) == ("space", "trees 2") else
                      per_split_spearman(space, configs, curves, args.splits, features=features,
                                         fit_curves=fit_curves, **MODELS[model]))
            diff = values - reference
            seconds = fit_seconds(space, configs, curves if fit_curves is None else fit_curves, features=features,
                                  **MODELS[model])
            print(f"{name:30s} {model:>8s} {values[0]:8.3f} {np.median(values):7.3f} {values.min():6.3f} "
                  f"{values.max():6.3f} {np.median(diff):+11.3f} {int((diff > 0).sum()):3d}/{args.splits} "
                  f"{seconds:6.2f}")


if __name__ == "__main__":
    main()
