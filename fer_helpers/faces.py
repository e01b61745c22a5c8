"""Faces in photos, as the classifiers see them: an image read as 8-bit BGR, its faces found with OpenCV's bundled
Haar cascade (``haarcascade_frontalface_default.xml`` from ``cv2.data.haarcascades``), each cropped square with a
small margin, turned grey, resized to 48x48 (``INTER_AREA``) and scaled to float32 in [0, 1]. An image that is
already a 48x48 face crop is one face with box [0, 0, 48, 48].

The Haar cascade needs OpenCV 4 (OpenCV 5 dropped ``CascadeClassifier`` and its XML files); with OpenCV 5 only 48x48
crops can be classified, and a photo fails with a message saying so.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import config

CASCADE = "haarcascade_frontalface_default.xml"
MARGIN = 0.1  # share of the face box added on every side of the crop
MIN_FACE = 24  # smallest face the detector looks for, in pixels


class InputError(Exception):
    """An image that cannot be read or searched; the message is one line naming the file and what is wrong."""


def read_image(path) -> np.ndarray:
    """The image at `path` as 8-bit BGR (a grey file is read as three equal channels)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    try:
        data = np.frombuffer(path.read_bytes(), np.uint8)
    except OSError as error:
        raise InputError(f"{path}: cannot read it ({error.strerror or error})") from None
    image = None
    if data.size:
        try:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        except cv2.error:
            image = None
    if image is None:
        what = "empty file" if not data.size else "not an image OpenCV can read"
        raise InputError(f"{path}: {what}")
    return image


@lru_cache(maxsize=1)
def face_detector():
    """OpenCV's bundled frontal-face Haar cascade (loaded once)."""
    if not hasattr(cv2, "CascadeClassifier"):
        raise InputError(
            f"OpenCV {cv2.__version__} has no Haar cascade face detector (removed in OpenCV 5); "
            "install opencv-python-headless 4.x"
        )
    path = Path(cv2.data.haarcascades) / CASCADE
    detector = cv2.CascadeClassifier(str(path))
    if detector.empty():
        raise InputError(f"{path}: face detector missing or unreadable (it ships with opencv-python)")
    return detector


def is_face_crop(image: np.ndarray) -> bool:
    """An image that is already a FER-2013-sized face crop (exactly 48x48, grey or colour)."""
    return image.shape[:2] == (config.IMAGE_SIZE, config.IMAGE_SIZE)


def find_faces(grey: np.ndarray) -> list[list[int]]:
    """Face boxes [x, y, w, h] in `grey`, left to right; a 48x48 crop is one face filling it."""
    if is_face_crop(grey):
        return [[0, 0, config.IMAGE_SIZE, config.IMAGE_SIZE]]
    boxes = face_detector().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(MIN_FACE, MIN_FACE))
    return sorted([[int(v) for v in box] for box in np.reshape(boxes, (-1, 4))], key=lambda b: (b[0], b[1]))


def crop_region(box, margin: float = MARGIN) -> tuple[int, int, int]:
    """The square (x, y, side) around `box` with `margin` of its size on every side."""
    x, y, w, h = box
    side = round(max(w, h) * (1 + 2 * margin))
    return round(x + w / 2 - side / 2), round(y + h / 2 - side / 2), side


def face_region(shape, box, margin: float = MARGIN) -> tuple[int, int, int]:
    """The square (x, y, side) the model sees for `box`: all of a 48x48 crop, else `crop_region`."""
    if tuple(shape[:2]) == (config.IMAGE_SIZE, config.IMAGE_SIZE) and list(box) == [
        0,
        0,
        config.IMAGE_SIZE,
        config.IMAGE_SIZE,
    ]:
        return 0, 0, config.IMAGE_SIZE
    return crop_region(box, margin)


def crop_face(grey: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """The square crop around `box` (the border repeated where it runs off the image)."""
    x, y, side = face_region(grey.shape, box, margin)
    padded = cv2.copyMakeBorder(grey, side, side, side, side, cv2.BORDER_REPLICATE)
    return padded[y + side : y + 2 * side, x + side : x + 2 * side]


def to_model_input(crops: list[np.ndarray]) -> np.ndarray:
    """Grey crops -> float32 (N, 48, 48, 1) in [0, 1], resized with INTER_AREA."""
    size = (config.IMAGE_SIZE, config.IMAGE_SIZE)
    resized = [c if c.shape == size else cv2.resize(c, size, interpolation=cv2.INTER_AREA) for c in crops]
    return (np.stack(resized).astype("float32") / 255.0)[..., None]


def grey_of(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
