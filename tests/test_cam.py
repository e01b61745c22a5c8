"""fer_helpers.analysis.cam on tiny Functional models built here (no data, no training)."""

import keras
import numpy as np
import pytest
from keras import layers

from fer_helpers import config
from fer_helpers.analysis import cam, regions
from fer_helpers.modelling import models

N_CLASSES = len(config.CLASSES)


class RowWindow(layers.Layer):
    """Zeroes every row outside [start, stop): a model with this first sees only that band of the face."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop

    def call(self, x):
        rows = keras.ops.arange(x.shape[1])
        inside = keras.ops.cast((rows >= self.start) & (rows < self.stop), x.dtype)
        return x * inside[None, :, None, None]

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


def tiny_model(seed=0, window=None, pool=1, name="tiny"):
    """image -> [RowWindow] -> [MaxPool] -> 3x3 conv "last_conv" -> ReLU "last_relu" -> GAP -> Dense "probabilities"."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1), name="image")
    x = inputs
    if window is not None:
        x = RowWindow(*window, name="look_here")(x)
    if pool > 1:
        x = layers.MaxPooling2D(pool, name="pool")(x)
    x = layers.Conv2D(4, 3, padding="same", name="last_conv")(x)
    x = layers.Activation("relu", name="last_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((5, 48, 48, 1), dtype=np.float32)


@pytest.mark.parametrize("method", cam.METHODS)
def test_cams_have_image_shape_and_unit_range(model, images, method):
    cams = cam.Explainer(model).cam(images, [0, 1, 2, 3, 4], method)
    assert cams.shape == (5, 48, 48)
    assert cams.dtype == np.float32
    assert cams.min() >= 0 and cams.max() <= 1 + 1e-6
    nonzero = cams.reshape(5, -1).max(axis=1) > 0
    assert nonzero.any()
    np.testing.assert_allclose(cams.reshape(5, -1).max(axis=1)[nonzero], 1.0, rtol=1e-6)


def test_gradcam_at_last_relu_is_the_class_activation_map(model, images):
    """With a GAP -> Dense head, Grad-CAM at the ReLU output equals ReLU(sum_k w_k^c A^k) (Zhou et al. 2016):
    checks the target layer (not walked back to the conv) and the logit score."""
    c = 3
    features = keras.Model(model.inputs, model.get_layer("last_relu").output)(images).numpy()
    weights = model.get_layer("probabilities").get_weights()[0][:, c]
    expected = cam.scale_maps(np.maximum(features @ weights, 0))
    np.testing.assert_allclose(cam.Explainer(model).cam(images, c, "gradcam"), expected, atol=1e-5)


def test_coarse_layers_are_upsampled_to_48_with_aligned_pixel_centres(images):
    """A 12x12 layer: the CAM is its class activation map upsampled bilinearly (OpenCV), not a 12x12 map."""
    coarse = tiny_model(pool=4)
    explainer = cam.Explainer(coarse)
    assert explainer.source_size == (12, 12)
    features = keras.Model(coarse.inputs, coarse.get_layer("last_relu").output)(images).numpy()
    small = np.maximum(features @ coarse.get_layer("probabilities").get_weights()[0][:, 2], 0)
    maps = explainer.cam(images, 2)
    assert maps.shape == (5, 48, 48)
    np.testing.assert_allclose(maps, cam.scale_maps(cam.upsample(small)), atol=1e-5)
    # a constant 12x12 map stays constant; a single lit cell stays centred on its 4x4 block
    assert np.allclose(cam.upsample(np.ones((1, 12, 12))), 1)
    cell = np.zeros((1, 12, 12), np.float32)
    cell[0, 4, 4] = 1
    up = cam.upsample(cell)[0]
    rows, cols = np.mgrid[:48, :48]
    centre = ((rows * up).sum() / up.sum(), (cols * up).sum() / up.sum())
    assert centre == pytest.approx((17.5, 17.5))  # the centre of pixels 16-19, the cell's 4x4 block
    assert cam.Explainer(model=tiny_model()).source_size == (48, 48)


def test_a_windowed_model_gets_maps_over_its_window_and_none_outside(images):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1), name="image")
    x = models.Window(40, name="window")(inputs)
    x = layers.Activation("relu", name="last_relu")(layers.Conv2D(4, 3, padding="same", name="last_conv")(x))
    outputs = layers.Dense(7, activation="softmax", name="probabilities")(layers.GlobalAveragePooling2D()(x))
    maps = cam.Explainer(keras.Model(inputs, outputs)).cam(images, 0)
    assert maps.shape == (5, 48, 48) and maps[:, 4:44, 4:44].max() > 0
    assert not maps[:, :4].any() and not maps[:, 44:].any() and not maps[:, :, :4].any() and not maps[:, :, 44:].any()


def test_unknown_layer_and_method_are_rejected(model, images):
    with pytest.raises(ValueError, match="no layer 'nope'"):
        cam.Explainer(model, layer="nope")
    with pytest.raises(ValueError, match="not feature maps"):
        cam.Explainer(model, layer="probabilities")
    with pytest.raises(ValueError, match="unknown method"):
        cam.Explainer(model).cam(images, 0, "lime")


def test_empty_input_gives_empty_maps(model):
    empty = np.zeros((0, 48, 48, 1), np.float32)
    assert cam.Explainer(model).cam(empty, []).shape == (0, 48, 48)


def test_sequential_models_are_wrapped_with_the_same_maps(model, images):
    sequential = keras.Sequential(
        [keras.Input((48, 48, 1))] + [layer.__class__.from_config(layer.get_config()) for layer in model.layers[1:]]
    )
    sequential.set_weights(model.get_weights())
    assert not isinstance(cam.functional(sequential), keras.Sequential)
    np.testing.assert_allclose(cam.Explainer(sequential).cam(images, 2), cam.Explainer(model).cam(images, 2), atol=1e-6)


def test_sequential_without_input_is_rejected_with_advice():
    with pytest.raises(ValueError, match="keras.Input"):
        cam.functional(keras.Sequential([layers.Conv2D(4, 3)]))


def test_smoothgrad_shape_range_and_seed(model, images):
    explainer = cam.Explainer(model)
    maps = explainer.smoothgrad(images[:3], 1, samples=4)
    assert maps.shape == (3, 48, 48)
    assert maps.min() >= 0 and np.allclose(maps.reshape(3, -1).max(axis=1), 1)
    np.testing.assert_allclose(explainer.smoothgrad(images[:3], 1, samples=4), maps)


def test_a_model_that_sees_only_the_eyes_gets_its_cam_mass_there(images):
    model = tiny_model(window=regions.BANDS["eyes"])
    conv, dense = model.get_layer("last_conv"), model.get_layer("probabilities")
    conv.set_weights([np.full((3, 3, 1, 4), 0.1, np.float32), np.zeros(4, np.float32)])
    dense.set_weights([np.abs(dense.get_weights()[0]) + 0.1, np.zeros(N_CLASSES, np.float32)])
    shares = regions.band_shares(cam.Explainer(model).cam(images, 0))
    assert (shares[:, 0] > 0.9).all(), shares  # eyes
    plain = regions.band_shares(cam.Explainer(tiny_model()).cam(images, 0))
    assert np.nanmean(plain[:, 0]) < 0.5


def test_randomisation_check_uses_a_seeded_subset(model, images):
    random = cam.randomised(model)
    kernel = model.get_layer("last_conv").get_weights()[0]
    assert not np.allclose(random.get_layer("last_conv").get_weights()[0], kernel)
    check = cam.randomisation_check(model, images, 1, n_images=3)
    assert check["n"] == 3 and len(check["indices"]) == 3 and (np.diff(check["indices"]) > 0).all()
    np.testing.assert_array_equal(check["indices"], cam.randomisation_check(model, images, 1, n_images=3)["indices"])
    assert check["random_maps"].shape == (3, 48, 48)
    assert check["spearman_mean"] is None or -1 <= check["spearman_mean"] <= 1
    whole = cam.randomisation_check(model, images, 1, trained_maps=cam.Explainer(model).cam(images, 1))
    assert whole["n"] == len(images)  # fewer images than n_images: all of them
    same = regions.rank_correlations(cam.Explainer(model).cam(images, 1), cam.Explainer(model).cam(images, 1))
    assert np.nanmin(same) == pytest.approx(1.0)  # a model against itself: the check measures what it should


def test_activation_maximization_gives_one_image_per_class_in_range(model):
    dreams = cam.activation_maximization(model, steps=3)
    assert dreams.shape == (N_CLASSES, 48, 48)
    assert dreams.min() >= 0 and dreams.max() <= 1


def test_am_summary_compares_with_mean_faces(model):
    means = np.random.default_rng(3).random((N_CLASSES, 48, 48))
    table = cam.am_summary(model, means.astype(np.float32), dict(zip(config.CLASSES, means, strict=False)))
    assert list(table.index) == list(config.CLASSES)
    np.testing.assert_allclose(table["face correlation"], 1.0, atol=1e-6)
    assert list(table["most similar mean face"]) == list(config.CLASSES)
    assert table["probability"].between(0, 1).all()
    with pytest.raises(ValueError, match="no mean face of disgust"):
        cam.am_summary(model, means.astype(np.float32), {"angry": means[0], "happy": means[3]})


def test_randomisation_checks_cover_both_methods_and_reuse_the_trained_gradcams(model, images):
    explainer = cam.Explainer(model)
    flat = np.zeros((len(images), 48, 48), np.float32)  # trained "GradCAMs" without a rank: the check must say so
    checks = cam.randomisation_checks({"tiny": (explainer, flat)}, images, 1)
    assert list(checks) == [("tiny", "GradCAM"), ("tiny", "SmoothGrad")]
    assert [check["method"] for check in checks.values()] == ["gradcam", "smoothgrad"]
    assert all(check["n"] == len(images) for check in checks.values())  # every image, not a subset
    assert checks[("tiny", "GradCAM")]["n_constant"] == len(images)  # the given maps, not recomputed ones
    assert checks[("tiny", "SmoothGrad")]["n_constant"] < len(images)  # SmoothGrad computed from the model
