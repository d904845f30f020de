"""tunebench.schema: statuses as they are written, and the journal records."""

import json
import math

import pytest

from tunebench.journal import Journal, JournalError
from tunebench.results import tables_from_records
from tunebench.schema import SUMMARY_FIELDS, RecordError, RunHeader, RunRecord, RunStatus, RunSummary, TrialRecord, TrialStatus
from tunebench.seeding import RunSeeds, continuation_seed, derive_seed


def trial(**changes):
    fields = dict(benchmark="b", strategy="s", seed=0, trial=1, trial_id="t1", parent_trial_id=None,
                  status=TrialStatus.OK, error=None, epochs=1, initial_epoch=0, epochs_trained=1, val_accuracy=0.5,
                  val_f1=0.4, val_loss=1.0, test_accuracy=0.45, test_f1=0.4, train_seconds=1.0, overhead_seconds=0.1,
                  epochs_used=1, elapsed_seconds=1.1, training_seed=7, config={"x": 1}, curve=[],
                  test_confusion=[[1]])
    return TrialRecord(**(fields | changes))


def test_statuses_are_written_as_their_plain_names():
    assert json.dumps({"status": TrialStatus.FAILED}) == '{"status": "failed"}'
    tables = tables_from_records([trial()], [])
    assert tables["trials"].to_csv(index=False).splitlines()[1].split(",")[6] == "ok"
    assert f"{RunStatus.TIME_CAP}" == "time_cap"


def test_a_trial_line_has_a_traceback_only_when_there_is_one():
    assert "traceback" not in trial().to_journal()
    assert trial(traceback="Traceback ...").to_journal()["traceback"] == "Traceback ..."
    assert trial().to_journal()["kind"] == "trial"


def summary(**changes):
    return RunSummary(**dict.fromkeys(SUMMARY_FIELDS, 1) | {"best_val_accuracy": math.nan} | changes)


def test_a_run_line_has_an_error_only_when_failures_stopped_it():
    done = RunRecord("b", "s", 0, RunStatus.BUDGET_EXHAUSTED, "full", 10, None, 1.0, summary()).to_journal()
    assert "error" not in done and done["best_val_accuracy"] != done["best_val_accuracy"]
    stopped = RunRecord("b", "s", 0, RunStatus.TOO_MANY_FAILURES, "full", 10, None, 1.0, summary(), error="boom")
    assert stopped.to_journal()["error"] == "boom"


def journal_text(record) -> str:
    return json.dumps(record.to_journal(), sort_keys=True, allow_nan=True)


@pytest.mark.parametrize("record", [
    trial(), trial(status=TrialStatus.FAILED, error="boom", traceback="Traceback ...", val_accuracy=math.nan),
    trial(worker=2, start_seconds=3.5),
    RunRecord("b", "s", 0, RunStatus.BUDGET_EXHAUSTED, "full", 10, None, 1.0, summary(), {"library": "x"}),
    RunRecord("b", "s", 0, RunStatus.TOO_MANY_FAILURES, "full", 10, 60.0, 1.0, summary(), error=None),
])
def test_a_record_read_back_from_its_journal_line_is_the_same_record_and_the_same_line(record):
    line = json.loads(journal_text(record))
    again = type(record).from_journal(line)
    assert journal_text(again) == journal_text(record)
    assert isinstance(again.status, type(record.status)) and again.to_journal() == line


def test_a_run_header_read_back_from_its_line_is_the_same_header_and_a_wrong_one_is_refused():
    header = RunHeader(schema_version=1, fingerprint="abc", index=3, benchmark="b", strategy="s", seed=2)
    line = json.loads(journal_text(header))
    assert line["kind"] == "header" and RunHeader.from_journal(line) == header
    assert journal_text(RunHeader.from_journal(line)) == journal_text(header)
    with pytest.raises(RecordError, match="without fingerprint"):
        RunHeader.from_journal({k: v for k, v in line.items() if k != "fingerprint"})
    with pytest.raises(RecordError, match="not a header line"):
        RunHeader.from_journal(line | {"kind": "trial"})


def test_a_run_journal_whose_first_line_is_not_a_header_is_damaged(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(journal_text(trial()) + "\n")
    with pytest.raises(JournalError, match=r"run.jsonl line 1: not a header line"):
        Journal(path).read_run()
    header = RunHeader(schema_version=1, fingerprint="abc", index=3, benchmark="b", strategy="s", seed=2)
    path.write_text(journal_text(header) + "\n" + journal_text(trial()) + "\n")
    log = Journal(path).read_run()
    assert log.header == header and log.trials == (trial(),) and log.run is None


def test_a_line_that_is_not_a_record_of_this_schema_is_refused_naming_the_field():
    line = json.loads(journal_text(trial()))
    with pytest.raises(RecordError, match="without curve"):
        TrialRecord.from_journal({k: v for k, v in line.items() if k != "curve"})
    with pytest.raises(RecordError, match="unknown fields colour"):
        TrialRecord.from_journal(line | {"colour": "red"})
    with pytest.raises(RecordError, match="status 'lost'"):
        TrialRecord.from_journal(line | {"status": "lost"})
    with pytest.raises(RecordError, match="not a run line"):
        RunRecord.from_journal(line)


def test_run_seeds_are_the_labelled_derivations():
    seeds = RunSeeds("mnist-mlp", 3)
    assert seeds.split == derive_seed("split", 3) and seeds.subset == derive_seed("subset", 3)
    assert seeds.strategy == derive_seed("strategy", "mnist-mlp", 3)
    assert seeds.training({"a": 1}) == derive_seed("train", 3, {"a": 1})
    assert len({seeds.split, seeds.subset, seeds.strategy, seeds.training({"a": 1})}) == 4
    assert continuation_seed(11, 2) == derive_seed(11, 2) != continuation_seed(11, 3)


def test_derive_seed_is_pinned_to_the_values_the_committed_recordings_and_baseline_were_made_with():
    """Changing the derivation would silently turn every committed recording and the gate's
    baseline into results of other seeds."""
    assert [derive_seed("split", 3), derive_seed("subset", 3), derive_seed("strategy", "mnist-mlp", 3),
            derive_seed("train", 3, {"a": 1})] == [677804508, 507398856, 965393608, 1048512671]
    import gzip
    import io
    from pathlib import Path

    import pandas as pd

    from tunebench.benchmarks import get_benchmark_spec
    from tunebench.benchmarks.surrogate import table_configs

    recording = Path(__file__).resolve().parents[1] / "results" / "recordings" / "mnist-mlp"
    table = pd.read_csv(io.BytesIO(gzip.decompress((recording / "chunk-0000.csv.gz").read_bytes())))
    space = get_benchmark_spec("mnist-mlp").make_space({"id": "57935022"})
    first = table[table["epoch"] == 1]
    for config, recorded in zip(table_configs(space, first), first["training_seed"]):
        assert RunSeeds("mnist-mlp", 0).training(config) == recorded
