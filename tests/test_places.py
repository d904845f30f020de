"""Where an installed tunebench finds the recordings and the gate's baseline it ships
(tunebench.places): from any folder, with a folder's own results/ first and
$TUNEBENCH_RECORDINGS before both. .ci/run also runs the installed package from an empty
folder (the gate and a replay run)."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from tunebench.cli import main
from tunebench.places import RECORDINGS_ENV, baseline_dir, recording_dir, shipped


def test_from_an_empty_folder_the_shipped_recordings_and_baseline_are_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RECORDINGS_ENV, raising=False)
    assert (recording_dir("mnist-mlp") / "recording.json").is_file()
    assert recording_dir("mnist-mlp").parent == shipped("recordings")
    assert (baseline_dir() / "baseline.json").is_file() and baseline_dir() == shipped("baseline")
    assert str(baseline_dir(update=True)) == "results/baseline"  # never written into the package


def test_a_folders_own_recordings_come_first_and_the_environment_before_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RECORDINGS_ENV, raising=False)
    own = tmp_path / "results" / "recordings" / "mnist-mlp"
    shutil.copytree(shipped("recordings") / "mnist-mlp", own)
    assert recording_dir("mnist-mlp").resolve() == own.resolve()
    assert recording_dir("fer-cnn").parent == shipped("recordings")  # not recorded here: the shipped one
    (tmp_path / "results" / "baseline").mkdir()
    assert str(baseline_dir()) == "results/baseline"
    monkeypatch.setenv(RECORDINGS_ENV, str(tmp_path / "elsewhere"))
    assert recording_dir("mnist-mlp") == tmp_path / "elsewhere" / "mnist-mlp"


def test_a_replay_suite_runs_from_an_empty_folder_and_writes_under_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(RECORDINGS_ENV, raising=False)
    assert main(["run", "replay", "--seed", "3", "--seed", "8", "--strategies", "random",
                 "--benchmarks", "mnist-mlp@replay"]) == 0
    runs = pd.read_csv(tmp_path / "results" / "replay" / "runs.csv")
    assert runs["seed"].tolist() == [3, 8] and runs["fidelity"].str.startswith("replay of a recording").all()
    command = json.loads((tmp_path / "results" / "replay" / "manifest.json").read_text())["command"]
    assert command[0] == "tunebench"  # the program, not the path it is installed at
