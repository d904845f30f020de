"""tunebench from Python, written as a user's notebook would use it (tunebench.api): run a
small replay suite, look at the results as DataFrames, write the report, print the summary."""

from __future__ import annotations

import pandas as pd
import pytest

import tunebench.api as tb
from tunebench.errors import InputError


@pytest.fixture
def recordings(monkeypatch):
    from conftest import REPO_ROOT
    from tunebench.benchmarks.replay import RECORDINGS_ENV

    monkeypatch.setenv(RECORDINGS_ENV, str(REPO_ROOT / "results" / "recordings"))


def test_a_notebook_runs_a_suite_reads_its_tables_and_writes_its_report(recordings, tmp_path):
    results = tb.run("replay", out=tmp_path / "replay", seeds=3, strategies="random,tpe",
                     benchmarks="mnist-mlp@replay", budget=50, simulated_workers=2)
    assert isinstance(results.runs, pd.DataFrame) and len(results.runs) == 2 * 3
    assert set(results.runs["strategy"]) == {"random", "tpe"} and set(results.runs["seed"]) == {0, 1, 2}
    assert (results.runs["budget_epochs"] == 50).all()
    assert set(results.trials["worker"]) == {1, 2}
    medians = results.runs.groupby("strategy")["best_val_accuracy"].median()
    assert tb.load(tmp_path / "replay").runs.equals(results.runs)  # the same folder, read back
    report = tb.report(tmp_path / "replay")
    assert report == tmp_path / "replay" / "report.md" and report.read_text().startswith("#")
    lines = tb.summary(tmp_path / "replay")
    assert lines[0].startswith("mnist-mlp@replay (3 seeds): ")
    assert any(line.split()[0] == "tpe" and f"{medians['tpe']:.4f}" in line for line in lines[1:])
    # Replays alone train nothing: the manifest says the GPUs were not looked up (which on
    # TensorFlow would import it at the end of the run, seconds for a field no number depends on).
    from tunebench.manifest import GPUS_NOT_LOOKED_UP

    assert tb.load(tmp_path / "replay").manifest["hardware"]["gpus"] == GPUS_NOT_LOOKED_UP


def test_bad_input_raises_the_command_lines_message(recordings, tmp_path):
    with pytest.raises(InputError, match=r"option --strategies: .*'tpee'.*did you mean 'tpe'"):
        tb.run("replay", out=tmp_path / "x", strategies="tpee")
    assert not (tmp_path / "x").exists()
