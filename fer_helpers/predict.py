"""Classify the facial expressions in photos with the book's best model.

    python -m fer_helpers.predict IMAGE [IMAGE ...] [--model PATH] [--top-k K] [--gradcam OUT.png]

Faces are found and cut out as the classifiers were trained (``fer_helpers.faces``); an image that is already a
48x48 face crop is classified directly, as one face with box [0, 0, 48, 48].

Output is JSON on stdout: the model used, which test-time augmentation is on (flip, shift), and per
image its faces, each with box {"x", "y", "w", "h"}, the class probabilities (in ``config.CLASSES``
order), the top class and the ``--top-k`` most probable classes. A photo without a face is a normal
result: an empty ``faces`` list and a note on stderr. A file that cannot be read is an error line
on stderr naming it (and an "error" entry in the JSON); the other files are still processed.
Exit code: 0, 1 if any file failed, 2 on a usage or setup error (no model).

Without ``--model``, the model is chapter 8's seed ensemble where validation prefers it to its best member
(``results/ensemble.json``; the report then names "ensemble" and its members), or else ``registry.best``: the
highest *validation* accuracy in ``results/<name>.json``; each with the test-time augmentation validation chose
for it (``tta.flip_tta``, ``tta.shift_tta``). Test accuracy is never used to choose. ``--model PATH`` runs that one
model (an ensemble's member, say) without TTA.

``--gradcam OUT.png`` draws each face's GradCAM map (for its top class) over the image, at the
registry's layer (chapter 7's "last_relu").
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import config
from .quiet import quiet_tensorflow

quiet_tensorflow()  # before inference and registry load TensorFlow: no C++ log line, not even for --help

from .faces import InputError, crop_face, face_region, find_faces, grey_of, read_image, to_model_input  # noqa: E402
from .modelling import inference  # noqa: E402
from .modelling.inference import TTA  # noqa: E402
from .runstore import registry  # noqa: E402

TOP_K = 3
EXIT_FAILED, EXIT_SETUP = 1, 2


class PredictError(Exception):
    """Bad input or setup; the message is one line naming the file and what is wrong."""


# ---------------------------------------------------------------------------------------------
# The model and its GradCAM
# ---------------------------------------------------------------------------------------------


@dataclass
class Classifier:
    models: list  # one model, or the members of a seed ensemble, whose probabilities are averaged
    paths: list[Path]
    tta: TTA  # the test-time augmentation validation chose
    layer: str  # GradCAM's target layer (of the first model)

    @property
    def model(self):
        """The model GradCAM explains: the only one, or an ensemble's first member."""
        return self.models[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.mean([inference.predict(model, x, **self.tta.options) for model in self.models], axis=0)

    def describe(self) -> dict:
        """What the report says of the model: its file, or "ensemble" and the members' files."""
        if len(self.paths) == 1:
            return {"model": str(self.paths[0])}
        return {"model": "ensemble", "members": [str(path) for path in self.paths]}


def classifier(model_path=None, profile: config.Profile | None = None) -> Classifier:
    """`model_path` (no TTA); or else chapter 8's seed ensemble where validation prefers it to its best member
    (`registry.ensemble`), or the registry's best model by validation accuracy; each with the test-time
    augmentation validation chose for it."""
    profile = profile or config.get_profile()
    try:
        if model_path is not None:
            paths, tta = [Path(model_path)], TTA()
        elif found := registry.ensemble(profile):
            paths, tta = found
        else:
            name = registry.best(profile)
            paths, tta = [registry.model_path(name, profile)], registry.tta_chosen(name, profile)
        models = [registry.load_file(path) for path in paths]
    except (FileNotFoundError, ValueError) as error:
        message = str(error) + (" (or pass --model PATH)" if model_path is None else "")
        raise PredictError(message) from None
    stem = paths[0].stem
    layer = registry.entry(stem).layer if stem in registry.names() else config.CAM_LAYER
    return Classifier(models, paths, tta, layer)


def gradcam(chosen: Classifier, x: np.ndarray, classes) -> np.ndarray:
    """GradCAM maps (N, 48, 48) in [0, 1] for class `classes[i]` of image `x[i]`, by chapter 7's explainer."""
    from .analysis.cam import Explainer

    try:
        return Explainer(chosen.model, chosen.layer).cam(x, classes, "gradcam")
    except ValueError as error:
        raise PredictError(f"{chosen.paths[0]}: {error}") from None


def overlay(image: np.ndarray, faces: list[dict], cams: list[np.ndarray], alpha: float = 0.45) -> np.ndarray:
    """`image` (BGR) with each face's GradCAM heat map blended over its crop, its box and top class drawn."""
    height, width = image.shape[:2]
    out = image.copy()
    boxes = [[face["box"][k] for k in "xywh"] for face in faces]
    for box, cam in zip(boxes, cams, strict=False):
        x, y, side = face_region(image.shape, box)
        heat = cv2.applyColorMap(
            (np.clip(cv2.resize(cam, (side, side)), 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET
        )
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, width), min(y + side, height)
        if x1 <= x0 or y1 <= y0:
            continue
        region = heat[y0 - y : y1 - y, x0 - x : x1 - x]
        out[y0:y1, x0:x1] = cv2.addWeighted(out[y0:y1, x0:x1], 1 - alpha, region, alpha, 0)
    scale = max(1, 256 // max(height, width))  # a 48x48 crop is drawn large enough to see
    if scale > 1:
        out = cv2.resize(out, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
    for face, box in zip(faces, boxes, strict=False):
        fx, fy, fw, fh = (v * scale for v in box)
        cv2.rectangle(out, (fx, fy), (fx + fw - 1, fy + fh - 1), (255, 255, 255), 1)
        label = f"{face['top']} {face['probabilities'][face['top']]:.2f}"
        cv2.putText(
            out, label, (fx + 2, max(fy - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out


def gradcam_paths(out: Path, images: list) -> list[Path]:
    """One overlay path per image: `out` itself for one image, `<out stem>-<n>-<image stem>.png` for several."""
    out = Path(out)
    if len(images) == 1:
        return [out]
    return [
        out.with_name(f"{out.stem}-{i}-{Path(image).stem}{out.suffix or '.png'}") for i, image in enumerate(images, 1)
    ]


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
    """Read `path` and cut out its faces (none is a normal result), or record what is wrong with it."""
    try:
        image = read_image(path)
        grey = grey_of(image)
        boxes = find_faces(grey)
        x = to_model_input([crop_face(grey, box) for box in boxes]) if boxes else None
        return ImageFaces(str(path), image, boxes, x)
    except InputError as error:
        return ImageFaces(str(path), error=str(error))


def face_records(boxes, probs: np.ndarray, top_k: int) -> list[dict]:
    """One record per face: its box {x, y, w, h}, every class's probability, the top class and the top k."""
    records = []
    for box, row in zip(boxes, probs, strict=False):
        order = np.argsort(-row, kind="stable")
        records.append(
            {
                "box": dict(zip("xywh", (int(v) for v in box), strict=False)),
                "probabilities": {name: round(float(p), 6) for name, p in zip(config.CLASSES, row, strict=False)},
                "top": config.CLASSES[int(order[0])],
                "top_k": [
                    {"class": config.CLASSES[int(i)], "probability": round(float(row[i]), 6)} for i in order[:top_k]
                ],
            }
        )
    return records


def classify_files(
    paths, model_path=None, gradcam_out=None, top_k: int = TOP_K, profile: config.Profile | None = None
) -> tuple[dict, list[str], list[str]]:
    """The JSON report for `paths`, the error lines (one per unreadable image) and the notes (images without a face)."""
    if not 1 <= top_k <= len(config.CLASSES):
        raise PredictError(f"--top-k must be between 1 and {len(config.CLASSES)}, got {top_k}")
    items = [prepare(path) for path in paths]
    chosen = classifier(model_path, profile)
    outs = gradcam_paths(gradcam_out, paths) if gradcam_out else [None] * len(items)
    report, errors, notes = {**chosen.describe(), **chosen.tta.options, "images": []}, [], []
    for item, out in zip(items, outs, strict=False):
        if item.error:
            errors.append(item.error)
            report["images"].append({"image": item.path, "error": item.error})
            continue
        entry = {"image": item.path, "faces": []}
        report["images"].append(entry)
        if not item.boxes:
            notes.append(f"{item.path}: no face found")
            continue
        probs = chosen.predict(item.x)
        entry["faces"] = face_records(item.boxes, probs, top_k)
        if out is not None:
            cams = gradcam(chosen, item.x, probs.argmax(axis=1))
            out.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(out), overlay(item.image, entry["faces"], list(cams))):
                raise PredictError(f"{out}: cannot write the GradCAM image")
            entry["gradcam"] = str(out)
    return report, errors, notes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fer_helpers.predict",
        description="Classify the facial expressions in images with the book's best model.",
    )
    p.add_argument(
        "images", nargs="+", help="image files (any format OpenCV reads); a 48x48 image is taken as one face"
    )
    p.add_argument(
        "--model",
        type=Path,
        help="a saved .keras classifier, without TTA (default: the seed ensemble or the model validation prefers)",
    )
    p.add_argument("--top-k", type=int, default=TOP_K, metavar="K", help=f"classes listed per face (default {TOP_K})")
    p.add_argument(
        "--gradcam",
        type=Path,
        metavar="OUT.png",
        help="write the GradCAM heat maps of the faces over the image (OUT-<n>-<name>.png for several images)",
    )
    return p


def main(argv=None) -> int:
    """Run the command line with `argv`; returns the exit code: 0, 1 if an image failed, 2 on a usage or setup error."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        report, errors, notes = classify_files(args.images, args.model, args.gradcam, args.top_k)
    except PredictError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SETUP
    print(json.dumps(report, indent=2))
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_FAILED if errors else 0


if __name__ == "__main__":
    sys.exit(main())
