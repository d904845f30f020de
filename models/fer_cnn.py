"""fer-cnn: a small convolutional network for FER2013 emotion recognition.

Search space
------------
- ``conv_layers``: 1 to 3 convolutional blocks,
- ``filters_1`` .. ``filters_3``: 32 to 128 in steps of 32 for each block
  (``filters_2`` only with 2 or more blocks, ``filters_3`` only with 3),
- ``dense_units``: 64 to 512 in steps of 64,
- ``learning_rate``: 1e-5 to 1e-2, log-uniform (Adam).

Architecture
------------
Input 48x48x1 in [0, 1]. Each block is Conv2D(filters, 3x3, same padding) ->
BatchNormalization -> ReLU -> MaxPooling(2x2) -> Dropout(0.25), halving the map
(48 -> 24 -> 12 -> 6). With fewer than 3 blocks an extra max-pooling brings the map to
6x6, so the dense head always sees 6x6xfilters (at most 4,608 inputs) and a 1-block
network does not carry tens of millions of dense weights. Head: Flatten ->
Dense(dense_units, relu) -> Dropout(0.5) -> Dense(7, softmax).
"""

from __future__ import annotations

from tunebench.models.compile import compile_classifier
from tunebench.space import Config, Float, Int, SearchSpace

INPUT_SHAPE = (48, 48, 1)
N_CLASSES = 7
MAX_BLOCKS = 3


def search_space() -> SearchSpace:
    """The fer-cnn search space (the seeds' space)."""
    return SearchSpace([
        Int("conv_layers", low=1, high=MAX_BLOCKS),
        Int("filters_1", low=32, high=128, step=32, grid_size=2),
        Int("filters_2", low=32, high=128, step=32, grid_size=2, when=("conv_layers", (2, 3))),
        Int("filters_3", low=32, high=128, step=32, grid_size=2, when=("conv_layers", (3,))),
        Int("dense_units", low=64, high=512, step=64, grid_size=3),
        Float("learning_rate", low=1e-5, high=1e-2, log=True, grid_size=4),
    ])


#: The dropout rate after every convolutional block and before the output layer.
BLOCK_DROPOUT = 0.25
HEAD_DROPOUT = 0.5


def build_model(config: Config, steps_per_execution: int = 1, *, block_dropout: float = BLOCK_DROPOUT,
                pool_to_6x6: bool = True):
    """A compiled Keras CNN for ``config`` (a configuration of :func:`search_space`).

    ``block_dropout`` and ``pool_to_6x6`` (the extra max-pooling of networks with fewer than 3
    blocks) are the architecture's; they are arguments only so that
    ``studies/fer_architecture.py`` can measure what each costs a configuration's accuracy.
    """
    import keras

    blocks = config["conv_layers"]
    layers = [keras.Input(shape=INPUT_SHAPE)]
    for i in range(1, blocks + 1):
        layers += [
            keras.layers.Conv2D(config[f"filters_{i}"], 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
        ]
        if block_dropout:
            layers.append(keras.layers.Dropout(block_dropout))
    if blocks < MAX_BLOCKS and pool_to_6x6:
        layers.append(keras.layers.MaxPooling2D(2 ** (MAX_BLOCKS - blocks)))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(config["dense_units"], activation="relu"),
        keras.layers.Dropout(HEAD_DROPOUT),
        keras.layers.Dense(N_CLASSES, activation="softmax", dtype="float32"),
    ]
    model = keras.Sequential(layers, name="fer_cnn")
    return compile_classifier(model, config["learning_rate"], steps_per_execution)
