"""Quiet start-up: TensorFlow imported without its native start-up lines, when quiet is asked for.

TensorFlow 2.21 writes lines such as ``I0000 ... port.cc:153] oneDNN custom operations are
on`` and absl's ``WARNING: All log messages before absl::InitializeLog() ...`` straight to
file descriptor 2 while it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says (on CPUs
where oneDNN's custom operations are on, e.g. with AVX-512). :func:`import_tensorflow_quietly`
imports it once with descriptor 2 pointed at ``/dev/null``; later imports find it loaded.
"""

from __future__ import annotations

import os
import sys

from tunebench.backend import uses_tensorflow

#: ``TF_CPP_MIN_LOG_LEVEL`` values that ask for TensorFlow's messages.
VERBOSE_LEVELS = ("", "0")


def wants_quiet() -> bool:
    """True when ``TF_CPP_MIN_LOG_LEVEL`` is set above 0 (the command line sets 3 unless
    ``--verbose`` or the user says otherwise)."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() not in VERBOSE_LEVELS


def import_tensorflow_quietly() -> None:
    """Import TensorFlow now, silencing descriptor 2 during the import when :func:`wants_quiet`.

    Does nothing when TensorFlow is already imported or Keras trains on another backend
    (:func:`tunebench.backend.uses_tensorflow`). A failing import still raises its Python
    exception, after descriptor 2 is restored.
    """
    if "tensorflow" in sys.modules or not uses_tensorflow():
        return
    if not wants_quiet():
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
