"""Train-and-evaluate trials: one arm (a model builder under a recipe) over seeds, with each seed's test
predictions kept for paired tests, and tables of them (mean ± sd over seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import checkpoints, config, evaluation, results, training
from .data import Split, Subset

COLUMNS = ["val accuracy", "test accuracy", "PrivateTest", "PublicTest", "macro-F1"]
# the columns of an arm comparison (`arm_rows`): every test accuracy beside its leak-free counterpart
ARM_COLUMNS = ["val accuracy", "test accuracy", "leak-free accuracy", "macro-F1"]


@dataclass
class Trial:
    """One trained seed of an arm: the run, its test metrics and its predicted class per test image."""

    run: training.Run
    result: dict  # evaluation.metrics on split.test
    predicted: np.ndarray  # class index per test image, in split.test order
    correct: np.ndarray  # bool per test image: predicted == label (what paired tests compare)


def run(
    build, split: Split, name: str, profile: config.Profile, recipe: config.Recipe, *, save: bool = False, **options
) -> Trial:
    """Build a model on the training images (seeded), train it with `recipe` (`options`: those of `training.train`:
    epochs, train, seed, class_weight), evaluate it on the test set."""
    training.set_seed(options.get("seed", config.SEED))
    model = build((options.get("train") or split.train).x())
    fitted = training.train(model, split, name, profile, recipe, save=save, **options)
    probs = evaluation.predict(fitted.model, split.test.x())
    predicted = probs.argmax(axis=1)
    return Trial(fitted, evaluation.metrics(probs, split.test), predicted, predicted == split.test.labels)


def from_store(found: dict[str, list], split: Split) -> dict[str, list[Trial]]:
    """Trials of stored runs ({arm: `store.StoredRun`s}, as `runs.chapter_runs` gives them), keyed by the arms'
    labels, their test metrics computed from the stored probabilities (checked to be on `split`'s images)."""
    from .chapters import arm as declared

    trials = {}
    for name, stored in found.items():
        for run in stored:
            run.check(split.val, split.test)
            probs = run.probabilities["test"]
            predicted = probs.argmax(axis=1)
            trial = Trial(run, evaluation.metrics(probs, split.test), predicted, predicted == split.test.labels)
            trials.setdefault(declared(name).label, []).append(trial)
    return trials


def run_seeds(
    build,
    split: Split,
    name: str,
    profile: config.Profile,
    recipe: config.Recipe,
    *,
    seeds=config.SEEDS,
    save: bool = False,
    **options,
) -> list[Trial]:
    """`run` once per seed (runs named <name>_s<seed>); `save` keeps the first seed's model as models/<name>.keras."""
    trials = [run(build, split, f"{name}_s{seed}", profile, recipe, seed=seed, **options) for seed in seeds]
    if save:
        checkpoints.save_model(trials[0].run.model, profile.models_dir / f"{name}.keras")
    return trials


def row(variant: str, trial: Trial) -> dict:
    """One table row: the variant, its seed and training summary, and its test metrics."""
    fitted, result = trial.run, trial.result
    return {
        "variant": variant,
        "seed": fitted.seed,
        "epochs": fitted.epochs,
        "best epoch": fitted.best_epoch,
        "train seconds": fitted.wall_seconds,
        "val accuracy": fitted.summary()["val_accuracy"],
        "test accuracy": result["accuracy"],
        "PrivateTest": result["parts"]["PrivateTest"]["accuracy"],
        "PublicTest": result["parts"]["PublicTest"]["accuracy"],
        "macro-F1": result["macro_f1"],
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


TTA_LABELS = {"plain": "none", "flip_tta": "flip", "shift_tta": "windows", "ten_crop": "windows × flip"}


def with_chosen_tta(tta: dict) -> tuple[str, float]:
    """The test-time augmentation validation kept (`evaluation.choose_tta`) and the validation accuracy with it."""
    kept = next(name for name, views in evaluation.TTA_OPTIONS.items() if views == (tta["flip_tta"], tta["shift_tta"]))
    return kept, tta["val_accuracy" if kept == "plain" else f"val_accuracy_{kept}"]


def predictions_path(name: str, profile: config.Profile) -> Path:
    return profile.results_dir / "predictions" / f"{name}.csv"


def save_predictions(name: str, trials: list[Trial], test: Subset, profile: config.Profile) -> Path:
    """results/predictions/<name>.csv: per test image its id, part and label, and the class each seed predicted."""
    table = pd.DataFrame({"id": test.ids, "part": test.parts, "label": test.labels})
    for trial in trials:
        table[f"seed {trial.run.seed}"] = trial.predicted
    path = predictions_path(name, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def load_correct(name: str, profile: config.Profile) -> pd.DataFrame:
    """Per test image (index: id) and seed (columns): was it classified correctly, from `save_predictions`."""
    path = predictions_path(name, profile)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the chapter that trains '{name}' first")
    table = pd.read_csv(path, dtype={"id": str}).set_index("id")
    seeds = [c for c in table.columns if c.startswith("seed ")]
    if not seeds:
        raise ValueError(f"{path}: no 'seed <n>' columns of predicted classes")
    return table[seeds].eq(table["label"], axis=0)


def load_by_seed(name: str, test: Subset, profile: config.Profile) -> dict[int, np.ndarray]:
    """{seed: per-image correctness} of the runs saved as `name` (`save_predictions`), checked to be on the images
    of `test` in its order: what `comparisons.assess` takes per arm, as `by_seed` gives it for trials in memory."""
    correct = load_correct(name, profile)
    if list(correct.index) != [str(i) for i in test.ids]:
        raise ValueError(
            f"{predictions_path(name, profile)}: its {len(correct)} rows are not the {len(test)} test images of "
            f"this split, in order (made on other data? run the chapter that trains '{name}' again)"
        )
    return {int(column.removeprefix("seed ")): correct[column].to_numpy(dtype=bool) for column in correct.columns}


def accuracies_from_predictions(name: str, test: Subset, profile: config.Profile) -> pd.DataFrame:
    """Per seed (rows), the test accuracy of the runs whose predictions `save_predictions` kept as `name`: merged,
    PrivateTest, PublicTest and on the leak-free images of `test` (the subset they were made on, same order)."""
    path = predictions_path(name, profile)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the chapter that trains '{name}' first")
    table = pd.read_csv(path, dtype={"id": str, "part": str})
    if len(table) != len(test) or not np.array_equal(table["label"].to_numpy(), test.labels):
        raise ValueError(
            f"{path}: its {len(table)} rows are not the {len(test)} test images of this split, in order "
            f"(made on other data? run the chapter that trains '{name}' again)"
        )
    correct = load_correct(name, profile)
    parts = table["part"].to_numpy()
    mask = evaluation.leak_free_mask(test)
    rows = {
        int(column.removeprefix("seed ")): {
            "test accuracy": hits.mean(),
            "PrivateTest": hits[parts == "PrivateTest"].mean(),
            "PublicTest": hits[parts == "PublicTest"].mean(),
            "leak-free accuracy": hits[mask].mean() if mask is not None and mask.any() else np.nan,
        }
        for column, hits in ((column, correct[column].to_numpy()) for column in correct.columns)
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")


def save_model_result(name: str, trial: Trial, split: Split, profile: config.Profile, **extra) -> None:
    """results/<name>.json for a saved model: test metrics, training summary, inference speed, metadata, and
    the test-time augmentation chosen on validation (`tta`: `evaluation.choose_tta`) and the test metrics of the
    best option besides plain (reported only, whether or not validation kept it)."""
    fitted = trial.run
    tta = evaluation.choose_tta(fitted.model, split.val)
    tta["test"] = evaluation.evaluate(fitted.model, split.test, *evaluation.TTA_OPTIONS[tta["best"]])
    payload = {
        **trial.result,
        "val_accuracy": fitted.summary()["val_accuracy"],
        "training": fitted.summary(),
        "speed": evaluation.speed(fitted.model),
        "tta": tta,
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


def row_from_saved(variant: str, saved: dict) -> dict:
    """The same row as `row`, read back from a results/<model>.json file."""
    training_summary = saved["training"]
    return {
        "variant": variant,
        "seed": training_summary["seed"],
        "epochs": training_summary["epochs_run"],
        "best epoch": training_summary["best_epoch"],
        "train seconds": training_summary["train_seconds"],
        "val accuracy": saved["val_accuracy"],
        "test accuracy": saved["accuracy"],
        "PrivateTest": saved["parts"]["PrivateTest"]["accuracy"],
        "PublicTest": saved["parts"]["PublicTest"]["accuracy"],
        "macro-F1": saved["macro_f1"],
    }
