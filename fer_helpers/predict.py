"""Classify the facial expressions in photos with the book's best model.

    python -m fer_helpers.predict IMAGE [IMAGE ...] [--model PATH] [--gradcam OUT.png]

Faces are found with OpenCV's bundled Haar cascade (``haarcascade_frontalface_default.xml`` from
``cv2.data.haarcascades``), cropped square with a small margin, turned grey, resized to 48x48
(``INTER_AREA``) and scaled to float32 in [0, 1], as the classifiers were trained. An image that
is already a 48x48 face crop is classified directly, as one face with box [0, 0, 48, 48].

Output is JSON on stdout: the model used and, per image, its faces with box [x, y, w, h], the
class probabilities (in ``config.CLASSES`` order) and the top class. Bad input (missing file, not
an image, no face) gives one line on stderr naming the file and exit code 2; the other images are
still reported.

Without ``--model``, the model is the one in ``models/`` whose ``results/<name>.json`` has the
highest *validation* accuracy (``val_accuracy`` at the top level or under ``training``); test
accuracy is never used to choose.

``--gradcam OUT.png`` draws each face's GradCAM map (for its top class) over the image, at the
layer chapter 7 explains ("last_relu"), else "last_conv", else the last Conv2D.

The Haar cascade needs OpenCV 4 (OpenCV 5 dropped ``CascadeClassifier`` and its XML files); with
OpenCV 5 only 48x48 crops can be classified, and a photo fails with a message saying so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import config

CASCADE = "haarcascade_frontalface_default.xml"
MARGIN = 0.1  # share of the face box added on every side of the crop
MIN_FACE = 24  # smallest face the detector looks for, in pixels
GRADCAM_LAYER = "last_conv"
EXPLAIN_LAYER = "last_relu"  # explain.TARGET_LAYER: the features the head reads (after BatchNorm and ReLU)
EXIT_BAD_INPUT = 2


class PredictError(Exception):
    """Bad input or setup; the message is one line naming the file and what is wrong."""


# ---------------------------------------------------------------------------------------------
# Images and faces
# ---------------------------------------------------------------------------------------------

def read_image(path) -> np.ndarray:
    """The image at `path` as 8-bit BGR (a grey file is read as three equal channels)."""
    path = Path(path)
    if not path.exists():
        raise PredictError(f"{path}: file not found")
    if not path.is_file():
        raise PredictError(f"{path}: not a file")
    try:
        data = np.frombuffer(path.read_bytes(), np.uint8)
    except OSError as error:
        raise PredictError(f"{path}: cannot read it ({error.strerror or error})") from None
    image = None
    if data.size:
        try:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        except cv2.error:
            image = None
    if image is None:
        what = "empty file" if not data.size else "not an image OpenCV can read"
        raise PredictError(f"{path}: {what}")
    return image


@lru_cache(maxsize=1)
def face_detector():
    """OpenCV's bundled frontal-face Haar cascade (loaded once)."""
    if not hasattr(cv2, "CascadeClassifier"):
        raise PredictError(
            f"OpenCV {cv2.__version__} has no Haar cascade face detector (removed in OpenCV 5); "
            "install opencv-python-headless 4.x")
    path = Path(cv2.data.haarcascades) / CASCADE
    detector = cv2.CascadeClassifier(str(path))
    if detector.empty():
        raise PredictError(f"{path}: face detector missing or unreadable (it ships with opencv-python)")
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
    side = int(round(max(w, h) * (1 + 2 * margin)))
    return int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2)), side


def face_region(shape, box, margin: float = MARGIN) -> tuple[int, int, int]:
    """The square (x, y, side) the model sees for `box`: all of a 48x48 crop, else `crop_region`."""
    if tuple(shape[:2]) == (config.IMAGE_SIZE, config.IMAGE_SIZE) and list(box) == [0, 0, config.IMAGE_SIZE, config.IMAGE_SIZE]:
        return 0, 0, config.IMAGE_SIZE
    return crop_region(box, margin)


def crop_face(grey: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """The square crop around `box` (the border repeated where it runs off the image)."""
    x, y, side = face_region(grey.shape, box, margin)
    padded = cv2.copyMakeBorder(grey, side, side, side, side, cv2.BORDER_REPLICATE)
    return padded[y + side:y + 2 * side, x + side:x + 2 * side]


def to_model_input(crops: list[np.ndarray]) -> np.ndarray:
    """Grey crops -> float32 (N, 48, 48, 1) in [0, 1], resized with INTER_AREA."""
    size = (config.IMAGE_SIZE, config.IMAGE_SIZE)
    resized = [c if c.shape == size else cv2.resize(c, size, interpolation=cv2.INTER_AREA) for c in crops]
    return (np.stack(resized).astype("float32") / 255.0)[..., None]


def grey_of(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

def validation_accuracy(result: dict):
    """`val_accuracy` of a results file (top level or under "training"), or None; never test accuracy."""
    for holder in (result, result.get("training")):
        if isinstance(holder, dict):
            value = holder.get("val_accuracy")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
    return None


def model_candidates(profile: config.Profile | None = None) -> list[tuple[float, Path]]:
    """(validation accuracy, model path) of every models/<name>.keras with a results/<name>.json holding one."""
    profile = profile or config.get_profile()
    found = []
    for model_path in sorted(profile.models_dir.glob("*.keras")):
        result_path = profile.results_dir / f"{model_path.stem}.json"
        if not result_path.is_file():
            continue
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError) as error:
            print(f"{result_path}: skipped, not readable JSON ({error})", file=sys.stderr)
            continue
        accuracy = validation_accuracy(result) if isinstance(result, dict) else None
        if accuracy is not None:
            found.append((accuracy, model_path))
    return found


def classifier_notebook() -> str:
    """The chapter that trains and saves the first classifier (the baseline CNN)."""
    found = sorted((config.ROOT / "notebooks").glob("[0-9][0-9]_baseline.ipynb"))
    return f"notebooks/{found[0].name}" if found else "the baseline chapter, notebooks/NN_baseline.ipynb"


def best_model(profile: config.Profile | None = None) -> Path:
    """The model with the highest validation accuracy (the first by name on a tie)."""
    profile = profile or config.get_profile()
    found = model_candidates(profile)
    if not found:
        raise PredictError(
            f"no trained classifier: {profile.models_dir} has no <name>.keras with a val_accuracy in "
            f"{profile.results_dir}/<name>.json; run {classifier_notebook()} first "
            "(or `make notebooks`) or pass --model PATH")
    best = max(accuracy for accuracy, _ in found)
    return next(path for accuracy, path in found if accuracy == best)


def quiet_keras():
    """Keras, with TensorFlow's first import kept off stderr (its C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL)."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    import keras

    return keras


def load_model(path):
    """A saved classifier (plain keras.saving.load_model), checked to map 48x48x1 images to 7 classes."""
    path = Path(path)
    if not path.is_file():
        raise PredictError(f"{path}: model file not found")
    keras = quiet_keras()
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any load failure is reported in one line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PredictError(f"{path}: cannot load the model ({first})") from None
    if tuple(model.output_shape[1:]) != (len(config.CLASSES),):
        raise PredictError(f"{path}: not a {len(config.CLASSES)}-class classifier (output {model.output_shape})")
    return model


# ---------------------------------------------------------------------------------------------
# GradCAM
# ---------------------------------------------------------------------------------------------

def gradcam_layer(model) -> str:
    """The layer GradCAM weights: chapter 7's "last_relu" (explain.TARGET_LAYER) if present, else
    "last_conv", else the model's last Conv2D."""
    import keras

    names = [layer.name for layer in model.layers]
    for name in (EXPLAIN_LAYER, GRADCAM_LAYER):
        if name in names:
            return name
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise PredictError(f"model {model.name!r} has no Conv2D layer for GradCAM")
    return convs[-1]


def gradcam(model, x: np.ndarray, classes) -> np.ndarray:
    """GradCAM maps (N, 48, 48) in [0, 1] for class `classes[i]` of image `x[i]`, by chapter 7's explainer."""
    from .explain import Explainer

    return Explainer(model, layer=gradcam_layer(model)).cam(x, classes, "gradcam")


def overlay(image: np.ndarray, faces: list[dict], cams: list[np.ndarray], alpha: float = 0.45) -> np.ndarray:
    """`image` (BGR) with each face's GradCAM heat map blended over its crop, its box and top class drawn."""
    height, width = image.shape[:2]
    out = image.copy()
    for face, cam in zip(faces, cams):
        x, y, side = face_region(image.shape, face["box"])
        heat = cv2.applyColorMap((np.clip(cv2.resize(cam, (side, side)), 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, width), min(y + side, height)
        if x1 <= x0 or y1 <= y0:
            continue
        region = heat[y0 - y:y1 - y, x0 - x:x1 - x]
        out[y0:y1, x0:x1] = cv2.addWeighted(out[y0:y1, x0:x1], 1 - alpha, region, alpha, 0)
    scale = max(1, 256 // max(height, width))  # a 48x48 crop is drawn large enough to see
    if scale > 1:
        out = cv2.resize(out, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
    for face in faces:
        fx, fy, fw, fh = (v * scale for v in face["box"])
        cv2.rectangle(out, (fx, fy), (fx + fw - 1, fy + fh - 1), (255, 255, 255), 1)
        label = f"{face['top']} {face['probabilities'][face['top']]:.2f}"
        cv2.putText(out, label, (fx + 2, max(fy - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def gradcam_paths(out: Path, images: list) -> list[Path]:
    """One overlay path per image: `out` itself for one image, `<out stem>-<n>-<image stem>.png` for several."""
    out = Path(out)
    if len(images) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i}-{Path(image).stem}{out.suffix or '.png'}") for i, image in enumerate(images, 1)]


# ---------------------------------------------------------------------------------------------
# Prediction and the command line
# ---------------------------------------------------------------------------------------------

@dataclass
class ImageFaces:
    path: str
    image: np.ndarray | None = None
    boxes: list = field(default_factory=list)
    x: np.ndarray | None = None
    error: str | None = None


def prepare(path) -> ImageFaces:
    """Read `path` and cut out its faces, or record what is wrong with it."""
    try:
        image = read_image(path)
        grey = grey_of(image)
        boxes = find_faces(grey)
        if not boxes:
            raise PredictError(f"{path}: no face found")
        return ImageFaces(str(path), image, boxes, to_model_input([crop_face(grey, box) for box in boxes]))
    except PredictError as error:
        return ImageFaces(str(path), error=str(error))


def face_records(boxes, probs: np.ndarray) -> list[dict]:
    return [{
        "box": list(box),
        "probabilities": {name: round(float(p), 6) for name, p in zip(config.CLASSES, row)},
        "top": config.CLASSES[int(np.argmax(row))],
    } for box, row in zip(boxes, probs)]


def predict(paths, model_path=None, gradcam_out=None) -> tuple[dict, list[str]]:
    """The JSON report for `paths` and the error lines (one per failed image)."""
    model_path = Path(model_path) if model_path else best_model()
    if not model_path.is_file():
        raise PredictError(f"{model_path}: model file not found")
    items = [prepare(path) for path in paths]
    model = load_model(model_path) if any(item.error is None for item in items) else None
    outs = gradcam_paths(gradcam_out, paths) if gradcam_out else [None] * len(items)
    report, errors = {"model": str(model_path), "images": []}, []
    for item, out in zip(items, outs):
        if item.error:
            errors.append(item.error)
            report["images"].append({"image": item.path, "error": item.error})
            continue
        probs = model.predict(item.x, verbose=0)
        faces = face_records(item.boxes, probs)
        entry = {"image": item.path, "faces": faces}
        if out is not None:
            cams = gradcam(model, item.x, probs.argmax(axis=1))
            out.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(out), overlay(item.image, faces, list(cams))):
                raise PredictError(f"{out}: cannot write the GradCAM image")
            entry["gradcam"] = str(out)
        report["images"].append(entry)
    return report, errors


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fer_helpers.predict",
                                description="Classify the facial expressions in images with the book's best model.")
    p.add_argument("images", nargs="+", help="image files (any format OpenCV reads); a 48x48 image is taken as one face")
    p.add_argument("--model", type=Path, help="a saved .keras classifier (default: highest validation accuracy in models/)")
    p.add_argument("--gradcam", type=Path, metavar="OUT.png",
                   help="write the GradCAM heat maps of the faces over the image (OUT-<n>-<name>.png for several images)")
    return p


def main(argv=None) -> int:
    """Run the command line with `argv`; returns the exit code (0, or 2 if any image or the setup failed)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        report, errors = predict(args.images, args.model, args.gradcam)
    except PredictError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report, indent=2))
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT if errors else 0


if __name__ == "__main__":
    sys.exit(main())
