"""The Keras backend: which one trains, its determinism settings, and a recording made on JAX
with TensorFlow out of reach (the route to a GPU machine whose image has no TensorFlow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunebench.backend import keras_backend, prepare_determinism_environment, uses_tensorflow


def test_backend_comes_from_the_environment_then_keras_json_then_tensorflow(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert keras_backend() == "tensorflow" and uses_tensorflow()
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert keras_backend() == "torch" and not uses_tensorflow()
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert keras_backend() == "jax"


@pytest.mark.parametrize("user_flags, expected", [
    (None, "--xla_gpu_deterministic_ops=true"),
    ("--xla_force_host_platform_device_count=2", "--xla_force_host_platform_device_count=2 "
                                                 "--xla_gpu_deterministic_ops=true"),
    ("--xla_gpu_deterministic_ops=false", "--xla_gpu_deterministic_ops=false"),  # the user's word stands
])
def test_jax_gets_xlas_deterministic_gpu_ops(monkeypatch, user_flags, expected):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    if user_flags is None:
        monkeypatch.delenv("XLA_FLAGS", raising=False)
    else:
        monkeypatch.setenv("XLA_FLAGS", user_flags)
    prepare_determinism_environment()
    assert os.environ["XLA_FLAGS"] == expected


def test_other_backends_get_no_xla_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    for backend in ("tensorflow", "torch"):
        monkeypatch.setenv("KERAS_BACKEND", backend)
        prepare_determinism_environment()
        assert "XLA_FLAGS" not in os.environ


#: ``tunebench record`` in a fresh interpreter where importing TensorFlow fails.
WITHOUT_TENSORFLOW = ("import sys\n"
                      "sys.modules['tensorflow'] = None  # any import of it raises ImportError\n"
                      "from tunebench.cli import main\n"
                      "sys.exit(main(sys.argv[1:]))\n")


def record_on_jax(data_dir: Path, out: Path):
    """``tunebench record`` of one mnist-mlp configuration on JAX; the loaded recording."""
    args = ["record", "mnist-mlp", "--configs", "1", "--grid-configs", "0", "--epochs", "2",
            "--subset", "train=120", "--data-dir", str(data_dir), "--out", str(out)]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out.mkdir(parents=True)
    # From the output folder, not the repository root, where the source folder tunebench/ would
    # shadow the installed package (whose subpackages live in other top-level folders).
    done = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, *args], env=env, capture_output=True,
                          text=True, timeout=600, cwd=out)
    assert done.returncode == 0, done.stderr
    from tunebench.benchmarks.recording_load import load_recording

    return load_recording(out / "mnist-mlp")


def test_a_recording_runs_on_jax_without_tensorflow_and_repeats_exactly(tiny_data_dir, tmp_path):
    pytest.importorskip("jax")
    meta, table = record_on_jax(tiny_data_dir, tmp_path / "first")
    assert meta["header"]["keras_backend"] == "jax"
    assert meta["header"]["jax"] == {"jit_compile": True, "matmul_precision": "default"}
    machine = next(iter(meta["chunks"].values()))["machine"]
    assert machine["hardware"]["keras_backend"] == "jax" and machine["hardware"]["gpus"] == []
    assert "jax" in machine["versions"]
    assert len(table) == 2 and table["val_accuracy"].between(0, 1).all()
    assert table["loss"].notna().all() and (table["loss"] > 0).all()
    _, again = record_on_jax(tiny_data_dir, tmp_path / "second")
    numbers = ["loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy"]
    assert again[numbers].equals(table[numbers])  # deterministic on the same machine and backend


#: Compile a tiny model the way every tunebench model is compiled; print its ``jit_compile``.
COMPILE_ONE = ("import keras\n"
               "from tunebench.models.compile import compile_classifier\n"
               "model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\n"
               "print(compile_classifier(model, 1e-3).jit_compile)\n")


@pytest.mark.parametrize("backend, compiled", [("jax", "True"), ("tensorflow", "False")])
def test_models_compile_with_xla_on_jax_only(backend, compiled, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", COMPILE_ONE], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == compiled  # on JAX, without XLA every op runs eagerly
