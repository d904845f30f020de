"""manifest.json: everything needed to say what was run, where, and with what."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tunebench import SCHEMA_VERSION, __version__
from tunebench.backend import keras_backend, visible_gpus
from tunebench.precision import native_bfloat16
from tunebench.quiet import import_tensorflow_quietly
from tunebench.redaction import redact_argv

PACKAGES = ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "keras", "keras-tuner", "optuna", "hyperopt",
            "numpy", "pandas", "scikit-learn")

WARM_START_POLICY = {
    "hyperband_promotions": "warm-start",
    "promotion_charge": "epochs - initial_epoch",
    "description": ("Hyperband promotions continue the parent trial's weights and optimizer state from "
                    "tuner/initial_epoch and are charged epochs - initial_epoch; their data order and dropout "
                    "draw from a seed derived from (training seed, initial_epoch). Every other trial trains "
                    "from scratch and is charged its epochs."),
}


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    versions = {"python": platform.python_version(), "tunebench": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


#: The manifest's ``gpus`` where nothing of the suite trains (replay benchmarks alone).
GPUS_NOT_LOOKED_UP = "not looked up: nothing was trained"


def hardware(look_up_gpus: bool = True) -> dict[str, Any]:
    """CPU model and count, whether it multiplies bfloat16 natively, the Keras backend, and the
    GPUs that backend sees; with ``look_up_gpus=False`` (a suite of replays alone) the GPUs
    are not looked up, which on TensorFlow would mean importing it (seconds) for a field that
    shaped no number."""
    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "cpu_count": os.cpu_count(), "cpu_model": _cpu_model(),
                            "native_bfloat16": native_bfloat16(), "keras_backend": keras_backend()}
    if not look_up_gpus:
        info["gpus"] = GPUS_NOT_LOOKED_UP
        return info
    try:
        import_tensorflow_quietly()  # no-op on another backend
        info["gpus"] = visible_gpus()
    except Exception as error:  # hardware report must never fail a run
        info["gpus"] = f"unknown ({error})"
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str | None:
    """The commit of the working directory's repository (``-dirty`` if modified), if any."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def build_manifest(suite: dict[str, Any], *, trains: bool = True, **extra: Any) -> dict[str, Any]:
    """The manifest: schema version, suite as run, versions, hardware (its GPUs only where the
    suite ``trains``: :func:`hardware`), commit, and ``extra``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": redact_argv(["tunebench", *sys.argv[1:]]),  # the program, not where it is installed
        "suite": suite,
        "versions": package_versions(),
        "hardware": hardware(look_up_gpus=trains),
        "git_commit": git_commit(),
        "warm_start": WARM_START_POLICY,
        "objective": "val_accuracy at the last trained epoch (maximised); test metrics are never shown to a strategy",
        **extra,
    }
