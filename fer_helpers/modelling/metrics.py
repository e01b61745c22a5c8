"""Test metrics of one classifier from its class probabilities, and tables that compare classifiers.

Accuracy on the merged 7,178 test images, on PublicTest and PrivateTest separately (papers report PrivateTest) and
on the leak-free test images (no copy in train or val), macro-F1, per-class precision/recall/F1, a normalised
confusion matrix, calibration (ECE with a reliability diagram's bins) and the per-image predictions (for paired
comparisons, see `comparisons`). `rank` orders by validation only; test metrics are carried, never used to choose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from .. import config
from ..dataset.data import Subset

N_BINS = 15


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == labels).mean())


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
            rows.append(
                {
                    "bin": b,
                    "count": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                }
            )
    return {"ece": float(ece), "bins": rows}


def encode_predictions(predicted: np.ndarray) -> str:
    """Predicted classes as one digit per image, in test order: a compact, one-line JSON value."""
    return "".join(map(str, predicted))


def correct(result: dict, labels: np.ndarray) -> np.ndarray:
    """Per-image correctness (bool, in test order) of a `metrics` result, for paired comparisons."""
    if "predicted" not in result:
        raise KeyError("this result has no per-image predictions ('predicted'); re-run the notebook that made it")
    predicted = np.frombuffer(result["predicted"].encode("ascii"), dtype=np.uint8) - ord("0")
    if len(predicted) != len(labels):
        raise ValueError(f"the result holds {len(predicted)} predictions for {len(labels)} labels")
    return predicted == labels


def leak_free_mask(test: Subset) -> np.ndarray | None:
    """The test subset's leak-free mask (bool per image), checked, or None when it has none."""
    if test.leak_free is None:
        return None
    mask = np.asarray(test.leak_free)
    if mask.dtype != bool or mask.shape != test.labels.shape:
        raise ValueError(
            f"test.leak_free must be a bool mask over the {len(test)} test images, "
            f"got {mask.dtype} of shape {mask.shape}"
        )
    return mask


def metrics(probs: np.ndarray, test: Subset) -> dict:
    """Every test metric of the book from predicted probabilities on the test subset."""
    labels, predicted = test.labels, probs.argmax(axis=1)
    hits = predicted == labels
    classes = np.arange(len(config.CLASSES))

    def macro_f1(inside):
        return float(f1_score(labels[inside], predicted[inside], labels=classes, average="macro", zero_division=0))

    by_part = {
        part: {"accuracy": float(hits[test.parts == part].mean()), "n": int((test.parts == part).sum())}
        for part in ("PublicTest", "PrivateTest")
        if (test.parts == part).any()
    }
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    result = {
        "n": len(labels),
        "accuracy": float(hits.mean()),
        "parts": by_part,
        "macro_f1": macro_f1(slice(None)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(config.CLASSES)
        },
        "confusion": confusion_matrix(labels, predicted, labels=classes, normalize="true").round(4).tolist(),
        "calibration": calibration(probs, labels),
        "predicted": encode_predictions(predicted),
    }
    mask = leak_free_mask(test)
    if mask is not None:
        result["leak_free"] = {
            "n": int(mask.sum()),
            "accuracy": float(hits[mask].mean()) if mask.any() else None,
            "macro_f1": macro_f1(mask) if mask.any() else None,
        }
    return result


def row(result: dict) -> dict:
    """The metric columns of one result (`metrics`, with "val_accuracy" where validation scored it): val and test
    accuracy, PrivateTest, PublicTest, leak-free accuracy, macro-F1 and ECE; None where a value is unknown."""
    return {
        "val accuracy": result.get("val_accuracy"),
        "test accuracy": result["accuracy"],
        "PrivateTest": result["parts"].get("PrivateTest", {}).get("accuracy"),
        "PublicTest": result["parts"].get("PublicTest", {}).get("accuracy"),
        "leak-free accuracy": result.get("leak_free", {}).get("accuracy"),
        "macro-F1": result["macro_f1"],
        "ECE": result["calibration"]["ece"],
    }


def metric_table(results: dict) -> pd.DataFrame:
    """One `row` per model ({name: result}); missing values (no validation score, no leak-free mask) are NaN."""
    rows = {name: row(result) for name, result in results.items()}
    return pd.DataFrame.from_dict(rows, orient="index", dtype=float).rename_axis("model")


def rank(results: dict, by: str = "val_accuracy") -> pd.DataFrame:
    """`metric_table` ordered by a validation metric of each result (best first); test metrics are only carried."""
    if not by.startswith("val_"):
        raise ValueError(f"rank by a validation metric ('val_...'), not {by!r}: the test set is for evaluation only")
    unscored = [name for name, r in results.items() if r.get(by) is None]
    if unscored:
        raise ValueError(f"no {by!r} for {unscored}: only models with a validation score can be ranked")
    order = sorted(results, key=lambda name: results[name][by], reverse=True)
    table = metric_table({name: results[name] for name in order})
    table.insert(0, "rank", range(1, len(order) + 1))
    if by != "val_accuracy":
        table.insert(1, by, [results[name][by] for name in order])
    return table


def against_targets(result: dict, targets: dict = config.TARGETS) -> pd.DataFrame:
    """Each accuracy target (config.TARGETS) beside `result`'s accuracy on the same test images (merged, or the
    part the target's source reports): the difference and whether the model is above or below it. One number
    per target, no verdict: a claim about a model rests on seeds (see `comparisons`)."""
    rows = {}
    for name, target in targets.items():
        measured = result["accuracy"] if target.part == "merged" else result["parts"][target.part]["accuracy"]
        difference = measured - target.accuracy
        rows[name] = {
            "target": target.accuracy,
            "test images": target.part,
            "this model": measured,
            "difference": difference,
            "this model is": "above" if difference > 0 else "below" if difference < 0 else "at",
            "source": target.source,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("target name")
