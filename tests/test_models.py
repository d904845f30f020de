import numpy as np
import pytest

from tunebench.errors import SuiteError
from tunebench.models import fer_cnn, mnist_mlp


def test_default_id_gives_the_seed_ranges():
    assert mnist_mlp.unit_ranges() == [(40, 80), (70, 120), (35, 65), (15, 30)]


def test_other_id_scales_ranges_around_its_own_centres():
    ranges = mnist_mlp.unit_ranges("11223344")
    centres = [11, 22, 33, 44]
    for (low, high), centre in zip(ranges, centres):
        assert low <= centre <= high
    assert ranges[0] == (round(11 * 40 / 57), round(11 * 80 / 57))
    assert mnist_mlp.unit_ranges("00000000") == [(1, 1)] * 4


@pytest.mark.parametrize("bad", ["1234567", "123456789", "5793502x", ""])
def test_bad_id_is_an_input_error(bad):
    with pytest.raises(SuiteError, match="8 digits"):
        mnist_mlp.unit_ranges(bad)


def test_mnist_mlp_has_four_hidden_layers_of_the_configured_width():
    config = {"units_1": 50, "units_2": 90, "units_3": 40, "units_4": 20, "dropout_1": 0.1, "dropout_2": 0.2,
              "dropout_3": 0.3, "dropout_4": 0.4, "learning_rate": 1e-3}
    model = mnist_mlp.build_model(config)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense] == [50, 90, 40, 20, 10]
    assert model.predict(np.zeros((2, 28, 28), np.float32), verbose=0).shape == (2, 10)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_fer_cnn_head_always_sees_a_6x6_map(blocks):
    config = {"conv_layers": blocks, "filters_1": 32, "dense_units": 64, "learning_rate": 1e-3}
    config.update({f"filters_{i}": 64 for i in range(2, blocks + 1)})
    model = fer_cnn.build_model(config)
    flatten = next(layer for layer in model.layers if layer.__class__.__name__ == "Flatten")
    last_filters = config[f"filters_{blocks}"]
    assert flatten.output.shape[1] == 6 * 6 * last_filters
    assert model.predict(np.zeros((1, 48, 48, 1), np.float32), verbose=0).shape == (1, 7)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert len(convs) == blocks


def test_fer_cnn_architecture_arguments_drop_the_block_dropout_and_the_extra_pooling():
    """By default every block ends in Dropout(0.25) and the head 0.5; block_dropout=0 leaves
    only the head's, pool_to_6x6=False lets a 2-block head see 12x12 (studies/fer_architecture.py)."""
    config = {"conv_layers": 2, "filters_1": 32, "filters_2": 16, "dense_units": 64, "learning_rate": 1e-3}

    def rates(model):
        return [layer.rate for layer in model.layers if layer.__class__.__name__ == "Dropout"]

    def flattened(model):
        return next(layer for layer in model.layers if layer.__class__.__name__ == "Flatten").output.shape[1]

    assert rates(fer_cnn.build_model(config)) == [fer_cnn.BLOCK_DROPOUT] * 2 + [fer_cnn.HEAD_DROPOUT]
    assert rates(fer_cnn.build_model(config, block_dropout=0.0)) == [fer_cnn.HEAD_DROPOUT]
    assert flattened(fer_cnn.build_model(config)) == 6 * 6 * 16
    assert flattened(fer_cnn.build_model(config, pool_to_6x6=False)) == 12 * 12 * 16


def test_predict_in_batches_is_bit_identical_to_model_predict():
    """The harness's validation and test measurement gives exactly what model.predict gives."""
    from tunebench.benchmarks.live import predict_in_batches

    config = {"conv_layers": 1, "filters_1": 4, "dense_units": 8, "learning_rate": 1e-3}
    model = fer_cnn.build_model(config)
    x = np.random.default_rng(0).random((23, 48, 48, 1), dtype=np.float32)
    expected = model.predict(x, batch_size=10, verbose=0)
    got = predict_in_batches(model, x, batch_size=10)  # two full batches and a partial one
    assert got.shape == (23, 7)
    np.testing.assert_array_equal(got, expected)
