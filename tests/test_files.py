"""tunebench.files: atomic writes and environment variables for a while."""

import os

import pytest

from tunebench.errors import DiskFullError
from tunebench.files import atomic_file, environment, write_atomically
from tunebench.journal import Journal

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


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


@needs_dev_full
def test_a_full_disk_names_the_folder_and_the_size_and_keeps_the_old_file(tmp_path):
    """The temporary file is a link to /dev/full, where every write fails with ENOSPC."""
    path = tmp_path / "runs.csv"
    write_atomically(path, "old\n")
    (tmp_path / ".runs.csv.tmp").symlink_to("/dev/full")
    with pytest.raises(DiskFullError) as error:
        write_atomically(path, "x" * 3_000_000)
    message = str(error.value)
    assert f"no space left on the device holding {tmp_path}" in message and "runs.csv" in message
    assert "at least 3.0 MB" in message and "run the same command again" in message
    assert path.read_text() == "old\n" and not (tmp_path / ".runs.csv.tmp").exists()


@needs_dev_full
def test_a_full_disk_while_journaling_is_a_disk_full_error(tmp_path):
    journal = tmp_path / "run.jsonl"
    journal.symlink_to("/dev/full")
    with pytest.raises(DiskFullError, match="while writing run.jsonl"):
        Journal(journal).append({"kind": "trial", "n": 1})


def test_the_command_line_turns_a_full_disk_into_exit_2_with_the_message(monkeypatch, tmp_path, capsys):
    import errno

    from tunebench import cli

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "trials.csv"))

    monkeypatch.setitem(cli.COMMANDS, "report", full)
    assert cli.main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"no space left on the device holding {tmp_path / 'out'}" in err and "Traceback" not in err
