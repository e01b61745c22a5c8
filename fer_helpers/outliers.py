"""Autoencoder outlier detection: train on the train split only, score every train image by its
reconstruction error, flag those above the 98th percentile, and save the flagged ids."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from . import config
from .data import Split
from .models import conv_autoencoder
from .results import Stopwatch
from .training import BATCH, set_seed

PERCENTILE = 98


@dataclass
class OutlierRun:
    autoencoder: keras.Model
    errors: pd.Series  # train id -> reconstruction MSE
    threshold: float
    history: dict
    wall_seconds: float

    @property
    def flagged(self) -> pd.Series:
        """Errors of the flagged images (above the threshold), largest first."""
        return self.errors[self.errors > self.threshold].sort_values(ascending=False)


def reconstruction_errors(autoencoder: keras.Model, x: np.ndarray) -> np.ndarray:
    """Per-image mean squared reconstruction error."""
    reconstructed = autoencoder.predict(x, batch_size=256, verbose=0)
    return ((reconstructed - x) ** 2).mean(axis=(1, 2, 3))


def fit_autoencoder(
    split: Split, profile: config.Profile, seed: int = config.SEED, percentile: float = PERCENTILE
) -> OutlierRun:
    """Train the autoencoder on split.train for the profile's "autoencoder" epochs (seeded; val for early
    stopping, test untouched) and score every train image."""
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
    run = OutlierRun(autoencoder, errors, threshold, history, watch.seconds)
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
