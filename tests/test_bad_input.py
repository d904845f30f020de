"""The bad inputs that once ended in a traceback: each is refused with exit 2 and a message that
names the file or option, and nothing is written (huge counts, over-deep suite files, output
places that cannot be used, data files that lie about their size, recordings whose damaged
rows carry an updated sha256)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.recording_load import load_recording
from tunebench.cli import main
from tunebench.datasets import clear_cache, load_fer2013, load_mnist
from tunebench.errors import InputError
from tunebench.limits import MAX_SEEDS, MAX_TRIALS

REAL_RECORDING = Path(__file__).resolve().parents[1] / "results" / "recordings" / "mnist-mlp"
HUGE = [str(2**62), str(2**70), "9" * 5000]


def run_cli(argv, capfd) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's refusals
        code = exit_.code
    err = capfd.readouterr().err
    assert "Traceback" not in err and "internal failure" not in err, err
    return code, err


# --- huge counts -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("key", ["seeds", "trials"])
def test_a_huge_count_in_a_suite_is_refused_naming_the_file_and_the_limit(key, value, tmp_path, capfd):
    suite = tmp_path / "huge.toml"
    top, table = (f"seeds = {value}\n", "") if key == "seeds" else ("", f"trials = {value}\n")
    suite.write_text(f"{top}[benchmarks.mnist-mlp]\n{table}")
    code, err = run_cli(["run", str(suite), "--out", str(tmp_path / "out")], capfd)
    assert code == 2 and str(suite) in err
    assert (f"{MAX_SEEDS:,}" if key == "seeds" else f"{MAX_TRIALS:,}") in err or "digits" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", HUGE + [HUGE[0] + ","])
def test_a_huge_seeds_option_is_refused_naming_the_option(value, tmp_path, capfd):
    code, err = run_cli(["run", "smoke", "--seeds", value, "--out", str(tmp_path / "out")], capfd)
    assert code == 2 and "--seeds" in err and "too large" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--configs", "--grid-configs", "--chunk-size", "--workers", "--draw", "--epochs"])
def test_a_huge_record_option_is_refused_naming_the_option(option, tmp_path, capfd):
    code, err = run_cli(["record", "mnist-mlp", option, HUGE[0], "--out", str(tmp_path)], capfd)
    assert code == 2 and option in err and "at most" in err
    assert not any(tmp_path.iterdir())


# --- deep suite files ------------------------------------------------------------------------

@pytest.mark.parametrize("document", ["a = " + "[" * 1200 + "]" * 1200, "a = " + "{b = " * 1200 + "1" + "}" * 1200,
                                      "a = " + "[" * 40 + "]" * 40])
def test_an_over_deep_suite_file_is_refused(document, tmp_path, capfd):
    suite = tmp_path / "deep.toml"
    suite.write_text(document + "\n")
    code, err = run_cli(["run", str(suite), "--out", str(tmp_path / "out")], capfd)
    assert code == 2 and str(suite) in err and "deep" in err


# --- output places ---------------------------------------------------------------------------

def test_a_record_out_that_is_a_file_is_refused_naming_it(tiny_data_dir, tmp_path, capfd):
    (tmp_path / "a-file").write_text("mine")
    code, err = run_cli(["record", "mnist-mlp", "--configs", "2", "--grid-configs", "0", "--epochs", "1",
                         "--data-dir", str(tiny_data_dir), "--out", str(tmp_path / "a-file")], capfd)
    assert code == 2 and str(tmp_path / "a-file") in err and "is a file" in err
    assert (tmp_path / "a-file").read_text() == "mine"


def test_a_record_out_under_proc_is_refused_naming_it(tiny_data_dir, capfd):
    code, err = run_cli(["record", "mnist-mlp", "--configs", "2", "--grid-configs", "0", "--epochs", "1",
                         "--data-dir", str(tiny_data_dir), "--out", "/proc/tunebench-nowhere"], capfd)
    assert code == 2 and "/proc/tunebench-nowhere" in err


# --- data files that lie about their size ------------------------------------------------------

def _npz_with_a_lying_header(path: Path) -> None:
    small = {name: np.zeros((4, 48, 48) if name.startswith("x") else 4, np.uint8)
             for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    np.savez(path, **small)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**14,)})
    members["x_train.npy"] = header.getvalue() + b"\x00" * 16
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_an_npz_whose_header_declares_more_than_it_holds_is_refused_before_allocating(tmp_path):
    _npz_with_a_lying_header(tmp_path / "fer2013.npz")
    clear_cache()
    with pytest.raises(InputError, match=r"fer2013\.npz.*declares shape \(100000000000000,\)"):
        load_fer2013(tmp_path, 0)


def test_an_idx_file_whose_dimensions_overflow_is_refused(tmp_path):
    # 2^31 x 2^31 x 4 images: a product that wraps to 0 in 64 bits, and no pixel bytes at all
    images = (2051).to_bytes(4, "big") + (2**31).to_bytes(4, "big") * 2 + (4).to_bytes(4, "big")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    for name, magic, size in (("train-labels-idx1-ubyte", 2049, 1), ("t10k-images-idx3-ubyte", 2051, None),
                              ("t10k-labels-idx1-ubyte", 2049, 1)):
        dims = (1,) if magic == 2049 else (1, 28, 28)
        body = b"".join(d.to_bytes(4, "big") for d in dims)
        (tmp_path / name).write_bytes(magic.to_bytes(4, "big") + body + b"\x00" * int(np.prod(dims)))
    clear_cache()
    with pytest.raises(InputError, match="train-images-idx3-ubyte.*announces dimensions"):
        load_mnist(tmp_path, 0, download=False)


# --- recordings with damaged rows and an updated sha256 ------------------------------------------

def damaged_copy(tmp_path: Path, column: str, value: str, rows=(3,)) -> Path:
    """The committed mnist-mlp recording's first chunk with ``column`` changed in ``rows``, its
    sha256 updated."""
    copy = tmp_path / "mnist-mlp"
    copy.mkdir()
    meta = json.loads((REAL_RECORDING / "recording.json").read_text())
    name = sorted(meta["chunks"])[0]
    table = pd.read_csv(REAL_RECORDING / name, dtype=str)
    table.loc[list(rows), column] = value
    data = gzip.compress(table.to_csv(index=False).encode())
    (copy / name).write_bytes(data)
    meta["chunks"] = {name: meta["chunks"][name] | {"sha256": hashlib.sha256(data).hexdigest()}}
    (copy / "recording.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize("column, value, message", [
    ("loss", "inf", "column loss row 4"), ("epoch_seconds", "nan", "column epoch_seconds row 4"),
    ("epoch", "1.5", "row 4 has epoch"), ("epoch", "-1", "row 4 has epoch"), ("epoch", "99", "row 4 has epoch"),
    ("config_id", "-3", "row 4 has config_id"), ("config_id", "1e30", "row 4 has config_id"),
    ("epoch", "5", "epochs"),  # a repeated epoch: the curve is not 1-10 once each
    ("hp_learning_rate", "abc", "row 4 gives config 0 other hyperparameters than its earlier rows"),
    ("hp_units_1", "5000", "row 4 gives config 0 other hyperparameters than its earlier rows"),
])
def test_a_recording_row_that_makes_no_sense_is_refused_naming_chunk_and_row(column, value, message, tmp_path):
    copy = damaged_copy(tmp_path, column, value)
    make_space = get_benchmark_spec("mnist-mlp").make_space
    with pytest.raises(InputError, match="chunk-0000.csv.gz") as refused:
        load_recording(copy, make_space)
    assert message in str(refused.value)


@pytest.mark.parametrize("column, value, message", [
    ("hp_learning_rate", "abc", "outside the benchmark's space"),
    ("hp_learning_rate", "nan", "not a finite number"),
    ("hp_units_1", "5000", "outside the benchmark's space"),
    ("hp_dropout_1", "0.35", "outside the benchmark's space"),
])
def test_a_configuration_outside_the_space_is_refused_naming_chunk_and_row(column, value, message, tmp_path):
    copy = damaged_copy(tmp_path, column, value, rows=range(10))  # every row of config 0: one consistent config
    make_space = get_benchmark_spec("mnist-mlp").make_space
    with pytest.raises(InputError, match="chunk-0000.csv.gz: row 1 ") as refused:
        load_recording(copy, make_space)
    assert message in str(refused.value)


def test_the_committed_recordings_pass_every_row_check():
    for name in ("mnist-mlp", "fer-cnn"):
        meta, table = load_recording(REAL_RECORDING.parent / name, get_benchmark_spec(name).make_space)
        assert table["epoch"].between(1, meta["header"]["max_epochs"]).all()


def test_a_damaged_recording_is_exit_2_from_the_command_line(tmp_path, capfd, monkeypatch):
    damaged_copy(tmp_path, "loss", "inf")
    shutil.copytree(REAL_RECORDING.parent / "fer-cnn", tmp_path / "fer-cnn")
    monkeypatch.setenv("TUNEBENCH_RECORDINGS", str(tmp_path))
    code, err = run_cli(["run", "replay", "--seeds", "1", "--strategies", "random", "--out", str(tmp_path / "out")],
                        capfd)
    assert code == 2 and "chunk-0000.csv.gz" in err
    assert not (tmp_path / "out").exists()


def test_version_names_the_package_and_the_results_schema(capsys):
    import tunebench
    from tunebench.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == \
        f"tunebench {tunebench.__version__} (results schema version {tunebench.SCHEMA_VERSION})"


def test_mlflow_is_a_switch_that_cannot_swallow_the_suite_and_its_old_value_names_mlflow_uri(capsys):
    from tunebench.cli import build_parser, main

    args = build_parser().parse_args(["run", "--mlflow", "smoke"])
    assert (args.suite, args.mlflow, args.mlflow_uri) == ("smoke", True, None)
    args = build_parser().parse_args(["run", "smoke", "--mlflow-uri", "sqlite:///m.db"])
    assert (args.suite, args.mlflow_uri) == ("smoke", "sqlite:///m.db")
    for argv in (["run", "smoke", "--mlflow=http://u:hunter2@host"], ["run", "smoke", "--mlflow", "http://u:hunter2@host"],
                 ["run", "--mlflow", "http://u:hunter2@host", "smoke"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2, argv
        assert "--mlflow takes no value" in err and "--mlflow-uri http://u:***@host" in err, err
        assert "hunter2" not in err
