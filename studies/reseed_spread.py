"""How far does one configuration's final validation accuracy move between training seeds?

Latest result (fer-cnn's second draw; 2-core AVX-512 EPYC, beside a CI run; 2026-12-06): the
two draws' final epochs differ by +0.003 on average (95 % -0.006 to +0.013), sd 0.037, Spearman
0.878 between them; one draw's noise sd 0.0263 (0.0222-0.0323) against the configurations'
spread 0.076, so the seed ceiling is 0.932 for one draw and 0.964 for the mean of two. With
``--last-epochs 2``: noise sd 0.0184 (0.0155-0.0226), ceiling 0.967. With
``--surrogate-splits 10`` (2-core AVX-512 EPYC, beside a CI run, ``OMP_NUM_THREADS=1``;
2026-12-06), fitted on every draw a row each, the Gaussian processes' median held-out Spearman
is 0.840 against the recorded draw and 0.822 against the means.

One backend's re-seeding spread: a recording's configurations trained again with other seeds.

Answers "how far does one configuration's final validation accuracy move from one training
seed to the next, on the recording's own backend, data and fidelity?". That spread is the
yardstick for ``studies/compare_recordings.py`` (two backends differ at least like two seeds) and
the noise in every recorded target: a surrogate judged against one draw per configuration
cannot rank the held-out draws better than that noise lets it, however many configurations
it sees.

Each ``--config-id`` is trained through the run's own harness (as ``studies/longer_training.py``
builds it from ``recording.json``: options, data, precision, the design's exact configuration)
for the recording's epochs, with training seed ``--seed-base`` + its id, never the
recording's. Its curve goes to ``--out/config-NNNN.csv`` (written atomically, with
``config_id`` and ``training_seed`` columns); an id whose file exists is not trained again,
so the command goes on where it stopped, and several processes may share one ``--out`` with
different ids. Then, over every curve in ``--out`` (at least 3):

- per configuration, the recorded and the re-seeded final validation accuracy;
- the mean difference (re-seeded - recorded) with a seeded bootstrap 95 % interval, the
  differences' sd (sqrt(2) times one draw's noise sd where both draws are alike) and the
  Spearman between the two draws;
- what that noise leaves a surrogate judged against one draw per configuration, and against
  the mean of 2 and 3 draws (:func:`seed_ceiling`), with a 95 % interval from the noise
  variance's chi-square interval: an interval given these configurations, which says
  nothing of how they were chosen;
- with ``--against RECORDING`` (another recording of the same design, such as the GPU's):
  the same paired figures between that recording and the recorded draw on the same
  configurations, so the backends' difference can be read against the seeds'.

``--last-epochs K`` puts all of that on each curve's mean validation accuracy over its last K
epochs rather than its final epoch's: how much of one draw's noise is the last epoch's own
jitter (validation accuracy at a fixed learning rate moves from epoch to epoch, by 0.14 in
one epoch for config 29's second draw). The surrogate's check (``--surrogate-splits``) and
``--into`` stay on the final epoch, the issue's target.

With ``--surrogate-splits N``: the recording's surrogate (its benchmark's model) fitted on the
recorded draw, on each configuration's mean over its draws (the re-seeded curves as draw 2),
and on every draw with each its own row (a configuration with two draws counts twice: how
replay fits a recording of several draws, ``fit_surrogate``), each judged against the
recorded draw and against the means (what replay serves for a recorded configuration, and
what ``recording.json``'s quality is judged against): median held-out Spearman over N split
seeds. What the second draws bought so far, whether through the fit or through the judging,
and whether fitting the draws as rows rather than their means still serves replay best.

With ``--into``: the re-seeded curves become draw 2 of the recording itself (seed base 7000
only, :func:`tunebench.benchmarks.recording.draw_seed`; chunks of one configuration only),
``chunk-NNNN.draw-2.csv.gz`` each (no test confusion: the replay shows the first draw's),
added with :func:`tunebench.record_draws.add_draw_chunk`; then the quality stored there is measured
again. Point it at a copy while the draw is incomplete: replay, and the
gate's baseline, follow the recording.

Usage: ``python -m studies.reseed_spread --recording results/recordings/fer-cnn --data-dir
../shared/datasets --out results/reseeds/fer-cnn --config-id 23 15 14 [--seed-base 7000]
[--against results/recordings-in-progress/gpu/check/fer-cnn] [--surrogate-splits 10]
[--into RECORDING] [--last-epochs K]`` (``--config-id`` left out: the summary of the curves already in
``--out``, nothing trained).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


from studies.compare_recordings import DRAWS_AS_ROWS, VAL, recorded, surrogate_cross_check  # noqa: E402
from studies.longer_training import recorded_harness  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.base import EpochRecord  # noqa: E402
from tunebench.benchmarks.recording import DRAW_SEED_BASE, chunk_path  # noqa: E402
from tunebench.benchmarks.recording_load import load_recording  # noqa: E402
from tunebench.benchmarks.surrogate import MODELS, curves_of, draws_of  # noqa: E402
from tunebench.errors import InputError  # noqa: E402
from tunebench.files import write_atomically  # noqa: E402
from tunebench.record import refresh_quality  # noqa: E402
from tunebench.record_draws import add_draw_chunk  # noqa: E402
from tunebench.stats import bootstrap_ci  # noqa: E402


def curve_path(out: Path, config_id: int) -> Path:
    return out / f"config-{config_id:04d}.csv"


def train_again(meta: dict, table: pd.DataFrame, config_ids: list[int], seed_base: int, data_dir: str | None,
                out: Path) -> None:
    """Train each of ``config_ids`` not yet in ``out`` with seed ``seed_base + id``, one CSV each."""
    todo = [i for i in config_ids if not curve_path(out, i).exists()]
    if not todo:
        return
    epochs = int(meta["header"]["max_epochs"])
    benchmark, configs = recorded_harness(meta, epochs, data_dir)
    for config_id in todo:
        origin, config = configs[config_id]
        rows = table[table.config_id == config_id]
        assert origin == rows.origin.iloc[0], "the design does not rebuild this recording"
        seed = seed_base + config_id
        if seed in set(rows.training_seed):
            sys.exit(f"--seed-base {seed_base}: config {config_id} was recorded with seed {seed}; take another base")
        print(f"config {config_id} ({origin}): {config}, training seed {seed}, {epochs} epochs", flush=True)
        curve = pd.DataFrame([vars(point) for point in benchmark.evaluate(config, epochs, seed).curve])
        curve.insert(0, "training_seed", seed)
        curve.insert(0, "config_id", config_id)
        write_atomically(curve_path(out, config_id), curve.to_csv(index=False).encode("utf-8"))
        print(f"  final validation accuracy {curve.val_accuracy.iloc[-1]:.4f}", flush=True)


def reseeded_finals(out: Path, recorded_ids: set[int], epochs: int, last_epochs: int = 1) -> pd.Series:
    """``config_id -> final validation accuracy`` of every curve in ``out`` (its mean over the
    last ``last_epochs`` epochs); exits naming a file that is not a configuration of the
    recording or does not hold its ``epochs`` epochs."""
    finals = {}
    for path in sorted(out.glob("config-*.csv")):
        curve = pd.read_csv(path)
        config_id = int(curve.config_id.iloc[0])
        if config_id not in recorded_ids or path != curve_path(out, config_id):
            sys.exit(f"{path}: config_id {config_id} is not a configuration of the recording (or not this file's)")
        if list(curve.epoch) != list(range(1, epochs + 1)):
            sys.exit(f"{path}: epochs {list(curve.epoch)}, not the recording's 1-{epochs}")
        finals[config_id] = float(curve.val_accuracy.iloc[-last_epochs:].mean())
    return pd.Series(finals, dtype=float)


def seed_ceiling(noise_variance: float, spread: float, draws: int = 1) -> float:
    """About the Spearman at which the configurations' means over seeds rank one recording of them.

    ``noise_variance`` is one draw's noise variance (``var(differences) / 2`` for two draws'
    differences); ``spread`` is the sd of the recording's final accuracies over all its
    configurations (true spread plus one draw's noise). The target being the mean of
    ``draws`` draws, its reliability is ``true variance / (true variance + noise variance /
    draws)``, and the Pearson correlation of the means with it that reliability's square root
    ``r``: a ceiling for any surrogate judged against such a target. Returned as the
    Spearman of a bivariate normal with that ``r``, ``(6 / pi) asin(r / 2)``. It takes the
    noise as the same for every configuration, which it is not where training may collapse
    to the majority class; 0 when the noise alone is as large as the spread.
    """
    true = spread ** 2 - noise_variance
    if true <= 0:
        return 0.0
    pearson = math.sqrt(true / (true + noise_variance / draws))
    return 6 / math.pi * math.asin(pearson / 2)


def paired_line(label: str, first: np.ndarray, second: np.ndarray) -> str:
    """Mean difference (second - first) with its bootstrap interval, the differences' sd, the Spearman."""
    from scipy.stats import spearmanr

    diff = second - first
    low, high = bootstrap_ci(diff, n_resamples=10_000)
    return (f"{label}: mean difference {diff.mean():+.4f} [{low:+.4f}, {high:+.4f}], sd of the differences "
            f"{diff.std(ddof=1):.4f}, Spearman {spearmanr(first, second).statistic:.3f}")


def print_ceilings(differences: np.ndarray, spread: float, recorded_count: int) -> None:
    """One draw's noise and :func:`seed_ceiling` for 1, 2 and 3 draws, with chi-square intervals."""
    from scipy.stats import chi2

    n = len(differences)
    noise = float(np.var(differences, ddof=1) / 2)
    # (n - 1) s^2 / sigma^2 ~ chi2(n - 1): the noise variance's 95 % interval; the ceiling falls as it grows
    high_noise, low_noise = ((n - 1) * noise / chi2.ppf(q, n - 1) for q in (0.025, 0.975))
    print(f"one draw's noise sd {math.sqrt(noise):.4f} (95 % {math.sqrt(low_noise):.4f}-{math.sqrt(high_noise):.4f});"
          f" the {recorded_count} recorded finals' sd {spread:.4f}. A surrogate that knew every configuration's mean"
          f" over seeds would rank, about (95 % from the noise's interval, given these {n} configurations):")
    for draws in (1, 2, 3):
        label = "one draw per configuration" if draws == 1 else f"the mean of {draws} draws"
        print(f"  {label}: {seed_ceiling(noise, spread, draws):.3f} [{seed_ceiling(high_noise, spread, draws):.3f},"
              f" {seed_ceiling(low_noise, spread, draws):.3f}]")


def reseeded_table(out: Path) -> pd.DataFrame:
    """Every curve in ``out`` as rows of a second draw (``draw`` 2), for
    :func:`~tunebench.benchmarks.surrogate.curves_of`: the metrics and seeds only; the other
    columns come from the first draw."""
    return pd.concat([pd.read_csv(path) for path in sorted(out.glob("config-*.csv"))], ignore_index=True).assign(draw=2)


def print_draw_quality(meta: dict, table: pd.DataFrame, out: Path, splits: int) -> None:
    """The surrogate fitted on the recorded draw, on the means with ``out`` as draw 2 and on
    every draw as a row, each judged against the recorded draw and the means: median held-out
    Spearman over ``splits`` split seeds."""
    header = meta["header"]
    spec = get_benchmark_spec(header["benchmark"])
    space = spec.make_space(header["options"])
    configs, first = curves_of(space, table)
    both = pd.concat([table, reseeded_table(out)], ignore_index=True)
    _, means = curves_of(space, both)
    draws = draws_of(space, both)
    medians = surrogate_cross_check(header["benchmark"], header["options"], configs,
                                    {"recorded": first, "mean": means}, splits, draws)
    print(f"{MODELS[spec.surrogate]} surrogate, median held-out Spearman over {splits} split seeds on final "
          "validation accuracy; 'mean': each configuration's mean over its draws, the re-seeded curves as draw 2; "
          f"'{DRAWS_AS_ROWS}': fitted on every draw, a configuration's second draw a row of its own, as "
          "replay fits a recording of several draws:")
    print("  fitted on \\ judged on   " + "  ".join(f"{judge:>8}" for judge in next(iter(medians.values()))))
    for fit, row in medians.items():
        print(f"  {fit:>22}   " + "  ".join(f"{value:8.3f}" for value in row.values()))


def add_as_draw_2(meta: dict, recording: Path, out: Path, seed_base: int) -> None:
    """Add every curve in ``out`` to ``recording`` (the design of ``meta``, --recording's) as
    draw 2 with :func:`tunebench.record_draws.add_draw_chunk` (see the module docstring), then
    measure its stored quality again."""
    into, _ = load_recording(recording)
    if {key: into[key] for key in ("header", "design")} != {key: meta[key] for key in ("header", "design")}:
        sys.exit(f"--into {recording}: not a recording of --recording's benchmark, options and design")
    if seed_base != DRAW_SEED_BASE or into["design"]["chunk_size"] != 1:
        sys.exit(f"--into: draw 2 trains with --seed-base {DRAW_SEED_BASE} (not {seed_base}), into chunks of one "
                 "configuration (a configuration's curve is a chunk)")
    spec = get_benchmark_spec(into["header"]["benchmark"])
    space = spec.make_space(into["header"]["options"])
    for path in sorted(out.glob("config-*.csv")):
        curve = pd.read_csv(path)
        config_id = int(curve.config_id.iloc[0])
        if chunk_path(recording, config_id, 2).name in into["chunks"]:
            continue
        points = [EpochRecord(**row) for row in curve.drop(columns=["config_id", "training_seed"]).to_dict("records")]
        seeds = set(curve.training_seed)
        seed = int(seeds.pop()) if len(seeds) == 1 else -1
        added = add_draw_chunk(recording, space, 2, config_id, {config_id: (seed, points)},
                               machine=f"studies/reseed_spread.py {path.name}")
        print(f"added {added}")
    refresh_quality(recording, space, spec.surrogate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True, help="a recording folder (recording.json, chunks)")
    parser.add_argument("--out", type=Path, required=True, help="the folder of the re-seeded curves")
    parser.add_argument("--config-id", type=int, nargs="*", default=[], help="configurations to train again")
    parser.add_argument("--seed-base", type=int, default=DRAW_SEED_BASE,
                        help=f"training seed = this + config id (default {DRAW_SEED_BASE}: draw 2's seeds)")
    parser.add_argument("--data-dir")
    parser.add_argument("--against", type=Path, help="another recording of the same design")
    parser.add_argument("--surrogate-splits", type=int, default=0,
                        help="the surrogate's quality with the re-seeded curves as draw 2, over this many splits")
    parser.add_argument("--into", type=Path, help="a recording of the same design to add the curves to as draw 2")
    parser.add_argument("--last-epochs", type=int, default=1,
                        help="the spread and the ceilings on the mean validation accuracy of this many last epochs "
                             "(default 1: the final epoch; the surrogate's check stays on the final epoch)")
    args = parser.parse_args()

    meta, table = load_recording(args.recording)
    table = table[table["draw"] == 1]  # the recorded draw; later draws are what this script makes
    unknown = sorted(set(args.config_id) - set(table.config_id))
    if unknown:
        parser.error(f"--config-id {unknown}: not in {args.recording}")
    args.out.mkdir(parents=True, exist_ok=True)
    train_again(meta, table, args.config_id, args.seed_base, args.data_dir, args.out)

    last = int(meta["header"]["max_epochs"])
    if not 1 <= args.last_epochs <= last:
        parser.error(f"--last-epochs {args.last_epochs}: the recording has epochs 1-{last}")
    again = reseeded_finals(args.out, set(table.config_id), last, args.last_epochs)
    if len(again) < 3:
        sys.exit(f"{args.out} holds {len(again)} re-seeded curve(s): a spread needs at least 3")
    finals = table[table.epoch > last - args.last_epochs].groupby("config_id").val_accuracy.mean()
    ids = again.index.to_list()
    first, second = finals[ids].to_numpy(), again[ids].to_numpy()
    first_epoch = last - args.last_epochs + 1
    epochs = f"at epoch {last}" if args.last_epochs == 1 else f"its mean over epochs {first_epoch}-{last}"
    print(f"{args.recording}, validation accuracy {epochs}: recorded draw against another training seed")
    print(f"{'config':>6s} {'recorded':>9s} {'re-seeded':>9s}")
    for config_id, a, b in zip(ids, first, second):
        print(f"{config_id:6d} {a:9.4f} {b:9.4f}")
    print(paired_line(f"re-seeded, {len(ids)} configurations", first, second))
    print_ceilings(second - first, float(finals.std(ddof=1)), len(finals))
    if args.surrogate_splits:
        print_draw_quality(meta, table, args.out, args.surrogate_splits)
    if args.into:
        try:
            add_as_draw_2(meta, args.into, args.out, args.seed_base)
        except InputError as error:
            sys.exit(f"--into: {error}")
    if args.against:
        header_b, curves_b, _ = recorded(args.against)
        if header_b["benchmark"] != meta["header"]["benchmark"] or header_b["max_epochs"] < last:
            sys.exit(f"--against {args.against}: not {meta['header']['benchmark']} with {last} epochs or more")
        space = get_benchmark_spec(meta["header"]["benchmark"]).make_space(meta["header"]["options"])
        configs, _ = curves_of(space, table)  # in config_id order
        keys = dict(zip(sorted(set(table.config_id)), (json.dumps(c, sort_keys=True) for c in configs), strict=True))
        common = [i for i in ids if keys[i] in curves_b]
        if len(common) < 3:
            print(f"--against: {args.against} holds {len(common)} of these configurations: nothing to compare")
            return
        b = np.array([curves_b[keys[i]][last - args.last_epochs:last, VAL].mean() for i in common])
        print(paired_line(f"{args.against}, the {len(common)} of them it holds", finals[common].to_numpy(), b))
        print(paired_line(f"re-seeded, the same {len(common)}", finals[common].to_numpy(), again[common].to_numpy()))


if __name__ == "__main__":
    main()
