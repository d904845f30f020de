"""TensorFlow's native start-up lines are kept off stderr when quiet is asked for, and only then."""

import os
import re
import subprocess
import sys

CODE = ("import os, sys\n"
        "from tunebench.quiet import import_tensorflow_quietly\n"
        "import_tensorflow_quietly()\n"
        "import tensorflow\n"
        "sys.stderr.write('python stderr works\\n'); sys.stderr.flush()\n"
        "os.write(2, b'descriptor 2 works\\n')\n")
NATIVE_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|cpu_feature_guard", re.M)


def run(level: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CODE], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": level},
                          capture_output=True, text=True, timeout=300)


def test_quiet_import_hides_tensorflows_start_up_lines_and_restores_stderr():
    quiet = run("3")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.splitlines() == ["python stderr works", "descriptor 2 works"]


def test_verbose_import_lets_them_through():
    verbose = run("0")
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stderr.splitlines()[-2:] == ["python stderr works", "descriptor 2 works"]
    assert NATIVE_LINE.search(verbose.stderr)  # TensorFlow 2.21 prints its oneDNN/absl lines on start-up


def test_tunebench_record_starts_without_them(tiny_data_dir, tmp_path):
    """`tunebench record` is as quiet as `tunebench run` (the command line sets level 3)."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "tunebench.cli", "record", "mnist-mlp", "--configs", "1", "--grid-configs", "0",
               "--epochs", "1", "--subset", "train=60", "--data-dir", str(tiny_data_dir), "--out", str(tmp_path / "out")]
    # Not from the repository root, where the source folder tunebench/ would shadow the installed package.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "mnist-mlp" / "chunk-0000.csv.gz").exists()
    assert not NATIVE_LINE.search(result.stderr), result.stderr[-3000:]
