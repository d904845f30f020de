"""Is fer-cnn faster per epoch on JAX than on TensorFlow, and what does XLA give JAX?

Latest result (``--train 4096 --configs mid``; 2-core AVX-512 EPYC, nothing beside it;
2026-12-04): 8.9 s per epoch on TensorFlow (oneDNN) against 20.9 s on JAX: 0.43x. Compiling
with XLA on JAX (``--backends jax-eager,jax``): 39.3 s per epoch without against 21.4 s with,
1.83x.

Keras backends on fer-cnn: the per-epoch time ratio and the accuracy parity, TensorFlow vs JAX.

Keras 3 trains the same model on TensorFlow (tunebench's default), JAX or PyTorch. Each
(configuration, training seed, backend) trains in a fresh process (a process keeps the
backend it started with) through the live harness (``LiveKerasBenchmark``, the run's own
code path), the backends interleaved (tensorflow, jax, tensorflow, ...) so that machine load
hits both alike. Printed per configuration:

- seconds per epoch (median over seeds of the median epoch after the first, which also
  traces or compiles the model) on each backend, and the ratio (> 1: the second backend
  is faster);
- final validation accuracy on each backend (mean over seeds), the mean paired difference,
  and the spread that re-seeding alone gives (standard deviation over seeds on the first
  backend). The backends draw different random numbers from the same seed, so their
  curves differ like two seeds do: a difference well inside the re-seeding spread is parity.

``jax-eager`` names JAX with the models compiled without XLA, as tunebench compiled them
before 2026-12-04 (Keras then runs every step op by op): ``--backends jax-eager,jax`` measures
that fix side by side.

Usage: ``python -m studies.backend_fer --data-dir ../shared/datasets [--backends tensorflow,jax]
[--train 6000 | --train all] [--epochs 3] [--seeds 2] [--configs small,mid,large]
[--precision float32]``. Needs every backend named installed (``pip install jax`` for JAX).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from studies.precision_fer import CONFIGS, benchmark_for  # noqa: E402

CHILD_FLAG = "--child"
#: A pseudo-backend: JAX without XLA (``jit_compile=False``), the models as compiled before 2026-12-04.
JAX_EAGER = "jax-eager"


def child(args: argparse.Namespace) -> None:
    """Train one configuration for one seed on this process's backend; print a JSON line."""
    from tunebench.backend import keras_backend
    from tunebench.datasets import resolve_data_dir
    from tunebench.seeding import RunSeeds

    if args.eager:
        import tunebench.models.compile as compiling

        # compile_classifier asks compiles_with_xla, imported into its module: patched there, it
        # leaves XLA off (a missing name would make the patch a silent no-op, hence the check)
        assert hasattr(compiling, "compiles_with_xla"), "models/compile.py no longer asks compiles_with_xla"
        compiling.compiles_with_xla = lambda: False
    config = CONFIGS[args.configs]
    benchmark = benchmark_for(args.precision, resolve_data_dir(args.data_dir), args.train, args.epochs)
    evaluation = benchmark.evaluate(config, args.epochs, RunSeeds("fer-cnn", args.seed).training(config))
    times = [point.epoch_seconds for point in evaluation.curve]
    print(json.dumps({"backend": keras_backend(), "seconds": statistics.median(times[1:] or times),
                      "val_accuracy": evaluation.curve[-1].val_accuracy}), flush=True)


def run_child(backend: str, config: str, seed: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "studies.backend_fer", CHILD_FLAG, "--configs", config, "--seed", str(seed),
               "--epochs", str(args.epochs), "--train", "all" if args.train is None else str(args.train),
               "--precision", args.precision]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if backend == JAX_EAGER:
        command.append("--eager")
    env = {**os.environ, "KERAS_BACKEND": "jax" if backend == JAX_EAGER else backend}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{backend} run of {config} (seed {seed}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--backends", default="tensorflow,jax",
                        help=f"two Keras backends, comma-separated ({JAX_EAGER}: JAX without XLA)")
    parser.add_argument("--train", type=lambda text: None if text == "all" else int(text), default=6000,
                        help="training faces (a stratified subset), or 'all'")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--configs", default="small,mid,large")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--eager", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    first, second = args.backends.split(",")
    faces = "all" if args.train is None else args.train
    print(f"{first} vs {second}: {faces} training faces, {args.epochs} epochs, {args.seeds} seeds, "
          f"{args.precision}", flush=True)
    print(f"{'config':<7} {'s/epoch ' + first[:5]:>14} {'s/epoch ' + second[:5]:>14} {'ratio':>6} "
          f"{'val ' + first[:5]:>10} {'val ' + second[:5]:>10} {'diff':>8} {'reseed sd':>10}")
    for name in args.configs.split(","):
        results = {first: [], second: []}
        for seed in range(args.seeds):
            for backend in (first, second):
                results[backend].append(run_child(backend, name, seed, args))
        secs = {b: statistics.median(r["seconds"] for r in results[b]) for b in results}
        vals = {b: [r["val_accuracy"] for r in results[b]] for b in results}
        diff = statistics.mean(b - a for a, b in zip(vals[first], vals[second]))
        spread = statistics.stdev(vals[first]) if args.seeds > 1 else float("nan")
        print(f"{name:<7} {secs[first]:>14.2f} {secs[second]:>14.2f} {secs[first] / secs[second]:>6.2f} "
              f"{statistics.mean(vals[first]):>10.4f} {statistics.mean(vals[second]):>10.4f} {diff:>+8.4f} "
              f"{spread:>10.4f}", flush=True)


if __name__ == "__main__":
    main()
