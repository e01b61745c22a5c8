"""Small synthetic 'faces' in FER-2013's shape, for tests and for the smoke profile without data.

Each class draws a cartoon face whose mouth, brows and eyes differ, plus noise, so a model can
learn something in one epoch. `write_forms` saves a Dataset as the three forms users have.
"""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import cv2
import numpy as np

from . import config
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
    cx, cy = 24 + rng.integers(-2, 3), 24 + rng.integers(-2, 3)
    cv2.ellipse(image, (cx, cy), (17, 21), 0, 0, 360, int(rng.integers(140, 200)), -1)
    for side in (-1, 1):
        ex = cx + side * 7
        cv2.circle(image, (ex, cy - 5), eye, 40, -1)
        cv2.line(image, (ex - 4, cy - 11 + side * tilt // 2), (ex + 4, cy - 11 - side * tilt // 2), 60, 1)
    cv2.ellipse(image, (cx, cy + 10 - curve // 2), (7, max(1, abs(curve) + opened)), 0,
                0 if curve >= 0 else 180, 180 if curve >= 0 else 360, 50, 2 if opened < 3 else -1)
    noise = rng.normal(0, 8, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


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


def write_forms(dataset: Dataset, out: Path) -> dict[str, Path]:
    """Write `dataset` as a Kaggle folder, a zip of it and a fer2013.csv holding the decoded JPEG pixels.

    Returns the three paths and the Dataset the three forms hold (JPEG is lossy) under "expected".
    """
    out = Path(out)
    folder, archive, table = out / "fer2013", out / "fer2013.zip", out / "fer2013.csv"
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
    # the CSV's rows are numbered in the order of the ids, so its ids equal the folder's
    order = np.argsort([int(i.split("_")[1]) for i in dataset.ids])
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i in order:
            emotion = CSV_LABELS.index(config.CLASSES[dataset.labels[i]])
            writer.writerow([emotion, " ".join(map(str, decoded[i].ravel())), dataset.parts[i]])
    expected = Dataset(decoded, dataset.labels, dataset.ids, dataset.parts)
    return {"folder": folder, "zip": archive, "csv": table, "expected": expected}
