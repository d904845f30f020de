"""``tunebench record``: a live benchmark recorded from its suite plan's options, in one process
or several (:func:`record_benchmark`), and the ``--subset`` option's parser."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any


from tunebench.backend import JAX, jax_numerics, keras_backend
from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.recording import (DesignSpec)
from tunebench.errors import InputError
from tunebench.manifest import hardware, package_versions
from tunebench.progress import format_duration
from tunebench.from_plan import load_run_data, make_benchmark
from tunebench.files import set_environment
from tunebench.process import THREAD_ENV, available_cores, quiet_tensorflow, with_training_threads
from tunebench.seeding import RunSeeds
from tunebench.suite import parse_suite

from tunebench.record import record


def parse_subset(text: str | None) -> Any:
    """``--subset``: ``None``, a count (``4000``), a fraction (``0.2``) or ``train=N,val=N,test=N``."""
    if text is None:
        return None
    try:
        if "=" not in text:
            return float(text) if "." in text else int(text)
        parts = dict(item.split("=", 1) for item in text.split(","))
        return {split.strip(): float(v) if "." in v else int(v) for split, v in parts.items()}
    except ValueError:
        raise InputError(f"--subset {text!r}: expected a count, a fraction or train=N,val=N,test=N") from None


def record_benchmark(name: str, out: Path, data_dir: Path, *, configs: int, grid_configs: int, epochs: int | None,
                     subset: str | None, seed: int, chunk_size: int, max_chunks: int | None,
                     benchmark_id: str | None, precision: str | None = None,
                     workers: int = 1, draw: int = 1) -> tuple[list[Path], Path]:
    """``tunebench record``: record benchmark ``name`` into ``out/<name>/``.

    The options are checked like a suite's (:func:`tunebench.suite.parse_suite`); the data is
    split and subsampled with the seeds a run with seed ``seed`` uses, and every
    configuration trains with the training seed such a run would give it. With ``workers``
    > 1, that many processes record side by side (each loads the data and trains one
    configuration at a time; ``max_chunks`` is per process), for a machine with more cores or
    a GPU than one training uses; the options are checked here first. ``draw`` >= 2 trains
    the design again as that draw (see :func:`record`), with the same options.

    Returns the chunk files written and the recording's folder.
    """
    options = dict(configs=configs, grid_configs=grid_configs, epochs=epochs, subset=subset, seed=seed,
                   chunk_size=chunk_size, max_chunks=max_chunks, benchmark_id=benchmark_id, precision=precision,
                   draw=draw)
    if draw < 1:
        raise InputError(f"--draw must be 1 or more, got {draw}")
    if workers < 1:
        raise InputError(f"--processes must be at least 1, got {workers}")
    if max_chunks is not None and max_chunks < 0:  # 0: keep the design's configurations, train nothing yet
        raise InputError(f"--max-chunks must be 0 or more, got {max_chunks}")
    for option, value in (("--configs", configs), ("--chunk-size", chunk_size)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, got {value}")
    if grid_configs < 0:
        raise InputError(f"--grid-configs must be 0 or more, got {grid_configs}")
    table: dict[str, Any] = {"trials": 1}
    if epochs is not None:
        table["max_epochs"] = epochs
    if subset is not None:
        table["subset"] = parse_subset(subset)
    if benchmark_id is not None:
        table["id"] = benchmark_id
    if precision is not None:
        table["precision"] = precision
    plan = parse_suite({"name": "record", "seeds": [seed], "strategies": ["random"], "benchmarks": {name: table}},
                       source="(tunebench record options)").benchmarks[0]
    spec = get_benchmark_spec(plan.name)
    if spec.recording:
        raise InputError(f"{name} is a replay benchmark: record its live benchmark {spec.recording}")
    if workers > 1:
        results = _record_in_workers(workers, (name, out, data_dir), options)
        return sorted(path for written, _ in results for path in written), results[0][1]
    quiet_tensorflow()  # as `tunebench run`: no TensorFlow start-up lines unless TF_CPP_MIN_LOG_LEVEL asks
    splits = load_run_data(plan, data_dir, seed)
    benchmark = make_benchmark(spec, splits, plan)
    benchmark.test_every_epoch = True  # a recording keeps every epoch's test numbers
    header = {
        "benchmark": plan.name, "options": plan.options, "max_epochs": plan.max_epochs,
        "batch_size": plan.batch_size, "subset": plan.subset, "fidelity": plan.fidelity, "seed": seed,
        "precision": plan.resolved_precision, "keras_backend": keras_backend(),
        "data": {"file": Path(splits.source).name, "sizes": splits.sizes(), "class_names": list(splits.class_names)},
        "training_seed": "derive_seed('train', seed, config): what a run with this seed trains the config with",
    }
    if keras_backend() == JAX:
        header["jax"] = jax_numerics()  # compiled or not, and at which matmul precision: refused if it changes
    directory = Path(out) / plan.name
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        print(f"  config {done}/{total}  {format_duration(elapsed)} elapsed", flush=True)

    written = record(benchmark, benchmark.space, directory, header,
                     DesignSpec(configs=configs, grid_configs=grid_configs, seed=seed, chunk_size=chunk_size),
                     RunSeeds(plan.name, seed).training, max_chunks=max_chunks, on_config=report,
                     machine={"versions": package_versions(), "hardware": hardware()}, surrogate=spec.surrogate,
                     draw=draw)
    return written, directory


def _record_in_workers(workers: int, args: tuple, options: dict[str, Any]) -> list[tuple[list[Path], Path]]:
    """:func:`record_benchmark` (``workers=1``) in ``workers`` spawned processes side by side;
    their results in order. A worker's error is raised here as it was raised there; a worker
    that dies without an answer (killed, or unable to import tunebench) raises
    :class:`RuntimeError` with its exit code, never a wait without end (a
    ``multiprocessing.Pool`` loses the task of a worker that dies and waits for it forever).
    Leaving early (a stop signal raised in this process included) terminates the workers."""
    context = multiprocessing.get_context("spawn")
    processes, answers = [], []
    try:
        for _ in range(workers):
            answer, sender = context.Pipe(duplex=False)
            process = context.Process(target=_record_worker, daemon=True,
                                      args=(sender, args, options, max(1, available_cores() // workers)))
            process.start()
            sender.close()  # the worker holds the only sending end: its death is an EOF here
            processes.append(process)
            answers.append(answer)
        results = []
        for index, (process, answer) in enumerate(zip(processes, answers), start=1):
            try:
                outcome, value = answer.recv()
            except EOFError:
                process.join()
                how = (f"was killed by {signal.Signals(-process.exitcode).name}" if process.exitcode < 0
                       else f"ended with exit code {process.exitcode}")
                raise RuntimeError(f"recording worker {index} of {workers} {how} before it finished (its own error, "
                                   "if any, is above); the chunks already written are kept: the same command goes "
                                   "on from them") from None
            if outcome == "error":
                raise value
            results.append(value)
        return results
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()


def _record_worker(sender, args: tuple, options: dict[str, Any], threads: int) -> None:
    """One recording worker: :func:`record_benchmark`'s result, or its error, sent back. It
    trains with ``threads`` TensorFlow threads (its share of the cores) unless set otherwise."""
    set_environment(with_training_threads(((name, os.environ.get(name)) for name in THREAD_ENV), threads))
    try:
        outcome = ("done", record_benchmark(*args, **options))
    except Exception as error:  # noqa: BLE001 - raised again in the parent
        outcome = ("error", error)
    sender.send(outcome)


__all__ = ["parse_subset", "record_benchmark"]
