"""fer_helpers.explain on tiny Functional models built here (no data, no training)."""
import keras
import numpy as np
import pytest
from keras import layers

from fer_helpers import config, explain

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


def tiny_model(seed=0, window=None, name="tiny"):
    """image -> [RowWindow] -> 3x3 conv "last_conv" -> ReLU "last_relu" -> GAP -> Dense softmax "probabilities"."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1), name="image")
    x = inputs
    if window is not None:
        x = RowWindow(*window, name="look_here")(x)
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


@pytest.mark.parametrize("method", explain.METHODS)
def test_cams_have_image_shape_and_unit_range(model, images, method):
    cams = explain.Explainer(model).cam(images, [0, 1, 2, 3, 4], method)
    assert cams.shape == (5, 48, 48)
    assert cams.dtype == np.float32
    assert cams.min() >= 0 and cams.max() <= 1 + 1e-6
    nonzero = cams.reshape(5, -1).max(axis=1) > 0
    assert nonzero.any()
    np.testing.assert_allclose(cams.reshape(5, -1).max(axis=1)[nonzero], 1.0, rtol=1e-6)


def test_gradcam_at_last_relu_is_the_class_activation_map(model, images):
    """With a GAP -> Dense head, Grad-CAM at the ReLU output equals ReLU(sum_k w_k^c A^k) (Zhou et al. 2016):
    checks the target layer (not walked back to the conv), the logit score and the upsampling."""
    c = 3
    features = keras.Model(model.inputs, model.get_layer("last_relu").output)(images).numpy()
    weights = model.get_layer("probabilities").get_weights()[0][:, c]
    expected = explain.scale_maps(np.maximum(features @ weights, 0))
    cams = explain.Explainer(model).cam(images, c, "gradcam")
    np.testing.assert_allclose(cams, expected, atol=1e-5)


def test_unknown_layer_and_method_are_rejected(model, images):
    with pytest.raises(ValueError, match="no layer 'nope'"):
        explain.Explainer(model, layer="nope")
    with pytest.raises(ValueError, match="not feature maps"):
        explain.Explainer(model, layer="probabilities")
    with pytest.raises(ValueError, match="unknown method"):
        explain.Explainer(model).cam(images, 0, "lime")


def test_empty_input_gives_empty_maps(model):
    empty = np.zeros((0, 48, 48, 1), np.float32)
    assert explain.Explainer(model).cam(empty, []).shape == (0, 48, 48)


def test_sequential_models_are_wrapped_with_the_same_maps(model, images):
    sequential = keras.Sequential([keras.Input((48, 48, 1))] + [
        layer.__class__.from_config(layer.get_config()) for layer in model.layers[1:]])
    sequential.set_weights(model.get_weights())
    wrapped = explain.functional(sequential)
    assert not isinstance(wrapped, keras.Sequential)
    np.testing.assert_allclose(explain.Explainer(sequential).cam(images, 2),
                               explain.Explainer(model).cam(images, 2), atol=1e-6)


def test_sequential_without_input_is_rejected_with_advice():
    with pytest.raises(ValueError, match="keras.Input"):
        explain.functional(keras.Sequential([layers.Conv2D(4, 3)]))


def test_smoothgrad_shape_range_and_seed(model, images):
    explainer = explain.Explainer(model)
    maps = explainer.smoothgrad(images[:3], 1, samples=4)
    assert maps.shape == (3, 48, 48)
    assert maps.min() >= 0 and np.allclose(maps.reshape(3, -1).max(axis=1), 1)
    np.testing.assert_allclose(explainer.smoothgrad(images[:3], 1, samples=4), maps)


def test_band_masks_partition_the_image():
    masks = explain.band_masks()
    assert list(masks) == ["eyes", "mouth", "rest"]
    stacked = np.stack(list(masks.values())).astype(int)
    assert (stacked.sum(axis=0) == 1).all()  # every pixel in exactly one region
    assert masks["eyes"][12].all() and masks["eyes"][23].all() and not masks["eyes"][24].any()
    assert explain.area_shares() == {"eyes": 0.25, "mouth": 0.25, "rest": 0.5}
    with pytest.raises(ValueError, match="overlaps"):
        explain.band_masks(bands={"a": (10, 20), "b": (15, 25)})


def test_band_shares_sum_to_one_and_reject_bad_maps():
    maps = np.random.default_rng(1).random((6, 48, 48))
    maps[5] = 0
    shares = explain.band_shares(maps)
    assert shares.shape == (6, 3)
    np.testing.assert_allclose(shares[:5].sum(axis=1), 1.0)
    assert np.isnan(shares[5]).all()  # an all-zero map has no mass to share
    np.testing.assert_allclose(explain.band_shares(np.ones((1, 48, 48)))[0], [0.25, 0.25, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        explain.band_shares(-maps)


def gaussian_blob(row, col=24, sigma=3.0):
    r, c = np.mgrid[:48, :48]
    return np.exp(-((r - row) ** 2 + (c - col) ** 2) / (2 * sigma**2))


def test_band_shares_find_a_heatmap_on_the_eyes_or_the_mouth():
    shares = explain.band_shares(np.stack([gaussian_blob(17.5), gaussian_blob(38)]))
    eyes, mouth, rest = shares.T
    assert eyes[0] > 0.9 and mouth[0] < 0.01
    assert mouth[1] > 0.9 and eyes[1] < 0.01


def test_a_model_that_sees_only_the_eyes_gets_its_cam_mass_there(images):
    model = tiny_model(window=explain.BANDS["eyes"])
    conv, dense = model.get_layer("last_conv"), model.get_layer("probabilities")
    conv.set_weights([np.full((3, 3, 1, 4), 0.1, np.float32), np.zeros(4, np.float32)])
    dense.set_weights([np.abs(dense.get_weights()[0]) + 0.1, np.zeros(N_CLASSES, np.float32)])
    cams = explain.Explainer(model).cam(images, 0)
    shares = explain.band_shares(cams)
    assert (shares[:, 0] > 0.9).all(), shares  # eyes
    # the same check on the untouched model stays near the area shares
    plain = explain.band_shares(explain.Explainer(tiny_model()).cam(images, 0))
    assert np.nanmean(plain[:, 0]) < 0.5


def test_share_table_means_per_class_and_overall():
    shares = np.array([[0.5, 0.2, 0.3], [0.3, 0.2, 0.5], [0.1, 0.6, 0.3], [np.nan] * 3])
    table = explain.share_table(shares, np.array([0, 0, 3, 3]))
    assert list(table.index) == list(config.CLASSES) + ["all classes"]
    assert table.loc["angry", "eyes"] == pytest.approx(0.4)
    assert table.loc["happy", "mouth"] == pytest.approx(0.6)
    assert table.loc["angry", "n"] == 2 and table.loc["happy", "n"] == 1 and table.loc["fear", "n"] == 0
    assert table.loc["all classes", "eyes"] == pytest.approx((0.4 + 0.1) / 2)  # mean of class means
    assert table.loc["all classes", "n"] == 3


def test_pick_per_class_respects_the_mask_and_the_cap():
    labels = np.repeat(np.arange(N_CLASSES), 10)
    keep = np.arange(len(labels)) % 2 == 0
    picked = explain.pick_per_class(labels, keep, 3)
    assert len(picked) == 3 * N_CLASSES and keep[picked].all()
    assert (np.bincount(labels[picked]) == 3).all()
    np.testing.assert_array_equal(picked, explain.pick_per_class(labels, keep, 3))
    assert len(explain.pick_per_class(labels, keep, 100)) == keep.sum()
    one = explain.one_per_class(labels, [labels == 2, keep])
    assert len(one) == N_CLASSES and (labels[one] == np.arange(N_CLASSES)).all() and keep[one].all()


def test_rank_correlations():
    a = np.random.default_rng(2).random((3, 48, 48))
    b = a.copy()
    b[1] = -a[1]
    b[2] = 0
    rho = explain.rank_correlations(a, b)
    assert rho[0] == pytest.approx(1.0) and rho[1] == pytest.approx(-1.0) and np.isnan(rho[2])


def test_randomisation_check_returns_a_correlation(model, images):
    random = explain.randomised(model)
    kernel = model.get_layer("last_conv").get_weights()[0]
    assert not np.allclose(random.get_layer("last_conv").get_weights()[0], kernel)
    check = explain.randomisation_check(model, images, 1)
    assert check["n"] == len(images)
    assert isinstance(check["spearman_mean"], float)
    assert -1 <= check["spearman_mean"] <= 1 or check["n_constant"] == len(images)
    assert check["random_maps"].shape == (5, 48, 48)
    # a model compared with itself is perfectly correlated: the check measures what it should
    same = explain.rank_correlations(explain.Explainer(model).cam(images, 1), explain.Explainer(model).cam(images, 1))
    assert np.nanmin(same) == pytest.approx(1.0)


def test_activation_maximization_gives_one_image_per_class_in_range(model):
    images = explain.activation_maximization(model, steps=3)
    assert images.shape == (N_CLASSES, 48, 48)
    assert images.min() >= 0 and images.max() <= 1


def test_mean_face_check_finds_the_dark_rows():
    faces = np.full((4, 48, 48), 150.0)
    faces[:, 17, 12:36] = 40
    faces[:, 38, 12:36] = 60
    faces[:, 46:, :] = 0  # a dark chin edge is outside the mouth search rows
    check = explain.mean_face_check(faces)
    assert (check["eye_row"], check["mouth_row"]) == (17, 38)
    assert check["eye_row_in_band"] and check["mouth_row_in_band"]


def test_paired_difference_and_pick():
    a = np.array([[0.2, 0.3, 0.5], [0.3, 0.3, 0.4], [np.nan] * 3])
    b = np.array([[0.4, 0.2, 0.4], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]])
    diff = explain.paired_difference(a, b, "eyes")
    assert diff["n"] == 2 and diff["mean"] == pytest.approx(0.2)
    assert diff["ci95"][0] <= 0.2 <= diff["ci95"][1]
    mask = np.arange(20) % 4 == 0
    picked = explain.pick(mask, 3)
    assert len(picked) == 3 and mask[picked].all() and (np.diff(picked) > 0).all()
    assert len(explain.pick(mask, 99)) == mask.sum()


def test_am_summary_compares_with_mean_faces(model):
    means = np.random.default_rng(3).random((N_CLASSES, 48, 48))
    table = explain.am_summary(model, means.astype(np.float32), means)
    assert list(table.index) == list(config.CLASSES)
    np.testing.assert_allclose(table["face correlation"], 1.0, atol=1e-6)
    assert list(table["most similar mean face"]) == list(config.CLASSES)
    assert table["probability"].between(0, 1).all()


def test_sanity_table_rows(model, images):
    check = explain.randomisation_check(model, images, 0)
    between = np.array([0.5, np.nan, 0.7])
    table = explain.sanity_table({("tiny", "GradCAM"): check}, between)
    assert table.loc[("tiny", "GradCAM: trained vs random weights"), "images"] == len(images)
    assert table.loc[("tiny", "GradCAM: trained vs random weights"), "mean Spearman"] == pytest.approx(
        check["spearman_mean"], nan_ok=True)
    assert table.loc[("two trained models", "GradCAM: both trained"), "mean Spearman"] == pytest.approx(0.6)
    assert table.loc[("two trained models", "GradCAM: both trained"), "flat maps"] == 1
