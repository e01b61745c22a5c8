"""One evaluation for every classifier, on the test set only (never used for selection).

Accuracy on the merged 7,178 test images and on PublicTest and PrivateTest separately (papers
report PrivateTest), bootstrap 95 % CIs, macro-F1, per-class precision/recall/F1, a normalised
confusion matrix, calibration (ECE with a reliability diagram) and inference speed.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from . import config
from .data import Subset

N_BOOTSTRAP = 1000
N_BINS = 15


def predict(model, x: np.ndarray, flip_tta: bool = False) -> np.ndarray:
    """Class probabilities; with `flip_tta`, averaged with those of the horizontally flipped images."""
    probs = model.predict(x, batch_size=256, verbose=0)
    if flip_tta:
        probs = (probs + model.predict(x[:, :, ::-1], batch_size=256, verbose=0)) / 2
    return probs


def bootstrap_ci(correct: np.ndarray, seed: int = config.SEED) -> list[float]:
    """95 % percentile-bootstrap interval of the mean of a 0/1 vector."""
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), (N_BOOTSTRAP, len(correct)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def calibration(probs: np.ndarray, labels: np.ndarray, bins: int = N_BINS) -> dict:
    """Expected calibration error and the reliability diagram's bins (confidence vs accuracy)."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    correct = predicted == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            ece += inside.mean() * gap
            rows.append({"bin": b, "count": int(inside.sum()), "confidence": float(confidence[inside].mean()),
                         "accuracy": float(correct[inside].mean())})
    return {"ece": float(ece), "bins": rows}


def metrics(probs: np.ndarray, test: Subset) -> dict:
    """Every metric of the book from predicted probabilities on the test subset."""
    labels, predicted = test.labels, probs.argmax(axis=1)
    correct = (predicted == labels).astype(float)
    by_part = {}
    for part in ("PublicTest", "PrivateTest"):
        inside = test.parts == part
        if inside.any():
            by_part[part] = {"accuracy": float(correct[inside].mean()), "ci95": bootstrap_ci(correct[inside]), "n": int(inside.sum())}
    classes = np.arange(len(config.CLASSES))
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    return {
        "n": len(labels),
        "accuracy": float(correct.mean()),
        "ci95": bootstrap_ci(correct),
        "parts": by_part,
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                             "support": int(support[i])} for i, name in enumerate(config.CLASSES)},
        "confusion": confusion_matrix(labels, predicted, labels=classes, normalize="true").round(4).tolist(),
        "calibration": calibration(probs, labels),
    }


def evaluate(model, test: Subset, flip_tta: bool = False) -> dict:
    """`metrics` of `model` on the test subset."""
    return metrics(predict(model, test.x(), flip_tta), test)


def speed(model, n: int = 1024, repeats: int = 20) -> dict:
    """Measured inference speed: images/s at batch 64 and latency (ms) at batch 1."""
    x = np.random.default_rng(0).random((n, 48, 48, 1), dtype=np.float32)
    model.predict(x[:64], batch_size=64, verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=64, verbose=0)
    throughput = n / (time.perf_counter() - start)
    one = x[:1]
    model(one, training=False)
    start = time.perf_counter()
    for _ in range(repeats):
        model(one, training=False)
    return {"images_per_second_batch64": round(throughput, 1), "latency_ms_batch1": round(1000 * (time.perf_counter() - start) / repeats, 2)}


def plot_confusion(result: dict, ax=None, title=None):
    """Heatmap of the row-normalised confusion matrix (rows: true class)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    ax = ax or plt.gca()
    sns.heatmap(np.array(result["confusion"]), annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar=False,
                xticklabels=config.CLASSES, yticklabels=config.CLASSES, ax=ax)
    ax.set(xlabel="predicted", ylabel="true", title=title or "")
    return ax


def plot_reliability(result: dict, ax=None, title=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    bins = result["calibration"]["bins"]
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.bar([b["confidence"] for b in bins], [b["accuracy"] for b in bins], width=1 / N_BINS, alpha=0.6, edgecolor="k")
    ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
           title=title or f"ECE = {result['calibration']['ece']:.3f}")
    return ax


def results_table(results: dict) -> "pd.DataFrame":
    """One row per model ({name: result dict}): accuracy, PrivateTest, CI, macro-F1, ECE."""
    import pandas as pd

    rows = []
    for name, r in results.items():
        rows.append({"model": name, "test accuracy": r["accuracy"], "95% CI": f"{r['ci95'][0]:.3f}–{r['ci95'][1]:.3f}",
                     "PrivateTest": r["parts"].get("PrivateTest", {}).get("accuracy"),
                     "PublicTest": r["parts"].get("PublicTest", {}).get("accuracy"),
                     "macro-F1": r["macro_f1"], "ECE": r["calibration"]["ece"]})
    return pd.DataFrame(rows).set_index("model")
