"""The one way every model here is compiled, so that models differ only in architecture."""

from __future__ import annotations


def compile_classifier(model, learning_rate: float, steps_per_execution: int = 1):
    """Compile ``model`` for integer-label classification and return it.

    Adam at ``learning_rate``, sparse categorical cross-entropy, an accuracy metric,
    ``steps_per_execution`` fused steps, and no XLA (``jit_compile=False``: slower than plain
    graph mode for these small models on a 2-core CPU, see DESIGN.md's traps).
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=False,
    )
    return model
