"""Log a finished results directory to MLflow.

:func:`log_results` reads only the directory's files (``trials.csv``, ``curves.csv``,
``runs.csv``, ``manifest.json``, and ``best_hyperparameters.json``, ``report.md`` and
``figures/*.png`` where present) and writes, into one MLflow experiment named after the
suite:

- one **suite run** (tag ``tunebench.kind = suite``) holding the files as artifacts, the
  suite's seeds, strategies, versions and commit as params and its ``wall_seconds``;
- one **run** per (benchmark, strategy, seed) (``tunebench.kind = run``): params
  ``benchmark``, ``strategy``, ``seed``, ``budget_epochs``, ``fidelity``, ``max_seconds``,
  the strategy's settings from the manifest as ``strategy.<key>`` and the incumbent's
  hyperparameters as ``best_hp_<name>``; metrics: every number of ``runs.csv``
  (``best_val_accuracy``, ``test_accuracy``, ``test_f1``, ``trials_to_best``,
  ``epochs_to_best``, ``wall_seconds``, ...), plus two step series, ``trial_val_accuracy``
  (step = trial) and ``incumbent_val_accuracy`` (best so far, step = ledger epochs used),
  which the MLflow UI draws as one curve per strategy on a shared budget axis;
- one **nested trial run** per trial (``tunebench.kind = trial``, ``mlflow.parentRunId``):
  params ``hp_<name>`` (active hyperparameters only), ``trial``, ``trial_id``,
  ``parent_trial_id``, ``epochs``, ``initial_epoch``, ``training_seed``; metrics
  ``val_accuracy``, ``val_f1``, ``val_loss``, ``test_accuracy``, ``test_f1``, the costs, and
  the per-epoch curve from ``curves.csv`` with ``step = epoch`` under the curve's column
  names (``loss``, ``accuracy``, ``val_accuracy``, ...), so a metric's latest value is the
  trial's final one. A trial whose status is not ``ok`` ends as ``FAILED``, with the
  ``error`` column of ``trials.csv`` (why it failed) as the tag ``tunebench.error``.

Every run is tagged ``tunebench.results_id`` (the manifest's sha256, which covers the other
files), and the experiment ``tunebench.results.<that id>`` (``started``, then
``finished:<suite run id>``). Logging the same results directory again creates no duplicate
runs: it adds the artifacts that the suite run lacks (say ``report.md`` written later) and
returns; the runs of an attempt that did not finish are deleted and the results logged anew.

MLflow is optional: ``pip install 'tunebench[tracking]'``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from tunebench.errors import InputError
from tunebench.results_dir import ResultsData, load_results, running_best
from tunebench.tracking_store import check_mlflow, connect, file_store_allowed, sqlite_path
from tunebench.schema import CURVE_COLUMNS, ERROR_COLUMN, RUN_KEY

#: Files logged as artifacts of the suite run when present (figures/*.png as well).
ARTIFACT_FILES = ("trials.csv", "curves.csv", "runs.csv", "manifest.json",
                  "best_hyperparameters.json", "report.md")

#: trials.csv columns logged as metrics of a trial run (the rest are params or tags).
TRIAL_METRICS = ("val_accuracy", "val_f1", "val_loss", "test_accuracy", "test_f1",
                 "epochs_trained", "train_seconds", "overhead_seconds", "epochs_used",
                 "elapsed_seconds")
TRIAL_PARAMS = ("trial", "trial_id", "parent_trial_id", "epochs", "initial_epoch", "training_seed")
CURVE_METRICS = tuple(c for c in CURVE_COLUMNS if c not in RUN_KEY + ["trial", "epoch"])
#: runs.csv columns logged as params of a run; its other non-key columns are metrics.
RUN_PARAMS = ("budget_epochs", "fidelity", "max_seconds")
RUN_TEXT = ("status", "fidelity")

#: trials.csv's column saying why a trial failed (logged as the tag ``tunebench.error``).
MAX_TAG_LENGTH = 5000  # MLflow's smallest limit on a tag value across versions


def default_tracking_uri(out_dir: Path) -> str:
    """The store used when no URI is given: ``file:`` URI of ``<out_dir>/mlruns`` (absolute)."""
    return (Path(out_dir).resolve() / "mlruns").as_uri()


def log_results(out_dir: Path, uri: str | None = None) -> str:
    """Log the finished results directory ``out_dir`` to MLflow.

    Parameters
    ----------
    out_dir:
        A results directory written by ``tunebench run`` (``manifest.json``, ``runs.csv``,
        ``trials.csv``, ``curves.csv``; ``report.md``, ``figures/*.png`` and
        ``best_hyperparameters.json`` are logged too when present).
    uri:
        An MLflow tracking URI (``http://host:5000``, ``sqlite:///path/mlflow.db``,
        ``file:///path/mlruns``, ...). Default: :func:`default_tracking_uri`, a local file
        store in the results directory. For a ``sqlite`` store, a new experiment keeps its
        artifacts in ``mlartifacts/`` beside the database file.

    Returns
    -------
    str
        The tracking URI used.

    Raises
    ------
    InputError
        mlflow is not installed; ``out_dir`` lacks a results file or holds a malformed one;
        the tracking URI is invalid or cannot be reached (the message names it).
    """
    out_dir = Path(out_dir).resolve()
    results = _read_results(out_dir)
    check_mlflow()
    uri = uri if uri is not None else default_tracking_uri(out_dir)
    with file_store_allowed(uri):
        client = connect(uri)
        _Logger(client, uri, out_dir, results).log()
    return uri


# --------------------------------------------------------------------------- reading


class _Results:
    """A results directory as :func:`tunebench.results_dir.load_results` reads it (``hp_*``
    columns as written), with its suite's name and an id (the manifest's sha256)."""

    def __init__(self, data: ResultsData):
        self.manifest = data.manifest
        self.results_id = data.manifest_sha256
        self.runs, self.trials, self.curves = data.runs, data.trials, data.curves
        self.hp_columns = data.hp_columns
        suite = data.suite
        if not isinstance(suite.get("name"), str) or not suite["name"]:
            raise InputError(f"{data.directory / 'manifest.json'} has no suite name (suite.name)")
        self.suite_name: str = suite["name"]


def _read_results(out_dir: Path) -> _Results:
    return _Results(load_results(out_dir, as_written=True))


# --------------------------------------------------------------------------- connecting


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, sort_keys=True)
    return str(value)


class _Logger:
    def __init__(self, client, uri: str, out_dir: Path, results: _Results):
        from mlflow.entities import Metric, Param, ViewType
        from mlflow.exceptions import MlflowException
        from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

        self.client, self.uri, self.out_dir, self.results = client, uri, out_dir, results
        self.Metric, self.Param = Metric, Param
        self.active_only, self.MlflowException = ViewType.ACTIVE_ONLY, MlflowException
        self.max_param_length = MAX_PARAM_VAL_LENGTH
        self.now = int(time.time() * 1000)
        self.trials_by_run: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for trial in results.trials.to_dict("records"):
            run_key = (trial["benchmark"], trial["strategy"], int(trial["seed"]))
            self.trials_by_run.setdefault(run_key, []).append(trial)
        self.curves_by_trial: dict[tuple[str, str, int, int], list[dict[str, Any]]] = {}
        for point in results.curves.to_dict("records"):
            trial_key = (point["benchmark"], point["strategy"], int(point["seed"]), int(point["trial"]))
            self.curves_by_trial.setdefault(trial_key, []).append(point)
        self.base_tags = {"tunebench.results_id": results.results_id,
                          "tunebench.results_dir": str(out_dir),
                          "tunebench.suite": results.suite_name}

    # -- helpers
    def _params(self, values: dict[str, Any]) -> list:
        params = []
        for key, value in values.items():
            text = _text(value)
            if text is not None:
                params.append(self.Param(key, text[: self.max_param_length]))
        return params

    def _metrics(self, values: dict[tuple[str, int], Any]) -> list:
        metrics = []
        for (key, step), value in values.items():
            number = _finite(value)
            if number is not None:
                metrics.append(self.Metric(key, number, self.now, int(step)))
        return metrics

    def _create(self, experiment_id: str, name: str, tags: dict[str, str]) -> str:
        run = self.client.create_run(experiment_id, tags={**self.base_tags, **tags}, run_name=name)
        return run.info.run_id

    # -- the experiment
    def _experiment(self) -> tuple[str, str]:
        """The suite's experiment (created if new) and what it says of these results."""
        name = self.results.suite_name
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage != "active":
                raise InputError(f"MLflow experiment {name!r} at {self.uri!r} is deleted: restore it, "
                                 "or delete it for good (`mlflow gc`), then log again")
            return experiment.experiment_id, experiment.tags.get(f"tunebench.results.{self.results.results_id}", "")
        location = None
        if urlparse(self.uri).scheme == "sqlite":
            db_path = sqlite_path(self.uri)
            if db_path is not None:
                location = (db_path.parent / "mlartifacts").as_uri()
        return self.client.create_experiment(name, artifact_location=location,
                                             tags={"tunebench.suite": name}), ""

    def _earlier(self, experiment_id: str) -> list:
        """Runs already logged from these results, all pages."""
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=f"tags.`tunebench.results_id` = '{self.results.results_id}'",
                run_view_type=self.active_only, max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    # -- the whole log
    def log(self) -> None:
        # The experiment remembers each results directory logged into it (tag
        # tunebench.results.<sha256 of manifest.json> = "started" or "finished:<suite run id>"),
        # so that logging again searches no runs, which a file store does by reading them all.
        experiment_id, state = self._experiment()
        marker = f"tunebench.results.{self.results.results_id}"
        if state.startswith("finished:"):
            suite_run = state.split(":", 1)[1]
            try:
                alive = self.client.get_run(suite_run).info.lifecycle_stage == "active"
            except self.MlflowException:
                alive = False
            if alive:
                self._log_artifacts(suite_run, only_missing=True)
                return
        if state:  # an attempt that did not finish, or whose suite run was deleted
            for run in self._earlier(experiment_id):
                self.client.delete_run(run.info.run_id)
        self.client.set_experiment_tag(experiment_id, marker, "started")
        suite_run = self._log_suite_run(experiment_id)
        for row in self.results.runs.to_dict("records"):
            self._log_run(experiment_id, suite_run, row)
        self._log_artifacts(suite_run, only_missing=False)
        self.client.set_terminated(suite_run, "FINISHED")
        self.client.set_experiment_tag(experiment_id, marker, f"finished:{suite_run}")

    def _log_suite_run(self, experiment_id: str) -> str:
        manifest = self.results.manifest
        suite = manifest["suite"]
        tags = {"tunebench.kind": "suite"}
        if suite.get("description"):
            tags["mlflow.note.content"] = str(suite["description"])
        if manifest.get("git_commit"):
            tags["mlflow.source.git.commit"] = str(manifest["git_commit"])
        run_id = self._create(experiment_id, f"{self.results.suite_name} (suite)", tags)
        params = {
            "suite": self.results.suite_name,
            "schema_version": manifest.get("schema_version"),
            "seeds": manifest.get("seeds", suite.get("seeds")),
            "strategies": suite.get("strategies"),
            "benchmarks": [b.get("name") for b in suite.get("benchmarks", []) if isinstance(b, dict)] or None,
            "git_commit": manifest.get("git_commit"),
            "started": manifest.get("started"),
            "finished": manifest.get("finished"),
        }
        params.update({f"version.{name}": version for name, version in (manifest.get("versions") or {}).items()})
        metrics = {("wall_seconds", 0): manifest.get("wall_seconds"),
                   ("runs", 0): len(self.results.runs), ("trials", 0): len(self.results.trials)}
        self.client.log_batch(run_id, metrics=self._metrics(metrics), params=self._params(params))
        return run_id

    def _log_run(self, experiment_id: str, suite_run: str, row: dict[str, Any]) -> None:
        results = self.results
        benchmark, strategy, seed = row["benchmark"], row["strategy"], int(row["seed"])
        key = (benchmark, strategy, seed)
        tags = {"tunebench.kind": "run", "tunebench.suite_run_id": suite_run,
                "tunebench.benchmark": benchmark, "tunebench.strategy": strategy,
                "tunebench.seed": str(seed), "tunebench.status": _text(row.get("status")) or ""}
        run_id = self._create(experiment_id, f"{benchmark} {strategy} seed {seed}", tags)
        trials = self._trials_of(key)
        params: dict[str, Any] = {"benchmark": benchmark, "strategy": strategy, "seed": seed}
        params.update({name: row.get(name) for name in RUN_PARAMS})
        settings = (results.manifest.get("strategies") or {}).get(benchmark, {}).get(strategy, {})
        params.update({f"strategy.{name}": value for name, value in settings.items()})
        best = _finite(row.get("best_trial"))
        incumbent = next((t for t in trials if best is not None and int(t["trial"]) == int(best)), None)
        if incumbent is not None:
            params.update({f"best_{column}": incumbent[column] for column in results.hp_columns})
        metrics: dict[tuple[str, int], Any] = {
            (name, 0): value for name, value in row.items()
            if name not in RUN_KEY and name not in RUN_TEXT and name not in ("max_seconds",)}
        incumbents = running_best(pd.DataFrame(trials)).tolist() if trials else []
        for trial, incumbent in zip(trials, incumbents):
            metrics[("trial_val_accuracy", int(trial["trial"]))] = _finite(trial["val_accuracy"])
            if _finite(incumbent) is not None:
                metrics[("incumbent_val_accuracy", int(trial["epochs_used"]))] = incumbent
        self.client.log_batch(run_id, metrics=self._metrics(metrics), params=self._params(params))
        for trial in trials:
            self._log_trial(experiment_id, run_id, key, trial)
        self.client.set_terminated(run_id, "FINISHED")

    def _trials_of(self, key: tuple[str, str, int]) -> list[dict[str, Any]]:
        return sorted(self.trials_by_run.get(key, []), key=lambda t: int(t["trial"]))

    def _log_trial(self, experiment_id: str, parent_run: str, key: tuple[str, str, int],
                   trial: dict[str, Any]) -> None:
        benchmark, strategy, seed = key
        number = int(trial["trial"])
        # Few tags: a file store writes one file per tag, param and metric.
        tags = {"mlflow.parentRunId": parent_run, "tunebench.kind": "trial",
                "tunebench.results_id": self.results.results_id}
        error = _text(trial.get(ERROR_COLUMN))
        if error is not None:  # why a failed trial failed
            tags["tunebench.error"] = error[:MAX_TAG_LENGTH]
        run_id = self.client.create_run(experiment_id, tags=tags, run_name=f"trial {number}").info.run_id
        params: dict[str, Any] = {"benchmark": benchmark, "strategy": strategy, "seed": seed}
        params.update({name: trial.get(name) for name in TRIAL_PARAMS})
        params["status"] = trial["status"]
        params.update({column: trial[column] for column in self.results.hp_columns})
        metrics: dict[tuple[str, int], Any] = {}
        for point in self.curves_by_trial.get(key + (number,), []):
            for name in CURVE_METRICS:
                if name in point:
                    metrics[(name, int(point["epoch"]))] = point[name]
        last_epoch = int(_finite(trial.get("epochs")) or 0)
        for name in TRIAL_METRICS:
            if name in trial and _finite(trial[name]) is not None:
                metrics[(name, last_epoch)] = trial[name]
        self.client.log_batch(run_id, metrics=self._metrics(metrics), params=self._params(params))
        self.client.set_terminated(run_id, "FINISHED" if trial["status"] == "ok" else "FAILED")

    def _log_artifacts(self, run_id: str, only_missing: bool) -> None:
        present: set[str] = set()
        if only_missing:
            present = {info.path for info in self.client.list_artifacts(run_id)}
            present |= {info.path for info in self.client.list_artifacts(run_id, "figures")}
        for name in ARTIFACT_FILES:
            path = self.out_dir / name
            if path.is_file() and name not in present:
                self.client.log_artifact(run_id, str(path))
        figures = self.out_dir / "figures"
        if figures.is_dir():
            for path in sorted(figures.glob("*.png")):
                if f"figures/{path.name}" not in present:
                    self.client.log_artifact(run_id, str(path), artifact_path="figures")
