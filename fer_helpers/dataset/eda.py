"""Descriptive statistics of the splits: the study's Table 1, class balance, class weights, mean faces.

eda.table1(split)                  # one row per split, as the study printed it
eda.class_counts(split)            # classes x splits
eda.class_weights(split.train.labels)
eda.leakage_table(distributed, split)   # images per split as distributed and after the leakage removal
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_class_weight

from .. import config

BATCH_SIZE = 32


def subsets(split) -> dict:
    return {name: getattr(split, name) for name in config.SPLITS}


def pixel_statistics(x: np.ndarray, batch_size: int = BATCH_SIZE) -> dict:
    """The study's Table 1 for one split's model input `x` (float32, N x 48 x 48 x 1, scaled to [0, 1]):
    the shape of one batch, dtype, mean, standard deviation, min, max, missing (NaN) and total pixels."""
    values = x.astype(np.float64, copy=False)
    finite = np.isfinite(values)
    return {
        "images": len(x),
        "batch shape": str((min(batch_size, len(x)), *x.shape[1:])),
        "dtype": str(x.dtype),
        "mean": float(values[finite].mean()),
        "std": float(values[finite].std()),
        "min": float(values[finite].min()),
        "max": float(values[finite].max()),
        "missing pixels": int((~finite).sum()),
        "total pixels": int(x.size),
    }


def table1(split, batch_size: int = BATCH_SIZE) -> pd.DataFrame:
    """Table 1 of the study, one row per split, computed on `Subset.x()` (what every model takes)."""
    rows = {name: pixel_statistics(subset.x(), batch_size) for name, subset in subsets(split).items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("split")


def class_counts(split) -> pd.DataFrame:
    """Images per class (rows, in config.CLASSES order) and split (columns)."""
    counts = {
        name: np.bincount(subset.labels, minlength=len(config.CLASSES)) for name, subset in subsets(split).items()
    }
    return pd.DataFrame(counts, index=pd.Index(config.CLASSES, name="class"))


def class_shares(counts: pd.DataFrame) -> pd.DataFrame:
    """Each class's share of its split (columns sum to 1)."""
    return counts / counts.sum()


def imbalance_ratio(counts) -> float:
    """Largest class count divided by the smallest (inf if a class is empty)."""
    counts = np.asarray(counts, dtype=float)
    return float(counts.max() / counts.min()) if counts.min() > 0 else float("inf")


def class_weights(labels) -> dict[int, float]:
    """sklearn's 'balanced' weights n / (k * count_c) for classes 0..6, as the dict Keras' `class_weight` takes.

    Every class must occur in `labels` (a class with no examples has no finite weight)."""
    labels = np.asarray(labels)
    classes = np.arange(len(config.CLASSES))
    missing = sorted(set(classes) - set(np.unique(labels).tolist()))
    if missing:
        raise ValueError(f"no examples of class(es) {[config.CLASSES[c] for c in missing]}; cannot weight them")
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return {int(c): float(w) for c, w in zip(classes, weights, strict=False)}


def mean_faces(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean image of each class, float (7, 48, 48) in grey levels; NaN for a class without images."""
    out = np.full((len(config.CLASSES), *images.shape[1:]), np.nan)
    for c in range(len(config.CLASSES)):
        chosen = images[labels == c]
        if len(chosen):
            out[c] = chosen.astype(np.float64).mean(axis=0)
    return out


def intensity_histograms(images: np.ndarray, labels: np.ndarray, bins: int = 64) -> pd.DataFrame:
    """Per class, the share of pixels in each of `bins` equal grey-level bins over 0..255 (long format:
    class, grey level (bin centre), share)."""
    edges = np.linspace(0, 256, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    frames = []
    for c, name in enumerate(config.CLASSES):
        pixels = images[labels == c].ravel()
        hist = np.histogram(pixels, bins=edges)[0].astype(float)
        frames.append(pd.DataFrame({"class": name, "grey level": centres, "share": hist / max(hist.sum(), 1)}))
    return pd.concat(frames, ignore_index=True)


def per_image_statistics(images: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Mean brightness and contrast (standard deviation) of every image, with its class name."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    return pd.DataFrame(
        {"class": [config.CLASSES[i] for i in labels], "mean": flat.mean(axis=1), "std": flat.std(axis=1)}
    )


def leakage_table(distributed, split) -> pd.DataFrame:
    """Images per split as distributed (`data.load_split(..., leakage="kept")`) and in the book's split
    (`split`, copies of test images removed), with what `split.leakage` says was removed and why."""
    leak = split.leakage
    removed = {
        "copies of a test image": {"train": leak["train_copies_of_test"], "val": leak["val_copies_of_test"]},
        "copies of an image kept in train": {"val": leak["val_copies_of_train"]},
    }
    table = pd.DataFrame(
        {
            "as distributed": {name: len(getattr(distributed, name)) for name in config.SPLITS},
            **{reason: {name: counts.get(name, 0) for name in config.SPLITS} for reason, counts in removed.items()},
            "in the book's split": {name: len(getattr(split, name)) for name in config.SPLITS},
        }
    )
    return table.astype(int).rename_axis("split")
