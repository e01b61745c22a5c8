"""Model builders on tiny synthetic data."""

import keras
import numpy as np
import pytest

import fer_helpers  # noqa: F401  (a saved model must load after importing the package alone)
from fer_helpers import config
from fer_helpers.modelling import models

X = np.random.default_rng(0).random((8, 48, 48, 1), dtype=np.float32)


@pytest.mark.parametrize(
    "build",
    [
        models.baseline_std_model,
        lambda x: models.attention_unet(x, widths=(4, 8, 16, 32), convs=(1, 1, 1, 1)),
        lambda x: models.vgg_cnn(x, widths=(4, 8, 8, 16), convs=(1, 1, 2, 1)),
    ],
)
def test_classifiers_are_functional_with_named_layers(build):
    model = build(X)
    assert not isinstance(model, keras.Sequential)
    assert model.output_shape == (None, len(config.CLASSES))
    assert {"last_conv", "probabilities", "standardise"} <= {layer.name for layer in model.layers}
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(axis=1), 1, rtol=1e-5)


def test_standardisation_uses_train_statistics():
    layer = models.standardise(X)
    out = keras.ops.convert_to_numpy(layer(X))
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-3


def test_attention_gate_output_is_skip_times_map_in_unit_interval():
    skip, gating = keras.Input((8, 8, 4)), keras.Input((4, 4, 8))
    gated = models.attention_gate(skip, gating, 2, "gate")
    attention_map = keras.Model([skip, gating], [gated, gated._keras_history.operation.input[1]])
    s, g = np.ones((1, 8, 8, 4), "float32"), np.random.default_rng(1).random((1, 4, 4, 8), dtype=np.float32)
    out, weights = attention_map.predict([s, g], verbose=0)
    assert weights.min() >= 0 and weights.max() <= 1
    np.testing.assert_allclose(out, s * weights, rtol=1e-6)


def test_vision_transformer_is_functional_and_small():
    model = models.vision_transformer(X, dim=16, depth=1, heads=2, mlp=16)
    assert model.output_shape == (None, len(config.CLASSES)) and "last_conv" in {layer.name for layer in model.layers}
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(axis=1), 1, rtol=1e-5)


def test_window_is_a_random_crop_in_training_and_the_centre_at_inference(tmp_path):
    x = np.arange(2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48, 1)
    window = models.Window(40, seed=1)
    np.testing.assert_array_equal(window(x), x[:, 4:44, 4:44])
    crops = [keras.ops.convert_to_numpy(window(x, training=True)) for _ in range(8)]
    corners = {(int(c[0, 0, 0, 0]) // 48, int(c[0, 0, 0, 0]) % 48) for c in crops}
    assert all(c.shape == (2, 40, 40, 1) for c in crops) and len(corners) > 1
    assert all(0 <= dy <= 8 and 0 <= dx <= 8 for dy, dx in corners)
    model = models.vgg_cnn(x, widths=(4, 4, 4, 4), convs=(1, 1, 1, 1), window=40)
    assert models.margin(model) == 4 and model.input_shape == (None, 48, 48, 1)
    model.save(tmp_path / "windowed.keras")
    loaded = keras.saving.load_model(tmp_path / "windowed.keras", compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_the_vgg_levers_change_the_first_stage_and_the_batch_norms_only():
    plain = models.vgg_cnn(X, widths=(4, 8, 8, 16), convs=(1, 1, 1, 1))
    strided = models.vgg_cnn(X, widths=(4, 8, 8, 16), convs=(1, 1, 1, 1), strided_stem=True)
    assert plain.get_layer("stage1_1_conv").output.shape[1:3] == (48, 48)
    assert strided.get_layer("stage1_1_conv").output.shape[1:3] == (24, 24)  # stride 2 in place of the pool
    assert "stage1_pool" not in {layer.name for layer in strided.layers}
    assert strided.get_layer("last_conv").output.shape[1:3] == plain.get_layer("last_conv").output.shape[1:3]
    unscaled = models.vgg_cnn(X, widths=(4, 8, 8, 16), convs=(1, 1, 1, 1), bn_scale=False)
    assert plain.count_params() - unscaled.count_params() == 4 + 8 + 8 + 16  # one gamma per channel fewer
    assert not unscaled.get_layer("stage1_1_bn").scale and plain.get_layer("stage1_1_bn").scale
