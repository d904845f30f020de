"""The one interface every search strategy implements: ask and tell.

A strategy is stepped by the runner, never the other way round:

    while (suggestion := strategy.ask()) is not None:
        observation = train(suggestion)          # the runner trains and charges the ledger
        strategy.tell(suggestion, observation)

``ask`` returns ``None`` when the strategy has nothing more to try (its grid is done, its
space exhausted), or :data:`WAIT` when it has nothing to try until a trial in flight is told
(Hyperband at a rung whose trials are not all back). The budget is not the strategy's business: the runner stops asking when
the epoch ledger cannot pay for the next suggestion. Every strategy maximises the
validation accuracy of the last trained epoch; test numbers never reach a strategy.

When the runner calls what (the contract a strategy may rely on, and must allow):

- **One strategy object per run**, built by its factory from a :class:`StrategyContext`,
  used from one thread, and :meth:`Strategy.close`-d once when the run ends (also when it
  fails or is interrupted).
- **Every suggestion is told exactly once**, with an :class:`Observation` (``failed=True``
  and a NaN accuracy when its training failed): in the order it was asked, except under
  ``simulated_workers`` (replay), where trials are told in the order they finish on the
  simulated clock. A suggestion is never told twice and never dropped, except that a run
  cut short (budget, ``--max-seconds``, a stop signal) may end with asked suggestions never
  trained or told.
- **Asks may come with trials in flight.** With ``parallel_trials = W`` or
  ``simulated_workers = W`` the runner asks again while up to W - 1 earlier suggestions are
  untold; with W = 1 (the default) every ask follows the previous tell. After :data:`WAIT`
  the runner tells the next trial to finish before it asks again (a :data:`WAIT` with
  nothing in flight ends the run, as ``None`` does). Nothing else about timing may be
  assumed: the same sequence of calls comes whatever the machine's speed (except that a
  ``max_seconds`` cap ends a run sooner on a slower machine), so a strategy seeded by
  :attr:`StrategyContext.seed` gives the same suggestions on every run.
- **A suggestion the runner cannot use ends the run**: one outside the search space or the
  fidelity (``epochs`` above ``max_epochs``, ``initial_epoch`` not below ``epochs``) is an
  error of the strategy, not skipped.
- **Resume replays the calls**: a resumed run builds a fresh strategy and makes the same
  asks and tells the interrupted run made, answering them from the journal instead of
  training, and checks that every replayed ask gives the journal's trial id, configuration,
  initial epoch and parent. A strategy
  therefore must not keep state outside its object (files, globals) that survives between
  runs, and must be deterministic given its seed and the observations told.
- **Warm starts** (:attr:`Strategy.warm_starts`): a suggestion with ``parent`` continues
  that trial's weights from ``initial_epoch`` and is charged ``epochs - initial_epoch``;
  when the parent's weights are not kept (a full-fidelity parent, or one already continued
  under :attr:`Strategy.parent_used_once`) it trains from scratch and is charged ``epochs``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from tunebench.space import Config, SearchSpace


class _Wait:
    """The type of :data:`WAIT`."""

    def __repr__(self) -> str:
        return "WAIT"


#: What :meth:`Strategy.ask` returns when it has nothing to try until a trial in flight is told.
WAIT = _Wait()


@dataclass(frozen=True)
class Suggestion:
    """One trial to train.

    Attributes
    ----------
    trial_id:
        The strategy's own id for the trial (unique within a run).
    config:
        The active hyperparameters.
    epochs:
        Train until this epoch (the trial's fidelity, cumulative).
    initial_epoch:
        Continue from this epoch; 0 trains from scratch.
    parent:
        The ``trial_id`` whose trained weights this trial continues (Hyperband promotions);
        ``None`` for a fresh trial.
    """

    trial_id: str
    config: Config
    epochs: int
    initial_epoch: int = 0
    parent: str | None = None


@dataclass(frozen=True)
class Observation:
    """What a strategy is told about a trained trial.

    ``val_accuracy`` is the validation accuracy at the last trained epoch; ``failed``
    trials carry ``nan``.
    """

    val_accuracy: float
    failed: bool = False


@dataclass(frozen=True)
class StrategyContext:
    """What every strategy factory receives.

    Attributes
    ----------
    space:
        The benchmark's search space.
    seed:
        The strategy's own seed (derived from the run seed; never 0).
    max_epochs:
        The benchmark's full fidelity.
    trial_budget:
        How many full-fidelity trials the run's epoch budget pays for.
    storage:
        Where a strategy that can persist its study keeps it (today only ``tpe``): an Optuna
        storage URL such as ``sqlite:///results/optuna.db`` (any SQLAlchemy database URL
        Optuna accepts). ``None``, the default, keeps the study in memory. Storage never
        changes the suggestions.
    study_name:
        The study's name in ``storage``, unique per run, for example
        ``"default/mnist-mlp/tpe/seed-0"``; a study of that name already there is replaced,
        because a run always starts its study afresh. ``None`` names it after the strategy
        seed. Ignored without ``storage``.
    random_start:
        A fixed number of random trials before a model-based strategy models (the suite key
        ``random_start``); ``None``: a third of the trial budget (:attr:`initial_random_trials`).
    """

    space: SearchSpace
    seed: int
    max_epochs: int
    trial_budget: int
    storage: str | None = None
    study_name: str | None = None
    random_start: int | None = None

    @property
    def initial_random_trials(self) -> int:
        """Random trials before a model-based strategy starts modelling.

        The same for Bayesian optimisation, Optuna TPE and hyperopt TPE, so that none of
        them gets a head start: ``random_start`` when the suite fixes it, else a third of the
        trial budget, at least 3. Only a fixed start makes a run's first trials those of a
        shorter run (a start that grows with the budget models later in a longer run).
        """
        if self.random_start is not None:
            return self.random_start
        return max(3, self.trial_budget // 3)


class Strategy(ABC):
    """Base class: subclasses implement :meth:`ask`, :meth:`tell` and :meth:`settings`."""

    #: Whether suggestions may continue a parent's weights (the runner then keeps them).
    warm_starts: bool = False
    #: With warm starts: each trial is continued at most once, so the runner may drop a
    #: parent's saved state as soon as its promotion has used it (keras-tuner's Hyperband).
    parent_used_once: bool = False

    @abstractmethod
    def ask(self) -> Suggestion | _Wait | None:
        """The next trial to train; ``None`` when there is nothing more to try; :data:`WAIT`
        when there is nothing to try until a trial in flight is told."""

    @abstractmethod
    def tell(self, suggestion: Suggestion, observation: Observation) -> None:
        """Report the result of a suggestion returned by :meth:`ask`."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The strategy's settings, JSON-ready, for the manifest."""

    def close(self) -> None:
        """Release temporary files; called once when the run ends."""
