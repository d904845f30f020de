"""The plain keras-tuner side of ``perf/seed003_versus_keras_tuner.py``: the seed-003 study as a
user writes it with keras-tuner alone (no tunebench import), run in a fresh process.

Usage (by the driver): ``python perf/seed003_plain_keras_tuner.py JOB.json``, where the job
names the split (an ``.npz``), the search space's unit ranges, the seeds, Hyperband's max
epochs, the batch size, keras-tuner's project folder and where to write the figures (JSON).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

FACTOR = 3
_DROPOUTS = (0.1, 0.4, 0.1)
_LEARNING_RATES = [1e-2, 1e-3, 1e-4]


def plain_keras_tuner(job: dict) -> dict:
    """The seed-003 study as a user writes it with keras-tuner alone; its figures.

    ``job``: ``data`` (an ``.npz`` with uint8 ``x_*`` and integer ``y_*`` for train, val,
    test), ``units`` (the four (low, high) unit ranges), ``seed`` (Keras's), ``oracle_seed``,
    ``max_epochs``, ``batch_size``, ``directory`` (keras-tuner's project folder).
    """
    started = time.perf_counter()
    tensorboard = _tensorboard_or_stub()
    import keras
    import keras_tuner as kt
    import numpy as np

    imported = time.perf_counter()
    with np.load(job["data"]) as data:
        x_train, y_train = data["x_train"].astype("float32") / 255.0, data["y_train"]
        x_val, y_val = data["x_val"].astype("float32") / 255.0, data["y_val"]
        x_test, y_test = data["x_test"].astype("float32") / 255.0, data["y_test"]
    loaded = time.perf_counter()
    keras.utils.set_random_seed(job["seed"])

    def build(hp):
        units = [hp.Int(f"units_{i}", low, high) for i, (low, high) in enumerate(job["units"], start=1)]
        dropouts = [hp.Float(f"dropout_{i}", _DROPOUTS[0], _DROPOUTS[1], step=_DROPOUTS[2]) for i in range(1, 5)]
        learning_rate = hp.Choice("learning_rate", _LEARNING_RATES)
        model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten()])
        for width, rate in zip(units, dropouts):
            model.add(keras.layers.Dense(width, activation="relu"))
            model.add(keras.layers.Dropout(rate))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = kt.Hyperband(build, objective="val_accuracy", max_epochs=job["max_epochs"], factor=FACTOR,
                         hyperband_iterations=1, seed=job["oracle_seed"], directory=job["directory"],
                         project_name="seed003")
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), batch_size=job["batch_size"], verbose=0)
    searched = time.perf_counter()
    best_model = tuner.get_best_models(num_models=1)[0]
    _, test_accuracy = best_model.evaluate(x_test, y_test, verbose=0)
    tested = time.perf_counter()

    trials = [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]
    best = tuner.oracle.get_best_trials(num_trials=1)[0]
    return {
        "trials": len(trials),
        "trials_not_completed": len(tuner.oracle.trials) - len(trials),
        "best_val_accuracy": float(best.score),
        "test_accuracy": float(test_accuracy),
        "configs": [{k: v for k, v in t.hyperparameters.values.items() if not k.startswith("tuner/")}
                    for t in trials],
        "epochs_trained": [int(t.hyperparameters.values.get("tuner/epochs", job["max_epochs"]))
                           - int(t.hyperparameters.values.get("tuner/initial_epoch", 0)) for t in trials],
        "tensorboard": tensorboard,
        "seconds": {"import": imported - started, "load": loaded - imported, "search": searched - loaded,
                    "best_and_test": tested - searched},
    }


def _tensorboard_or_stub() -> str:
    """keras-tuner's ``Tuner`` imports ``tensorboard.plugins.hparams.api`` before every trial on
    TensorFlow (it uses it only with a ``TensorBoard`` callback), and TensorFlow 2.21 no longer
    installs tensorboard. ``tox -e versus`` installs it, as a user would after the
    ``ModuleNotFoundError``; where it is missing, an empty stand-in module is imported instead
    (the search is the same; it saves plain keras-tuner tensorboard's import time)."""
    import importlib.util
    import types

    if importlib.util.find_spec("tensorboard") is not None:
        return "installed"
    names = ("tensorboard", "tensorboard.plugins", "tensorboard.plugins.hparams", "tensorboard.plugins.hparams.api")
    for parent, name in zip((None, *names), names):
        module = types.ModuleType(name)
        module.__path__ = []
        sys.modules[name] = module
        if parent is not None:
            setattr(sys.modules[parent], name.rsplit(".", 1)[1], module)
    return "stand-in (not installed)"


if __name__ == "__main__":
    job = json.loads(Path(sys.argv[1]).read_text())
    Path(job["result"]).write_text(json.dumps(plain_keras_tuner(job)))
