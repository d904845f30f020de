"""How much validation accuracy do fer-cnn's dropout and extra pooling cost one configuration?

Latest result (10 epochs, one seed each; 2-core AVX-512 EPYC, niced beside other work;
2026-12-08): Keras Tuner's plain network (``plain``) reached 0.486 on the seed's best
configuration (1 block of 64, dense 384; 0.387 as fer-cnn's network is, ``project``), 0.481
on the recording's best 2-block configuration (recorded 0.467 in fer-cnn's network) and 0.526
on its best 3-block one (recorded 0.490); no recorded 1-block configuration of fer-cnn's
network ends above 0.433.

Earlier result (10 epochs, one seed each; 2-core AVX2 EPYC; 2026-12-04): without the blocks'
dropout config 40 reached 0.517 against 0.479 as it is (config 24: 0.516, 44: 0.512, 48:
0.481), with the cosine as well 0.510 (config 24: 0.516); for 20 epochs without the blocks'
dropout config 40 reached its best 0.542 at 17 and 0.535 at 20. The issue's mid-size
configuration at 6 epochs (2-core AVX-512 EPYC, beside the recorder; 2026-12-03): 0.364 as it
is, 0.439 without the blocks' dropout, 0.326 without the extra max-pooling, 0.343 without both;
the reference figure of 0.51 was not reproduced.

What fer-cnn's regularisation costs one configuration's accuracy at a few epochs.

The issue that asked for the full-data FER recording quotes a plain ``model.fit`` of "a
mid-size configuration of our space" (2 blocks of 64 filters, dense 256, batch 64, Adam
1e-3) at 0.51 validation accuracy after 6 epochs, while no recorded configuration reaches
0.49 at 10. This trains that configuration (or ``--configs``) as a plain ``model.fit`` with
``validation_data`` on the full data, through the project's loaders and
``models/fer_cnn.build_model``, in variants of the architecture:

- ``project``: the network as it is (dropout 0.25 after every block, 0.5 before the output
  layer, an extra max-pooling that brings a 1- or 2-block network's map to 6x6);
- ``no-block-dropout``: without the blocks' dropout;
- ``no-extra-pool``: without the extra max-pooling (a 2-block network's head sees 12x12);
- ``neither``: without both;
- ``cosine``, ``no-block-dropout+cosine``: the learning rate decays from the configuration's
  to zero along a cosine over the run's epochs (``keras.optimizers.schedules.CosineDecay``),
  so the last epochs are annealed instead of taken at full step size;
- ``plain``: not fer-cnn's network but the plain one of Keras Tuner's examples, which the
  seed's search names only by its layers, filters, units and learning rate: per block
  Conv2D(filters, 3x3, ReLU, same padding) -> MaxPooling(2x2), then Flatten ->
  Dense(units, ReLU) -> Dropout(0.5) -> Dense(7, softmax); no BatchNorm, no block dropout,
  no extra pooling.

``--configs`` names the configurations to train, each a name of ``NAMED_CONFIGS`` or a
configuration as JSON: ``seed-best`` is the best configuration the seed's own search found
(one block of 64 filters, dense 384, Adam 8.6e-4; validation 0.5748 there), ``recorded-best-2``
and ``recorded-best-3`` the best 2- and 3-block configurations of the committed full-data
recording (two-draw means 0.467 and 0.490 at 10 epochs). ``--json FILE`` appends a line per
run (configuration, variant, seed, per-epoch accuracies, seconds).

Prints each variant's validation and training accuracy per epoch and its seconds. One seed
per variant by default (``--seeds``): the training seed moves a 6-epoch validation accuracy
by a few hundredths on this data, so read differences of 0.05 and more.

Usage: ``python -m studies.fer_architecture --data-dir ../shared/datasets [--epochs 6]
[--variants project,neither] [--seeds 0] [--configs issue,seed-best] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from tunebench.benchmarks import get_benchmark_spec  # noqa: E402
from tunebench.datasets import resolve_data_dir  # noqa: E402
from tunebench.models.compile import compile_classifier  # noqa: E402
from tunebench.models.fer_cnn import HEAD_DROPOUT, INPUT_SHAPE, N_CLASSES, build_model  # noqa: E402
from tunebench.from_plan import load_run_data, make_benchmark  # noqa: E402
from tunebench.suite import parse_suite  # noqa: E402

#: The issue's configuration.
ISSUE_CONFIG = {"conv_layers": 2, "filters_1": 64, "filters_2": 64, "dense_units": 256, "learning_rate": 1e-3}
#: Configurations by name (``--configs``): the issue's, the seed's best, the recording's best
#: 2- and 3-block configurations (config 11 and config 20 of results/recordings/fer-cnn).
NAMED_CONFIGS = {
    "issue": ISSUE_CONFIG,
    "seed-best": {"conv_layers": 1, "filters_1": 64, "dense_units": 384, "learning_rate": 8.6e-4},
    "recorded-best-2": {"conv_layers": 2, "filters_1": 64, "filters_2": 96, "dense_units": 320,
                        "learning_rate": 8.10659e-05},
    "recorded-best-3": {"conv_layers": 3, "filters_1": 96, "filters_2": 128, "filters_3": 96, "dense_units": 128,
                        "learning_rate": 0.000192875},
}
#: Variant name -> build_model's architecture arguments, and ``cosine``: the learning-rate
#: schedule that this script compiles the built model with instead.
VARIANTS = {
    "project": {},
    "no-block-dropout": {"block_dropout": 0.0},
    "no-extra-pool": {"pool_to_6x6": False},
    "neither": {"block_dropout": 0.0, "pool_to_6x6": False},
    "cosine": {"cosine": True},
    "no-block-dropout+cosine": {"block_dropout": 0.0, "cosine": True},
    "plain": {"plain": True},
}
BATCH_SIZE = 64


def build_plain(config):
    """The plain network of Keras Tuner's examples for ``config`` (see the module's docstring),
    compiled as fer-cnn is (``compile_classifier``: Adam at the configuration's rate)."""
    layers = [keras.Input(shape=INPUT_SHAPE)]
    for i in range(1, config["conv_layers"] + 1):
        layers += [keras.layers.Conv2D(config[f"filters_{i}"], 3, padding="same", activation="relu"),
                   keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(config["dense_units"], activation="relu"),
               keras.layers.Dropout(HEAD_DROPOUT), keras.layers.Dense(N_CLASSES, activation="softmax")]
    return compile_classifier(keras.Sequential(layers, name="plain_cnn"), config["learning_rate"])


def build_variant(config, variant: dict, epochs: int, n_train: int):
    """``build_model(config)`` with ``variant``'s architecture arguments; where the variant says
    ``cosine``, compiled again through ``compile_classifier`` with a learning rate that decays
    from the configuration's to zero along a cosine over ``epochs`` of ``n_train`` faces;
    where it says ``plain``, :func:`build_plain` instead."""
    options = dict(variant)
    if options.pop("plain", False):
        return build_plain(config)
    cosine = options.pop("cosine", False)
    model = build_model(config, **options)
    if cosine:
        steps = epochs * math.ceil(n_train / BATCH_SIZE)
        compile_classifier(model, keras.optimizers.schedules.CosineDecay(config["learning_rate"], decay_steps=steps))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds")
    parser.add_argument("--configs", default="issue",
                        help=f"comma-separated, each of {', '.join(NAMED_CONFIGS)} or a fer-cnn configuration as JSON "
                             "(one JSON configuration alone)")
    parser.add_argument("--json", help="append a JSON line per run to this file")
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)} (expected some of {', '.join(VARIANTS)})")

    plan = parse_suite({"name": "architecture", "seeds": [0], "strategies": ["random"],
                        "benchmarks": {"fer-cnn": {"trials": 1, "max_epochs": args.epochs}}},
                       source="(studies/fer_architecture.py)").benchmarks[0]
    spec = get_benchmark_spec("fer-cnn")
    texts = [args.configs] if args.configs.lstrip().startswith("{") else args.configs.split(",")
    configs = {}
    for text in texts:
        try:
            raw = NAMED_CONFIGS[text] if text in NAMED_CONFIGS else json.loads(text)
            configs[text if text in NAMED_CONFIGS else "custom"] = spec.make_space({}).validate(raw)
        except (ValueError, TypeError) as error:
            parser.error(f"--configs: {text!r}: {error} (expected one of {', '.join(NAMED_CONFIGS)} or JSON)")
    benchmark = make_benchmark(spec, load_run_data(plan, resolve_data_dir(args.data_dir), 0), plan)
    (x, y), validation = benchmark.training_arrays, benchmark.validation_arrays
    print(f"batch {BATCH_SIZE}, {args.epochs} epochs, {len(y)} training and {len(validation[1])} validation faces",
          flush=True)
    for seed in (int(text) for text in args.seeds.split(",")):
        for name in variants:
            for label, config in configs.items():
                keras.backend.clear_session()
                keras.utils.set_random_seed(seed)
                model = build_variant(config, VARIANTS[name], args.epochs, len(y))
                started = time.perf_counter()
                history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=args.epochs, validation_data=validation,
                                    verbose=0, shuffle=True).history
                seconds = time.perf_counter() - started
                print(f"{label} {config}\n{name:>16} seed {seed}: validation "
                      f"{' '.join(f'{v:.3f}' for v in history['val_accuracy'])}; "
                      f"training {' '.join(f'{v:.3f}' for v in history['accuracy'])}; {seconds:.0f} s", flush=True)
                if args.json:
                    with open(args.json, "a") as out:
                        out.write(json.dumps({"config_name": label, "config": config, "variant": name, "seed": seed,
                                              "epochs": args.epochs, "val_accuracy": history["val_accuracy"],
                                              "accuracy": history["accuracy"], "seconds": round(seconds, 1)}) + "\n")


if __name__ == "__main__":
    main()
