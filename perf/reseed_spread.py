"""One backend's re-seeding spread: a recording's configurations trained again with other seeds.

Answers "how far does one configuration's final validation accuracy move from one training
seed to the next, on the recording's own backend, data and fidelity?". That spread is the
yardstick for ``perf/compare_recordings.py`` (two backends differ at least like two seeds) and
the noise in every recorded target: a surrogate judged against one draw per configuration
cannot rank the held-out draws better than that noise lets it, however many configurations
it sees.

Each ``--config-id`` is trained through the run's own harness (as ``perf/longer_training.py``
builds it from ``recording.json``: options, data, precision, the design's exact configuration)
for the recording's epochs, with training seed ``--seed-base`` + its id, never the
recording's. Its curve goes to ``--out/config-NNNN.csv`` (written atomically, with
``config_id`` and ``training_seed`` columns); an id whose file exists is not trained again,
so the command goes on where it stopped, and several processes may share one ``--out`` with
different ids. Then, over every curve in ``--out``:

- per configuration, the recorded and the re-seeded final validation accuracy;
- the mean difference (re-seeded - recorded) with a seeded bootstrap 95 % interval, the
  differences' sd (sqrt(2) times one draw's sd where both draws are alike) and the Spearman
  between the two draws;
- what that noise leaves a surrogate judged against one draw per configuration
  (:func:`seed_ceiling`), with a bootstrap interval over the re-seeded configurations, and
  against the mean of 2 and 3 draws;
- with ``--against RECORDING`` (another recording of the same design, such as the GPU's):
  the same two figures between that recording and the recorded draw on the same
  configurations, so the backends' difference can be read against the seeds'.

Usage: ``python perf/reseed_spread.py --recording results/recordings/fer-cnn --data-dir
../shared/datasets --out reseeds --config-id 23 15 14 [--seed-base 7000] [--against
results/recordings-in-progress/gpu/check/fer-cnn]`` (``--config-id`` left out: the summary of
the curves already in ``--out``, nothing trained).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_recordings import VAL, bootstrap_interval, recorded  # noqa: E402
from longer_training import recorded_harness  # noqa: E402

from tunebench.benchmarks.recording import load_recording  # noqa: E402
from tunebench.files import write_atomically  # noqa: E402


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
        seed = seed_base + config_id
        if seed in set(table.loc[table.config_id == config_id, "training_seed"]):
            sys.exit(f"--seed-base {seed_base}: config {config_id} was recorded with seed {seed}; take another base")
        print(f"config {config_id} ({origin}): {config}, training seed {seed}, {epochs} epochs", flush=True)
        curve = pd.DataFrame([vars(point) for point in benchmark.evaluate(config, epochs, seed).curve])
        curve.insert(0, "training_seed", seed)
        curve.insert(0, "config_id", config_id)
        write_atomically(curve_path(out, config_id), curve.to_csv(index=False).encode("utf-8"))
        print(f"  final validation accuracy {curve.val_accuracy.iloc[-1]:.4f}", flush=True)


def seed_ceiling(differences: np.ndarray, spread: float, draws: int = 1) -> float:
    """About how well the configurations' means over seeds rank one recording of them.

    ``differences`` are two draws' differences on some configurations (re-seeded - recorded),
    so one draw's noise variance is ``var(differences) / 2``; ``spread`` is the sd of the
    recording's final accuracies over all its configurations (true spread plus that noise).
    The target being the mean of ``draws`` draws, its reliability is ``true variance / (true
    variance + noise variance / draws)``, and the correlation of the means with it is that
    reliability's square root: a ceiling for any surrogate judged against such a target. A
    Pearson figure, read as a Spearman's; it takes the noise as the same for every
    configuration, which it is not where training may collapse to the majority class (0
    when the noise alone is as large as the spread).
    """
    noise = np.var(differences, ddof=1) / 2
    true = spread ** 2 - noise
    return float(np.sqrt(true / (true + noise / draws))) if true > 0 else 0.0


def paired_line(label: str, first: np.ndarray, second: np.ndarray) -> str:
    """Mean difference (second - first) with its bootstrap interval, the differences' sd, the Spearman."""
    from scipy.stats import spearmanr

    diff = second - first
    low, high = bootstrap_interval(diff)
    return (f"{label}: mean difference {diff.mean():+.4f} [{low:+.4f}, {high:+.4f}], sd of the differences "
            f"{diff.std(ddof=1):.4f}, Spearman {spearmanr(first, second).statistic:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True, help="a recording folder (recording.json, chunks)")
    parser.add_argument("--out", type=Path, required=True, help="the folder of the re-seeded curves")
    parser.add_argument("--config-id", type=int, nargs="*", default=[], help="configurations to train again")
    parser.add_argument("--seed-base", type=int, default=7000, help="training seed = this + config id (default 7000)")
    parser.add_argument("--data-dir")
    parser.add_argument("--against", type=Path, help="another recording of the same design")
    args = parser.parse_args()

    meta, table = load_recording(args.recording)
    unknown = sorted(set(args.config_id) - set(table.config_id))
    if unknown:
        parser.error(f"--config-id {unknown}: not in {args.recording}")
    args.out.mkdir(parents=True, exist_ok=True)
    train_again(meta, table, args.config_id, args.seed_base, args.data_dir, args.out)

    files = sorted(args.out.glob("config-*.csv"))
    if not files:
        sys.exit(f"{args.out} holds no re-seeded curve yet")
    last = int(meta["header"]["max_epochs"])
    again = pd.concat([pd.read_csv(path) for path in files])
    again = again[again.epoch == last].set_index("config_id")
    finals = table[table.epoch == last].set_index("config_id")
    ids = again.index.to_list()
    print(f"{args.recording}, validation accuracy at epoch {last}: recorded draw against another training seed")
    print(f"{'config':>6s} {'recorded':>9s} {'re-seeded':>9s}")
    for config_id in ids:
        print(f"{config_id:6d} {finals.val_accuracy[config_id]:9.4f} {again.val_accuracy[config_id]:9.4f}")
    first, second = finals.val_accuracy[ids].to_numpy(), again.val_accuracy[ids].to_numpy()
    print(paired_line(f"re-seeded, {len(ids)} configurations", first, second))
    spread = float(finals.val_accuracy.std(ddof=1))
    differences = second - first
    print(f"one draw's noise sd {np.std(differences, ddof=1) / np.sqrt(2):.4f}; the {len(finals)} recorded finals' "
          f"sd {spread:.4f}. A surrogate that knew every configuration's mean over seeds would rank, about"
          f" (bootstrap 95 % over these {len(ids)}):")
    rng = np.random.default_rng(0)
    for draws in (1, 2, 3):
        resampled = [seed_ceiling(rng.choice(differences, len(differences)), spread, draws) for _ in range(2000)]
        low, high = np.percentile(resampled, [2.5, 97.5])
        print(f"  {'one draw per configuration' if draws == 1 else f'the mean of {draws} draws'}: "
              f"{seed_ceiling(differences, spread, draws):.3f} [{low:.3f}, {high:.3f}]")
    if args.against:
        header_b, curves_b, _ = recorded(args.against)
        if header_b["benchmark"] != meta["header"]["benchmark"] or header_b["max_epochs"] < last:
            sys.exit(f"--against {args.against}: not {meta['header']['benchmark']} with {last} epochs or more")
        _, curves_a, _ = recorded(args.recording)
        keys = dict(zip(sorted(set(table.config_id)), curves_a))  # config_id -> configuration (curves_of's order)
        common = [i for i in ids if keys[i] in curves_b]
        if len(common) >= 3:
            b = np.array([curves_b[keys[i]][last - 1, VAL] for i in common])
            print(paired_line(f"{args.against}, the {len(common)} of them it holds", finals.val_accuracy[common].to_numpy(), b))
            print(paired_line(f"re-seeded, the same {len(common)}", finals.val_accuracy[common].to_numpy(),
                              again.val_accuracy[common].to_numpy()))


if __name__ == "__main__":
    main()
