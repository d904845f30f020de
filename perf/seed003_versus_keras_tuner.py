"""How much faster is the seed-003 study through tunebench than written with plain keras-tuner, on one machine?

The seed-003 study: Hyperband (keras-tuner's, factor 3, max 10 epochs, one iteration: 30
trials, 120 epochs) on mnist-mlp with the full data (48,000 / 12,000 / 10,000), one seed.
Each side runs in a fresh Python process, one after the other, with the same environment
(the same thread variables), so that neither warms the other:

- **tunebench**: ``tunebench run paper --benchmarks mnist-mlp --strategies hyperband --seeds
  S, --budget 120 --parallel-trials 4 --data-dir DATA --out DIR`` (the documented command);
- **plain keras-tuner**: what a user writes without tunebench
  (``perf/seed003_plain_keras_tuner.py``, which does not import tunebench): a build function with mnist-mlp's search
  space, ``kt.Hyperband(objective="val_accuracy", max_epochs=10, factor=3,
  hyperband_iterations=1, seed=...)``, ``tuner.search(x_train, y_train,
  validation_data=(x_val, y_val), batch_size=32, verbose=0)`` on the same split (the data
  loaded once from an ``.npz`` as NumPy arrays), then the best model evaluated on test.
  keras-tuner's defaults throughout.

How to read it: ``ratio`` = plain keras-tuner's wall time / tunebench's, each the whole
process (start-up, TensorFlow import, data, search, test), median of the per-repeat ratios
with ``--repeats`` > 1 (the two sides interleaved, the first side alternating). Above 1,
tunebench is faster. The goal: tunebench <= 180 s and ratio >= 6 (judged at full size only;
``--check`` exits 1 when it is missed). Both sides' trials, epochs trained, best validation
and test accuracy and the configurations they share are printed, so that one sees they did
the same work: the same oracle seed and the parameters declared in the same order make
keras-tuner draw the same first-round configurations on both sides; promotions may differ
(training is not bit-identical between the sides).

The limit: both sides train about the same epochs of the same networks. The Dense layers'
floating-point work of tunebench's trials (forward and backward over the training images, a
forward pass over validation each epoch; 2 multiply-adds per weight use, backward = 2 x
forward) at this CPU's float32 matmul rate (``perf/harness_vs_fit.py``'s measurement) is the
floor; ``x floor`` is how far each side is from it, and plain / floor bounds the ratio. The
MLP's small layers cannot reach the big-matmul rate, so the floor is a bound, not a goal.

What differs between the sides, besides tunebench's own speed-ups (4 trials in flight on
``min(4, cores)`` worker processes, 32 fused steps per call, ``predict_on_batch`` for the
metrics):

- tunebench measures validation accuracy, loss and macro-F1 after every epoch, and test
  accuracy and macro-F1 after each trial's last epoch, and writes its journal, CSVs and
  manifest; keras-tuner's ``fit`` evaluates validation loss and accuracy each epoch and
  saves each trial's best epoch's weights and the trial's JSON;
- tunebench trains deterministically (TensorFlow op determinism, a seed per trial);
  plain keras-tuner seeds once (``keras.utils.set_random_seed``), ops not deterministic;
- a promoted trial: tunebench continues the parent's weights and optimizer state and
  scores the last epoch; keras-tuner loads the parent's best epoch's weights with a fresh
  optimizer and scores a trial by its best epoch (and restores that epoch for the test);
- the plain side reads the split that tunebench's run uses, saved beforehand as an
  ``.npz`` (a user would split MNIST themselves; loading is under a second either way).

Usage: ``python perf/seed003_versus_keras_tuner.py [--data-dir DIR] [--seed 0] [--repeats 1]
[--json FILE] [--check]``; a quick check at a small size: ``--train-subset 1000
--eval-subset 300 --max-epochs 6`` (one Hyperband iteration at 6 epochs: 10 trials, 36
epochs; ``--max-epochs`` takes the values whose iteration is a whole number of full trials,
tunebench's budget rule: 2, 6, 10, ...). ``tox -e versus`` runs it at full size (about 15
minutes on 2 cores: 13 on a 2-core AVX-512 EPYC).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARK = "mnist-mlp"
FACTOR = 3
#: The full-size study's figures and the goal.
FULL_MAX_EPOCHS = 10
GOAL_SECONDS = 180.0
GOAL_RATIO = 6.0
TUNEBENCH = "tunebench"
PLAIN = "plain keras-tuner"
#: The variables that set the numeric libraries' thread pools (tunebench.process.THREAD_ENV).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS")


def hyperband_iteration(max_epochs: int, factor: int = FACTOR) -> tuple[int, int]:
    """(trials, epochs trained) of one keras-tuner Hyperband iteration (its bracket sizes,
    ``keras_tuner.oracles.HyperbandOracle``; a promoted trial trains only its new epochs)."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    trials = trained = 0
    for bracket in reversed(range(brackets)):
        previous = 0
        for round_ in range(bracket + 1):
            size = math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_))
            round_epochs = math.ceil(max_epochs / factor ** (bracket - round_))
            trials += size
            trained += size * (round_epochs - previous)
            previous = round_epochs
    return trials, trained


def machine() -> dict:
    """The CPU, its cores and AVX-512 flags, and the load when asked."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags: set[str] = set()
    model = "unknown CPU"
    for line in text.splitlines():
        if line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
        elif line.startswith("model name") and model == "unknown CPU":
            model = line.split(":", 1)[1].strip()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {"cpu": model, "cores_available": cores, "cpu_count": os.cpu_count(),
            "avx512f": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags}


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def child_environment() -> dict[str, str]:
    """The one environment both sides run with: this process's, TensorFlow's start-up lines off."""
    environment = dict(os.environ)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.setdefault("PYTHONHASHSEED", "0")
    return environment


def timed_process(command: list[str], log: Path, environment: dict[str, str]) -> float:
    """Wall seconds of ``command`` from start to exit (output to ``log``); raises on failure."""
    started = time.perf_counter()
    with log.open("w") as out:
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=environment,
                                check=False).returncode
    seconds = time.perf_counter() - started
    if status != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{command[:4]}... exited with {status}; the end of {log}:\n{tail}")
    return seconds


class Study:
    """The study's plan (tunebench's own, as its run reads it), data and commands."""

    def __init__(self, args, work: Path):
        import numpy as np

        from tunebench.datasets import resolve_data_dir
        from tunebench.from_plan import load_run_data
        from tunebench.models.mnist_mlp import unit_ranges
        from tunebench.seeding import RunSeeds
        from tunebench.suite import load_suite
        from tunebench.suite_overrides import apply_overrides

        self.args = args
        self.work = work
        self.data_dir = resolve_data_dir(args.data_dir)
        self.small = args.train_subset is not None or args.eval_subset is not None or args.max_epochs is not None
        self.max_epochs = args.max_epochs or FULL_MAX_EPOCHS
        self.expected_trials, self.budget = hyperband_iteration(self.max_epochs)
        if self.budget % self.max_epochs:  # tunebench's budget is a multiple of max_epochs
            fitting = [m for m in range(2, 31) if hyperband_iteration(m)[1] % m == 0]
            raise SystemExit(f"--max-epochs {self.max_epochs}: one Hyperband iteration is {self.budget} epochs, not "
                             f"a multiple of {self.max_epochs} (tunebench's budget must be); use one of {fitting}")
        if self.small:
            self.suite = str(self._small_suite(work / "seed003-small.toml"))
        else:
            self.suite = "paper"
        self.options = ["--benchmarks", BENCHMARK, "--strategies", "hyperband", "--seeds", f"{args.seed},",
                        "--budget", str(self.budget), "--parallel-trials", str(args.parallel_trials)]
        plan_suite = apply_overrides(load_suite(self.suite), seeds=f"{args.seed},", strategies="hyperband",
                                     benchmarks=BENCHMARK, budget=self.budget, parallel_trials=args.parallel_trials)
        self.plan = next(plan for plan in plan_suite.benchmarks if plan.name == BENCHMARK)
        if self.plan.max_epochs != self.max_epochs:
            raise SystemExit(f"suite {self.suite}: mnist-mlp max_epochs {self.plan.max_epochs}, "
                             f"expected {self.max_epochs}")
        splits = load_run_data(self.plan, self.data_dir, args.seed)
        self.sizes = splits.sizes()
        self.data = work / "split.npz"
        np.savez(self.data, x_train=splits.x_train, y_train=splits.y_train, x_val=splits.x_val, y_val=splits.y_val,
                 x_test=splits.x_test, y_test=splits.y_test)
        self.oracle_seed = RunSeeds(BENCHMARK, args.seed).strategy
        self.units = unit_ranges(self.plan.options.get("id", "57935022"))

    def _small_suite(self, path: Path) -> Path:
        subset = {}
        if self.args.train_subset is not None:
            subset["train"] = self.args.train_subset
        if self.args.eval_subset is not None:
            subset["val"] = subset["test"] = self.args.eval_subset
        lines = ['name = "seed003-small"', 'description = "the seed-003 study at a small size (a quick check)"',
                 f"seeds = [{self.args.seed}]", 'strategies = ["hyperband"]', "", f"[benchmarks.{BENCHMARK}]",
                 f"max_epochs = {self.max_epochs}", f"trials = {self.expected_trials}"]
        if subset:
            lines.append("subset = { " + ", ".join(f"{k} = {v}" for k, v in subset.items()) + " }")
        path.write_text("\n".join(lines) + "\n")
        return path

    def command_text(self, out: str = "DIR") -> str:
        return " ".join(["tunebench", "run", self.suite if not self.small else "SMALL.toml", *self.options,
                         "--data-dir", "DATA", "--out", out])

    def run_tunebench(self, repeat: int, environment: dict[str, str]) -> dict:
        out = self.work / f"tunebench-{repeat}"
        command = [sys.executable, "-m", "tunebench.cli", "run", self.suite, *self.options,
                   "--data-dir", str(self.data_dir), "--out", str(out)]
        wall = timed_process(command, self.work / f"tunebench-{repeat}.log", environment)
        import pandas as pd

        run = pd.read_csv(out / "runs.csv").iloc[0]
        trials = pd.read_csv(out / "trials.csv")
        done = trials[trials["status"] == "ok"]
        hp = [c for c in trials.columns if c.startswith("hp_")]
        configs = [{c[3:]: row[c] for c in hp} for _, row in done.iterrows()]
        return {"wall_seconds": wall, "train_seconds": float(run["wall_seconds"]), "trials": int(run["trials"]),
                "trials_not_ok": int(len(trials) - len(done)), "epochs": int(done["epochs_trained"].sum()),
                "best_val_accuracy": float(run["best_val_accuracy"]), "test_accuracy": float(run["test_accuracy"]),
                "configs": configs, "trained": [(c, int(e)) for c, e in zip(configs, done["epochs_trained"])]}

    def run_plain(self, repeat: int, environment: dict[str, str]) -> dict:
        job = {"data": str(self.data), "units": self.units, "seed": self.args.seed, "oracle_seed": self.oracle_seed,
               "max_epochs": self.max_epochs, "batch_size": self.plan.batch_size,
               "directory": str(self.work / f"keras-tuner-{repeat}"), "result": str(self.work / f"plain-{repeat}.json")}
        job_file = self.work / f"plain-{repeat}-job.json"
        job_file.write_text(json.dumps(job))
        command = [sys.executable, str(Path(__file__).resolve().with_name("seed003_plain_keras_tuner.py")), str(job_file)]
        wall = timed_process(command, self.work / f"plain-{repeat}.log", environment)
        result = json.loads(Path(job["result"]).read_text())
        shutil.rmtree(job["directory"], ignore_errors=True)
        trained = list(zip(result["configs"], result.pop("epochs_trained")))
        return {"wall_seconds": wall, "train_seconds": result["seconds"]["search"],
                "epochs": sum(epochs for _, epochs in trained), **result, "trained": trained}


def config_key(config: dict) -> tuple:
    return tuple(sorted((k, round(float(v), 6)) for k, v in config.items()))


def floor_seconds(trained: list[tuple[dict, int]], sizes: dict[str, int], gflops: float) -> float:
    """The trials' Dense work (perf/harness_vs_fit.py's count, on each configuration's model:
    forward and backward over the training images, a forward pass over validation, per
    epoch) at ``gflops``. ``python perf/...py`` puts perf/ first on the module path."""
    from harness_vs_fit import forward_flops

    from tunebench.models.mnist_mlp import build_model

    flops = {}
    for config, _ in trained:
        key = config_key(config)
        if key not in flops:  # a promoted trial is its parent's model again
            units = {name: int(value) for name, value in config.items() if name.startswith("units_")}
            flops[key] = forward_flops(build_model({**config, **units}))
    work = sum(epochs * flops[config_key(config)] * (3 * sizes["train"] + sizes["val"]) for config, epochs in trained)
    return work / (gflops * 1e9)


def matmul_rate() -> float:
    """This CPU's float32 matmul rate (GFLOP/s), measured as perf/harness_vs_fit.py measures it."""
    from harness_vs_fit import matmul_gflops

    return matmul_gflops()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="where mnist.npz is (default $TUNEBENCH_DATA)")
    parser.add_argument("--seed", type=int, default=0, help="the run seed (tunebench's --seeds S,)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side, interleaved")
    parser.add_argument("--parallel-trials", type=int, default=4, help="tunebench's trials in flight")
    parser.add_argument("--train-subset", type=int, help="small size: training images (stratified)")
    parser.add_argument("--eval-subset", type=int, help="small size: validation and test images each")
    parser.add_argument("--max-epochs", type=int, help=f"small size: Hyperband's max epochs (default {FULL_MAX_EPOCHS})")
    parser.add_argument("--no-floor", action="store_true", help="skip the matmul measurement (the FLOP floor)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--work-dir", type=Path, help="keep the runs' folders and logs here (default: a temporary one)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the goal is missed (full size only)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="seed003-versus-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return compare(args, work)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def compare(args, work: Path) -> int:
    host = machine()
    load_before = load_average()
    study = Study(args, work)
    environment = child_environment()
    threads = {name: environment.get(name) for name in THREAD_VARIABLES}
    print("seed-003 study: tunebench against plain keras-tuner, side by side" + (" (SMALL SIZE)" if study.small else ""))
    print(f"machine: {host['cpu']}; {host['cores_available']} cores available ({host['cpu_count']} in the OS); "
          f"avx512f {'yes' if host['avx512f'] else 'no'}, avx512_bf16 {'yes' if host['avx512_bf16'] else 'no'}; "
          f"load average {load_before if load_before is None else round(load_before, 2)} at the start")
    print(f"study: {BENCHMARK}, Hyperband factor {FACTOR}, max {study.max_epochs} epochs, one iteration "
          f"({study.expected_trials} trials, {study.budget} epochs); data train {study.sizes['train']}, "
          f"val {study.sizes['val']}, test {study.sizes['test']}; batch {study.plan.batch_size}; seed {args.seed} "
          f"(oracle seed {study.oracle_seed}); units {study.units}")
    print(f"tunebench: {study.command_text()}")
    print(f"plain keras-tuner: kt.Hyperband(objective='val_accuracy', max_epochs={study.max_epochs}, factor={FACTOR}, "
          f"hyperband_iterations=1, seed={study.oracle_seed}); search(batch_size={study.plan.batch_size}, verbose=0)")
    print("thread environment (both sides): "
          + (", ".join(f"{k}={v}" for k, v in threads.items() if v is not None) or "none set (library defaults)"))

    runs: dict[str, list[dict]] = {TUNEBENCH: [], PLAIN: []}
    sides = {TUNEBENCH: study.run_tunebench, PLAIN: study.run_plain}
    for repeat in range(1, args.repeats + 1):
        order = [TUNEBENCH, PLAIN] if repeat % 2 else [PLAIN, TUNEBENCH]
        for side in order:
            runs[side].append(sides[side](repeat, environment))
        tb, plain = runs[TUNEBENCH][-1], runs[PLAIN][-1]
        print(f"repeat {repeat} ({order[0]} first): tunebench {tb['wall_seconds']:.1f} s "
              f"(training {tb['train_seconds']:.1f} s on its workers), plain keras-tuner {plain['wall_seconds']:.1f} s "
              f"(search {plain['seconds']['search']:.1f} s), ratio {plain['wall_seconds'] / tb['wall_seconds']:.2f}",
              flush=True)

    ratios = [p["wall_seconds"] / t["wall_seconds"] for t, p in zip(runs[TUNEBENCH], runs[PLAIN])]
    ratio = statistics.median(ratios)
    wall = {side: statistics.median(r["wall_seconds"] for r in rows) for side, rows in runs.items()}
    gflops = None if args.no_floor else matmul_rate()
    floors = {side: floor_seconds(rows[-1]["trained"], study.sizes, gflops) for side, rows in runs.items()} \
        if gflops else {}

    print()
    print(f"{'side':<18} {'wall s':>8} {'trials':>6} {'epochs':>6} {'best val':>9} {'test acc':>9} {'configs':>7}"
          + (f" {'x floor':>8}" if gflops else ""))
    for side, rows in runs.items():
        last = rows[-1]
        distinct = len({config_key(c) for c in last["configs"]})
        print(f"{side:<18} {wall[side]:>8.1f} {last['trials']:>6} {last['epochs']:>6} "
              f"{last['best_val_accuracy']:>9.4f} {last['test_accuracy']:>9.4f} {distinct:>7}"
              + (f" {wall[side] / floors[side]:>8.1f}" if gflops else ""))
    shared = {config_key(c) for c in runs[TUNEBENCH][-1]["configs"]} & {config_key(c) for c in runs[PLAIN][-1]["configs"]}
    print(f"configurations both sides trained: {len(shared)} "
          f"(of {len({config_key(c) for c in runs[PLAIN][-1]['configs']})} distinct on the plain side; last repeat)")
    plain = runs[PLAIN][-1]
    print("plain keras-tuner's parts (last repeat): " + ", ".join(f"{k} {v:.1f} s" for k, v in plain["seconds"].items())
          + f"; tensorboard {plain['tensorboard']}")
    for side, rows in runs.items():
        missing = rows[-1].get("trials_not_ok", rows[-1].get("trials_not_completed", 0))
        if missing:
            print(f"warning: {side}: {missing} trial(s) did not finish")
        if rows[-1]["trials"] != study.expected_trials or rows[-1]["epochs"] != study.budget:
            print(f"note: {side}: {rows[-1]['trials']} trials / {rows[-1]['epochs']} epochs, "
                  f"one iteration is {study.expected_trials} / {study.budget}")
    print(f"ratio (plain keras-tuner / tunebench wall time{', median of the repeats' if args.repeats > 1 else ''}): "
          f"{ratio:.2f}x" + (f" (repeats: {', '.join(f'{r:.2f}' for r in ratios)})" if args.repeats > 1 else ""))
    if gflops:
        print(f"floor: the trials' Dense work at {gflops:.1f} GFLOP/s (float32 matmul, all cores): tunebench's "
              f"{floors[TUNEBENCH]:.1f} s, plain keras-tuner's {floors[PLAIN]:.1f} s; the ratio's bound "
              f"(plain / tunebench's floor) is {wall[PLAIN] / floors[TUNEBENCH]:.0f}x")
    load_after = load_average()
    print(f"load average {load_after if load_after is None else round(load_after, 2)} at the end "
          "(a shared machine's load slows both sides, not always equally)")
    met = wall[TUNEBENCH] <= GOAL_SECONDS and ratio >= GOAL_RATIO
    if study.small:
        print(f"goal (tunebench <= {GOAL_SECONDS:.0f} s, ratio >= {GOAL_RATIO:.0f}x): not judged at a small size")
    else:
        print(f"goal (tunebench <= {GOAL_SECONDS:.0f} s, ratio >= {GOAL_RATIO:.0f}x): {'met' if met else 'MISSED'}")

    if args.json:
        figures = {
            "machine": host, "load_average": {"start": load_before, "end": load_after}, "small": study.small,
            "study": {"benchmark": BENCHMARK, "factor": FACTOR, "max_epochs": study.max_epochs,
                      "trials": study.expected_trials, "budget_epochs": study.budget, "sizes": study.sizes,
                      "batch_size": study.plan.batch_size, "seed": args.seed, "oracle_seed": study.oracle_seed,
                      "parallel_trials": args.parallel_trials, "tunebench_command": study.command_text()},
            "thread_environment": threads,
            "runs": {side: [{k: v for k, v in r.items() if k not in ("configs", "trained")} for r in rows]
                     for side, rows in runs.items()},
            "wall_seconds": wall, "ratio": ratio, "ratios": ratios, "shared_configs": len(shared),
            "matmul_gflops": gflops, "floor_seconds": floors or None,
            "goal": {"seconds": GOAL_SECONDS, "ratio": GOAL_RATIO, "met": None if study.small else met},
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if args.check and not study.small and not met else 0


if __name__ == "__main__":
    sys.exit(main())
