"""The regression gate: the paired comparison on hand-made tables, and end to end on a replay."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tunebench.benchmarks.replay import RECORDINGS_ENV
from tunebench.cli import main
from tunebench.errors import InputError
from tunebench.regress import compare, drop_test
from tunebench.strategies import STRATEGIES, StrategySpec
from tunebench.strategies.base import Strategy, Suggestion


def runs(values: dict[str, list[float]], benchmark="b") -> pd.DataFrame:
    rows = [{"benchmark": benchmark, "strategy": s, "seed": seed, "best_val_accuracy": v}
            for s, per_seed in values.items() for seed, v in enumerate(per_seed)]
    return pd.DataFrame(rows)


BASE = list(np.linspace(0.90, 0.95, 10))


def verdicts(result) -> dict[str, str]:
    return dict(zip(result.table.strategy, result.table.verdict))


def test_an_unchanged_run_passes():
    result = compare(runs({"tpe": BASE, "random": BASE}), runs({"tpe": BASE, "random": BASE}))
    assert result.passed
    assert verdicts(result) == {"tpe": "ok", "random": "ok"}
    assert (result.table.p_value == 1.0).all()


def test_a_drop_larger_than_the_effect_on_every_seed_fails():
    worse = [v - 0.02 for v in BASE]
    result = compare(runs({"tpe": BASE, "random": BASE}), runs({"tpe": worse, "random": BASE}), effect=0.005)
    assert not result.passed
    assert verdicts(result) == {"tpe": "regressed", "random": "ok"}
    row = result.table.set_index("strategy").loc["tpe"]
    assert row.median_change == pytest.approx(-0.02)
    assert row.p_holm == pytest.approx(min(1.0, 2 * row.p_value))  # Holm over two tests, the smallest doubled


def test_drops_smaller_than_the_effect_and_improvements_pass():
    slightly = [v - 0.003 for v in BASE]
    better = [v + 0.02 for v in BASE]
    result = compare(runs({"tpe": BASE, "random": BASE}), runs({"tpe": slightly, "random": better}), effect=0.005)
    assert result.passed
    assert verdicts(result) == {"tpe": "ok", "random": "improved"}


def test_noise_without_a_systematic_drop_passes():
    rng = np.random.default_rng(1)
    noisy = list(np.array(BASE) + rng.normal(0, 0.004, len(BASE)))
    assert compare(runs({"tpe": BASE}), runs({"tpe": noisy}), effect=0.005).passed


def test_a_missing_strategy_fails_and_too_few_seeds_fail_untested():
    result = compare(runs({"tpe": BASE, "random": BASE}), runs({"tpe": BASE}))
    assert not result.passed and verdicts(result)["random"] == "missing"
    few = compare(runs({"tpe": BASE[:3]}), runs({"tpe": [v - 0.1 for v in BASE[:3]]}))
    assert not few.passed and verdicts(few) == {"tpe": "too few seeds"}  # a gate that cannot test cannot pass
    assert np.isnan(drop_test(np.array(BASE[:3]), np.array(BASE[:3]) - 0.1, 0.005))


class StuckStrategy(Strategy):
    """A deliberately broken strategy: asks for its first random configuration over and over."""

    def __init__(self, context):
        self._inner = STRATEGIES["random"].factory(context)
        self._first = None
        self._count = 0
        self._max_epochs = context.max_epochs

    def ask(self):
        if self._first is None:
            self._first = self._inner.ask().config
        self._count += 1
        return Suggestion(trial_id=f"stuck-{self._count}", config=self._first, epochs=self._max_epochs)

    def tell(self, suggestion, observation):
        pass

    def settings(self):
        return {"broken": True}

    def close(self):
        self._inner.close()


SUITE = """
name = "tiny-regress"
seeds = 12
strategies = ["random", "tpe"]
[benchmarks."mnist-mlp@replay"]
max_epochs = 2
trials = 6
allow_weak_surrogate = true  # a 16-configuration recording
"""


@pytest.fixture(scope="module")
def gate(tiny_data_dir, tmp_path_factory):
    """A tiny recording, a tiny replay suite and its baseline."""
    root = tmp_path_factory.mktemp("regress")
    assert main(["record", "mnist-mlp", "--configs", "16", "--grid-configs", "0", "--epochs", "2", "--chunk-size", "16",
                 "--subset", "train=120", "--data-dir", str(tiny_data_dir), "--out", str(root / "recordings")]) == 0
    (root / "suite.toml").write_text(SUITE)
    args = ["regress", "--suite", str(root / "suite.toml"), "--baseline", str(root / "baseline"),
            "--out", str(root / "out")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RECORDINGS_ENV, str(root / "recordings"))
        assert main(args + ["--update-baseline"]) == 0
    return root, args


def test_regress_passes_on_an_unchanged_tree(gate, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "regress: PASSED" in out
    assert json.loads((root / "baseline" / "baseline.json").read_text())["seeds"] == list(range(12))


def test_regress_fails_when_a_strategy_is_broken(gate, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    monkeypatch.setitem(STRATEGIES, "tpe", StrategySpec("tpe", "broken on purpose", StuckStrategy))
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "regress: FAILED" in out
    table = out[out.index("strategy"):]
    assert "regressed" in table.splitlines()[1] and "tpe" in table.splitlines()[1]


def test_regress_without_a_baseline_exits_2(gate, tmp_path, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    assert main(["regress", "--suite", str(root / "suite.toml"), "--baseline", str(tmp_path / "none"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "--update-baseline" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- a gate that cannot be talked out of failing (issue 13) ---------------------------------

WORSE = [v - 0.04 for v in BASE]


@pytest.mark.parametrize("effect, alpha", [(float("nan"), 0.05), (0.005, float("nan")), (0.005, 0.0),
                                           (float("inf"), 0.05), (-0.01, 0.05), (0.005, 1.0), (1.5, 0.05)])
def test_compare_refuses_non_finite_or_out_of_range_options(effect, alpha):
    assert not compare(runs({"tpe": BASE}), runs({"tpe": WORSE})).passed  # the regression the options must not hide
    with pytest.raises(InputError, match="effect|alpha"):
        compare(runs({"tpe": BASE}), runs({"tpe": WORSE}), effect=effect, alpha=alpha)


@pytest.mark.parametrize("option", [["--effect", "nan"], ["--alpha", "nan"], ["--alpha", "0"], ["--effect", "inf"],
                                    ["--effect", "-1"], ["--alpha", "2"], ["--parallel-runs", "0"]])
def test_bad_gate_options_exit_2_before_the_suite_runs(gate, tmp_path, monkeypatch, capsys, option):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    out = tmp_path / "never"
    assert main(args[:-1] + [str(out)] + option) == 2
    assert option[0] in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("edit, message", [
    (lambda meta, runs: (meta | {"effect": float("nan")}, runs), "effect"),
    (lambda meta, runs: (meta | {"effect": "big"}, runs), "effect"),
    (lambda meta, runs: ([meta], runs), "not a JSON object"),
    (lambda meta, runs: (meta, runs.assign(best_val_accuracy=runs.best_val_accuracy.astype(object).where(
        runs.index != 3, "high"))), "row 4"),
    (lambda meta, runs: (meta, runs.assign(best_val_accuracy=runs.best_val_accuracy + 5)), "accuracy in"),
    (lambda meta, runs: (meta, runs.assign(seed=runs.seed.astype(float) + 0.5)), "integer seed"),
    (lambda meta, runs: (meta, pd.concat([runs, runs.iloc[:1]])), "appears twice"),
])
def test_a_bad_baseline_exits_2_naming_the_file_before_the_suite_runs(gate, tmp_path, monkeypatch, capsys, edit,
                                                                     message):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    meta = json.loads((root / "baseline" / "baseline.json").read_text())
    baseline_runs = pd.read_csv(root / "baseline" / "replay-runs.csv")
    meta, baseline_runs = edit(meta, baseline_runs)
    bad = tmp_path / "baseline"
    bad.mkdir()
    (bad / "baseline.json").write_text(json.dumps(meta))
    baseline_runs.to_csv(bad / "replay-runs.csv", index=False)
    out = tmp_path / "never"
    assert main(["regress", "--suite", str(root / "suite.toml"), "--baseline", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "baseline" in err and "Traceback" not in err
    assert not out.exists()


def test_regress_out_refuses_another_suites_results(gate, tmp_path, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    other = tmp_path / "other"
    other.mkdir()
    manifest = json.dumps({"schema_version": 1, "suite": {"name": "default"}})
    (other / "manifest.json").write_text(manifest)
    (other / "runs.csv").write_text("precious\n")
    assert main(args[:-1] + [str(other)]) == 2
    err = capsys.readouterr().err
    assert "'default'" in err and "--overwrite" in err
    assert (other / "runs.csv").read_text() == "precious\n" and (other / "manifest.json").read_text() == manifest
    assert main(args[:-1] + [str(other), "--overwrite"]) == 0
    assert (other / "runs.csv").read_text() != "precious\n"


# --- the committed gate: its effect, baseline and recordings pinned; a slip from outside fails it ---

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baseline"


def test_the_committed_baseline_is_the_regress_suites_at_effect_zero():
    """Raising the effect quietly would bring back a gate that catches none of the measured
    slips (studies/gate_power.py); a baseline of other seeds, strategies or budgets would
    compare the wrong runs."""
    from tunebench.regress import DEFAULT_EFFECT, DEFAULT_SUITE, load_baseline
    from tunebench.suite import load_suite

    assert DEFAULT_EFFECT == 0.0
    meta, runs = load_baseline(BASELINE)
    suite = load_suite(DEFAULT_SUITE)
    assert meta["effect"] == 0.0 and meta["suite"] == suite.name == DEFAULT_SUITE
    assert meta["seeds"] == list(suite.seeds) == sorted(runs["seed"].unique().tolist())
    assert sorted(runs["strategy"].unique()) == sorted(suite.strategies)
    assert sorted(runs["benchmark"].unique()) == sorted(plan.name for plan in suite.benchmarks)
    assert len(runs) == len(suite.seeds) * len(suite.strategies) * len(suite.benchmarks)


def test_the_committed_baseline_names_the_committed_recordings():
    """Its fingerprint is the digest replay computes from each recording's chunk list."""
    import hashlib

    meta = json.loads((BASELINE / "baseline.json").read_text())
    for name, entry in meta["recordings"].items():
        recording = json.loads((ROOT / "results" / "recordings" / entry["recording"] / "recording.json").read_text())
        digest = hashlib.sha256("".join(c["sha256"] for _, c in sorted(recording["chunks"].items())).encode())
        assert entry["chunks_sha256"] == digest.hexdigest(), name
        assert entry["configs_recorded"] == recording["total_configs"], name


def test_a_baseline_of_other_recordings_is_refused(gate, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    meta_path = root / "baseline" / "baseline.json"
    original = meta_path.read_text()
    meta = json.loads(original)
    for entry in meta["recordings"].values():
        entry["chunks_sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    try:
        assert main(args) == 2
    finally:
        meta_path.write_text(original)
    assert "was made from other recordings" in capsys.readouterr().err


def test_check_same_recordings_compares_every_field_of_the_fingerprint():
    from tunebench.regress import check_same_recordings

    manifest = {"data": {"b@replay": {"recording": "b", "configs_recorded": 3, "chunks_sha256": "ab"}, "b": {}}}
    same = {"recordings": {"b@replay": {"recording": "b", "configs_recorded": 3, "chunks_sha256": "ab"}}}
    check_same_recordings(same, manifest, Path("here"))
    for field, other in (("recording", "c"), ("configs_recorded", 4), ("chunks_sha256", "cd")):
        changed = {"recordings": {"b@replay": same["recordings"]["b@replay"] | {field: other}}}
        with pytest.raises(InputError, match="other recordings"):
            check_same_recordings(changed, manifest, Path("here"))


def _tpe_gate(tmp_path: Path) -> list[str]:
    """``tunebench regress`` cut to TPE on mnist-mlp@replay (the gate's seeds and budget),
    against the committed baseline's rows for it: a gate that runs in seconds."""
    from tunebench.suite import load_suite

    plan = next(p for p in load_suite("regress").benchmarks if p.name == "mnist-mlp@replay")
    (tmp_path / "tpe-gate.toml").write_text(
        f'name = "tpe-gate"\nseeds = 10\nstrategies = ["tpe"]\n[benchmarks."mnist-mlp@replay"]\n'
        f'max_epochs = {plan.max_epochs}\ntrials = {plan.trials}\nreplay_noise = "{plan.replay_noise}"\n')
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    rows = pd.read_csv(BASELINE / "replay-runs.csv")
    rows[(rows["benchmark"] == "mnist-mlp@replay") & (rows["strategy"] == "tpe")].to_csv(
        baseline / "replay-runs.csv", index=False)
    meta = json.loads((BASELINE / "baseline.json").read_text())
    meta["recordings"] = {"mnist-mlp@replay": meta["recordings"]["mnist-mlp@replay"]}
    (baseline / "baseline.json").write_text(json.dumps(meta))
    return ["regress", "--suite", str(tmp_path / "tpe-gate.toml"), "--baseline", str(baseline),
            "--out", str(tmp_path / "out")]


class _NoisyTPE(Strategy):
    """TPE told each trial's accuracy plus N(0, 0.3) noise: near random search (a slip the
    gate power study caught in 97 % of draws at the full gate's Holm correction)."""

    def __init__(self, context):
        self.inner = STRATEGIES_BEFORE["tpe"].factory(context)
        self.rng = np.random.default_rng(context.seed)

    def ask(self):
        return self.inner.ask()

    def tell(self, suggestion, observation):
        from tunebench.strategies import Observation

        noisy = observation.val_accuracy + (0.0 if observation.failed else self.rng.normal(0, 0.3))
        self.inner.tell(suggestion, Observation(val_accuracy=noisy, failed=observation.failed))

    def settings(self):
        return self.inner.settings()

    def close(self):
        self.inner.close()


STRATEGIES_BEFORE = dict(STRATEGIES)


def _reseeded_tpe(context):
    from dataclasses import replace

    return STRATEGIES_BEFORE["tpe"].factory(replace(context, seed=context.seed + 1_000_003))


@pytest.mark.parametrize("variant, expected", [(None, 0), (_reseeded_tpe, 0), (_NoisyTPE, 1)],
                         ids=["unchanged", "reseeded", "told-noisy-accuracies"])
def test_the_gate_fails_a_slip_made_from_outside_and_passes_a_reseeded_strategy(variant, expected, tmp_path,
                                                                               monkeypatch, capsys):
    monkeypatch.setenv(RECORDINGS_ENV, str(ROOT / "results" / "recordings"))
    if variant is not None:
        monkeypatch.setitem(STRATEGIES, "tpe", StrategySpec("tpe", "changed from outside", variant))
    assert main(_tpe_gate(tmp_path)) == expected, capsys.readouterr().out


def test_a_baseline_folder_that_cannot_be_written_is_exit_2_naming_it(gate, monkeypatch, capsys):
    root, args = gate
    monkeypatch.setenv(RECORDINGS_ENV, str(root / "recordings"))
    unwritable = ["--baseline" if a == "--baseline" else a for a in args]
    unwritable[unwritable.index("--baseline") + 1] = "/proc/tunebench-baseline"
    assert main(unwritable + ["--update-baseline", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "/proc/tunebench-baseline" in err and "Traceback" not in err
