"""The one way every model here is compiled, so that models differ only in architecture."""

from __future__ import annotations


def compile_classifier(model, learning_rate: float, steps_per_execution: int = 1):
    """Compile ``model`` for integer-label classification and return it.

    Adam at ``learning_rate``, sparse categorical cross-entropy, an accuracy metric,
    ``steps_per_execution`` fused steps, and no XLA: Keras turns XLA off anyway while
    TensorFlow op determinism is on (``keras.src.trainers.trainer.model_supports_jit``), and
    saying so keeps the compiled model what it claims to be.
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
