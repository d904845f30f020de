"""Generated bad input (Hypothesis): every reader answers with a clear error, never a traceback.

Each property feeds one of tunebench's readers inputs that Hypothesis generates (JSON of any
shape, arbitrary text and bytes, arrays of any dtype and shape, single damaged cells) and
checks that the reader either accepts the input or raises :class:`InputError` (exit 2 on the
command line) with a message, and that nothing on disk changed. The command-line property
runs the real ``tunebench run`` into a folder that holds another run's results, so that no
generated command, valid or not, may train or touch them.

The number of examples per property is bounded for CI by the ``ci`` profile
(:data:`EXAMPLES`); ``HYPOTHESIS_PROFILE=thorough`` runs more.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from report_fixture import manifest as fixture_manifest
from test_report import BENCHMARK, write_planned
from tunebench.benchmarks import get_benchmark_spec
from tunebench.benchmarks.recording_load import load_recording
from tunebench.cli import main
from tunebench.datasets import clear_cache, load_fer2013, load_mnist
from tunebench.errors import InputError
from tunebench.regress import load_baseline
from tunebench.report import build_report
from tunebench.suite import load_suite, parse_suite
from tunebench.suite_overrides import apply_overrides

#: Examples per property in CI (each runs in milliseconds to a second).
EXAMPLES = 100
settings.register_profile("ci", max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
texts = st.text(max_size=30)
#: Cell values a damaged CSV may hold.
cells = st.one_of(texts, st.floats(allow_nan=True, allow_infinity=True).map(str), st.sampled_from(
    ["", "nan", "inf", "-1", "1e309", "ok", "failed", "²", "0x10", "[1, 2]", '{"a": 1}', "\x00", "1,2"]))


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


#: Cases each property ran, and how many were refused, counted over the session
#: (:func:`test_the_generated_cases_were_enough`).
CASES: dict[str, list[int]] = {}


def accepts_or_refuses(call, names: str, case: str):
    """``call()``'s result, or ``None`` when it raised :class:`InputError` with a message that
    names ``names`` (the file or option); anything else fails the property."""
    counts = CASES.setdefault(case, [0, 0])
    counts[0] += 1
    try:
        return call()
    except InputError as error:
        counts[1] += 1
        assert names in str(error), f"the message does not name {names!r}: {error}"
        return None


# --- suite files and command-line options ----------------------------------------------------

BENCHMARK_KEYS = ["max_epochs", "trials", "budget_epochs", "batch_size", "max_seconds", "subset", "precision",
                  "allow_weak_surrogate", "id", "other"]
suite_tables = st.fixed_dictionaries({}, optional={
    "name": json_values | st.sampled_from(["ok", "a/b", "..", ""]),
    "description": json_values,
    "seeds": json_values | st.sampled_from(["3", "0,5", "5,", "-1", "x"]),
    "strategies": json_values | st.sampled_from([["random"], ["nope"], "random,tpe"]),
    "benchmarks": st.dictionaries(st.sampled_from(["mnist-mlp", "fer-cnn", "mnist-mlp@replay", "nope"]),
                                  st.dictionaries(st.sampled_from(BENCHMARK_KEYS), json_values, max_size=4)
                                  | json_values, max_size=2) | json_values,
    "unknown": json_values,
})


@given(raw=suite_tables)
def test_the_suite_parser_accepts_or_refuses_any_table(raw):
    suite = accepts_or_refuses(lambda: parse_suite(raw, source="(generated)"), "(generated)", "suite tables")
    if suite is not None:  # what was accepted is what the table holds
        assert [plan.name for plan in suite.benchmarks] == list(raw["benchmarks"])
        if "strategies" in raw:
            expected = raw["strategies"].split(",") if isinstance(raw["strategies"], str) else raw["strategies"]
            assert list(suite.strategies) == [name.strip() for name in expected]
        if isinstance(raw.get("seeds"), list):
            assert list(suite.seeds) == raw["seeds"]
        for plan in suite.benchmarks:
            table = raw["benchmarks"][plan.name]
            if isinstance(table.get("trials"), int):
                assert plan.trials == table["trials"]


@given(text=st.text(max_size=200) | st.sampled_from(['name = "x"\n[benchmarks.mnist-mlp]\ntrials = "lots"\n',
                                                       "seeds = [\n", 'strategies = ["tpe"]\n[benchmarks]\n']))
def test_a_suite_file_of_any_text_is_accepted_or_refused(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "generated.toml"
    path.write_text(text, encoding="utf-8")
    suite = accepts_or_refuses(lambda: load_suite(str(path)), str(path), "suite files")
    if suite is not None:
        assert suite.source == str(path) and suite.benchmarks


@given(depth=st.integers(1, 1500), kind=st.sampled_from(["array", "table"]),
       count=st.sampled_from(["1", "3", str(2**62), str(2**70), "9" * 4400, "-7"]),
       key=st.sampled_from(["seeds", "trials", "max_epochs", "budget_epochs", "batch_size"]))
def test_a_suite_file_with_deep_nesting_or_a_huge_count_is_accepted_or_refused(depth, kind, count, key,
                                                                               tmp_path_factory):
    nested = ("[" * depth + "1" + "]" * depth) if kind == "array" else ("{a = " * depth + "1" + "}" * depth)
    body = f"seeds = {count}\n" if key == "seeds" else ""
    # the nesting goes in 'description', which takes any value: the counts are still checked
    body += f"description = {nested}\n[benchmarks.mnist-mlp]\n" + (f"{key} = {count}\n" if key != "seeds" else "")
    path = tmp_path_factory.mktemp("suite") / "generated.toml"
    path.write_text(body, encoding="utf-8")
    suite = accepts_or_refuses(lambda: load_suite(str(path)), str(path), "deep or huge suite files")
    too_deep = depth + 1 > 32
    bad_count = count not in ("1", "3") or key == "budget_epochs"  # a budget of 1 or 3 is not whole 10-epoch trials
    assert (suite is None) == (too_deep or bad_count), (depth, count, key)


@given(seeds=st.none() | texts, strategies=st.none() | texts, benchmarks=st.none() | texts,
       budget=st.none() | st.integers(-5, 10**6), max_seconds=st.none() | st.floats(allow_nan=True),
       student_id=st.none() | texts, precision=st.none() | texts)
def test_command_line_overrides_are_accepted_or_refused(seeds, strategies, benchmarks, budget, max_seconds,
                                                        student_id, precision):
    suite = load_suite("smoke")
    changed = accepts_or_refuses(lambda: apply_overrides(
        suite, seeds=seeds, strategies=strategies, benchmarks=benchmarks, budget=budget, max_seconds=max_seconds,
        options={"id": student_id}, precision=precision), "--", "option overrides")
    if changed is not None and budget is not None:
        assert all(plan.budget_epochs == budget for plan in changed.benchmarks)


@pytest.fixture(scope="module")
def occupied_out(tiny_data_dir, tmp_path_factory):
    """A folder holding a finished run of another suite, and a small live suite file."""
    root = tmp_path_factory.mktemp("occupied")
    suite = root / "tiny.toml"
    suite.write_text('name = "tiny"\nseeds = [0]\nstrategies = ["random"]\n'
                     '[benchmarks.mnist-mlp]\nmax_epochs = 1\ntrials = 1\n')
    other = root / "other.toml"
    other.write_text(suite.read_text().replace('"tiny"', '"other"'))
    out = root / "out"
    assert main(["run", str(other), "--data-dir", str(tiny_data_dir), "--out", str(out)]) == 0
    return suite, out


OPTIONS = ["--seeds", "--strategies", "--benchmarks", "--budget", "--max-seconds", "--id", "--precision",
           "--parallel-runs", "--optuna-storage", "--parallel-trials"]
#: Values an option may be given: generated text, and counts far beyond any limit.
option_values = texts | st.sampled_from([str(2**62), str(2**70), "9" * 5000, "-1", "0", "1e9", f"{2**62},"])


@given(chosen=st.lists(st.tuples(st.sampled_from(OPTIONS), option_values), min_size=1, max_size=3))
def test_any_run_options_exit_2_with_a_message_and_leave_results_alone(chosen, occupied_out, tiny_data_dir, capfd):
    suite, out = occupied_out
    before = snapshot(out)
    argv = ["run", str(suite), "--data-dir", str(tiny_data_dir), "--out", str(out)]
    for option, value in chosen:
        argv.append(f"{option}={value}")
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capfd.readouterr().err
    CASES.setdefault("run options", [0, 0])[0] += 1
    CASES["run options"][1] += 1
    assert code == 2, err
    assert "error:" in err and "Traceback" not in err
    assert any(option in err for option, _ in chosen) or str(out) in err, err
    assert snapshot(out) == before


# --- data files ------------------------------------------------------------------------------

arrays = hnp.arrays(dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.int16, np.bool_, np.dtype("U2")]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))


@given(content=st.dictionaries(st.sampled_from(["x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "z"]),
                               arrays, max_size=7),
       dataset=st.sampled_from(["fer2013", "mnist"]))
def test_a_dataset_file_of_any_arrays_is_accepted_or_refused(content, dataset):
    with tempfile.TemporaryDirectory() as directory:
        np.savez(Path(directory) / f"{dataset}.npz", **content)
        clear_cache()
        load = load_fer2013 if dataset == "fer2013" else (lambda d, seed: load_mnist(d, seed, download=False))
        splits = accepts_or_refuses(lambda: load(Path(directory), 0), f"{dataset}.npz", "dataset arrays")
        if splits is not None:  # accepted: every image and label the file holds, none made up
            used = ("y_train", "y_val", "y_test") if dataset == "fer2013" else ("y_train", "y_test")  # MNIST: val from train
            held = sum(len(content[key]) for key in used)
            assert len(splits.y_train) + len(splits.y_val) + len(splits.y_test) == held


@given(data=st.binary(max_size=300))
def test_a_dataset_file_of_any_bytes_is_refused(data):
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "fer2013.npz").write_bytes(data)
        clear_cache()
        CASES.setdefault("dataset bytes", [0, 0])[0] += 1
        with pytest.raises(InputError, match="fer2013.npz"):
            load_fer2013(Path(directory), 0)
        CASES["dataset bytes"][1] += 1


@given(dims=st.lists(st.integers(0, 2**32 - 1), min_size=3, max_size=3), tail=st.binary(max_size=64))
def test_an_idx_file_that_lies_about_its_size_is_refused(dims, tail):
    with tempfile.TemporaryDirectory() as directory:
        header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
        (Path(directory) / "train-images-idx3-ubyte").write_bytes(header + tail)
        clear_cache()
        CASES.setdefault("idx files", [0, 0])[0] += 1
        if int(np.prod(dims, dtype=object)) == len(tail):
            return  # honest about its size (the other three files are still missing)
        with pytest.raises(InputError, match="idx"):
            load_mnist(Path(directory), 0, download=False)
        CASES["idx files"][1] += 1


# --- recordings ------------------------------------------------------------------------------

REAL_RECORDING = Path(__file__).resolve().parents[1] / "results" / "recordings" / "mnist-mlp"


@given(meta=json_values | st.fixed_dictionaries({"header": json_values, "chunks": json_values}))
def test_a_recording_json_of_any_shape_is_accepted_or_refused(meta):
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "recording.json").write_text(json.dumps(meta))
        assert accepts_or_refuses(lambda: load_recording(Path(directory)), "recording", "recording.json") is None


@given(row=st.integers(0, 20), column=st.sampled_from(["config_id", "epoch", "val_accuracy", "loss", "training_seed",
                                                         "test_accuracy", "origin", "epoch_seconds", "hp_units_1",
                                                         "hp_learning_rate", "hp_dropout_2"]), value=cells)
def test_a_recording_chunk_with_a_damaged_cell_and_matching_sha256_is_accepted_or_refused(row, column, value):
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory)
        meta = json.loads((REAL_RECORDING / "recording.json").read_text())
        name = sorted(meta["chunks"])[0]
        table = pd.read_csv(REAL_RECORDING / name, dtype=str)
        table.loc[row % len(table), column] = value
        data = gzip.compress(table.to_csv(index=False).encode())
        (copy / name).write_bytes(data)
        meta["chunks"] = {name: meta["chunks"][name] | {"sha256": hashlib.sha256(data).hexdigest()}}
        (copy / "recording.json").write_text(json.dumps(meta))
        loaded = accepts_or_refuses(lambda: load_recording(copy, get_benchmark_spec("mnist-mlp").make_space), name,
                                    "recording cells")
        if loaded is not None and column not in ("origin",):  # accepted: the number written is the number read
            cell = loaded[1][column].iloc[row % len(table)]
            assert float(cell) == pytest.approx(float(value), rel=1e-6, abs=1e-9)


# --- the regression gate's baseline -----------------------------------------------------------

@given(meta=json_values, row=st.integers(0, 9), column=st.sampled_from(["seed", "best_val_accuracy", "strategy"]),
       value=cells)
def test_a_baseline_of_any_meta_and_damaged_cell_is_accepted_or_refused(meta, row, column, value):
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        (directory / "baseline.json").write_text(json.dumps(meta))
        runs = pd.DataFrame({"benchmark": "b", "strategy": "tpe", "seed": range(10),
                             "best_val_accuracy": np.linspace(0.9, 0.95, 10)}).astype(str)
        runs.loc[row, column] = value
        runs.to_csv(directory / "replay-runs.csv", index=False)
        accepts_or_refuses(lambda: load_baseline(directory), str(directory), "baselines")


# --- the report's readers --------------------------------------------------------------------

@pytest.fixture(scope="module")
def planned_results(tmp_path_factory):
    directory = tmp_path_factory.mktemp("planned")
    write_planned(directory, seeds=range(2))
    return directory


#: Examples of the properties that build a whole report (its figures: about half a second each).
REPORT_EXAMPLES = max(5, settings().max_examples // 4)


@settings(max_examples=REPORT_EXAMPLES)
@given(file=st.sampled_from(["runs.csv", "trials.csv", "curves.csv"]), row=st.integers(0, 30),
       column=st.integers(0, 40), value=cells)
def test_a_results_folder_with_a_damaged_cell_is_reported_or_refused_and_never_altered(
        planned_results, file, row, column, value):
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "results"
        shutil.copytree(planned_results, copy)
        table = pd.read_csv(copy / file, dtype=str, keep_default_na=False)
        table.iloc[row % len(table), column % len(table.columns)] = value
        table.to_csv(copy / file, index=False)
        before = snapshot(copy)
        if accepts_or_refuses(lambda: build_report(copy), file, "results folders") is None:
            assert snapshot(copy) == before  # nothing written when refused
            assert not (copy / "figures").exists()


@settings(max_examples=REPORT_EXAMPLES)
@given(extra=st.dictionaries(st.sampled_from(["suite", "data", "strategies", "files", "versions", "hardware",
                                              "seeds", "budgets", "execution", "sessions"]), json_values, max_size=3))
def test_a_manifest_with_fields_of_any_shape_is_reported_or_refused(planned_results, extra):
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory) / "results"
        shutil.copytree(planned_results, copy)
        (copy / "manifest.json").write_text(json.dumps(fixture_manifest(range(2), [BENCHMARK]) | extra))
        accepts_or_refuses(lambda: build_report(copy), "manifest", "manifests")


def test_the_generated_cases_were_enough():
    """Run last in this module (pytest keeps file order, and tox hands a module to one worker):
    at least 1,000 generated cases in a full run and every property that ran was fed. Under a
    selection that leaves out properties (``-k``, or a tier that deselects the slow one) it skips."""
    if len(CASES) < 13:
        pytest.skip(f"only {len(CASES)} properties ran in this process (a -k selection, or split across workers)")
    total = sum(count for count, _ in CASES.values())
    refused = sum(refused for _, refused in CASES.values())
    print(f"generated bad-input cases: {total} ({refused} refused) over {len(CASES)} properties")
    assert total >= 1000 and all(count > 0 for count, _ in CASES.values()), CASES
