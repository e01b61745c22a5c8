"""Small synthetic 'faces' in FER-2013's shape, for tests and for the smoke profile without data.

Each class draws a cartoon face whose mouth, brows and eyes differ, at a random place and size under
random smooth lighting, plus noise, so a model can learn something in one epoch and no two faces are
near duplicates by chance (few pairs of perceptual hashes within 4 bits, as in the real data).
`write_forms` saves a Dataset as the four forms users have.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import cv2
import numpy as np

from .. import config
from .sources import CSV_LABELS, Dataset

# per class: mouth curvature (+ smile), mouth openness, brow tilt, eye size
FEATURES = {
    "angry": (-3, 1, 5, 3),
    "disgust": (-2, 0, 3, 2),
    "fear": (-1, 5, -4, 5),
    "happy": (6, 2, 0, 3),
    "neutral": (0, 0, 0, 3),
    "sad": (-5, 0, -3, 2),
    "surprise": (0, 8, -5, 5),
}


def draw_face(label: int, rng: np.random.Generator) -> np.ndarray:
    curve, opened, tilt, eye = FEATURES[config.CLASSES[label]]
    image = np.full((48, 48), rng.integers(20, 60), np.uint8)
    cx, cy = 24 + rng.integers(-4, 5), 24 + rng.integers(-4, 5)
    axes = (17 + int(rng.integers(-2, 3)), 21 + int(rng.integers(-2, 3)))
    cv2.ellipse(image, (cx, cy), axes, 0, 0, 360, int(rng.integers(140, 200)), -1)
    for side in (-1, 1):
        ex = cx + side * 7
        cv2.circle(image, (ex, cy - 5), eye, 40, -1)
        cv2.line(image, (ex - 4, cy - 11 + side * tilt // 2), (ex + 4, cy - 11 - side * tilt // 2), 60, 1)
    cv2.ellipse(
        image,
        (cx, cy + 10 - curve // 2),
        (7, max(1, abs(curve) + opened)),
        0,
        0 if curve >= 0 else 180,
        180 if curve >= 0 else 360,
        50,
        2 if opened < 3 else -1,
    )
    lighting = 40 * cv2.resize(rng.normal(0, 1, (4, 4)).astype(np.float32), (48, 48), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 8, image.shape)
    return np.clip(image + lighting + noise, 0, 255).astype(np.uint8)


def make_dataset(train_per_class: int = 60, test_per_class: int = 10, seed: int = config.SEED) -> Dataset:
    """A synthetic Dataset: `train_per_class` Training images and `test_per_class` per test part, per class."""
    rng = np.random.default_rng(seed)
    images, labels, ids, parts = [], [], [], []
    counts = {"Training": train_per_class, "PublicTest": test_per_class, "PrivateTest": test_per_class}
    for part, n in counts.items():
        for label in range(len(config.CLASSES)):
            for _ in range(n):
                images.append(draw_face(label, rng))
                labels.append(label)
                ids.append(f"{part}_{len(ids)}")
                parts.append(part)
    return Dataset(np.stack(images), np.array(labels, np.int8), np.array(ids), np.array(parts)).sorted()


def folder_entry(dataset: Dataset, i: int) -> str:
    split_dir = "train" if dataset.parts[i] == "Training" else "test"
    return f"{split_dir}/{config.CLASSES[dataset.labels[i]]}/{dataset.ids[i]}.jpg"


def write_forms(dataset: Dataset, out: Path, seed: int = config.SEED) -> dict[str, Path]:
    """Write `dataset` as a Kaggle folder, a zip of it, a ``fer2013.csv`` (emotion,pixels,Usage) and an
    ``icml_face_data.csv`` (emotion, Usage, pixels), the CSVs holding the decoded JPEG pixels in a
    shuffled row order (as in reality, CSV row numbers are not the file names).

    Returns the four paths and the Dataset the forms hold (JPEG is lossy) under "expected"."""
    out = Path(out)
    folder, archive = out / "fer2013", out / "fer2013.zip"
    decoded = np.empty_like(dataset.images)
    with zipfile.ZipFile(archive, "w") as zipped:
        for i in range(len(dataset)):
            ok, jpeg = cv2.imencode(".jpg", dataset.images[i], [cv2.IMWRITE_JPEG_QUALITY, 95])
            assert ok
            entry = folder_entry(dataset, i)
            (folder / entry).parent.mkdir(parents=True, exist_ok=True)
            (folder / entry).write_bytes(jpeg.tobytes())
            zipped.writestr(entry, jpeg.tobytes())
            decoded[i] = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
    expected = Dataset(decoded, dataset.labels, dataset.ids, dataset.parts, True)
    rng = np.random.default_rng(seed)
    tables = {
        "csv": (out / "fer2013.csv", ["emotion", "pixels", "Usage"]),
        "icml": (out / "icml_face_data.csv", ["emotion", " Usage", " pixels"]),
    }
    for target, header in tables.values():
        write_csv(expected, target, header, rng.permutation(len(expected)))
    return {
        "folder": folder,
        "zip": archive,
        **{form: target for form, (target, _) in tables.items()},
        "expected": expected,
    }


def write_csv(dataset: Dataset, target: Path, header: list[str], order=None) -> Path:
    """Write `dataset` as a FER-2013 CSV with the columns of `header` (emotion, pixels and Usage in any
    order, spaces around the names kept), rows in `order` (default: the dataset's)."""
    with open(target, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(len(dataset)) if order is None else order:
            values = {
                "emotion": CSV_LABELS.index(config.CLASSES[dataset.labels[i]]),
                "pixels": " ".join(map(str, dataset.images[i].ravel())),
                "Usage": dataset.parts[i],
            }
            writer.writerow([values[name.strip()] for name in header])
    return target
