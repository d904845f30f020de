import re

import pytest

from tunebench.errors import SuiteError
from tunebench.suite import load_suite, named_suites
from tunebench.suite_overrides import apply_overrides


def write(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


GOOD = """
name = "mine"
seeds = 2
strategies = ["random", "tpe"]
[benchmarks.mnist-mlp]
max_epochs = 2
trials = 4
subset = { train = 100 }
"""


def test_named_suites_load_and_their_budgets_are_whole_trials():
    assert {"smoke", "default", "paper"} <= set(named_suites())
    for name in named_suites():
        suite = load_suite(name)
        assert suite.benchmarks and suite.seeds and suite.strategies
        for plan in suite.benchmarks:
            assert plan.budget_epochs % plan.max_epochs == 0  # fixed-fidelity strategies can spend it all
            assert plan.budget_epochs == plan.trials * plan.max_epochs  # the budget is the trials' epochs


def test_paper_suite_has_the_seed_budgets():
    paper = {p.name: p for p in load_suite("paper").benchmarks}
    assert (paper["mnist-mlp"].trials, paper["mnist-mlp"].max_epochs, paper["mnist-mlp"].budget_epochs) == (30, 10, 300)
    assert paper["fer-cnn"].max_epochs >= 10 and paper["fer-cnn"].fidelity == "full"
    assert len(load_suite("paper").seeds) >= 5


def test_file_suite_with_defaults_and_fidelity_label(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    plan = suite.benchmarks[0]
    assert suite.seeds == (0, 1)
    assert plan.budget_epochs == 8 and plan.batch_size == 32 and plan.options == {"id": "57935022"}
    assert plan.fidelity == "reduced: 2 of 10 epochs; data subset train=100"


@pytest.mark.parametrize("text, message", [
    ("name = 'x'\nsedes = 1\n[benchmarks.mnist-mlp]\n", "unknown key.*sedes"),
    ("strategies = ['random', 'annealing']\n[benchmarks.mnist-mlp]\n", "unknown strategy 'annealing'"),
    ("[benchmarks.cifar]\n", "unknown benchmark 'cifar'"),
    ("seeds = 0\n[benchmarks.mnist-mlp]\n", "seed count"),
    ("[benchmarks.mnist-mlp]\ntrials = -1\n", "'trials' must be a positive integer"),
    ("[benchmarks.mnist-mlp]\nid = '123'\n", "8 digits"),
    ("[benchmarks.fer-cnn]\nid = '57935022'\n", "unknown key.*id"),
    ("[benchmarks.mnist-mlp]\nmax_epochs = 5\nbudget_epochs = 3\n", "multiple of max_epochs"),
    ("[benchmarks.mnist-mlp]\nmax_epochs = 10\nbudget_epochs = 25\n", "multiple of max_epochs"),
    ("[benchmarks.mnist-mlp]\nmax_seconds = nan\n", "finite"),
    ("name = '../escape'\n[benchmarks.mnist-mlp]\n", "names the output folder"),
    ("name = 'x'\n", "at least one"),
    ("name = [unclosed\n", "not valid TOML"),
    ("[benchmarks.mnist-mlp]\nseeds = [1, 1]\n", r"\[benchmarks.mnist-mlp\]: 'seeds': duplicate"),
    ("[benchmarks.'mnist-mlp@replay']\nskip_if_no_data = true\n", "only a benchmark that trains"),
    ("[benchmarks.mnist-mlp]\nskip_if_no_data = 'yes'\n", "'skip_if_no_data' must be true or false"),
    ("[benchmarks.mnist-mlp]\nrandom_start = 0\n", "'random_start' must be a positive integer"),
    ("[benchmarks.mnist-mlp]\nrandom_start = 2.5\n", "'random_start' must be a positive integer"),
])
def test_malformed_suites_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SuiteError, match=message) as error:
        load_suite(path)
    assert "suite.toml" in str(error.value)


def test_unknown_named_suite_lists_the_known_ones():
    with pytest.raises(SuiteError, match="unknown suite 'nope'.*smoke"):
        load_suite("nope")


def test_overrides_replace_the_file_values(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    changed = apply_overrides(suite, seeds="5,9", strategies="grid,hyperband", budget=6, max_seconds=60,
                              options={"id": "11223344"})
    assert changed.seeds == (5, 9)
    assert changed.strategies == ("grid", "hyperband")
    plan = changed.benchmarks[0]
    assert (plan.budget_epochs, plan.max_seconds, plan.options["id"]) == (6, 60, "11223344")
    assert apply_overrides(suite, seeds="3").seeds == (0, 1, 2)
    assert apply_overrides(suite, seeds="5,").seeds == (5,)


@pytest.mark.parametrize("kwargs, message", [
    ({"strategies": "random,nope"}, "option --strategies.*unknown strategy 'nope'"),
    ({"benchmarks": "fer-cnn"}, "not in suite"),
    ({"benchmarks": "cifar"}, "unknown benchmark"),
    ({"budget": 1}, "multiple of max_epochs"),
    ({"budget": 7}, "multiple of max_epochs"),
    ({"max_seconds": float("inf")}, "finite"),
    ({"seeds": "a,b"}, "option --seeds"),
    ({"options": {"id": "42"}}, "8 digits"),
])
def test_bad_overrides_name_the_option(tmp_path, kwargs, message):
    with pytest.raises(SuiteError, match=message):
        apply_overrides(load_suite(write(tmp_path, GOOD)), **kwargs)


def test_a_benchmark_can_have_its_own_seeds_and_seeds_on_the_command_line_replace_all(tmp_path):
    suite = load_suite(write(tmp_path, GOOD + "seeds = [4]\nskip_if_no_data = true\n"
                            "[benchmarks.'mnist-mlp@replay']\nmax_epochs = 2\ntrials = 4\n"))
    live, replay = suite.benchmarks
    assert suite.seeds_of(live) == (4,) and suite.seeds_of(replay) == (0, 1)
    assert live.skip_if_no_data and not replay.skip_if_no_data
    assert suite.total_runs == (1 + 2) * 2 and suite.total_epochs == 8 * 3 * 2
    overridden = apply_overrides(suite, seeds="3")
    assert [overridden.seeds_of(plan) for plan in overridden.benchmarks] == [(0, 1, 2), (0, 1, 2)]
    assert suite.to_dict()["benchmarks"][0]["seeds"] == (4,)


def test_the_default_suite_answers_at_large_budgets_with_many_seeds_and_every_smaller_budget():
    suite = load_suite("default")
    plans = {plan.name: plan for plan in suite.benchmarks}
    assert set(plans) == {"mnist-mlp@replay", "fer-cnn@replay"}
    assert all(len(suite.seeds_of(plan)) >= 20 for plan in plans.values())
    assert plans["mnist-mlp@replay"].trials >= 100 and plans["fer-cnn@replay"].trials >= 50
    assert all(plan.random_start is not None for plan in plans.values())  # one run answers every smaller budget


def test_the_validate_suite_pairs_live_and_replay_at_one_budget():
    suite = load_suite("validate")
    plans = {plan.name: plan for plan in suite.benchmarks}
    live, replay = plans["mnist-mlp"], plans["mnist-mlp@replay"]
    assert live.fidelity == "full" and len(suite.seeds_of(live)) >= 10 and len(suite.strategies) == 6
    assert (live.max_epochs, live.budget_epochs, live.random_start) == (replay.max_epochs, replay.budget_epochs,
                                                                        replay.random_start)
    assert set(suite.seeds_of(live)) == set(suite.seeds_of(replay))


def test_replay_noise_defaults_to_seed_on_replay_and_stays_out_of_a_live_plans_dict():
    from tunebench.suite import parse_suite

    def parse(table, name):
        return parse_suite({"name": "t", "seeds": [0], "strategies": ["random"], "benchmarks": {name: table}},
                           source="test")

    assert parse({}, "mnist-mlp@replay").benchmarks[0].replay_noise == "seed"
    assert parse({"replay_noise": "mean"}, "mnist-mlp@replay").benchmarks[0].replay_noise == "mean"
    assert parse({"replay_noise": "mean"}, "mnist-mlp@replay").to_dict()["benchmarks"][0]["replay_noise"] == "mean"
    live = parse({}, "mnist-mlp")
    assert live.benchmarks[0].replay_noise is None
    assert "replay_noise" not in live.to_dict()["benchmarks"][0]  # a partial live run's fingerprint is unchanged
    for table, name in (({"replay_noise": "seeds"}, "mnist-mlp@replay"), ({"replay_noise": "seed"}, "mnist-mlp"),
                        ({"replay_noise": 1}, "fer-cnn@replay")):
        with pytest.raises(SuiteError, match=rf"\[benchmarks\.{re.escape(name)}\]: .replay_noise. must be one of"):
            parse(table, name)


@pytest.mark.parametrize("text, seeds", [("3", (0, 1, 2)), ("0,5,7", (0, 5, 7)), ("10-13", (10, 11, 12, 13)),
                                         ("0-2,9", (0, 1, 2, 9)), ("5,", (5,)), ("5-5", (5,))])
def test_seeds_are_a_count_a_list_or_ranges(text, seeds):
    from tunebench.suite_checks import parse_seeds

    assert parse_seeds(text, "option --seeds") == seeds


@pytest.mark.parametrize("text", ["5-3", "0-99999999", "a-b", "1--2", "0-2,2"])
def test_a_bad_seed_range_names_the_option(text):
    from tunebench.suite_checks import parse_seeds

    with pytest.raises(SuiteError, match=r"^option --seeds: "):
        parse_seeds(text, "option --seeds")


def test_one_seed_is_written_seed_and_not_with_seeds(tmp_path, capsys):
    from tunebench.cli import main

    assert main(["run", "replay", "--seed", "5", "--seeds", "3", "--out", str(tmp_path / "x")]) == 2
    assert "either as --seeds or as --seed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
