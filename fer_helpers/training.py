"""One training function for every classifier: seeded, in-memory tf.data with fixed prefetch,
early stopping and LR reduction on the validation split, resumable checkpoints, saved history."""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from . import config
from .data import Split, Subset
from .results import Stopwatch

BATCH = 64


def set_seed(seed: int = config.SEED) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def one_hot(labels: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(labels, len(config.CLASSES)).astype("float32")


def batches(x: np.ndarray, y: np.ndarray, shuffle: bool, seed: int = config.SEED) -> tf.data.Dataset:
    """Batches from memory; fixed prefetch (tf.data autotuning stalls fit() on this CPU)."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(BATCH).prefetch(2)


class TimeBudget(keras.callbacks.Callback):
    """Stop training before an epoch would end past `seconds` of wall time (a matched CPU budget)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.watch = Stopwatch()

    def on_epoch_end(self, epoch, logs=None):
        per_epoch = self.watch.seconds / (epoch + 1)
        if self.watch.seconds + per_epoch > self.seconds:
            self.model.stop_training = True


@dataclass
class Run:
    model: keras.Model
    history: dict  # metric -> list per epoch
    epochs: int  # epochs run
    best_epoch: int  # 1-based, by validation accuracy
    wall_seconds: float
    seed: int

    def summary(self) -> dict:
        return {
            "epochs_run": self.epochs, "best_epoch": self.best_epoch, "train_seconds": self.wall_seconds,
            "seconds_per_epoch": round(self.wall_seconds / max(self.epochs, 1), 1), "seed": self.seed,
            "val_accuracy": max(self.history["val_accuracy"]), "params": self.model.count_params(),
        }


def cosine_schedule(peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: int = 0):
    """Linear warm-up from 0 to `peak` over `warmup_epochs`, then cosine decay to 0 by the end of `epochs`.

    The warm-up is cut to leave at least one epoch of decay (a 1-epoch smoke run has none).
    """
    warmup = steps_per_epoch * min(warmup_epochs, epochs - 1)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else peak, steps_per_epoch * epochs - warmup,
        warmup_target=peak if warmup else None, warmup_steps=warmup)


def train(model: keras.Model, split: Split, name: str, profile: config.Profile, epochs: int, *,
          train: Subset | None = None, seed: int = config.SEED, learning_rate: float = 1e-3,
          label_smoothing: float = 0.0, class_weight: dict | None = None, patience: int = 8,
          cosine: bool = False, weight_decay: float = 0.0, save: bool = True,
          time_budget: float | None = None, sgd: bool = False, warmup_epochs: int = 0) -> Run:
    """Fit `model` on split.train (or `train`), select by validation accuracy; `save` writes models/<name>.keras.

    With `cosine`, the learning rate follows a cosine decay to 0 over `epochs`, after a linear
    warm-up from 0 over `warmup_epochs`; otherwise it is halved when validation loss stalls for 3
    epochs. The optimizer is Adam (AdamW with `weight_decay`), or with `sgd` SGD with Nesterov
    momentum 0.9. Early stopping on validation accuracy restores the best weights. An interrupted
    run resumes from its backup. With `time_budget` (seconds), training stops before an epoch would
    end past it.
    """
    set_seed(seed)
    train = train or split.train
    steps_per_epoch = int(np.ceil(len(train) / BATCH))
    rate = cosine_schedule(learning_rate, steps_per_epoch, epochs, warmup_epochs) if cosine else learning_rate
    if sgd:
        optimizer = keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=weight_decay or None)
    elif weight_decay:
        optimizer = keras.optimizers.AdamW(rate, weight_decay=weight_decay)
    else:
        optimizer = keras.optimizers.Adam(rate)
    model.compile(optimizer, keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), metrics=["accuracy"])
    profile.models_dir.mkdir(parents=True, exist_ok=True)
    history_dir = profile.results_dir / "history"
    history_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping("val_accuracy", patience=patience, restore_best_weights=True),
        keras.callbacks.BackupAndRestore(str(profile.models_dir / ".backup" / name)),
        keras.callbacks.CSVLogger(str(history_dir / f"{name}.csv")),
    ]
    if time_budget:
        callbacks.append(TimeBudget(time_budget))
    if not cosine:
        callbacks.append(keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3, min_lr=1e-5))
    watch = Stopwatch()
    fitted = model.fit(
        batches(train.x(), one_hot(train.labels), shuffle=True, seed=seed),
        validation_data=batches(split.val.x(), one_hot(split.val.labels), shuffle=False),
        epochs=epochs, class_weight=class_weight, callbacks=callbacks, verbose=2,
    )
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    if save:
        save_model(model, profile.models_dir / f"{name}.keras")
    return Run(model, history, len(history["loss"]), int(np.argmax(history["val_accuracy"])) + 1, watch.seconds, seed)


def save_model(model: keras.Model, path) -> None:
    """Save the weights and architecture only (no optimizer state): small, and loads anywhere."""
    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save(path)


def plot_history(runs: dict, ax=None):
    """Validation accuracy per epoch of several runs ({label: Run})."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for label, run in runs.items():
        ax.plot(range(1, run.epochs + 1), run.history["val_accuracy"], label=label)
    ax.set(xlabel="epoch", ylabel="validation accuracy")
    ax.legend(fontsize="small")
    return ax
