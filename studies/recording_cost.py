"""What has a recording cost so far, and what should its remaining design points cost?

Latest result (the complete full-data fer-cnn recording, 56 configurations; chunks 0000-0003
and 0052-0055 on a 2-core AVX2 EPYC, 0004-0051 on a 2-core AVX-512 EPYC; 2026-12-01 to
2026-12-03): 28.9 h of recorded epochs (median 25 min a configuration, load and pauses
included; 24.0 h without the disturbed epochs).

What a recording in progress has cost, and what its remaining design points should cost.

The recorded part: the sum of its epoch seconds, and the median per configuration. The rest:
the design points not yet recorded (rebuilt from the design in ``recording.json``), each
priced by the trees surrogate fitted on the recording (its predicted ``epoch_seconds``
summed over the recording's epochs) and at the recorded median per configuration, both
with each disturbed epoch at its configuration's median epoch time, as replay takes them
(``steady_epoch_seconds`` of :mod:`tunebench.benchmarks.replay`: a paused recorder is not a
cost to expect). Both still carry the machine's load while recording (a configuration trained
beside other work costs more), so the estimate is at the pace so far, not a quiet machine's.
The validation and test predictions after each epoch are in the recorded seconds. The load
is most of what varies: on the full-data fer-cnn recording at 42 configurations, the trees'
held-out total minutes correlate with the recorded ones at 0.13 (logs, 5-fold, median of 5
splits; the Gaussian processes' at 0.07), so the remaining points are also priced at the
recorded median per configuration, the plainer estimate.

Usage: ``python -m studies.recording_cost --recording results/recordings/fer-cnn``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.recording import recorded_design
from tunebench.benchmarks.recording_load import load_recording
from tunebench.benchmarks.replay import steady_epoch_seconds
from tunebench.benchmarks.surrogate import TARGETS, fit_surrogate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recording", type=Path, required=True, help="a recording folder (recording.json and chunks)")
    args = parser.parse_args()

    meta, table = load_recording(args.recording)
    table = table[table["draw"] == 1]  # the recording's own draw: later draws are the same design again
    space = get_benchmark_spec(meta["header"]["benchmark"]).make_space(meta["header"]["options"])
    designed = recorded_design(meta, space)
    recorded = table.groupby("config_id")["epoch_seconds"].sum()
    print(f"{args.recording}: {len(recorded)} of {len(designed)} configurations recorded, "
          f"{recorded.sum() / 3600:.1f} h of epochs (median {recorded.median() / 60:.0f} min a configuration)")
    rest = [config for config_id, (_, config) in enumerate(designed) if config_id not in recorded.index]
    if not rest:
        return
    steady, _ = steady_epoch_seconds(table)
    per_config = steady.groupby("config_id")["epoch_seconds"].sum()
    minutes = fit_surrogate(space, steady).predict(rest)[:, :, TARGETS.index("epoch_seconds")].sum(axis=1) / 60
    print(f"{len(rest)} left: about {minutes.sum() / 60:.1f} h at the pace so far (the surrogate's predicted epoch "
          f"seconds; {minutes.min():.0f}-{minutes.max():.0f} min each, median {np.median(minutes):.0f}); "
          f"{len(rest) * per_config.median() / 3600:.1f} h at the recorded median per configuration")


if __name__ == "__main__":
    main()
