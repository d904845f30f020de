"""tunebench.files: atomic writes and environment variables for a while."""

import os

import pytest

from tunebench.files import atomic_file, environment, write_atomically


def test_an_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "a.txt"
    write_atomically(path, "old\n")
    write_atomically(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    write_atomically(path, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_file(path, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("disk trouble")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_environment_sets_and_restores(monkeypatch):
    monkeypatch.setenv("TUNEBENCH_T1", "before")
    monkeypatch.delenv("TUNEBENCH_T2", raising=False)
    with environment(TUNEBENCH_T1="during", TUNEBENCH_T2="new"):
        assert os.environ["TUNEBENCH_T1"] == "during" and os.environ["TUNEBENCH_T2"] == "new"
    assert os.environ["TUNEBENCH_T1"] == "before" and "TUNEBENCH_T2" not in os.environ
