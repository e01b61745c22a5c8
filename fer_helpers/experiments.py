"""Train-and-evaluate runs as table rows, repeated over seeds and summarised as mean ± sd."""
from __future__ import annotations

import pandas as pd

from . import config, evaluation, results, training
from .data import Split, Subset

SEEDS = (config.SEED, config.SEED + 1, config.SEED + 2)
COLUMNS = ["val accuracy", "test accuracy", "PrivateTest", "PublicTest", "macro-F1"]


def run(build, split: Split, name: str, profile: config.Profile, epochs: int, *, train: Subset | None = None,
        seed: int = config.SEED, save: bool = False, **train_options) -> tuple[training.Run, dict]:
    """Build a model on the training images (seeded), train it, evaluate it on the test set."""
    training.set_seed(seed)
    model = build((train or split.train).x())
    fitted = training.train(model, split, name, profile, epochs, train=train, seed=seed, save=save, **train_options)
    return fitted, evaluation.evaluate(fitted.model, split.test)


def row(variant: str, fitted: training.Run, result: dict) -> dict:
    """One table row: the variant, its seed and training summary, and its test metrics."""
    return {
        "variant": variant, "seed": fitted.seed, "epochs": fitted.epochs, "best epoch": fitted.best_epoch,
        "train seconds": fitted.wall_seconds, "val accuracy": max(fitted.history["val_accuracy"]),
        "test accuracy": result["accuracy"], "PrivateTest": result["parts"]["PrivateTest"]["accuracy"],
        "PublicTest": result["parts"]["PublicTest"]["accuracy"], "macro-F1": result["macro_f1"],
    }


def mean_sd(table: pd.DataFrame, columns=COLUMNS) -> pd.DataFrame:
    """Per variant: number of seeds and mean and sd of each metric."""
    grouped = table.groupby("variant", sort=False)[list(columns)]
    summary = grouped.mean().add_suffix(" mean").join(grouped.std(ddof=1).add_suffix(" sd"))
    summary.insert(0, "seeds", table.groupby("variant", sort=False).size())
    return summary[["seeds"] + [f"{c} {s}" for c in columns for s in ("mean", "sd")]]


def save_model_result(name: str, fitted: training.Run, result: dict, profile: config.Profile, **extra) -> None:
    """results/<name>.json for a saved model: test metrics, training summary, inference speed, metadata."""
    payload = {**result, "val_accuracy": max(fitted.history["val_accuracy"]), "training": fitted.summary(),
               "speed": evaluation.speed(fitted.model), **extra}
    results.save_result(name, payload, profile, epochs=fitted.epochs, train_seconds=fitted.wall_seconds)


def row_from_saved(variant: str, saved: dict) -> dict:
    """The same row as `row`, read back from a results/<model>.json file."""
    training_summary = saved["training"]
    return {
        "variant": variant, "seed": training_summary["seed"], "epochs": training_summary["epochs_run"],
        "best epoch": training_summary["best_epoch"], "train seconds": training_summary["train_seconds"],
        "val accuracy": saved["val_accuracy"], "test accuracy": saved["accuracy"],
        "PrivateTest": saved["parts"]["PrivateTest"]["accuracy"], "PublicTest": saved["parts"]["PublicTest"]["accuracy"],
        "macro-F1": saved["macro_f1"],
    }
