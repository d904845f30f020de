"""The Keras backend that trains: which one, its determinism switches, and the GPUs it sees.

Keras 3 trains on TensorFlow, JAX or PyTorch (``KERAS_BACKEND``). tunebench's default is
TensorFlow; live runs and ``tunebench record`` also run on JAX without TensorFlow installed
(a GPU machine whose image has no TensorFlow, say; tested on CPU). PyTorch gets no
determinism switch here and is not tested. Nothing here imports Keras, or a backend that is
not the one in use, so it is safe to call before either is loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TENSORFLOW, JAX = "tensorflow", "jax"
#: XLA's switch for deterministic GPU kernels (read when JAX starts).
_XLA_DETERMINISM_FLAG = "--xla_gpu_deterministic_ops=true"


def keras_backend() -> str:
    """The Keras backend that trains (``tensorflow``, ``jax`` or ``torch``), from ``KERAS_BACKEND``
    or Keras's configuration, without importing Keras."""
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            name = json.loads(config.read_text(encoding="utf-8")).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return name or TENSORFLOW


def uses_tensorflow() -> bool:
    """Whether Keras trains on TensorFlow (so TensorFlow's settings and loggers apply)."""
    return keras_backend() == TENSORFLOW


def prepare_determinism_environment() -> None:
    """On JAX, ask XLA for deterministic GPU kernels (``--xla_gpu_deterministic_ops`` in
    ``XLA_FLAGS``, which JAX reads once when it starts: call this before). A setting of that
    flag that the user made is kept. No-op on other backends; TensorFlow's switch is made at
    run time (:func:`enable_determinism`)."""
    if keras_backend() == JAX:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DETERMINISM_FLAG}".strip()


def compiles_with_xla() -> bool:
    """Whether tunebench's models compile with XLA (``jit_compile``): on JAX, whose compiled
    path is its only fast one (without it Keras runs every step op by op); not on TensorFlow,
    where op determinism turns XLA off anyway."""
    return keras_backend() == JAX


def jax_numerics() -> dict[str, object]:
    """On JAX, what sets its numbers beyond the backend and versions: XLA compilation, and the
    default matmul precision (``JAX_DEFAULT_MATMUL_PRECISION``; ``default`` lets a GPU use
    TF32 for float32). Stored in a JAX recording's header. Imports JAX."""
    import jax

    return {"jit_compile": compiles_with_xla(),
            "matmul_precision": str(jax.config.jax_default_matmul_precision or "default")}


def enable_determinism() -> None:
    """Make TensorFlow's ops deterministic (idempotent). JAX needs only
    :func:`prepare_determinism_environment` (its CPU kernels are deterministic)."""
    if keras_backend() == TENSORFLOW:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def visible_gpus() -> list[str]:
    """The GPUs the backend sees, by name (empty on a CPU machine). Imports the backend: on
    TensorFlow, import it first with :func:`tunebench.quiet.import_tensorflow_quietly` to keep
    its start-up lines off stderr."""
    backend = keras_backend()
    if backend == JAX:
        import jax

        return [f"{device.platform}:{device.id} {device.device_kind}" for device in jax.devices()
                if device.platform != "cpu"]
    if backend != TENSORFLOW:
        return []
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


__all__ = ["JAX", "TENSORFLOW", "compiles_with_xla", "enable_determinism", "jax_numerics", "keras_backend",
           "prepare_determinism_environment", "uses_tensorflow", "visible_gpus"]
