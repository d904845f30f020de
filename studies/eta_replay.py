"""How far was the ETA from the time really left, at 10-90 % of a finished run?

Latest result (the 2026-12-02 ``default`` run's timings, 2 workers in suite order: 24m05s
simulated against 24m05s real; 2-core AVX2 EPYC; 2026-12-02): +41 % at 2m44s (the first live
trials include start-up), +16 %, +13 % and +8 % at 6, 12 and 18 minutes, +36 % (53 s) at
21m41s.

How far the ETA was from the truth on a finished run: its timings replayed through the ETA model.

Reads a results directory's journal (``journal.jsonl.gz``) (written by ``tunebench run``), schedules its runs
on ``--workers`` workers in suite order (live runs take their ``wall_seconds``, their trials
end at their ``elapsed_seconds``; a replay run's times are the recording's, so it takes its
real ``overhead_seconds`` plus ``--replay-extra`` instead), feeds the events to
:class:`tunebench.eta.EtaModel` as the monitor would, and prints the ETA against the time
really left at 10, 25, 50, 75 and 90 % of the run. The simulated total is printed beside
the manifest's ``wall_seconds`` so that the schedule can be judged.

Usage: ``python -m studies.eta_replay results/default [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tunebench.benchmarks import get_benchmark_spec
from tunebench.eta import EtaModel
from tunebench.journal import read_journal, typed
from tunebench.progress import format_duration
from tunebench.schema import RunRecord, TrialRecord

CHECKPOINTS = (0.1, 0.25, 0.5, 0.75, 0.9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replay-extra", type=float, default=0.5, help="seconds a replay run takes beyond its strategy's")
    args = parser.parse_args(argv)
    records = [typed(line) for line in read_journal(args.results)]
    manifest = json.loads((args.results / "manifest.json").read_text())
    suite = manifest["suite"]
    order = {plan["name"]: i for i, plan in enumerate(suite["benchmarks"])}
    strategies = list(suite["strategies"])
    runs = sorted((r for r in records if isinstance(r, RunRecord)),
                  key=lambda r: (order[r.benchmark], r.seed, strategies.index(r.strategy)))
    trials: dict[tuple, list[TrialRecord]] = {}
    for record in records:
        if isinstance(record, TrialRecord):
            trials.setdefault((record.benchmark, record.strategy, record.seed), []).append(record)
    replay = {name: bool(get_benchmark_spec(name).recording) for name in order}
    clock = [0.0]
    eta = EtaModel({i: (r.benchmark, r.budget_epochs, "replay" if replay[r.benchmark] else "live")
                    for i, r in enumerate(runs)}, clock=lambda: clock[0])
    free, events = [0.0] * args.workers, []
    for i, run in enumerate(runs):
        mine = trials.get((run.benchmark, run.strategy, run.seed), [])
        duration = run.summary.overhead_seconds + args.replay_extra if replay[run.benchmark] else run.wall_seconds
        worker = min(range(args.workers), key=lambda k: free[k])
        start, free[worker] = free[worker], free[worker] + duration
        events.append((start, 0, i, 0))
        for j, trial in enumerate(mine):
            at = duration * (j + 1) / len(mine) if replay[run.benchmark] else trial.elapsed_seconds
            events.append((start + at, 1, i, trial.epochs_used))
        events.append((start + duration, 2, i, run.summary.epochs_used))
    events.sort()
    total, checkpoints = max(free), list(CHECKPOINTS)
    print(f"simulated total {format_duration(total)}; the run's manifest says "
          f"{format_duration(manifest['wall_seconds'])}")
    for time, kind, index, epochs in events:
        clock[0] = time
        (eta.started(index) if kind == 0 else eta.progressed(index, epochs) if kind == 1 else eta.finished(index, epochs))
        while checkpoints and time >= checkpoints[0] * total:
            left, (estimate, _) = total - time, eta.seconds_left()
            ratio = f"{estimate / left:.2f}" if estimate is not None and left > 0 else "-"
            print(f"at {format_duration(time)}: ETA {eta.text()}; really left {format_duration(left)}; ratio {ratio}")
            checkpoints.pop(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
