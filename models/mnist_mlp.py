"""mnist-mlp: a 4-hidden-layer perceptron whose unit ranges come from an ID.

Search space
------------
- ``units_1`` .. ``units_4``: integers in ranges derived from an 8-digit ID (below),
- ``dropout_1`` .. ``dropout_4``: 0.1 to 0.4 in steps of 0.1 after each hidden layer,
- ``learning_rate``: one of 1e-2, 1e-3, 1e-4 (Adam).

The ID rule
-----------
The ID's four digit pairs are the layers' centres ``c_i`` (57935022 gives 57, 93, 50, 22).
Layer ``i`` spans ``[round(c_i * L_i / C_i), round(c_i * H_i / C_i)]`` where ``C, L, H``
are the default ID's centres and ranges: (57, 40, 80), (93, 70, 120), (50, 35, 65),
(22, 15, 30). The default ID therefore gives back 40-80, 70-120, 35-65, 15-30, and any
other ID gets ranges of the same relative width around its own centres. A layer has at
least one unit.
"""

from __future__ import annotations

from tunebench.errors import SuiteError
from tunebench.models.compile import compile_classifier
from tunebench.space import Choice, Config, Float, Int, SearchSpace

DEFAULT_ID = "57935022"
_DEFAULT_RANGES = ((57, 40, 80), (93, 70, 120), (50, 35, 65), (22, 15, 30))
INPUT_SHAPE = (28, 28)
N_CLASSES = 10


def unit_ranges(student_id: str = DEFAULT_ID) -> list[tuple[int, int]]:
    """The four (low, high) unit ranges for ``student_id`` (8 digits), by the rule above.

    Raises
    ------
    SuiteError
        If ``student_id`` is not exactly 8 digits.
    """
    text = str(student_id)
    if not (len(text) == 8 and text.isascii() and text.isdigit()):  # "²" is a digit to str.isdigit
        raise SuiteError(f"mnist-mlp option id={student_id!r}: expected exactly 8 digits, e.g. {DEFAULT_ID}")
    ranges = []
    for i, (centre0, low0, high0) in enumerate(_DEFAULT_RANGES):
        centre = int(text[2 * i: 2 * i + 2])
        low = max(1, round(centre * low0 / centre0))
        high = max(low, round(centre * high0 / centre0))
        ranges.append((low, high))
    return ranges


def search_space(student_id: str = DEFAULT_ID) -> SearchSpace:
    """The mnist-mlp search space for ``student_id``."""
    params = []
    for i, (low, high) in enumerate(unit_ranges(student_id), start=1):
        params.append(Int(f"units_{i}", low=low, high=high))
    for i in range(1, 5):
        params.append(Float(f"dropout_{i}", low=0.1, high=0.4, step=0.1, grid_size=2))
    params.append(Choice("learning_rate", choices=(1e-2, 1e-3, 1e-4)))
    return SearchSpace(params)


def build_model(config: Config, steps_per_execution: int = 1):
    """A compiled Keras MLP for ``config`` (a configuration of :func:`search_space`).

    Input: (28, 28) floats in [0, 1]; output: 10 softmax probabilities. Each hidden layer
    is Dense(units, relu) followed by Dropout(dropout). Adam, sparse categorical
    cross-entropy, accuracy metric; no XLA (slower on small CPUs, see the README).
    """
    import keras

    layers = [keras.Input(shape=INPUT_SHAPE), keras.layers.Flatten()]
    for i in range(1, 5):
        layers.append(keras.layers.Dense(config[f"units_{i}"], activation="relu"))
        layers.append(keras.layers.Dropout(config[f"dropout_{i}"]))
    layers.append(keras.layers.Dense(N_CLASSES, activation="softmax", dtype="float32"))
    model = keras.Sequential(layers, name="mnist_mlp")
    return compile_classifier(model, config["learning_rate"], steps_per_execution)
