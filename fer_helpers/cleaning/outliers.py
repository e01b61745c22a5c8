"""Autoencoder outlier detection: train on the train split only, score every train image by its
reconstruction error, flag those above the 98th percentile, and save the flagged images by content key.

    run = fit_autoencoder(split, profile)            # the study's split: data.load_split(profile, leakage="kept")
                                                     # trained once, then read back (models/autoencoder.keras and
                                                     # artifacts/autoencoder_run.npz), on any machine
    table = outlier_table(run, split)                # key, id, label, error of every flagged image
    save_outlier_table(table, profile)               # artifacts/outliers.csv; load_outlier_keys(profile) reads it
    comparison_grid(run, split)                      # outliers and kept images over their reconstructions
    per_class(table, split), score_agreement(run, split), error_correlates(run, split), audit_overlap(table, report)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import IsolationForest

from .. import config
from ..analysis import grids
from ..dataset import audit
from ..dataset.data import Split
from ..machine import Stopwatch, describe
from ..modelling.checkpoints import save_model
from ..modelling.models import conv_autoencoder
from ..modelling.training import BATCH, set_seed
from ..quiet import quiet
from ..results import atomic

PERCENTILE = 98


@dataclass
class OutlierRun:
    autoencoder: keras.Model
    errors: pd.Series  # train id -> reconstruction MSE
    threshold: float
    history: dict
    wall_seconds: float
    percentile: float = PERCENTILE
    trained_on: str = ""  # the machine that trained it (its CPU and instruction sets)

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the lowest validation loss (the weights early stopping keeps)."""
        return int(np.argmin(self.history["val_loss"])) + 1

    @property
    def flagged(self) -> pd.Series:
        """Errors of the flagged images (above the threshold), largest first; equal errors (copies of one image) in
        the order of their keys, so every execution writes the same list."""
        flagged = self.errors[self.errors > self.threshold].sort_index()
        return flagged.sort_values(ascending=False, kind="stable")


def reconstruction_errors(autoencoder: keras.Model, x: np.ndarray) -> np.ndarray:
    """Per-image mean squared reconstruction error."""
    reconstructed = autoencoder.predict(x, batch_size=256, verbose=0)
    return ((reconstructed - x) ** 2).mean(axis=(1, 2, 3))


def run_key(split: Split, profile: config.Profile, seed: int = config.SEED) -> str:
    """What decides the autoencoder's training: its training and validation images (content keys, in order), the
    seed and the epoch budget."""
    parts = [*split.train.keys, "|", *split.val.keys, f"seed {seed}", f"epochs {profile.budget('autoencoder')}"]
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:16]


def stored_paths(profile: config.Profile) -> tuple[Path, Path]:
    """The stored autoencoder run: its weights and its record (key, errors per training image, history, machine)."""
    return profile.models_dir / "autoencoder.keras", profile.artifacts_dir / "autoencoder_run.npz"


def save_run(run: OutlierRun, key: str, profile: config.Profile) -> None:
    """Store `run` under `key`, so that a re-execution reads it back instead of training again: the outlier list,
    and so every run key of the run store, then stays the same on any machine."""
    weights, record = stored_paths(profile)
    save_model(run.autoencoder, weights)
    with atomic(record) as partial:
        np.savez_compressed(
            partial,
            key=key,
            keys=run.errors.index.to_numpy(str),
            errors=run.errors.to_numpy(),
            history=json.dumps(run.history),
            wall_seconds=run.wall_seconds,
            machine=run.trained_on,
        )


def load_run(key: str, profile: config.Profile, percentile: float = PERCENTILE) -> OutlierRun | None:
    """The stored run of `key` (`save_run`), or None when none is stored or the stored one was trained on other
    images or settings."""
    weights, record = stored_paths(profile)
    if not (weights.is_file() and record.is_file()):
        return None
    with np.load(record, allow_pickle=False) as stored:
        if str(stored["key"]) != key:
            return None
        errors = pd.Series(stored["errors"], index=stored["keys"], name="error")
        history, seconds, machine = (
            json.loads(str(stored["history"])),
            float(stored["wall_seconds"]),
            str(stored["machine"]),
        )
    with quiet():
        autoencoder = keras.saving.load_model(weights, compile=False)
    threshold = float(np.percentile(errors, percentile))
    return OutlierRun(autoencoder, errors, threshold, history, seconds, percentile, machine)


def fit_autoencoder(
    split: Split, profile: config.Profile, seed: int = config.SEED, percentile: float = PERCENTILE
) -> OutlierRun:
    """Train the autoencoder on split.train for the profile's "autoencoder" epochs (seeded; val for early
    stopping, test untouched), score every train image, and store the run (`save_run`); where a run of the same
    images and settings is stored, read it back instead (training differs across instruction sets)."""
    key = run_key(split, profile, seed)
    if stored := load_run(key, profile, percentile):
        return stored  # the page says where it was trained (`trained_on`)
    set_seed(seed)
    watch = Stopwatch()
    autoencoder = conv_autoencoder()
    autoencoder.compile(keras.optimizers.Adam(1e-3), "mse")
    x_train, x_val = split.train.x(), split.val.x()
    fitted = autoencoder.fit(
        x_train,
        x_train,
        validation_data=(x_val, x_val),
        epochs=profile.budget("autoencoder"),
        batch_size=BATCH,
        shuffle=True,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True)],
    )
    errors = pd.Series(reconstruction_errors(autoencoder, x_train), index=split.train.keys, name="error")
    threshold = float(np.percentile(errors, percentile))
    history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    machine = describe()
    run = OutlierRun(autoencoder, errors, threshold, history, watch.seconds, percentile, machine)
    save_run(run, key, profile)
    print(
        f"autoencoder: {len(history['loss'])} epochs, best val MSE {min(history['val_loss']):.5f}, "
        f"{run.wall_seconds / len(history['loss']):.0f} s/epoch"
    )
    return run


def outlier_table(run: OutlierRun, split: Split) -> pd.DataFrame:
    """The flagged images (content key, Kaggle id where known), their class and error: artifacts/outliers.csv."""
    train = pd.DataFrame(
        {"id": split.train.ids, "label": [config.CLASSES[i] for i in split.train.labels]}, index=split.train.keys
    )
    flagged = run.flagged
    return pd.DataFrame({"key": flagged.index, **train.loc[flagged.index].to_dict("list"), "error": flagged.to_numpy()})


def save_outlier_table(table: pd.DataFrame, profile: config.Profile):
    """Write the flagged images (:func:`outlier_table`) to <artifacts>/outliers.csv, which
    :func:`load_outlier_keys` reads; returns the path."""
    path = profile.artifacts_dir / "outliers.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def load_outlier_keys(profile: config.Profile) -> list[str]:
    """Content keys of the images chapter 3 flagged (artifacts/outliers.csv); the classifier chapters drop these."""
    path = profile.artifacts_dir / "outliers.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run notebooks/03_outliers.ipynb first")
    table = pd.read_csv(path, dtype=str)
    if "key" not in table:
        raise ValueError(f"{path}: no 'key' column (an outlier list from before content keys): re-run 03_outliers")
    return table["key"].tolist()


def isolation_forest_scores(x: np.ndarray, seed: int = config.SEED) -> np.ndarray:
    """A non-neural outlier score on raw pixels (higher = more anomalous)."""
    forest = IsolationForest(n_estimators=200, random_state=seed, n_jobs=2).fit(x.reshape(len(x), -1))
    return -forest.score_samples(x.reshape(len(x), -1))


def class_mean_distance(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance of each image to the mean face of its class (another simple outlier score)."""
    flat = x.reshape(len(x), -1)
    means = np.stack([flat[labels == c].mean(axis=0) for c in range(len(config.CLASSES))])
    return np.linalg.norm(flat - means[labels], axis=1)


def top_share(scores: np.ndarray, percentile: float = PERCENTILE) -> np.ndarray:
    """Boolean mask of the scores above their `percentile`."""
    return scores > np.percentile(scores, percentile)


# ---- what the autoencoder flags ----------------------------------------------------------------


def comparison_grid(run: OutlierRun, split: Split, n: int = 8, seed: int = config.SEED):
    """The study's "Comparison" figure: the `n` worst-reconstructed training images and `n` random kept
    ones (titled with their error), each above the autoencoder's reconstruction of it."""
    row_of = pd.Series(np.arange(len(split.train)), index=split.train.keys)
    worst = row_of[run.flagged.index[:n]].to_numpy()
    kept_rows = row_of.drop(run.flagged.index).to_numpy()
    kept = np.random.default_rng(seed).choice(kept_rows, min(n, len(kept_rows)), replace=False)
    shown = np.concatenate([worst, kept])
    reconstructed = run.autoencoder.predict(split.train.x()[shown], verbose=0)[..., 0]
    reconstructed = np.clip(np.round(reconstructed * 255), 0, 255).astype(np.uint8)
    errors = run.errors.to_numpy()
    titles = [f"outlier\n{errors[i]:.4f}" for i in worst] + [f"kept\n{errors[i]:.4f}" for i in kept]
    images = list(split.train.images[shown]) + list(reconstructed)
    return grids.image_grid(images, titles + ["reconstruction"] * len(shown), ncols=len(shown), tile=0.9, fontsize=6)


def per_class(table: pd.DataFrame, split: Split) -> pd.DataFrame:
    """Per class: training images, images flagged (:func:`outlier_table`) and the share flagged."""
    names = pd.Series(split.train.labels).map(dict(enumerate(config.CLASSES)))
    counts = pd.DataFrame({"train images": names.value_counts(), "flagged": table["label"].value_counts()})
    counts = counts.reindex(list(config.CLASSES)).fillna(0).astype(int)
    counts["share flagged"] = counts["flagged"] / counts["train images"]
    return counts.rename_axis("class")


def score_agreement(run: OutlierRun, split: Split, seed: int = config.SEED) -> pd.DataFrame:
    """Two non-neural scores on raw pixels (IsolationForest, distance to the class's mean face), each
    thresholded at the autoencoder's percentile: images flagged, how many the autoencoder flags too, the
    Jaccard index of the two sets, and the score's Spearman correlation with the reconstruction error."""
    x = split.train.x()
    errors = run.errors.reindex(split.train.keys).to_numpy()
    by_autoencoder = errors > run.threshold
    scores = {
        "IsolationForest": isolation_forest_scores(x, seed),
        "distance to class mean": class_mean_distance(x, split.train.labels),
    }
    rows = {}
    for name, score in scores.items():
        flagged = top_share(score, run.percentile)
        rows[name] = {
            "flagged": int(flagged.sum()),
            "also flagged by the autoencoder": int((flagged & by_autoencoder).sum()),
            "Jaccard": (flagged & by_autoencoder).sum() / max((flagged | by_autoencoder).sum(), 1),
            "Spearman with the error": float(spearmanr(errors, score).statistic),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def laplacian_detail(images: np.ndarray) -> np.ndarray:
    """Fine detail of each image: the mean absolute 4-neighbour Laplacian (grey levels), inner pixels."""
    x = np.asarray(images, np.float32)
    laplacian = 4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]
    return np.abs(laplacian).mean(axis=(1, 2))


def error_correlates(run: OutlierRun, split: Split) -> pd.Series:
    """Spearman correlation of the reconstruction error with the contrast (pixel standard deviation),
    fine detail (:func:`laplacian_detail`) and brightness (pixel mean) of every training image."""
    errors = run.errors.reindex(split.train.keys).to_numpy()
    flat = split.train.images.reshape(len(split.train), -1).astype(np.float32)
    properties = {
        "contrast (pixel std)": flat.std(axis=1),
        "fine detail (mean |Laplacian|)": laplacian_detail(split.train.images),
        "brightness (pixel mean)": flat.mean(axis=1),
    }
    rho = {name: float(spearmanr(errors, values).statistic) for name, values in properties.items()}
    return pd.Series(rho, name="Spearman correlation with the reconstruction error")


def audit_overlap(table: pd.DataFrame, report: pd.DataFrame) -> pd.DataFrame:
    """Per issue of chapter 1's audit (audit.load: one row per flagged image, by id and split), the
    training images with that issue and how many of them the autoencoder flagged (`table`, by id)."""
    train = report[report["split"] == "train"]
    by_issue = train.groupby("issue")["id"].agg(lambda ids: set(ids)).reindex(list(audit.ISSUES))
    flagged = set(table["id"])
    counts = pd.DataFrame(
        {
            "train images": [len(ids) if isinstance(ids, set) else 0 for ids in by_issue],
            "flagged by the autoencoder": [len(ids & flagged) if isinstance(ids, set) else 0 for ids in by_issue],
        },
        index=by_issue.index,
    )
    counts["share flagged"] = counts["flagged by the autoencoder"] / counts["train images"].where(
        counts["train images"] > 0
    )
    return counts
