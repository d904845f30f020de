"""What a benchmark is and what it returns.

A benchmark trains one configuration for some epochs and returns its per-epoch curve,
HPOBench-style: one result contract for every benchmark. Selection looks only at the
validation numbers; test numbers are recorded, never used to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from tunebench.space import Config, SearchSpace


@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one epoch. ``epoch`` is 1-based and cumulative over warm starts."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    val_f1: float
    test_accuracy: float
    test_f1: float
    epoch_seconds: float


@dataclass
class Evaluation:
    """The outcome of :meth:`Benchmark.evaluate`.

    Attributes
    ----------
    curve:
        One record per epoch trained (``initial_epoch + 1`` .. ``epochs``).
    test_confusion:
        The test confusion matrix after the last epoch (rows: true class).
    seconds:
        Wall time of the whole evaluation (building, training, measuring).
    epoch_confusions:
        The test confusion matrix after each epoch of ``curve`` (recordings keep them all).
    state:
        With ``keep_state``: opaque trained state (weights and optimizer state) that a
        later call can continue from through ``warm_start``; else ``None``.
    """

    curve: list[EpochRecord]
    test_confusion: list[list[int]]
    seconds: float
    state: Any = field(default=None, repr=False)
    epoch_confusions: list[list[list[int]]] = field(default_factory=list, repr=False)


class TrialFailed(Exception):
    """Raised by :meth:`Benchmark.evaluate` when a trial fails part-way.

    It carries what the trial completed before it failed, so that the runner can record
    those epochs (``curves.csv``) and charge them to the run's budget: a failed trial costs
    the epochs it actually trained, no more and no less.

    Attributes
    ----------
    error:
        One line saying what went wrong (``trials.csv``'s ``error`` column), e.g.
        ``"non-finite loss (nan) in epoch 2"`` or ``"ResourceExhaustedError: OOM ..."``.
    curve:
        One :class:`EpochRecord` per epoch completed before the failure
        (``initial_epoch + 1`` ..); empty if none was.
    epoch_confusions:
        The test confusion matrix after each epoch of ``curve``.
    seconds:
        Wall time spent on the trial, failure included; ``None`` lets the runner measure it.

    Any other exception escaping ``evaluate`` is also recorded as a failed trial, charged
    0 epochs (nothing says how many it completed).
    """

    def __init__(self, error: str, curve: list[EpochRecord] | None = None, seconds: float | None = None,
                 epoch_confusions: list[list[list[int]]] | None = None):
        super().__init__(error)
        self.error = error
        self.curve = list(curve or [])
        self.seconds = seconds
        self.epoch_confusions = list(epoch_confusions or [])

    def __reduce__(self):
        return type(self), (self.error, self.curve, self.seconds, self.epoch_confusions)


class Benchmark(Protocol):
    """A task that strategies are compared on: everything the runner and the report read
    from a benchmark is declared here (a plug-in needs nothing else).

    Attributes
    ----------
    name:
        The registry name.
    space:
        The search space every suggestion is checked against before it is trained.
    max_epochs:
        The fidelity a trial trains to at most.
    class_names:
        The classes, in label order (the report's confusion matrices).
    fidelity:
        ``"full"``, or what was reduced (``runs.csv``'s ``fidelity`` column).
    source:
        What it answers from, JSON-ready (its data file and sizes, its recording): the
        manifest's ``data`` entry for a benchmark whose spec names no dataset, where the
        runner cannot read the data itself. A plug-in should set it; where one does not, the
        runner records the benchmark's class name instead.
    """

    name: str
    space: SearchSpace
    max_epochs: int
    class_names: tuple[str, ...]
    fidelity: str
    source: Any

    def evaluate(self, config: Config, epochs: int, seed: int, initial_epoch: int = 0,
                 warm_start: Any = None, keep_state: bool = False) -> Evaluation:
        """Train ``config`` from ``initial_epoch`` (continuing ``warm_start`` if given) to
        ``epochs`` with training seed ``seed`` and return its curve (and, with
        ``keep_state``, the trained state).

        A trial that fails (a non-finite loss, running out of memory, an error while
        training) raises :class:`TrialFailed` with the epochs it completed; the runner records
        it as failed, charges those epochs, tells the strategy, and goes on."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """A registry entry: how to build a benchmark.

    Attributes
    ----------
    name, dataset, description:
        Names shown by ``tunebench list``; ``dataset`` is a built-in dataset or one a plug-in
        registers (:class:`tunebench.datasets.DatasetSpec`), ``None`` for a replay benchmark
        or one whose factory brings its own data.
    max_epochs:
        Full fidelity (the suite may lower it, labelled as reduced fidelity).
    trials:
        Default number of full-fidelity trials the budget pays for.
    batch_size:
        Default training batch size.
    input_shape:
        The model's input shape (images are reshaped to it).
    options:
        Benchmark options a suite or the command line may set, with their defaults.
    make_space:
        ``options -> SearchSpace``.
    build_model:
        ``(config, steps_per_execution) -> compiled keras.Model``.
    recording:
        For a replay benchmark: the live benchmark whose recording it answers from.
    factory:
        ``(spec, splits, plan) -> Benchmark`` for a benchmark that is not live Keras
        training on ``dataset`` (a replay, or a plug-in's own); ``None``: the live harness
        (:class:`tunebench.benchmarks.live.LiveKerasBenchmark`) trains ``build_model``.
    surrogate:
        The model of its recording's surrogate (a key of
        :data:`tunebench.benchmarks.surrogate.MODELS`): ``tunebench record`` measures the
        held-out quality with it and names it in ``recording.json``, and replay predicts
        configurations that were not recorded with the model named there.
    """

    name: str
    dataset: str | None
    description: str
    max_epochs: int
    trials: int
    batch_size: int
    input_shape: tuple[int, ...]
    options: dict[str, Any]
    make_space: Callable[[dict[str, Any]], SearchSpace]
    build_model: Callable[..., Any]
    recording: str | None = None
    factory: Callable[..., Any] | None = None
    surrogate: str = "trees"
