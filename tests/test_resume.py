"""Resume: a `tunebench run` killed with SIGKILL and run again gives the results of an
uninterrupted run; bad partial runs and output directories exit 2 and lose nothing.

The kills are real: a subprocess `tunebench run` is SIGKILLed from outside while its run
journals grow (mid-run), or SIGKILLs itself at a named stage through the runner's test hook
``TUNEBENCH_TEST_KILL_AT`` (before any trial, before the final files, while they move).

Where the model is not the point (the kill stages, bad partial runs, results being replaced)
the runs are of the analytic bowl (tests/analytic_benchmark.py, a plug-in of the suite file);
the mid-run kills resume real Keras training, with Hyperband's warm-start states.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunebench.cli import main
from tunebench.journal import Journal, JournalError, read_journal
from tunebench.resume import STAGING
from tunebench.state_store import StateStore
from tunebench.schema import without_timing
from tunebench.runner import KILL_HOOK_ENV

from conftest import analytic_suite

FILES = ("trials.csv", "curves.csv", "runs.csv")
#: A line from TensorFlow's C++ logging: absl's format (``I0000 00:00:...``) or its start-up warning.
TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cpu_feature_guard|oneDNN", re.M)


def command(suite_file, data_dir, out, *extra):
    return ["run", str(suite_file), "--data-dir", str(data_dir), "--out", str(out), *extra]


def start(args, cwd, **env):
    """`tunebench run ...` in a subprocess (run from ``cwd``, away from the source tree); ``NAME=None`` unsets NAME."""
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    return subprocess.Popen([sys.executable, "-m", "tunebench.cli", *args], cwd=cwd,
                            env={name: value for name, value in environ.items() if value is not None},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


#: The environment of a subprocess run that trains no Keras model and asks no keras-tuner
#: strategy (grid search on the analytic bowl): with a Keras backend other than TensorFlow
#: the runner does not import TensorFlow, which would cost each start seconds.
NO_TENSORFLOW = {"KERAS_BACKEND": "numpy"}


def journaled_trials(out: Path) -> int:
    total = 0
    for path in (out / STAGING / "runs").glob("*.jsonl"):
        total += sum(1 for line in path.read_bytes().split(b"\n") if b'"kind": "trial"' in line)
    return total


def kill_after(process, out: Path, trials: int, timeout: float = 300) -> int:
    """SIGKILL ``process`` once the partial run's journals hold ``trials`` trials; returns how many they held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if journaled_trials(out) >= trials:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return journaled_trials(out)
        time.sleep(0.05)
    raise AssertionError(f"the run ended or stalled before journaling {trials} trials: {process.communicate()}")


def assert_same_results(expected: Path, got: Path) -> None:
    for name in FILES:
        pd.testing.assert_frame_equal(without_timing(pd.read_csv(expected / name)),
                                      without_timing(pd.read_csv(got / name)))
    assert (json.loads((expected / "best_hyperparameters.json").read_text())
            == json.loads((got / "best_hyperparameters.json").read_text()))


def test_sigkill_mid_run_twice_then_resume_gives_the_uninterrupted_results(
        small_suite_results, small_suite_file, tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = command(small_suite_file, tiny_data_dir, out)
    reference = pd.read_csv(small_suite_results / "trials.csv")
    hyperband = int((reference.strategy == "hyperband").sum())
    assert reference[reference.strategy == "hyperband"].parent_trial_id.notna().sum() >= 1
    # First kill: inside hyperband's first bracket, with low-fidelity states saved for promotions.
    first = kill_after(start(args, tmp_path), out, trials=2)
    assert (out / STAGING / "header.json").is_file() and not (out / "trials.csv").exists()
    # Second kill, after resuming: inside Bayesian optimisation, past its 3 random trials.
    second = kill_after(start(args, tmp_path), out, trials=hyperband + 3)
    assert first < hyperband <= second < len(reference)
    # A write cut off by the kill, simulated: a torn last line in the journal being written.
    journal = max((out / STAGING / "runs").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    lines = len(journal.read_bytes().splitlines())
    with open(journal, "ab") as handle:
        handle.write(b'{"kind": "trial", "benchmark": "mnist-')
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"tunebench: warning: {journal} line {lines + 1} is incomplete" in err
    assert_same_results(small_suite_results, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["resumed"] for s in manifest["sessions"]] == [False, True, True]
    assert not (out / STAGING).exists()


@pytest.fixture(scope="module")
def one_trial_suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("one") / "one.toml"
    path.write_text('name = "one"\nseeds = [0]\nstrategies = ["random"]\n'
                    '[benchmarks.mnist-mlp]\nmax_epochs = 1\ntrials = 2\n')
    return path


@pytest.fixture(scope="module")
def one_analytic_suite(tmp_path_factory):
    """Two one-epoch trials of the analytic bowl, by grid search (no TensorFlow model, no keras-tuner)."""
    path = tmp_path_factory.mktemp("one-analytic") / "one.toml"
    path.write_text(analytic_suite('name = "one"\nseeds = [0]\nstrategies = ["grid"]\n'
                                   '[benchmarks.analytic]\nmax_epochs = 1\ntrials = 2\n'))
    return path


def test_kills_before_any_trial_before_and_during_the_final_files(one_analytic_suite, no_data_dir, tmp_path):
    out = tmp_path / "out"
    args = command(one_analytic_suite, no_data_dir, out)

    before = start(args, tmp_path, **NO_TENSORFLOW, **{KILL_HOOK_ENV: "started"})
    assert before.wait() == -signal.SIGKILL
    assert (out / STAGING / "header.json").is_file() and journaled_trials(out) == 0

    finishing = start(args, tmp_path, **NO_TENSORFLOW, **{KILL_HOOK_ENV: "finishing"})
    assert finishing.wait() == -signal.SIGKILL
    assert journaled_trials(out) == 2 and not (out / "trials.csv").exists()
    journals = {p: p.read_bytes() for p in (out / STAGING / "runs").glob("*.jsonl")}

    moving = start(args, tmp_path, **NO_TENSORFLOW, **{KILL_HOOK_ENV: "moving"})
    assert moving.wait() == -signal.SIGKILL
    assert (out / "trials.csv").exists() and not (out / "manifest.json").exists()
    assert {p: p.read_bytes() for p in journals} == journals  # nothing was trained again

    assert main(args) == 0  # no --overwrite needed: trials.csv there is this run's own
    assert not (out / STAGING).exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 4 and set(manifest["files"]) == {
        "trials.csv", "curves.csv", "runs.csv", "best_hyperparameters.json", "journal.jsonl.gz"}
    assert len(pd.read_csv(out / "trials.csv")) == 2


def test_catching_up_rebuilds_each_journaled_record_and_refuses_one_that_differs(one_analytic_suite, no_data_dir,
                                                                                 tmp_path, capsys):
    out = tmp_path / "out"
    args = command(one_analytic_suite, no_data_dir, out)
    assert start(args, tmp_path, **NO_TENSORFLOW, **{KILL_HOOK_ENV: "finishing"}).wait() == -signal.SIGKILL
    (path,) = (out / STAGING / "runs").glob("*.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["kind"] == "run"
    unfinished = "".join(lines[:-1])  # both trials journaled, the run not finished: resuming catches up
    trial = json.loads(lines[1])
    path.write_text(unfinished.replace(lines[1], json.dumps(trial | {"val_accuracy": 0.5}, sort_keys=True) + "\n"))
    assert main(args) == 2  # the journal's val_accuracy is not its curve's: not what the trial gave
    err = capsys.readouterr().err
    assert "trial 1: the record built again from the journal differs: val_accuracy: journal 0.5" in err
    path.write_text(unfinished)
    assert main(args) == 0
    assert read_journal(out) == \
        [json.loads(line) for line in lines[1:]]  # caught up, not trained again: the same lines


# --- bad partial runs and output directories: exit 2, nothing lost -------------------------

@pytest.fixture
def partial_run(one_analytic_suite, no_data_dir, tmp_path):
    """An output directory with finished results and an interrupted run of ``one_analytic_suite``
    (interrupted before its first trial)."""
    from tunebench.progress import Progress
    from tunebench.runner import run_suite
    from tunebench.suite import load_suite

    out = tmp_path / "out"
    out.mkdir()
    (out / "trials.csv").write_text("old results\n")
    (out / "manifest.json").write_text(json.dumps({"schema_version": 1}))

    def interrupted(spec, splits, plan):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(load_suite(str(one_analytic_suite)), out, no_data_dir, overwrite=True,
                  progress=Progress(1, 1, enabled=False), benchmark_factory=interrupted)
    return out


def snapshot(directory: Path) -> dict:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != "lock"}


def test_partial_run_of_another_suite_exits_2(partial_run, one_analytic_suite, no_data_dir, capsys):
    before = snapshot(partial_run)
    assert main(command(one_analytic_suite, no_data_dir, partial_run, "--seeds", "1,")) == 2
    err = capsys.readouterr().err
    assert "holds an interrupted run" in err and "different suite or options" in err
    assert "seeds [0] there, [1] asked" in err and "--overwrite" in err
    assert snapshot(partial_run) == before


def test_partial_run_of_another_schema_version_exits_2(partial_run, one_analytic_suite, no_data_dir, capsys):
    header_path = partial_run / STAGING / "header.json"
    header = json.loads(header_path.read_text())
    header_path.write_text(json.dumps(header | {"schema_version": 0}))
    before = snapshot(partial_run)
    assert main(command(one_analytic_suite, no_data_dir, partial_run)) == 2
    err = capsys.readouterr().err
    assert "results schema version 0" in err and "cannot resume it" in err
    assert snapshot(partial_run) == before


def test_partial_run_without_header_exits_2(partial_run, one_analytic_suite, no_data_dir, capsys):
    (partial_run / STAGING / "header.json").unlink()
    before = snapshot(partial_run)
    assert main(command(one_analytic_suite, no_data_dir, partial_run)) == 2
    assert "without a readable header.json" in capsys.readouterr().err
    assert snapshot(partial_run) == before


def test_results_of_another_schema_version_exit_2(one_analytic_suite, no_data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"schema_version": 99}))
    assert main(command(one_analytic_suite, no_data_dir, out)) == 2
    assert "holds results of schema version 99" in capsys.readouterr().err
    assert snapshot(out) == {"manifest.json": b'{"schema_version": 99}'}


def test_overwrite_discards_a_partial_run_it_cannot_resume(partial_run, one_analytic_suite, no_data_dir):
    assert main(command(one_analytic_suite, no_data_dir, partial_run, "--seeds", "1,", "--overwrite")) == 0
    runs = pd.read_csv(partial_run / "runs.csv")
    assert list(runs.seed) == [1] and not (partial_run / STAGING).exists()


# --- the pieces ---------------------------------------------------------------------------

def test_journal_drops_a_torn_last_line_and_says_so(tmp_path, capsys):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"kind": "trial", "n": 1})
    journal.append({"kind": "trial", "n": 2})
    with open(journal.path, "ab") as handle:
        handle.write(b'{"kind": "tri')
    assert [r["n"] for r in journal.recover()] == [1, 2]
    assert f"{journal.path} line 3 is incomplete" in capsys.readouterr().err
    journal.append({"kind": "trial", "n": 3})  # appends after the cut, on a line of its own
    assert [r["n"] for r in journal.recover()] == [1, 2, 3]
    assert capsys.readouterr().err == ""


def test_journal_refuses_damage_before_the_last_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"n": 1}\nnot json\n{"n": 3}\n')
    with pytest.raises(JournalError, match="j.jsonl line 2 is not a JSON record"):
        Journal(path).recover()


def test_warm_start_states_round_trip_exactly(tmp_path):
    store = StateStore(tmp_path / "states")
    state = {"weights": [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, dtype=np.float32)],
             "optimizer": [np.array(7, dtype=np.int64), np.full((2, 3), 0.1, dtype=np.float32)]}
    store.save("0003", state)
    loaded = store.load("0003")
    assert set(loaded) == {"weights", "optimizer"}
    for key in state:
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(state[key], loaded[key], strict=True))
    store.save("x", {"config": {"a": 1}, "epoch": 2})
    assert store.load("x") == {"config": {"a": 1}, "epoch": 2}
    store.discard("0003")
    assert not store.path("0003").exists()


def test_results_being_replaced_are_never_read_as_a_set(one_analytic_suite, no_data_dir, tmp_path, capsys):
    """A run with --overwrite killed while its files move in: the folder holds no manifest
    (the old one goes first), so a reader refuses it, naming the interrupted run; running
    the command again finishes it."""
    out = tmp_path / "out"
    args = command(one_analytic_suite, no_data_dir, out)
    assert main(args) == 0
    old_trials = (out / "trials.csv").read_bytes()
    moving = start(args + ["--overwrite"], tmp_path, **NO_TENSORFLOW, **{KILL_HOOK_ENV: "moving"})
    assert moving.wait() == -signal.SIGKILL
    assert (out / "trials.csv").read_bytes() != old_trials  # new timings: a new file moved in
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert "was interrupted (run its command again to finish it)" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert main(["report", str(out)]) == 0


def test_a_planted_pickle_in_the_warm_start_states_is_refused_not_run(tmp_path):
    """Whoever can write into .partial/states/ must not get code run when a user resumes."""
    import pickle

    from tunebench.errors import InputError

    witness = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (witness,))

    store = StateStore(tmp_path / "states")
    store.directory.mkdir()
    np.savez(store.path("0001"), __pickle__=np.frombuffer(pickle.dumps(Payload()), dtype=np.uint8))
    store.path("0002").write_bytes(pickle.dumps(Payload()))  # a bare pickle named .npz
    for trial_id in ("0001", "0002"):
        with pytest.raises(InputError, match=f"warm-start state of trial {trial_id} cannot be read"):
            store.load(trial_id)
    assert not witness.exists()
    with pytest.raises(TypeError, match="must be a dict of arrays and JSON values, or a JSON value"):
        store.save("0003", object())
    store.save("0004", None)  # a benchmark that keeps nothing
    assert store.load("0004") is None


def test_a_forgiven_start_is_taken_back_and_a_death_stays_counted(tmp_path):
    from tunebench.attempts import AttemptMarker

    marker = AttemptMarker(tmp_path / "run.attempt")
    assert marker.start(4) == 0
    marker.forgive()  # stopped by the user
    assert not marker.path.exists() and marker.start(4) == 0
    assert marker.start(4) == 1  # the process died once in trial 4, then it started again
    marker.forgive()  # and the user stopped this start
    assert marker.start(4) == 1  # the death is still counted, the stop is not


def test_a_piped_run_prints_a_plain_line_per_finished_run_and_trial(one_trial_suite, tiny_data_dir, tmp_path):
    """stderr is a pipe here, not a terminal: no live line, but one line per run (and per
    trial with --verbose), as in a CI log or `| tee`."""
    process = start(command(one_trial_suite, tiny_data_dir, tmp_path / "out", "--verbose"), tmp_path,
                    TF_CPP_MIN_LOG_LEVEL=None)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert TENSORFLOW_LOG_LINE.search(err)  # --verbose shows TensorFlow's start-up lines...
    lines = [line for line in err.splitlines() if not TENSORFLOW_LOG_LINE.search(line)]
    assert [line for line in lines if " done: best val_acc " in line] == [
        line for line in lines if line.startswith("tunebench: run 1/1 mnist-mlp/random/seed 0 done: best val_acc ")]
    assert len([line for line in lines if " done: " in line]) == 1
    assert len([line for line in lines if "mnist-mlp/random/seed 0 trial " in line]) == 2
    assert "\r" not in err and "\x1b[" not in err

    quiet = start(command(one_trial_suite, tiny_data_dir, tmp_path / "quiet"), tmp_path, TF_CPP_MIN_LOG_LEVEL=None)
    _, err = quiet.communicate(timeout=600)
    assert quiet.returncode == 0, err
    assert not TENSORFLOW_LOG_LINE.search(err), err  # ...and by default there are none, with no setting made
    assert [line for line in err.splitlines() if " done: " in line] == [
        line for line in err.splitlines() if line.strip()]  # nothing but the line per finished run
