"""A process's set-up before it trains: its numeric libraries' thread counts, and TensorFlow
imported quietly. The one home for what every process that trains (the command line, a Dask
worker, a parallel-trial worker, a recording worker) does before TensorFlow loads.

- :data:`THREAD_ENV`: the variables that set the thread pools; a run's task carries the
  driving process's values, and :func:`apply_thread_environment` gives them to a worker.
- :func:`size_worker_threads`: a worker that shares the cores with others gets its share
  (:func:`with_training_threads`: the same share carried in a run's task).
- :func:`quiet_tensorflow`: TensorFlow imported without its start-up lines
  (:mod:`tunebench.quiet`), its Python loggers at ERROR.

Determinism is :mod:`tunebench.backend`'s (``prepare_determinism_environment`` before a
backend starts, ``enable_determinism`` when a benchmark is built); the one BLAS thread
around a strategy's ask and tell is :mod:`tunebench.threads`'.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Iterable

from tunebench.backend import uses_tensorflow
from tunebench.files import set_environment
from tunebench.quiet import import_tensorflow_quietly

#: Environment variables that set the numeric libraries' thread counts, which change
#: TensorFlow's (and BLAS's) order of summation and so the numbers. A run's task carries the
#: driving process's values; a worker applies them before it imports TensorFlow.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS")

#: The thread-count variables a worker that shares the cores sets to its share (unless the
#: driving process set them) before TensorFlow loads.
WORKER_THREAD_ENV = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def apply_thread_environment(environment: Iterable[tuple[str, str | None]]) -> None:
    """Give this worker the driving process's thread settings (before TensorFlow is imported).

    Where TensorFlow is already imported with other settings, says so on stderr (its numbers
    may then differ from a one-process run) and changes nothing."""
    environment = tuple(environment)
    if all(os.environ.get(name) == value for name, value in environment):
        return
    if "tensorflow" in sys.modules:
        print(f"tunebench: warning: this worker imported TensorFlow with other thread settings than the driving "
              f"process ({dict(environment)}); its numbers may differ from a one-process run", file=sys.stderr)
        return
    set_environment(environment)


def with_training_threads(environment: Iterable[tuple[str, str | None]], threads: int
                          ) -> tuple[tuple[str, str | None], ...]:
    """The driving process's :data:`THREAD_ENV` values ``environment`` with TensorFlow's
    intra-op and inter-op pools set to ``threads`` where it leaves them unset: what a worker
    that shares the cores with others trains with (a Dask worker of a local cluster: the
    cores over the workers). TensorFlow's thread count leaves a run's numbers unchanged (op
    determinism; docs/measurements.md), while two workers with a pool of every core each
    contend; BLAS's counts are left as they are (they change NumPy's sums)."""
    sized = {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)}
    return tuple((name, value if value is not None else sized.get(name)) for name, value in environment)


def size_worker_threads(threads: int, environment: Iterable[tuple[str, str | None]] = ()) -> None:
    """Set this worker's :data:`WORKER_THREAD_ENV` to ``threads`` where ``environment`` (the
    driving process's values) leaves them unset, before TensorFlow loads; then TensorFlow's
    intra-op pool to that count, where TensorFlow trains."""
    given = dict(environment)
    set_environment((name, str(threads)) for name in WORKER_THREAD_ENV if not given.get(name))
    quiet_tensorflow()
    if uses_tensorflow():
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["TF_NUM_INTRAOP_THREADS"]))


def quiet_tensorflow() -> None:
    """TensorFlow imported without its start-up lines when quiet is asked for
    (:func:`tunebench.quiet.import_tensorflow_quietly`), its and absl's Python loggers at ERROR;
    nothing when Keras trains on another backend."""
    if not uses_tensorflow():
        return
    import_tensorflow_quietly()
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


__all__ = ["THREAD_ENV", "WORKER_THREAD_ENV", "apply_thread_environment", "available_cores", "quiet_tensorflow",
           "size_worker_threads", "with_training_threads"]
