"""The ETA's per-benchmark cost model, on worked examples with a fake clock; the progress
line's heartbeat in a log."""

import time

import pytest

from tunebench.eta import EtaModel


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def default_like(clock):
    """Two cheap mnist-mlp runs, then two costly fer-cnn runs, 10 epochs each (the suite order)."""
    return EtaModel({1: ("mnist-mlp", 10), 2: ("mnist-mlp", 10), 3: ("fer-cnn", 10), 4: ("fer-cnn", 10)}, clock=clock)


def test_each_benchmark_is_costed_at_its_own_rate_once_timed(clock):
    eta = default_like(clock)
    assert eta.text() == "?"  # nothing timed yet
    eta.started(1)
    clock.now = 20.0
    eta.progressed(1, 5)  # mnist-mlp: 4 s per epoch
    # 15 mnist-mlp epochs left at 4 s, and 20 fer-cnn epochs at the only known rate, flagged
    assert eta.seconds_left() == (pytest.approx(140.0), ["fer-cnn"])
    assert eta.text() == "2m20s (fer-cnn not timed yet)"
    clock.now = 40.0
    eta.finished(1, 10)
    eta.started(2)
    clock.now = 80.0
    eta.finished(2, 10)
    eta.started(3)
    clock.now = 140.0
    eta.progressed(3, 2)  # fer-cnn: 30 s per epoch
    assert eta.rates() == {"mnist-mlp": pytest.approx(4.0), "fer-cnn": pytest.approx(30.0)}
    # 18 fer-cnn epochs left at 30 s. One average over the 22 epochs done in 140 s would say
    # 18 x 6.4 = 115 s here, and 80 s at the switch: the miss the per-benchmark model avoids.
    assert eta.seconds_left() == (pytest.approx(540.0), [])
    assert eta.text() == "9m00s"
    clock.now = 440.0
    eta.finished(3, 10)
    eta.started(4)
    clock.now = 740.0
    eta.finished(4, 10)
    assert eta.seconds_left() == (0.0, [])


def test_a_run_that_stops_under_budget_leaves_nothing_to_do(clock):
    eta = EtaModel({1: ("b", 10), 2: ("b", 10)}, clock=clock)
    eta.started(1)
    clock.now = 30.0
    eta.finished(1, 6)  # e.g. the next trial would not fit the budget
    assert eta.rates() == {"b": pytest.approx(5.0)}
    assert eta.seconds_left() == (pytest.approx(50.0), [])  # only run 2's 10 epochs


def test_runs_in_parallel_share_the_wall_time(clock):
    eta = EtaModel({1: ("b", 10), 2: ("b", 10), 3: ("b", 10), 4: ("b", 10)}, clock=clock)
    eta.started(1)
    eta.started(2)
    clock.now = 20.0
    eta.progressed(1, 4)
    eta.progressed(2, 4)  # each worker: 5 s per epoch
    # 6 + 6 + 10 + 10 epochs at 5 s, two runs in flight
    assert eta.seconds_left() == (pytest.approx(80.0), [])


def test_epochs_done_before_a_resume_are_not_timed(clock):
    eta = EtaModel({1: ("b", 10), 2: ("b", 10)}, clock=clock)
    eta.skipped(1)  # complete before this process started
    eta.resumed(2, 6)
    eta.started(2)
    assert eta.text() == "?"  # 6 epochs done, none of them in this process
    clock.now = 8.0
    eta.progressed(2, 8)  # 2 fresh epochs in 8 s
    assert eta.seconds_left() == (pytest.approx(8.0), [])  # 2 epochs left at 4 s


def test_a_family_not_timed_yet_is_left_out_of_the_sum_and_named(clock):
    # The default suite's order: live mnist-mlp first, then the replays (milliseconds per epoch).
    eta = EtaModel({1: ("mnist-mlp", 10, "live"), 2: ("mnist-mlp@replay", 10, "replay"),
                    3: ("fer-cnn@replay", 10, "replay")}, clock=clock)
    eta.started(1)
    clock.now = 30.0
    eta.progressed(1, 5)  # 6 s per live epoch: the replays are not costed at it
    assert eta.seconds_left() == (pytest.approx(30.0), ["fer-cnn@replay", "mnist-mlp@replay"])
    assert eta.text() == "30s + fer-cnn@replay, mnist-mlp@replay (not timed yet)"
    clock.now = 60.0
    eta.finished(1, 10)
    eta.started(2)
    clock.now = 61.0
    eta.progressed(2, 10)  # a replay epoch: 0.1 s, and fer-cnn@replay is costed at its family's rate
    assert eta.text() == "1s (fer-cnn@replay not timed yet)"


def test_off_a_terminal_the_latest_line_comes_again_when_the_log_has_been_quiet():
    """A log gets a line at least every heartbeat while a run trains (a fer-cnn trial can take
    minutes without a line): the latest progress line, with how long ago it changed."""
    import io

    from tunebench.progress import Progress

    stream = io.StringIO()
    progress = Progress(2, 20, stream=stream, enabled=False, heartbeat_seconds=0.05)
    progress.start_run(1, "mnist-mlp/tpe/seed 0", 10)
    progress.update(trial=3, best=0.9, epochs_used=4)
    deadline = time.monotonic() + 10
    while "last change" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.close()
    beats = [line for line in stream.getvalue().splitlines() if "last change" in line]
    assert beats and beats[0].startswith("tunebench: run 1/2 mnist-mlp/tpe/seed 0 | trial 3 | best val_acc 0.9000 | "
                                         "epochs left 6/10")
    after = stream.getvalue()
    time.sleep(0.2)
    assert stream.getvalue() == after  # closed: no more lines
    quiet = io.StringIO()
    Progress(1, 1, stream=quiet, enabled=True, heartbeat_seconds=0.01).update(1, None, 0)
    time.sleep(0.1)
    assert "last change" not in quiet.getvalue()  # on a terminal the live line is enough
