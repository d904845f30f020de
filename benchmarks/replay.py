"""Replay benchmarks: answers from a recording instead of training.

``<name>@replay`` answers ``evaluate`` from ``<recordings>/<name>/`` (made by ``tunebench
record``): a configuration that was recorded returns its recorded epochs; any other goes
to the recording's surrogate (:mod:`tunebench.benchmarks.surrogate`). The seconds of the
evaluation are the recorded (or predicted) epoch times, so the run's clock is simulated
and wall-time figures keep their meaning. No dataset and no TensorFlow are needed.

Recordings are made on shared machines, and an epoch can hold a pause of the recorder or
a heavy job beside it (on the full-data fer-cnn recording at 46 configurations, 15 later
epochs at 3-24x their configuration's usual time, a fifth of all its recorded seconds).
Every epoch of a configuration does the same work, so an epoch after the first recorded
at more than :data:`DISTURBED_EPOCH_FACTOR` times its configuration's median epoch time
(epochs 2 onward) is replayed, and taught to the surrogate, at that median
(:func:`steady_epoch_seconds`). A first epoch is kept as recorded: it also carries the
model's tracing, which cannot be told apart from a pause. The recording itself is not changed.

A recording with several draws (the design trained again with other training seeds:
``tunebench record --draw K``) answers with the spread training has under the suite key
``replay_noise = "seed"`` (the default): a recorded configuration answers one of its draws,
picked by the trial's training seed (a hash of the run seed and the configuration), and a
Hyperband continuation stays on its parent's draw; a configuration that was not recorded
answers the surrogate's prediction plus the seed deviation of that draw of its nearest
recorded configuration (its draw minus its mean over draws, scaled to one seed's spread),
held within three times the recording's typical seed spread (:func:`typical_seed_spread`), so
that a neighbour whose training is unstable does not lend its swings to the configuration.
The deviation is a whole curve of every metric, not noise drawn per epoch: on the fer-cnn
recording a seed's deviations correlate between epochs (0.1 to 0.7 from one epoch to the
next) and between validation and test accuracy (0.95), and a borrowed curve keeps both.
``replay_noise = "mean"`` answers each recorded configuration's mean curve over its draws
(:func:`~tunebench.benchmarks.recording.mean_over_draws`) and the surrogate's prediction
as it is: a cleaner objective than training gives. The surrogate fits every draw, a row
each (:func:`~tunebench.benchmarks.surrogate.fit_surrogate`), so that it predicts that mean
for the configurations between. A recording of one draw answers its one curve either way.

What replay does not reproduce, by construction: a recording of one draw gives a recorded
configuration the same curve under every run seed (seed-to-seed differences then come from
the strategies alone); a Hyperband promotion returns the recorded epochs after
``initial_epoch`` of an uninterrupted run, not of a warm-started one; a configuration that
was not recorded borrows the test confusion matrix of the nearest recorded configuration.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tunebench.benchmarks.base import BenchmarkSpec, EpochRecord, Evaluation
from tunebench.benchmarks.surrogate import (MODELS, TARGETS, encode, fit_surrogate, spread_phrase, stored_model,
                                            table_configs)
from tunebench.errors import InputError
from tunebench.benchmarks.recording import draw_counts, draws_phrase, mean_over_draws
from tunebench.benchmarks.recording_load import load_recording
from tunebench.benchmarks.replay_arrays import NOISY, NOISY_COLUMNS, DonorCurves, bounded
from tunebench.places import RECORDINGS_ENV, recording_dir
from tunebench.space import Config

SUFFIX = "@replay"


#: See the module docstring: an epoch after the first slower than this many times its
#: configuration's median epoch time replays at that median.
DISTURBED_EPOCH_FACTOR = 3.0


def steady_epoch_seconds(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``table`` (a recording's rows) with each disturbed epoch's ``epoch_seconds`` set to its
    configuration's median epoch time (epochs 2 onward), and how many epochs were set.

    Disturbed: an epoch after the first recorded at more than :data:`DISTURBED_EPOCH_FACTOR`
    times that median (each draw of a configuration has its own median: draws may have been
    trained on other machines). ``table`` itself is not modified.
    """
    later = table["epoch"] > 1
    training = [table["config_id"], table["draw"]] if "draw" in table.columns else [table["config_id"]]
    median = table["epoch_seconds"].where(later).groupby(training).transform("median")
    disturbed = later & (table["epoch_seconds"] > DISTURBED_EPOCH_FACTOR * median)
    steady = table.copy()
    steady.loc[disturbed, "epoch_seconds"] = median[disturbed]
    return steady, int(disturbed.sum())


def _key(config: Config) -> str:
    return json.dumps(config, sort_keys=True)


def load_recorded(directory: Path, make_space) -> "_Recorded":
    """The recording in ``directory``, loaded and its surrogate fitted once per process
    (again if ``recording.json`` changes)."""
    meta_path = Path(directory) / "recording.json"
    stamp = meta_path.stat().st_mtime_ns if meta_path.exists() else 0
    return _load(str(Path(directory).resolve()), stamp, make_space)


@lru_cache(maxsize=8)
def _load(directory: str, stamp: int, make_space) -> "_Recorded":
    meta, table = load_recording(Path(directory), make_space)
    model = stored_model(meta.get("surrogate_quality"))
    if model not in MODELS:
        raise InputError(f"{Path(directory) / 'recording.json'}: surrogate_quality.model {model!r} is not a surrogate "
                         f"model of this tunebench ({', '.join(MODELS)})")
    return _Recorded(meta, table, make_space(meta["header"]["options"]), model)


class _Recorded:
    """A loaded recording with its lookup table and its surrogate (built once per process)."""

    def __init__(self, meta: dict[str, Any], table: pd.DataFrame, space, surrogate_model: str):
        self.meta = meta
        self.header = meta["header"]
        self.digest = hashlib.sha256("".join(c["sha256"] for _, c in sorted(meta["chunks"].items())).encode()).hexdigest()
        self.space = space
        #: How many configurations each draw holds (``{"1": 56}`` for a recording of one draw).
        self.draws = draw_counts(table)
        #: How many epochs replay at their configuration's median time (:func:`steady_epoch_seconds`).
        draws, self.disturbed_epochs = steady_epoch_seconds(table)
        table = mean_over_draws(draws)  # sorted by configuration and epoch
        configs = table_configs(space, table)
        self.curves: dict[str, pd.DataFrame] = {}
        key_of: dict[int, str] = {}
        for config_id, rows in table.groupby("config_id", sort=True):
            key_of[config_id] = _key(configs[rows.index[0]])
            self.curves[key_of[config_id]] = rows.set_index("epoch")
        #: Each recorded configuration's curve in each of its draws, in draw order.
        self.draw_curves: dict[str, list[pd.DataFrame]] = {}
        by_draw = draws.assign(draw=draws["draw"] if "draw" in draws.columns else 1)
        for (config_id, _), rows in by_draw.sort_values(["config_id", "draw", "epoch"]).groupby(["config_id", "draw"]):
            self.draw_curves.setdefault(key_of[config_id], []).append(rows.set_index("epoch"))
        #: The surrogate's model: the one its quality was measured with (older recordings: trees).
        self.surrogate_model = surrogate_model
        self._fit_on = draws  # the surrogate's rows: every draw, a row each
        #: The recording's typical one-seed spread per epoch and metric (:func:`typical_seed_spread`):
        #: what caps the deviation an unrecorded configuration borrows.
        self.seed_spread = typical_seed_spread(self.draw_curves)
        #: Each recorded configuration's curves as arrays, what a trial's answer reads.
        self.donors = {key: DonorCurves(curve, self.draw_curves[key], self.seed_spread, DEVIATION_CAP)
                       for key, curve in self.curves.items()}
        final = table[table["epoch"] == table["epoch"].max()]
        self._neighbour_features = encode(space, [configs[i] for i in final.index])
        self._neighbour_keys = [_key(configs[i]) for i in final.index]

    @cached_property
    def surrogate(self):
        """The fitted surrogate, fitted at its first use (a process that only checks the
        recording, as a run's parent process does before its workers start, never fits it)."""
        return fit_surrogate(self.space, self._fit_on, model=self.surrogate_model)

    def nearest(self, config: Config) -> str:
        """The key of the recorded configuration closest to ``config`` (scaled features)."""
        features = encode(self.space, [config])[0]
        scale = np.ptp(self._neighbour_features, axis=0)
        scale[scale == 0] = 1.0
        distances = (((self._neighbour_features - features) / scale) ** 2).sum(axis=1)
        return self._neighbour_keys[int(distances.argmin())]


#: How many typical seed spreads a borrowed deviation may reach (:meth:`DonorCurves.deviation`): a
#: donor whose training is unstable (draws 0.2 apart on mnist-mlp, where the typical spread
#: is 0.003) would otherwise lift a configuration predicted at 0.95 to 1.0.
DEVIATION_CAP = 3.0


def typical_seed_spread(draw_curves: dict[str, list[pd.DataFrame]]) -> pd.DataFrame:
    """The recording's typical one-seed standard deviation, per epoch and metric: the median
    over configurations with two or more draws of their draws' sd (``ddof = 1``), divided by
    0.6745, which makes it sigma for two draws (their sd is then ``|N(0, sigma)|``, whose
    median is 0.6745 sigma). A median, so that the few configurations whose training is
    unstable do not set it; empty for a recording of one draw."""
    spreads = [pd.concat(curves)[NOISY].groupby(level=0).std(ddof=1) for curves in draw_curves.values()
               if len(curves) >= 2]
    if not spreads:
        return pd.DataFrame(columns=NOISY, dtype=float)
    return pd.concat(spreads).groupby(level=0).median() / 0.6745


class ReplayBenchmark:
    """A :class:`~tunebench.benchmarks.base.Benchmark` answered from a recording.

    Parameters
    ----------
    spec:
        The replay registry entry (its ``recording`` names the live benchmark recorded).
    plan:
        The suite's plan: ``max_epochs`` at most the recording's, the recording's options.
    directory:
        The recording's folder (default :func:`tunebench.places.recording_dir`: under
        ``$TUNEBENCH_RECORDINGS``, ``results/recordings/`` here, or the shipped copy).

    Raises
    ------
    InputError
        The recording is missing or altered, or the plan asks for more epochs or other
        options than were recorded.
    """

    simulated_clock = True
    #: A recording whose surrogate ranks held-out configurations worse than this (Spearman,
    #: 5-fold by configuration, final-epoch validation accuracy) is refused unless the suite
    #: sets ``allow_weak_surrogate = true``.
    spearman_floor = 0.8

    def __init__(self, spec: BenchmarkSpec, plan, directory: Path | None = None):
        directory = Path(directory or recording_dir(spec.recording))
        recorded = load_recorded(directory, spec.make_space)
        header = recorded.header
        where = f"[benchmarks.{plan.name}]"
        if plan.max_epochs > header["max_epochs"]:
            raise InputError(f"{where} max_epochs = {plan.max_epochs}: the recording {directory} has "
                             f"{header['max_epochs']} epochs")
        if plan.options != header["options"]:
            raise InputError(f"{where} options {plan.options}: the recording {directory} was made with "
                             f"{header['options']}")
        self.name = spec.name
        self.space = recorded.space
        self.max_epochs = plan.max_epochs
        self.class_names = tuple(header["data"]["class_names"])
        self.recorded = recorded
        self.replay_noise = plan.replay_noise or "seed"
        self.fidelity = f"replay of a recording at {header['fidelity']} fidelity"
        if plan.max_epochs < header["max_epochs"]:
            self.fidelity += f", {plan.max_epochs} of its {header['max_epochs']} epochs"
        quality = recorded.meta.get("surrogate_quality")
        measured_on = quality.get("draws") if isinstance(quality, dict) else None
        if isinstance(quality, dict) and measured_on != (recorded.draws if len(recorded.draws) > 1 else None):
            raise InputError(f"{where}: the recording {directory} answers {draws_phrase(recorded.draws) or 'its one draw'}"
                             f", but its surrogate quality was measured on {draws_phrase(measured_on) or 'one draw'}: "
                             "run its 'tunebench record' command again, which trains nothing and measures it again")
        self.fidelity += "; " + self._noise_phrase()
        self.fidelity += "; " + self._check_surrogate(recorded.meta.get("surrogate_quality"), recorded.surrogate_model,
                                                      plan, directory, where)
        self.source = {"recording": spec.recording, "recorded_fidelity": header["fidelity"],
                       "configs_recorded": len(recorded.curves), "chunks_sha256": recorded.digest, "configs_designed": recorded.meta.get("total_configs"),
                       "surrogate_quality": recorded.meta.get("surrogate_quality"), "data": header["data"],
                       "disturbed_epochs_at_median_time": recorded.disturbed_epochs,
                       "configs_per_draw": recorded.draws}

    def _noise_phrase(self) -> str:
        """What a trial answers, for the fidelity label."""
        counts = self.recorded.draws
        if len(counts) < 2:
            return "one draw: no seed noise (every run seed gets the recorded curve)"
        if self.replay_noise == "mean":
            return f"replay_noise mean: recorded configurations answer {draws_phrase(counts)}"
        listed = ", ".join(f"{count}" for _, count in sorted(counts.items(), key=lambda kv: int(kv[0])))
        return (f"replay_noise seed: a trial answers one recorded draw ({listed} configurations per draw), "
                "others the surrogate plus the nearest recorded configuration's seed deviation")

    def _check_surrogate(self, quality: Any, model: str, plan, directory: Path, where: str) -> str:
        """The surrogate's label for the fidelity column (its model, its Spearman, and the
        median over repeated splits where the recording has them); :class:`InputError` for a
        weak one that the suite does not allow. The floor applies to the recording's ``spearman``."""
        spearman = quality.get("spearman") if isinstance(quality, dict) else None
        good = isinstance(spearman, (int, float)) and math.isfinite(spearman)
        shown = f"{spearman:.3f}" if good else "unknown"
        phrase = spread_phrase(quality) if good else ""
        spread = f"; {phrase}" if phrase else ""
        if good and spearman >= self.spearman_floor:
            return f"{MODELS[model]} surrogate held-out Spearman {shown}{spread}"
        if not plan.allow_weak_surrogate:
            raise InputError(f"{where}: the recording {directory} has a weak {MODELS[model]} surrogate (held-out Spearman "
                             f"{shown}{spread}, 5-fold by configuration; the floor is {self.spearman_floor}): "
                             "configurations it did not record would be answered by a poor model. Set "
                             f"allow_weak_surrogate = true in the suite's [benchmarks.{plan.name}] table to replay it "
                             "anyway (every output then says so)")
        return f"WEAK SURROGATE ({MODELS[model]}, held-out Spearman {shown} < {self.spearman_floor}{spread})"

    def evaluate(self, config: Config, epochs: int, seed: int, initial_epoch: int = 0,
                 warm_start: Any = None, keep_state: bool = False) -> Evaluation:
        """Epochs ``initial_epoch + 1 .. epochs`` of ``config``; see ``Benchmark.evaluate``.

        Under ``replay_noise = "seed"`` the training seed ``seed`` picks the draw that answers
        (:meth:`_draw`); a continuation stays on its parent's draw, which its ``warm_start``
        carries. With ``keep_state`` the state is that marker, which also lets the runner
        charge a promotion as a continuation, as it does live.
        """
        key = _key(config)
        recorded = key in self.recorded.donors
        donor_key = key if recorded else self.recorded.nearest(config)
        donor = self.recorded.donors[donor_key]
        draw = self._draw(donor_key, seed, warm_start)
        rows = donor.rows(initial_epoch, epochs)
        if recorded:
            metrics = donor.mean[rows].copy()
            if draw is not None:  # the draw's metrics; its epoch seconds stay the first draw's, as in the mean
                metrics[:, NOISY_COLUMNS] = donor.draws[draw][rows]
        else:
            metrics = self.recorded.surrogate.predict([config])[0][rows]
            if draw is not None:
                metrics[:, NOISY_COLUMNS] = bounded(metrics[:, NOISY_COLUMNS] + donor.deviation(draw)[rows])
        curve = [EpochRecord(epoch=epoch, **{name: float(value) for name, value in zip(TARGETS, row)})
                 for epoch, row in zip(range(initial_epoch + 1, epochs + 1), metrics)]
        # The draw's own confusion matrices where it was recorded with them, else the first draw's.
        matrices = [json.loads(text) for text in donor.confusion_texts(rows, draw)]
        return Evaluation(curve=curve, test_confusion=matrices[-1], seconds=float(sum(p.epoch_seconds for p in curve)),
                          state={"config": config, "epoch": epochs, "draw": draw} if keep_state else None,
                          epoch_confusions=matrices)

    def _draw(self, donor: str, seed: int, warm_start: Any) -> int | None:
        """Which of ``donor``'s recorded draws answers: ``None`` under ``replay_noise = "mean"``
        or where it has one draw; a continuation's parent's (``warm_start["draw"]``); else
        ``seed % draws``. ``seed`` is the training seed, a hash of the run seed and the
        configuration: the same configuration in the same run answers the same draw, as it
        would train the same way live."""
        count = len(self.recorded.draw_curves[donor])
        if self.replay_noise == "mean" or count < 2:
            return None
        if isinstance(warm_start, dict) and isinstance(warm_start.get("draw"), int):
            return warm_start["draw"] % count
        return int(seed) % count

__all__ = ["DISTURBED_EPOCH_FACTOR", "RECORDINGS_ENV", "ReplayBenchmark", "SUFFIX", "load_recorded",
           "steady_epoch_seconds"]
