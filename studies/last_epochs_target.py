"""How much of the surrogate's held-out shortfall is the final epoch's own jitter?

Latest result (fer-cnn, two draws; 2-core AVX-512 EPYC, beside a retraining; 2026-12-06):
split 0 0.823 on the final epoch (median 0.823, 0.799-0.877) and 0.859 on the mean of epochs
9-10 (median 0.858, 0.823-0.890; 6 of the 10 splits at 0.85 or more).

The surrogate's held-out check on the final epoch and on the mean of the last few epochs.

Answers "how much of the check's shortfall is the last epoch's own jitter?". The issue's
check ranks each configuration's final-epoch validation accuracy; at a fixed learning rate
validation accuracy moves from epoch to epoch (by 0.14 in one epoch for config 29's second
draw of fer-cnn), so one epoch is a noisier target than the mean of the last two or three.
``studies/reseed_spread.py --last-epochs K`` measures that noise between training seeds; this
script measures what it does to the surrogate's check.

The same fits serve every target: per split seed, 5 folds by configuration
(``held_out_curves``, what ``held_out_predictions`` reads at the last epoch), the
benchmark's own surrogate (``BenchmarkSpec.surrogate``) fitted on every draw of the training
configurations, a row each (as ``fit_surrogate`` fits them), predicting the held-out
configurations' whole curves. Then, for each ``K`` of
``--last-epochs``, the Spearman between the recorded and the predicted mean validation
accuracy over the last ``K`` epochs (the recorded side each configuration's mean over its
draws). ``K = 1`` is the issue's check: on split 0 it repeats ``recording.json``'s
``spearman``. Printed: every split's Spearmans, then each target's split-0 value, median,
minimum and maximum over the splits.

Usage: ``python -m studies.last_epochs_target --recording results/recordings/fer-cnn
[--splits 10] [--last-epochs 1 2 3]``
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.benchmarks.recording_load import load_recording  # noqa: E402
from tunebench.benchmarks.surrogate import MODELS, TARGETS, curves_of, draws_of, held_out_curves  # noqa: E402

VAL = TARGETS.index("val_accuracy")


def main() -> None:
    from scipy.stats import spearmanr

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True, help="a recording folder (recording.json, chunks)")
    parser.add_argument("--splits", type=int, default=10, help="split seeds 0 .. N-1")
    parser.add_argument("--last-epochs", type=int, nargs="+", default=[1, 2, 3],
                        help="targets: the mean validation accuracy over this many last epochs")
    args = parser.parse_args()
    meta, table = load_recording(args.recording)
    epochs = int(meta["header"]["max_epochs"])
    bad = [k for k in args.last_epochs if not 1 <= k <= epochs]
    if bad or args.splits < 1:
        parser.error(f"--last-epochs {bad}: the recording has epochs 1-{epochs}" if bad else "--splits: 1 or more")

    spec = get_benchmark_spec(meta["header"]["benchmark"])
    space = spec.make_space(meta["header"]["options"])
    print(f"{args.recording}: {MODELS[spec.surrogate]} surrogate, held-out Spearman on the mean validation accuracy "
          f"over the last K epochs (K = 1: the final epoch, the issue's check)")
    configs, curves = curves_of(space, table)
    draws = draws_of(space, table)
    recorded = curves[:, :, VAL]
    print("split  " + "  ".join(f"K={k:<5d}" for k in args.last_epochs))
    spearmans: dict[int, list[float]] = {k: [] for k in args.last_epochs}
    for split in range(args.splits):
        predicted = held_out_curves(space, configs, curves, split_seed=split, fit_draws=draws,
                                    model=spec.surrogate)[:, :, VAL]
        for k in args.last_epochs:
            target, prediction = recorded[:, -k:].mean(axis=1), predicted[:, -k:].mean(axis=1)
            spearmans[k].append(float(spearmanr(target, prediction).statistic))
        print(f"{split:5d}  " + "  ".join(f"{spearmans[k][-1]:7.3f}" for k in args.last_epochs), flush=True)
    for k, values in spearmans.items():
        print(f"K={k}: split 0 {values[0]:.3f}, median {np.median(values):.3f} over {len(values)} splits "
              f"({min(values):.3f}-{max(values):.3f})")


if __name__ == "__main__":
    main()
