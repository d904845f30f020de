"""The one way every model here is compiled, so that models differ only in architecture."""

from __future__ import annotations

from tunebench.backend import compiles_with_xla


def compile_classifier(model, learning_rate: float, steps_per_execution: int = 1):
    """Compile ``model`` for integer-label classification and return it.

    Adam at ``learning_rate``, sparse categorical cross-entropy, an accuracy metric and
    ``steps_per_execution`` fused steps. XLA (``jit_compile``) is on for JAX only. JAX's
    compiled path is its only fast one: without it, Keras runs every training step op by op
    (on an H200, a 100-step fer-cnn epoch took 11.5 s through the harness, against 0.14 s for
    a compiled ``fit`` of a similar two-block CNN; on CPU 1.8x; README, "Benchmarks"). On
    TensorFlow it is off: Keras turns XLA off anyway while
    TensorFlow op determinism is on (``keras.src.trainers.trainer.model_supports_jit``), and
    saying so keeps the compiled model what it claims to be.
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=compiles_with_xla(),
    )
    return model
