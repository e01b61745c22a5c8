"""One evaluation for every classifier on the test set, and every choice between models on validation.

Test metrics: accuracy on the merged 7,178 test images, on PublicTest and PrivateTest separately (papers
report PrivateTest) and on the leak-free test images (no copy in train or val), macro-F1, per-class
precision/recall/F1, a normalised confusion matrix, calibration (ECE with a reliability diagram), the
per-image predictions (for paired comparisons, see `comparisons`) and inference speed.
Choices read validation only: `rank`, `choose_tta`, `select_ensemble`; test accuracy is carried, never used.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from . import config
from .data import Subset
from .models import margin

N_BOOTSTRAP = 1000
N_BINS = 15


def predict(model, x: np.ndarray, flip_tta: bool = False, shift_tta: bool = False) -> np.ndarray:
    """Class probabilities, averaged over the test-time views asked for: with `flip_tta`, the mirrored images;
    with `shift_tta` (a model that looks at a window, `models.Window`), the four corner windows besides the centre
    one. Both give ten views: the ten-crop test of the published recipes."""
    edge = margin(model) if shift_tta else 0
    if shift_tta and not edge:
        raise ValueError(
            f"shift_tta needs a model that looks at a window (models.Window): {getattr(model, 'name', model)!r}"
            " has none"
        )
    views = [
        np.roll(x, shift, axis=(1, 2))
        for shift in [(0, 0)] + [(dy, dx) for dy in (-edge, edge) for dx in (-edge, edge)] * bool(edge)
    ]
    views += [view[:, :, ::-1] for view in views] * flip_tta
    return np.mean([model.predict(view, batch_size=256, verbose=0) for view in views], axis=0)


def bootstrap_ci(values: np.ndarray, seed: int = config.SEED) -> list[float]:
    """95 % percentile-bootstrap interval of the mean of per-image values (one trained model: test-sampling
    noise only; a claim about models rests on seeds, see `comparisons`)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (N_BOOTSTRAP, len(values)))].mean(axis=1)
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


def evaluate(model, test: Subset, flip_tta: bool = False, shift_tta: bool = False) -> dict:
    """`metrics` of `model` on the test subset (with the test-time views of `predict`)."""
    return metrics(predict(model, test.x(), flip_tta, shift_tta), test)


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
    latency_ms = 1000 * (time.perf_counter() - start) / repeats
    return {"images_per_second_batch64": round(throughput, 1), "latency_ms_batch1": round(latency_ms, 2)}


def plot_confusion(result: dict, ax=None, title=None):
    """Heatmap of the row-normalised confusion matrix (rows: true class)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    ax = ax or plt.gca()
    sns.heatmap(
        np.array(result["confusion"]),
        annot=True,
        fmt=".2f",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=False,
        xticklabels=config.CLASSES,
        yticklabels=config.CLASSES,
        ax=ax,
    )
    ax.set(xlabel="predicted", ylabel="true", title=title or "")
    return ax


def plot_reliability(result: dict, ax=None, title=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    bins = result["calibration"]["bins"]
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.bar([b["confidence"] for b in bins], [b["accuracy"] for b in bins], width=1 / N_BINS, alpha=0.6, edgecolor="k")
    ax.set(
        xlabel="confidence",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=title or f"ECE = {result['calibration']['ece']:.3f}",
    )
    return ax


def metric_table(results: dict) -> pd.DataFrame:
    """One row per model ({name: result}): val and test accuracy, PrivateTest, PublicTest, leak-free accuracy,
    macro-F1, ECE; missing values (no validation score, no leak-free mask) are NaN."""
    rows = {
        name: {
            "val accuracy": r.get("val_accuracy"),
            "test accuracy": r["accuracy"],
            "PrivateTest": r["parts"].get("PrivateTest", {}).get("accuracy"),
            "PublicTest": r["parts"].get("PublicTest", {}).get("accuracy"),
            "leak-free accuracy": r.get("leak_free", {}).get("accuracy"),
            "macro-F1": r["macro_f1"],
            "ECE": r["calibration"]["ece"],
        }
        for name, r in results.items()
    }
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


def as_chosen(saved: dict) -> dict:
    """A saved model's test metrics as validation chose to run it (`experiments.save_model_result`): those with
    test-time augmentation (saved["tta"]["test"]) when validation chose it, the plain ones otherwise."""
    tta = saved.get("tta")
    return tta["test"] if isinstance(tta, dict) and (tta.get("flip_tta") or tta.get("shift_tta")) else saved


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


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == labels).mean())


# test-time views (flip_tta, shift_tta), fewest views first: a tie keeps the cheaper option
TTA_OPTIONS = {"plain": (False, False), "flip_tta": (True, False), "shift_tta": (False, True), "ten_crop": (True, True)}


def choose_tta(model_or_probs, val: Subset, probabilities: bool = False) -> dict:
    """Test-time augmentation chosen on validation: the option (`TTA_OPTIONS`: flip, and for a model that looks
    at a window also shifted windows and both) with the best validation accuracy, kept only when it beats plain.

    `model_or_probs`: a model, or its class probabilities on `val` under some of the options ({option: probs},
    "plain" among them; a stored run holds them, `store.StoredRun.views`).
    Returns {"flip_tta": bool, "shift_tta": bool} as kept, "best": the best option besides plain (what
    `experiments.save_model_result` reports on test either way), and "val_accuracy" plus
    "val_accuracy_<option>" for each option tried; with `probabilities`, "val": the kept option's probabilities.
    """
    if isinstance(model_or_probs, dict):
        found = dict(model_or_probs)
    else:
        x, window = val.x(), bool(margin(model_or_probs))
        options = {name: views for name, views in TTA_OPTIONS.items() if window or not views[1]}
        found = {name: predict(model_or_probs, x, *views) for name, views in options.items()}
    scores = {name: accuracy(probs, val.labels) for name, probs in found.items()}
    best = max((name for name in scores if name != "plain"), key=scores.get, default="plain")
    kept = best if scores[best] > scores["plain"] else "plain"
    flip, shift = TTA_OPTIONS[kept]
    choice = {"flip_tta": flip, "shift_tta": shift, "best": best, "val_accuracy": scores["plain"]}
    choice |= {f"val_accuracy_{name}": score for name, score in scores.items() if name != "plain"}
    return choice | ({"val": found[kept]} if probabilities else {})


def tta_probabilities(model, val: Subset, test: Subset) -> dict:
    """`choose_tta` for `model` on `val`, and its class probabilities on `val` and `test` as chosen: `choose_tta`'s
    keys plus "val" and "test", what `select_ensemble` averages."""
    choice = choose_tta(model, val, probabilities=True)
    return choice | {"test": predict(model, test.x(), choice["flip_tta"], choice["shift_tta"])}


def select_ensemble(val_probs: dict, val_labels: np.ndarray, max_members: int = 3) -> dict:
    """Greedy soft-voting ensemble chosen on validation.

    Starts from the model with the best validation accuracy, then adds, one at a time, the model whose
    averaged probabilities raise validation accuracy most; stops when none raises it or at `max_members`.
    Returns {"members": [names, in the order added], "val_accuracy": [accuracy after each addition]}.
    """
    if not val_probs or max_members < 1:
        raise ValueError(f"select_ensemble needs models and max_members >= 1, got {len(val_probs)} and {max_members}")

    def score(names):
        return accuracy(np.mean([val_probs[n] for n in names], axis=0), val_labels)

    members, path = [], []
    while len(members) < max_members:
        candidates = {name: score(members + [name]) for name in val_probs if name not in members}
        best = max(candidates, key=candidates.get, default=None)
        if best is None or (path and candidates[best] <= path[-1]):
            break
        members.append(best)
        path.append(candidates[best])
    return {"members": members, "val_accuracy": path}
