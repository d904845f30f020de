"""Live benchmarks: real Keras training on real data.

Training is deterministic: the backend's deterministic ops are switched on
(:func:`tunebench.backend.enable_determinism`), and every evaluation starts by seeding
Python, NumPy and the backend with the trial's training seed, so the same configuration with
the same seed trains to the same weights on the same machine and backend.

A trial fails (:class:`~tunebench.benchmarks.base.TrialFailed`, with the epochs it completed)
when its training loss stops being finite (checked after every fused step, like
``keras.callbacks.TerminateOnNaN``; the epoch in which it happens does not count as
completed) or when building or training raises (running out of memory included).
"""

from __future__ import annotations

import math
import random
import time
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np

from tunebench.backend import enable_determinism
from tunebench.benchmarks.base import BenchmarkSpec, EpochRecord, Evaluation, TrialFailed
from tunebench.datasets import Splits
from tunebench.interrupts import raise_if_stopping
from tunebench.metrics import accuracy, confusion_matrix, cross_entropy, macro_f1
from tunebench.precision import FLOAT32, KERAS_POLICIES
from tunebench.seeding import continuation_seed
from tunebench.space import Config

#: Fused training steps per call into TensorFlow (measured: see docs/measurements.md).
STEPS_PER_EXECUTION = 32
#: Images per forward pass when measuring validation and test metrics.
_PREDICT_BATCH = 1024


def to_model_input(images: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """uint8 images to float32 in [0, 1], shaped ``(N, *input_shape)``."""
    return (images.astype(np.float32) / 255.0).reshape((len(images), *input_shape))


class LiveKerasBenchmark:
    """A :class:`~tunebench.benchmarks.base.Benchmark` that trains Keras models.

    Parameters
    ----------
    spec:
        The registry entry (model builder, space, defaults).
    splits:
        The data, already split and subsampled for this run's seed.
    options:
        Benchmark options (e.g. mnist-mlp's ``id``), validated by the spec's space.
    max_epochs:
        This run's full fidelity.
    batch_size:
        Training batch size.
    steps_per_execution:
        Passed to ``model.compile``.
    fidelity:
        ``full`` or what this run reduced (the suite plan's label).
    precision:
        ``float32`` or ``bfloat16`` (:mod:`tunebench.precision`; already resolved).

    Attributes
    ----------
    test_every_epoch:
        Measure the test set after every epoch (recordings keep per-epoch test numbers).
        Default ``False``: only after a trial's last epoch, the one a run reports; the other
        epochs' test columns in ``curves.csv`` are then empty. Validation is measured after
        every epoch either way.
    """

    test_every_epoch = False

    def __init__(self, spec: BenchmarkSpec, splits: Splits, options: dict[str, Any], max_epochs: int,
                 batch_size: int, steps_per_execution: int = STEPS_PER_EXECUTION, fidelity: str = "full",
                 precision: str = FLOAT32):
        self.spec = spec
        self.fidelity = fidelity
        self.precision = precision
        self.name = spec.name
        self.space = spec.make_space(options)
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.steps_per_execution = steps_per_execution
        self.class_names = splits.class_names
        #: What it trains on, for the manifest's data entry (the :class:`Benchmark` protocol).
        self.source = {"source": splits.source, "class_names": list(splits.class_names), "sizes": splits.sizes(),
                       **({"sha256": splits.digest} if splits.digest else {})}
        shape = spec.input_shape
        self._train = (to_model_input(splits.x_train, shape), np.asarray(splits.y_train, dtype=np.int64))
        self._val = (to_model_input(splits.x_val, shape), np.asarray(splits.y_val, dtype=np.int64))
        self._test = (to_model_input(splits.x_test, shape), np.asarray(splits.y_test, dtype=np.int64))

    @property
    def training_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The model-ready training inputs and labels."""
        return self._train

    @property
    def validation_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The model-ready validation inputs and labels (measured after every epoch)."""
        return self._val

    def build(self, config: Config):
        """The compiled model for ``config`` (a fresh one every call), its layers in this
        benchmark's precision (Keras's global dtype policy is restored afterwards)."""
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(KERAS_POLICIES[self.precision])
        try:
            return self.spec.build_model(config, self.steps_per_execution)
        finally:
            keras.mixed_precision.set_global_policy(previous)

    def evaluate(self, config: Config, epochs: int, seed: int, initial_epoch: int = 0,
                 warm_start: Any = None, keep_state: bool = False) -> Evaluation:
        """Train ``config`` from ``initial_epoch`` to ``epochs``; see ``Benchmark.evaluate``.

        Raises :class:`TrialFailed` (with the epochs completed) on a non-finite training loss
        or an error while building or training.
        """
        started = time.perf_counter()
        guard = _FiniteLossGuard()
        recorder = _EpochRecorder(self._val, self._test, len(self.class_names), guard,
                                  test_epochs=None if self.test_every_epoch else {epochs - 1})
        try:
            keras.backend.clear_session()
            enable_determinism()
            # A continuation draws fresh data orders and dropout masks for its epochs rather
            # than replaying the ones its parent drew for epoch 1 onwards.
            trial_seed = seed if initial_epoch == 0 else continuation_seed(seed, initial_epoch)
            keras.utils.set_random_seed(trial_seed)
            with _private_python_random(trial_seed):
                model = self.build(config)
                if warm_start is not None:
                    _restore(model, warm_start)
                model.fit(
                    *self._train, batch_size=self.batch_size, epochs=epochs, initial_epoch=initial_epoch,
                    shuffle=True, verbose=0, callbacks=[_StopWhenAsked(), guard, recorder],
                )
        except Exception as error:  # out of memory, a bad configuration, ...: the trial fails, the run goes on
            text = f"{type(error).__name__}: {error}"
            raise TrialFailed(text, curve=recorder.curve, seconds=time.perf_counter() - started,
                              epoch_confusions=recorder.confusions) from error
        if guard.problem is not None:
            raise TrialFailed(guard.problem, curve=recorder.curve, seconds=time.perf_counter() - started,
                              epoch_confusions=recorder.confusions)
        return Evaluation(curve=recorder.curve, test_confusion=recorder.confusions[-1],
                          seconds=time.perf_counter() - started, state=_snapshot(model) if keep_state else None,
                          epoch_confusions=recorder.confusions)


@contextmanager
def _private_python_random(seed: int):
    """Keras draws the seeds of initializers and dropout layers that were given none from
    Python's global ``random`` (``keras.src.random.seed_generator.make_default_seed``). Another
    thread drawing from it between the seeding and the draws (a Dask worker's event loop
    does) would change the model. Inside this block Keras draws from a private generator in
    the state ``random.seed(seed)`` gives, so the numbers are those of a lone process."""
    try:
        from keras.src.random import seed_generator
    except ImportError:  # another Keras layout: fall back to the global generator
        yield
        return
    saved = getattr(seed_generator, "python_random", None)
    if saved is None:
        yield
        return
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = saved


class _StopWhenAsked(keras.callbacks.Callback):
    """Raises :class:`~tunebench.interrupts.Stopped` after the batch in which the user asked
    to stop, even if Python swallowed the first ``KeyboardInterrupt`` inside a library."""

    def on_train_batch_end(self, batch, logs=None):
        raise_if_stopping()


class _FiniteLossGuard(keras.callbacks.Callback):
    """Stops training as soon as the training loss is not finite (``TerminateOnNaN``'s check,
    after every fused step), and says where in :attr:`problem`."""

    def __init__(self):
        super().__init__()
        self.problem: str | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _check(self, logs, where: str) -> None:
        loss = (logs or {}).get("loss")
        if self.problem is None and loss is not None and not math.isfinite(float(loss)):
            self.problem = f"non-finite training loss ({float(loss)}) {where} epoch {self._epoch + 1}"
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, "in")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, "at the end of")


class _EpochRecorder(keras.callbacks.Callback):
    """Measures validation metrics after every epoch and test metrics after the epochs in
    ``test_epochs`` (0-based; ``None``: every epoch); nothing after an epoch that ``guard``
    stopped (it was not completed). Unmeasured test numbers are NaN, their confusion ``None``."""

    def __init__(self, val, test, n_classes: int, guard: _FiniteLossGuard | None = None,
                 test_epochs: set[int] | None = None):
        super().__init__()
        self._val, self._test, self._n_classes = val, test, n_classes
        self._guard = guard
        self._test_epochs = test_epochs
        self.curve: list[EpochRecord] = []
        self.confusions: list[list[list[int]]] = []  # the test confusion matrix after each epoch
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.perf_counter()

    def _measure(self, model, data):
        x, y = data
        probabilities = predict_in_batches(model, x)
        confusion = confusion_matrix(y, probabilities.argmax(axis=1), self._n_classes)
        return probabilities, confusion

    def on_epoch_end(self, epoch, logs=None):
        if self._guard is not None and self._guard.problem is not None:
            return
        logs = logs or {}
        val_probabilities, val_confusion = self._measure(self.model, self._val)
        if self._test_epochs is None or epoch in self._test_epochs:
            test_confusion = self._measure(self.model, self._test)[1]
            test_accuracy, test_f1 = accuracy(test_confusion), macro_f1(test_confusion)
            self.confusions.append(test_confusion.tolist())
        else:
            test_accuracy = test_f1 = math.nan
            self.confusions.append(None)
        self.curve.append(EpochRecord(
            epoch=epoch + 1,
            loss=float(logs.get("loss", np.nan)),
            accuracy=float(logs.get("accuracy", np.nan)),
            val_loss=cross_entropy(val_probabilities, self._val[1]),
            val_accuracy=accuracy(val_confusion),
            val_f1=macro_f1(val_confusion),
            test_accuracy=test_accuracy,
            test_f1=test_f1,
            epoch_seconds=time.perf_counter() - self._epoch_started,
        ))


def predict_in_batches(model, x: np.ndarray, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
    """``model.predict(x, batch_size)``'s probabilities, through ``predict_on_batch``: the
    same forward passes on the same batches, without ``predict``'s per-call iterator, callbacks
    and multi-step function (traced anew for every model: 0.5 s of a 0.6 s first call on the
    MNIST validation set; see docs/measurements.md)."""
    return np.concatenate([np.asarray(model.predict_on_batch(x[start:start + batch_size]))
                           for start in range(0, len(x), batch_size)])


def _snapshot(model) -> dict[str, list[np.ndarray]]:
    return {
        "weights": model.get_weights(),
        "optimizer": [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables],
    }


def _restore(model, state: dict[str, list[np.ndarray]]) -> None:
    model.set_weights(state["weights"])
    model.optimizer.build(model.trainable_variables)
    for variable, value in zip(model.optimizer.variables, state["optimizer"], strict=True):
        variable.assign(value)
