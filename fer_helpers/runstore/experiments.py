"""Trials: the trained seeds of an arm, each with its test metrics and per-image predictions (for paired tests),
and tables of them (mean ± sd over seeds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config, results
from ..dataset.data import Split, Subset
from ..modelling import flops, inference, metrics, training

COLUMNS = ["val accuracy", "test accuracy", "PrivateTest", "PublicTest", "macro-F1"]
# the columns of an arm comparison (`arm_rows`): every test accuracy beside its leak-free counterpart
ARM_COLUMNS = ["val accuracy", "test accuracy", "leak-free accuracy", "macro-F1"]


@dataclass
class Trial:
    """One trained seed of an arm: the run, its test metrics and its predicted class per test image."""

    run: training.Run
    result: dict  # metrics.metrics on split.test
    predicted: np.ndarray  # class index per test image, in split.test order
    correct: np.ndarray  # bool per test image: predicted == label (what paired tests compare)

    @classmethod
    def of(cls, run, probs: np.ndarray, test: Subset) -> Trial:
        """The trial of `run` (a `training.Run` or a `store.StoredRun`) from its class probabilities on `test`."""
        predicted = probs.argmax(axis=1)
        return cls(run, metrics.metrics(probs, test), predicted, predicted == test.labels)


def from_store(found: dict[str, list], split: Split) -> dict[str, list[Trial]]:
    """Trials of stored runs ({arm: `store.StoredRun`s}, as `runs.chapter_runs` gives them), keyed by the arms'
    labels, their test metrics computed from the stored probabilities (checked to be on `split`'s images)."""
    from ..chapters import arm as declared

    trials = {}
    for name, stored in found.items():
        for run in stored:
            run.check(split.val, split.test)
            trials.setdefault(declared(name).label, []).append(Trial.of(run, run.probabilities["test"], split.test))
    return trials


def row(variant: str, trial: Trial) -> dict:
    """One table row: the variant, its seed and training summary, and its test metrics (`metrics.row`)."""
    fitted, metric = trial.run, metrics.row({**trial.result, "val_accuracy": trial.run.summary()["val_accuracy"]})
    return {
        "variant": variant,
        "seed": fitted.seed,
        "epochs": fitted.epochs,
        "best epoch": fitted.best_epoch,
        "train seconds": fitted.wall_seconds,
        **{column: metric[column] for column in COLUMNS},
    }


def per_class(trials: list[Trial], metric: str = "recall") -> pd.DataFrame:
    """One per-class test metric ("recall", "precision", "f1") of every seed: classes x seeds, in class order."""
    return pd.DataFrame(
        {f"seed {t.run.seed}": {c: t.result["per_class"][c][metric] for c in config.CLASSES} for t in trials}
    ).rename_axis(metric)


def mean_sd(table: pd.DataFrame, columns=COLUMNS) -> pd.DataFrame:
    """Per variant: number of seeds and mean and sd of each metric."""
    grouped = table.groupby("variant", sort=False)[list(columns)]
    summary = grouped.mean().add_suffix(" mean").join(grouped.std(ddof=1).add_suffix(" sd"))
    summary.insert(0, "seeds", table.groupby("variant", sort=False).size())
    return summary[["seeds"] + [f"{c} {s}" for c in columns for s in ("mean", "sd")]]


def leak_free_accuracy(result: dict) -> float:
    """A result's accuracy on the leak-free test images; NaN where it has none (no mask, or no such image)."""
    value = result.get("leak_free", {}).get("accuracy")
    return np.nan if value is None else float(value)


def arm_rows(arms: dict[str, list[Trial]]) -> pd.DataFrame:
    """One row per arm and seed ({arm: trials}, in that order): `row` and the leak-free test accuracy
    (`mean_sd(arm_rows(arms), ARM_COLUMNS)` gives the per-arm mean and sd)."""
    return pd.DataFrame(
        [
            {**row(arm, trial), "leak-free accuracy": leak_free_accuracy(trial.result)}
            for arm, trials in arms.items()
            for trial in trials
        ]
    )


def by_seed(trials: list[Trial]) -> dict[int, np.ndarray]:
    """{seed: per-image test correctness} of an arm's trials: what `comparisons.assess` takes per arm."""
    return {int(trial.run.seed): trial.correct for trial in trials}


def save_model_result(name: str, trial: Trial, split: Split, profile: config.Profile, **extra) -> None:
    """results/<name>.json for a saved model: test metrics, training summary, inference speed, metadata, and
    the test-time augmentation chosen on validation (`tta`: `inference.TTA.to_json`) and the test metrics of the
    best option besides plain (reported only, whether or not validation kept it)."""
    fitted = trial.run
    chosen = inference.choose_tta(fitted.model, split.val)
    tested = inference.evaluate(fitted.model, split.test, *inference.TTA_OPTIONS[chosen.best])
    payload = {
        **trial.result,
        "val_accuracy": fitted.summary()["val_accuracy"],
        "training": fitted.summary(),
        "speed": flops.speed(fitted.model),
        "tta": chosen.to_json() | {"test": tested},
        **extra,
    }
    results.save_result(
        name,
        payload,
        profile,
        seed=fitted.seed,
        epochs=fitted.epochs,
        train_seconds=fitted.wall_seconds,
        load=fitted.load,
    )
