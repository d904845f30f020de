"""Recordings: the design, chunked resumable recording with real training, integrity checks."""

import gzip
import json
import re
import signal
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from tunebench.cli import main
from tunebench.errors import InputError
from tunebench.models import fer_cnn, mnist_mlp
from tunebench.benchmarks.recording import AVERAGED_COLUMNS, DESIGN_CONFIGS, RECORDING_COLUMNS, DesignSpec, chunk_draw, chunk_path, design, draw_seed, from_unit, latin_hypercube, mean_over_draws
from tunebench.benchmarks.recording_load import load_recording
from tunebench.benchmarks.surrogate import surrogate_quality
from tunebench.files import claim
from tunebench.record import record, refresh_quality
from tunebench.record_command import parse_subset
from tunebench.record_draws import add_draw_chunk
from tunebench.seeding import RunSeeds

from test_resume import start

MNIST_SPACE = mnist_mlp.search_space(mnist_mlp.DEFAULT_ID)


def test_latin_hypercube_puts_one_point_in_every_stratum_of_every_axis():
    points = latin_hypercube(20, 3, seed=4)
    assert points.shape == (20, 3)
    assert ((points >= 0) & (points < 1)).all()
    for axis in range(3):
        assert sorted(np.floor(points[:, axis] * 20).astype(int)) == list(range(20))
    assert np.array_equal(points, latin_hypercube(20, 3, seed=4))
    assert not np.array_equal(points, latin_hypercube(20, 3, seed=5))


def test_from_unit_maps_the_corners_to_the_ends_of_every_range():
    space = fer_cnn.search_space()
    low = from_unit(space, np.zeros(len(space.params)))
    high = from_unit(space, np.full(len(space.params), 0.999999))
    assert low == {"conv_layers": 1, "filters_1": 32, "dense_units": 64, "learning_rate": pytest.approx(1e-5)}
    assert high["conv_layers"] == 3 and high["filters_3"] == 128 and high["dense_units"] == 512
    assert high["learning_rate"] == pytest.approx(1e-2, rel=1e-4)
    assert space.validate(high) == high


def test_design_is_seeded_valid_and_adds_grid_points():
    spec = DesignSpec(configs=25, grid_configs=5, seed=3, chunk_size=10)
    configs = design(MNIST_SPACE, spec)
    assert configs == design(MNIST_SPACE, spec)
    assert [origin for origin, _ in configs].count("grid") == 5
    grid = MNIST_SPACE.grid()
    assert all(config in grid for origin, config in configs if origin == "grid")
    for _, config in configs:
        assert MNIST_SPACE.validate(config) == config
    assert len({json.dumps(c, sort_keys=True) for _, c in configs}) == len(configs)
    # the learning-rate choices are spread over the design, not all one value
    assert len({c["learning_rate"] for _, c in configs}) == 3


def test_parse_subset_accepts_counts_fractions_and_tables():
    assert parse_subset(None) is None
    assert parse_subset("400") == 400
    assert parse_subset("0.2") == 0.2
    assert parse_subset("train=300,val=100,test=100") == {"train": 300, "val": 100, "test": 100}
    with pytest.raises(InputError, match="--subset"):
        parse_subset("train=lots")


RECORD_ARGS = ["record", "mnist-mlp", "--configs", "5", "--grid-configs", "1", "--epochs", "2",
               "--chunk-size", "4", "--subset", "train=120"]


@pytest.fixture(scope="module")
def recorded(tiny_data_dir, tmp_path_factory):
    """A recording made in two calls: the first stops after one chunk, the second resumes."""
    out = tmp_path_factory.mktemp("recordings")
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(out)]
    assert main(args + ["--max-chunks", "1"]) == 0
    first = json.loads((out / "mnist-mlp" / "recording.json").read_text())
    assert main(args) == 0
    return out / "mnist-mlp", first


def test_recording_resumes_chunk_by_chunk_and_loads_as_one_table(recorded):
    directory, first = recorded
    assert list(first["chunks"]) == ["chunk-0000.csv.gz"]
    meta, table = load_recording(directory)
    assert sorted(meta["chunks"]) == ["chunk-0000.csv.gz", "chunk-0001.csv.gz"]
    assert meta["chunks"]["chunk-0000.csv.gz"] == first["chunks"]["chunk-0000.csv.gz"]  # not redone
    assert meta["total_configs"] == 6
    assert len(table) == 6 * 2
    assert list(table.columns[:len(RECORDING_COLUMNS)]) == RECORDING_COLUMNS
    assert sorted(table["config_id"].unique()) == list(range(6))
    assert (table.groupby("config_id")["epoch"].apply(list) == pd.Series([[1, 2]] * 6)).all()
    assert meta["header"]["fidelity"] == "reduced: 2 of 10 epochs; data subset train=120"
    assert meta["header"]["data"]["class_names"] == [str(d) for d in range(10)]
    assert "/" not in meta["header"]["data"]["file"]  # no absolute paths in committed files
    assert "jax" not in meta["header"]  # a TensorFlow header is as before: committed recordings still resume
    assert set(meta["surrogate_quality"]) >= {"spearman", "r2", "configs"}
    confusion = np.array(json.loads(table["test_confusion"].iloc[0]))
    assert confusion.shape == (10, 10)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(table["test_accuracy"].iloc[0], abs=1e-5)


def test_a_finished_recording_records_nothing_more(recorded, tiny_data_dir, capsys):
    directory, _ = recorded
    before = (directory / "recording.json").read_text()
    assert main(RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(directory.parent)]) == 0
    out = capsys.readouterr().out
    assert "wrote 0 chunk(s)" in out
    quality = json.loads(before)["surrogate_quality"]
    assert (f"extra-trees surrogate on 6 configurations: held-out Spearman {quality['spearman']:.3f} "
            f"(median {quality['spearman_repeats']['median']:.3f} over 10 splits), R² {quality['r2']:.3f}") in out
    assert (directory / "recording.json").read_text() == before


def test_another_design_in_the_same_folder_is_refused(recorded, tiny_data_dir, capsys):
    directory, _ = recorded
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(directory.parent), "--seed", "9"]
    assert main(args) == 2
    assert "recording.json was made with another" in capsys.readouterr().err


def test_a_recording_goes_on_with_the_configurations_it_keeps(tiny_data_dir, tmp_path):
    """Rebuilding the design elsewhere can give other last bits (NumPy's exp differs between
    CPUs): a recording resumed on another machine must train the configurations it began
    with, with the seeds derived from them."""
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path)]
    assert main(args + ["--max-chunks", "1"]) == 0
    meta_path = tmp_path / "mnist-mlp" / "recording.json"
    meta = json.loads(meta_path.read_text())
    rebuilt = design(MNIST_SPACE, DesignSpec(**meta["design"]))
    assert meta[DESIGN_CONFIGS] == json.loads(json.dumps(rebuilt))
    # what another machine began with: config 5 (in the second chunk) one bit off in a dropout
    config = rebuilt[5][1]
    other = dict(config, dropout_1=float(np.nextafter(config["dropout_1"], 1.0)))
    assert RunSeeds("mnist-mlp", 0).training(other) != RunSeeds("mnist-mlp", 0).training(config)
    meta[DESIGN_CONFIGS][5][1] = other
    meta_path.write_text(json.dumps(meta))
    assert main(args) == 0
    _, table = load_recording(tmp_path / "mnist-mlp")
    trained = table[table["config_id"] == 5].iloc[0]
    assert trained["training_seed"] == RunSeeds("mnist-mlp", 0).training(other)
    assert json.loads(meta_path.read_text())[DESIGN_CONFIGS][5][1] == other  # kept, not rebuilt


def test_kept_configurations_that_are_not_the_design_are_refused(tiny_data_dir, tmp_path, capsys):
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path)]
    directory = tmp_path / "mnist-mlp"
    rebuilt = design(MNIST_SPACE, DesignSpec(configs=5, grid_configs=1, seed=0, chunk_size=4))
    assert main(args + ["--max-chunks", "0"]) == 0  # a new recording keeps its configurations at once
    meta = json.loads((directory / "recording.json").read_text())
    assert meta[DESIGN_CONFIGS] == json.loads(json.dumps(rebuilt)) and meta["chunks"] == {}
    rate = next(r for r in MNIST_SPACE["learning_rate"].values() if r != rebuilt[1][1]["learning_rate"])
    meta[DESIGN_CONFIGS][1][1]["learning_rate"] = rate
    (directory / "recording.json").write_text(json.dumps(meta))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(directory / "recording.json") in err and f"{DESIGN_CONFIGS}[1]" in err
    assert not list(directory.glob("chunk-*"))


def test_an_altered_chunk_is_detected(recorded, tmp_path):
    directory, _ = recorded
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in directory.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    chunk = copy / "chunk-0001.csv.gz"
    chunk.write_bytes(gzip.compress(gzip.decompress(chunk.read_bytes()).replace(b"lhs", b"LHS")))
    with pytest.raises(InputError, match="chunk-0001.csv.gz does not match"):
        load_recording(copy)
    with pytest.raises(InputError, match="does not exist"):
        load_recording(tmp_path / "nowhere")


def test_a_claimed_chunk_is_refused_to_a_second_claim_and_freed_after(tmp_path):
    lock = tmp_path / ".chunk-0000.csv.gz.lock"
    with claim(lock) as first:
        with claim(lock) as second:  # flock is per open file: a second open conflicts, in one process too
            assert first and not second
    assert not lock.exists()
    with claim(lock) as again:
        assert again


def test_two_workers_record_every_chunk_once(tiny_data_dir, tmp_path):
    # In a fresh process from a folder outside the checkout, as a user runs it.
    import subprocess
    import sys

    command = [sys.executable, "-m", "tunebench.cli", "record", "mnist-mlp", "--configs", "4", "--grid-configs", "0",
               "--epochs", "1", "--subset", "train=60", "--chunk-size", "1", "--workers", "2",
               "--data-dir", str(tiny_data_dir), "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    directory = tmp_path / "out" / "mnist-mlp"
    chunks = [directory / f"chunk-{index:04d}.csv.gz" for index in range(4)]
    assert all(path.exists() for path in chunks)
    assert "wrote 4 chunk(s)" in result.stdout, result.stdout  # all four, none trained twice
    meta, table = load_recording(directory)
    assert sorted(meta["chunks"]) == [path.name for path in chunks]
    assert sorted(table["config_id"]) == [0, 1, 2, 3]
    assert meta["surrogate_quality"]["configs"] == 4  # measured once the last chunk was in
    assert not list(directory.glob(".chunk-*.lock"))  # the claims are gone


def test_sigterm_stops_every_worker_and_the_same_command_finishes_the_recording(tiny_data_dir, tmp_path,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)  # the spawned workers import tunebench as installed, not the checkout's folder
    out = tmp_path / "out"
    args = ["record", "mnist-mlp", "--configs", "10", "--grid-configs", "0", "--epochs", "1", "--subset", "train=60",
            "--chunk-size", "1", "--workers", "2", "--data-dir", str(tiny_data_dir), "--out", str(out)]
    process = start(args, tmp_path)
    directory = out / "mnist-mlp"
    while not list(directory.glob("chunk-*.csv.gz")) and process.poll() is None:
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "tunebench: stopped (SIGTERM)" in err
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive  # no worker trains on after the command has said it stopped
    # The signal may land after a chunk's file is written but before recording.json lists it,
    # so the count may be 0: read the list itself (load_recording refuses an empty recording).
    listed = json.loads((directory / "recording.json").read_text())["chunks"]
    assert len(listed) < 10
    assert main(args) == 0
    meta, table = load_recording(directory)
    assert sorted(table["config_id"]) == list(range(10)) and meta["surrogate_quality"]["configs"] == 10


def test_a_recording_worker_killed_from_outside_ends_the_command_with_an_error_not_a_wait(tiny_data_dir, tmp_path):
    """The OOM killer's case: one of the workers dies without an answer. The command says so
    and exits 1 (a pool of workers would wait for that worker's result forever)."""
    args = ["record", "mnist-mlp", "--configs", "10", "--grid-configs", "0", "--epochs", "1", "--subset", "train=60",
            "--chunk-size", "1", "--workers", "2", "--data-dir", str(tiny_data_dir), "--out", str(tmp_path / "out")]
    process = start(args, tmp_path)
    deadline = time.monotonic() + 120
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = [child for child in psutil.Process(process.pid).children()
                   if "spawn_main" in " ".join(child.cmdline())]
        time.sleep(0.05)
    assert len(workers) == 2, "the two recording workers never started"
    workers[0].kill()  # the first started: worker 1
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1, err
    assert "recording worker 1 of 2 was killed by SIGKILL before it finished" in err, err[-2000:]
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive  # the other worker was stopped, not left training


def test_a_chunk_file_the_recording_does_not_list_is_trained_again(recorded, tiny_data_dir, tmp_path):
    """A kill after a chunk's file is written and before recording.json lists it leaves a file
    the recording does not vouch for: the next call trains that chunk again and lists it."""
    directory = _copy(recorded[0], tmp_path)
    (directory / "recording.json").write_text(json.dumps(recorded[1]))  # lists chunk 0 only
    (directory / "chunk-0001.csv.gz").write_bytes(b"half of a chunk")  # on disk, not listed
    assert len(load_recording(directory)[1]) == 4 * 2  # the unlisted file is not read as part of it
    assert main(RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path)]) == 0
    meta, table = load_recording(directory)
    assert sorted(meta["chunks"]) == ["chunk-0000.csv.gz", "chunk-0001.csv.gz"]
    assert sorted(table["config_id"].unique()) == list(range(6))


@pytest.mark.parametrize("args, message", [
    (["record", "mnist-mlp@replay"], "is a replay benchmark"),
    (["record", "nope"], "unknown benchmark"),
    (["record", "mnist-mlp", "--configs", "0"], "--configs must be at least 1"),
    (["record", "mnist-mlp", "--workers", "0"], "--processes must be at least 1"),
    (["record", "mnist-mlp", "--processes", "0"], "--processes must be at least 1"),
    (["record", "mnist-mlp", "--draw", "0"], "--draw must be 1 or more"),
    (["record", "mnist-mlp", "--subset", "x=y=z"], "--subset"),
])
def test_bad_record_options_exit_2(args, message, tiny_data_dir, tmp_path, capsys):
    assert main(args + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# --- bad recordings whose sha256 was updated: exit 2, never a traceback (issue 13) -----------

def _copy_with_chunk(directory, tmp_path, rewrite_chunk=None, rewrite_meta=None):
    """A copy of the recording with chunk 1 rewritten (its sha256 updated to match) or
    recording.json rewritten."""
    import hashlib

    copy = tmp_path / "copy"
    copy.mkdir()
    for path in directory.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    meta = json.loads((copy / "recording.json").read_text())
    if rewrite_chunk is not None:
        chunk = copy / "chunk-0001.csv.gz"
        data = rewrite_chunk(chunk.read_bytes())
        chunk.write_bytes(data)
        meta["chunks"]["chunk-0001.csv.gz"]["sha256"] = hashlib.sha256(data).hexdigest()
    if rewrite_meta is not None:
        meta = rewrite_meta(meta)
    (copy / "recording.json").write_text(json.dumps(meta))
    return copy


def _table_edit(edit):
    def rewrite(data):
        table = pd.read_csv(__import__("io").BytesIO(gzip.decompress(data)))
        return gzip.compress(edit(table).to_csv(index=False).encode())
    return rewrite


@pytest.mark.parametrize("rewrite_chunk, rewrite_meta, message", [
    (lambda data: data[: len(data) // 2], None, "not a gzipped CSV"),
    (lambda data: b"not gzip at all", None, "not a gzipped CSV"),
    (_table_edit(lambda t: t.drop(columns="val_accuracy")), None, "missing column(s) val_accuracy"),
    (_table_edit(lambda t: t.assign(val_accuracy=float("nan"))), None, "column val_accuracy row 1"),
    (_table_edit(lambda t: t.assign(epoch="two")), None, "column epoch row 1 holds 'two'"),
    (_table_edit(lambda t: t.assign(loss="x")), None, "column loss row 1 holds 'x', not a finite number"),
    (None, lambda meta: [meta], "is not a JSON object"),
    (None, lambda meta: {k: v for k, v in meta.items() if k != "header"}, "has no header object"),
    (None, lambda meta: meta | {"header": meta["header"] | {"max_epochs": "ten"}}, "header.max_epochs"),
    (None, lambda meta: meta | {"chunks": {"../recording.json": {"sha256": "0"}}}, "is not of the form"),
    (None, lambda meta: meta | {"chunks": {"chunk-0000.draw-1.csv.gz": {"sha256": "0"}}}, "is not of the form"),
    (None, lambda meta: meta | {"chunks": ["chunk-0000.csv.gz"]}, "chunks must be an object"),
])
def test_a_bad_recording_is_an_input_error_naming_the_file(recorded, tmp_path, rewrite_chunk, rewrite_meta,
                                                            message):
    directory, _ = recorded
    copy = _copy_with_chunk(directory, tmp_path, rewrite_chunk, rewrite_meta)
    with pytest.raises(InputError) as error:
        load_recording(copy)
    assert message in str(error.value) and str(copy) in str(error.value)


# --- draws: the design trained again with other training seeds ----------------------------

def _copy(directory, tmp_path):
    import shutil

    shutil.copytree(directory, tmp_path / "mnist-mlp")
    return tmp_path / "mnist-mlp"


def test_draw_seeds_and_chunk_names():
    assert [draw_seed(2, 0), draw_seed(2, 55), draw_seed(3, 4)] == [7000, 7055, 107004]
    with pytest.raises(ValueError, match="draw 1"):
        draw_seed(1, 0)
    assert chunk_path("d", 3, 2).name == "chunk-0003.draw-2.csv.gz"
    assert [chunk_draw("chunk-0003.csv.gz"), chunk_draw("chunk-0003.draw-12.csv.gz")] == [1, 12]
    for name in ("chunk-0003.draw-1.csv.gz", "chunk-0003.draw-02.csv.gz", "chunk-3.csv.gz"):
        with pytest.raises(ValueError):
            chunk_draw(name)


def test_mean_over_draws_averages_the_metrics_and_keeps_the_first_draws_other_columns():
    def rows(config_id, draw, seed, values):
        return [{"config_id": config_id, "origin": "lhs", "training_seed": seed, "epoch": epoch,
                 **{column: value + epoch for column in AVERAGED_COLUMNS + ["epoch_seconds"]}, "hp_lr": 0.1 * (config_id + 1),
                 "test_confusion": f"[[{draw}]]", "draw": draw} for epoch, value in ((1, values[0]), (2, values[1]))]

    table = pd.DataFrame(rows(1, 2, 7001, (0.3, 0.5)) + rows(0, 1, 11, (0.1, 0.2)) + rows(1, 1, 12, (0.1, 0.1)))
    mean = mean_over_draws(table)
    assert list(mean.columns) == [c for c in table.columns if c != "draw"] + ["draws"]
    assert mean[["config_id", "epoch"]].values.tolist() == [[0, 1], [0, 2], [1, 1], [1, 2]]
    assert mean["val_accuracy"].tolist() == pytest.approx([1.1, 2.2, 1.2, 2.3])  # config 1: (0.1 + 0.3) / 2 + 1 ...
    assert mean["epoch_seconds"].tolist() == pytest.approx([1.1, 2.2, 1.1, 2.1])  # the first draw's
    assert mean["draws"].tolist() == [1, 1, 2, 2]
    assert mean["training_seed"].tolist() == [11, 11, 12, 12]  # the first draw's
    assert mean["test_confusion"].tolist() == ["[[1]]"] * 4
    one = table[table["draw"] == 1].drop(columns="draw")  # a table without draws is one draw
    assert mean_over_draws(one).drop(columns="draws").equals(one.sort_values(["config_id", "epoch"]).reset_index(drop=True))


def test_a_second_draw_trains_the_design_again_and_the_quality_judges_the_means(recorded, tiny_data_dir, tmp_path,
                                                                               capsys):
    directory = _copy(recorded[0], tmp_path)
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path), "--draw", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    meta, table = load_recording(directory)
    assert sorted(meta["chunks"]) == ["chunk-0000.csv.gz", "chunk-0000.draw-2.csv.gz", "chunk-0001.csv.gz",
                                      "chunk-0001.draw-2.csv.gz"]
    assert "7000 + 100000" in meta["draws_training_seed"]
    second = table[table["draw"] == 2]
    assert (second["training_seed"] == second["config_id"] + 7000).all()
    first = table[table["draw"] == 1]
    assert (first[["config_id", "epoch", "origin"]].values == second[["config_id", "epoch", "origin"]].values).all()
    assert not np.allclose(first["val_accuracy"], second["val_accuracy"])  # other seeds, other curves
    quality = meta["surrogate_quality"]
    assert quality["draws"] == {"1": 6, "2": 6}
    assert quality == surrogate_quality(MNIST_SPACE, table)
    assert quality != surrogate_quality(MNIST_SPACE, first)
    assert "judged against the mean over draws (draw 1: 6, draw 2: 6 configurations)" in out
    assert main(args) == 0 and "wrote 0 chunk(s)" in capsys.readouterr().out  # a finished draw trains nothing


def test_a_later_draw_needs_a_complete_first_draw_and_writes_nothing_before(recorded, tiny_data_dir, tmp_path,
                                                                             capsys):
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path), "--draw", "2"]
    assert main(args) == 2  # no recording at all
    assert "holds no recording" in capsys.readouterr().err and not any(tmp_path.iterdir())
    directory = _copy(recorded[0], tmp_path)  # the first draw as it stood after its first chunk
    (directory / "chunk-0001.csv.gz").unlink()
    (directory / "recording.json").write_text(json.dumps(recorded[1]))
    before = (directory / "recording.json").read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"the first draw of the recording {directory / 'recording.json'} is not complete (1 of 2 chunks)" in err
    assert (directory / "recording.json").read_bytes() == before
    assert sorted(path.name for path in directory.glob("chunk-*")) == ["chunk-0000.csv.gz"]


def add_second_draw(directory, space, chunk, shift, **changes):
    """Give the configurations of chunk ``chunk`` of the recording in ``directory`` a second draw
    with add_draw_chunk(): their first draw's curves with ``shift`` added to the validation
    accuracy (a number, or one per configuration id: a dict; and ``changes``: ``training_seed``,
    ``epochs``, ``draw``, ``drop`` a configuration)."""
    from tunebench.benchmarks.base import EpochRecord

    meta, table = load_recording(directory)
    size = meta["design"]["chunk_size"]
    draw = changes.get("draw", 2)
    curves = {}
    for config_id in range(chunk * size, min((chunk + 1) * size, meta["total_configs"])):
        rows = table[(table["config_id"] == config_id) & (table["draw"] == 1)]
        added = shift.get(config_id, 0.0) if isinstance(shift, dict) else shift
        curve = rows[RECORDING_COLUMNS[3:]].assign(val_accuracy=rows["val_accuracy"] + added)
        points = [EpochRecord(**row) for row in curve.to_dict("records")][:changes.get("epochs")]
        curves[config_id] = (changes.get("training_seed", draw_seed(max(draw, 2), config_id)), points)
    curves.pop(changes.get("drop"), None)
    return add_draw_chunk(directory, space, draw, chunk, curves, machine="test")


def test_a_draw_trained_elsewhere_is_added_and_the_quality_measured_again(recorded, tmp_path):
    """add_draw_chunk() adds curves trained outside record(); the next record() call on the
    complete recording trains nothing and measures the quality on the means."""
    directory = _copy(recorded[0], tmp_path)
    meta, _ = load_recording(directory)
    assert add_second_draw(directory, MNIST_SPACE, 0, 0.05) == directory / "chunk-0000.draw-2.csv.gz"

    class Untrainable:
        def evaluate(self, *args, **kwargs):
            raise AssertionError("a finished recording trained a configuration")

    assert record(Untrainable(), MNIST_SPACE, directory, meta["header"], DesignSpec(**meta["design"]),
                  training_seed=lambda config: 0) == []
    after, table = load_recording(directory)
    assert after["surrogate_quality"]["draws"] == {"1": 6, "2": 4}  # chunk 0: configurations 0-3
    mean = mean_over_draws(table)
    final = mean[mean["epoch"] == mean["epoch"].max()].set_index("config_id")["val_accuracy"]
    recorded_final = table[(table["draw"] == 1) & (table["epoch"] == table["epoch"].max())].set_index("config_id")
    assert final[2] == pytest.approx(recorded_final["val_accuracy"][2] + 0.025, abs=1e-6)
    assert final[4] == recorded_final["val_accuracy"][4]
    text = (directory / "recording.json").read_text()
    assert not refresh_quality(directory, MNIST_SPACE, "trees")  # up to date: untouched
    assert (directory / "recording.json").read_text() == text


@pytest.mark.parametrize("changes, message", [
    ({"training_seed": 11}, "config 0 trained with seed 11, not the draw's 7000"),
    ({"epochs": 1}, "config 0 has epochs [1], not the recording's 1-2"),
    ({"draw": 1}, "only a later draw (2, 3, ...)"),
    ({"drop": 3}, "the chunk holds configurations [0, 1, 2, 3], not [0, 1, 2]"),
])
def test_a_draw_that_is_not_the_designs_is_refused(recorded, tmp_path, changes, message):
    directory = _copy(recorded[0], tmp_path)
    before = (directory / "recording.json").read_text()
    with pytest.raises(InputError, match=re.escape(message)):
        add_second_draw(directory, MNIST_SPACE, 0, 0.0, **changes)
    assert (directory / "recording.json").read_text() == before
    assert not list(directory.glob("*.draw-*"))


def test_a_chunk_outside_the_design_a_second_copy_or_another_configuration_is_refused(recorded, tmp_path):
    directory = _copy(recorded[0], tmp_path)
    add_second_draw(directory, MNIST_SPACE, 0, 0.0)
    with pytest.raises(InputError, match="chunk-0000.draw-2.csv.gz is already in the recording"):
        add_second_draw(directory, MNIST_SPACE, 0, 0.0)
    with pytest.raises(InputError, match="the design has chunks 0-1"):
        add_draw_chunk(directory, MNIST_SPACE, 2, 2, {})
    # a later draw whose rows are another configuration's than the first draw's is refused on loading
    meta = json.loads((directory / "recording.json").read_text())
    path = directory / "chunk-0000.draw-2.csv.gz"
    table = pd.read_csv(path)
    table.loc[table["config_id"] == 2, "hp_learning_rate"] = 0.5
    data = gzip.compress(table.to_csv(index=False).encode())
    path.write_bytes(data)
    meta["chunks"][path.name]["sha256"] = __import__("hashlib").sha256(data).hexdigest()
    (directory / "recording.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"chunk-0000\.draw-2\.csv\.gz: config 2 has hp_learning_rate 0\.5"):
        load_recording(directory)


def test_a_recording_of_an_older_tunebench_is_not_rewritten(recorded, tmp_path):
    """A stored quality that names no model (recordings made before models had names) is the
    trees': running the record command again leaves recording.json as it is."""
    directory = _copy(recorded[0], tmp_path)
    meta = json.loads((directory / "recording.json").read_text())
    del meta["surrogate_quality"]["model"]
    (directory / "recording.json").write_text(json.dumps(meta))
    before = (directory / "recording.json").read_text()
    assert not refresh_quality(directory, MNIST_SPACE, "trees")
    assert (directory / "recording.json").read_text() == before


def test_a_recording_whose_header_names_no_precision_or_backend_takes_a_later_draw(recorded, tiny_data_dir,
                                                                                    tmp_path):
    """A header written before ``precision`` and ``keras_backend`` existed was recorded in float32
    on TensorFlow: a later draw matches it, and the header is then stored whole."""
    directory = _copy(recorded[0], tmp_path)
    meta_path = directory / "recording.json"
    meta = json.loads(meta_path.read_text())
    for key in ("precision", "keras_backend"):
        meta["header"].pop(key)
    meta_path.write_text(json.dumps(meta))
    args = RECORD_ARGS + ["--data-dir", str(tiny_data_dir), "--out", str(tmp_path), "--draw", "2", "--max-chunks", "1"]
    assert main(args) == 0
    header = json.loads(meta_path.read_text())["header"]
    assert (header["precision"], header["keras_backend"]) == ("float32", "tensorflow")
    meta["header"]["precision"] = "bfloat16"  # a header that does name another precision is still refused
    meta_path.write_text(json.dumps(meta))
    assert main(args) == 2
