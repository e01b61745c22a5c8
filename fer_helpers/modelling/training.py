"""One training function for every classifier: a `config.Recipe` trained for exactly its epochs, the best
epoch chosen by validation accuracy, and a resume that gives the same weights as an uninterrupted run.
The recipe's augmentation is applied here, in front of the model while it trains (so build models
without their own augmentation layers); the saved model is the bare classifier.

Every random draw derives from (seed, epoch): the shuffle order, and the state of every Keras
`SeedGenerator` (augmentation, dropout), reset before each epoch. After each epoch a backup
(weights with optimizer state, history) is written under models/.backup/<name>/; a new call with
the same name and settings resumes from it. With a deadline, a run stops at the epoch that would overrun it
(`OutOfTime`), its backup kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .. import config
from ..dataset.data import Split, Subset
from ..machine import Stopwatch, cpu_info, load_average
from .checkpoints import Backup, save_model, write_history
from .optimizers import optimizer, plateau_rate
from .progress import Progress

# the version of the training code in the run store's keys: raise it when a change moves the numbers
TRAINING_CODE = 1
BATCH = config.PROTOCOL.batch


def set_seed(seed: int = config.SEED) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def one_hot(labels: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(labels, len(config.CLASSES)).astype("float32")


def epoch_seeds(seed: int, epoch: int, n: int) -> np.ndarray:
    """`n` seeds for epoch `epoch` (0-based) of a run seeded `seed`."""
    return np.random.SeedSequence([seed, epoch]).generate_state(n) >> 1  # < 2**31: fits every backend's seed


def batches(x: np.ndarray, y: np.ndarray, batch: int = BATCH, order: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches from memory in `order` (all rows in turn by default); fixed prefetch (autotuning stalls fit())."""
    if order is not None:
        x, y = x[order], y[order]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(2)


def mixup(x: np.ndarray, y: np.ndarray, alpha: float, batch: int, rng: np.random.Generator):
    """Mixup (Zhang et al. 2018) of one epoch's images in training order: each batch blended with a shuffled copy
    of itself, images and one-hot labels alike, at a weight drawn from Beta(alpha, alpha) per batch."""
    weights = np.repeat(rng.beta(alpha, alpha, -(-len(x) // batch)), batch)[: len(x)].astype(np.float32)
    partner = np.concatenate([start + rng.permutation(min(batch, len(x) - start)) for start in range(0, len(x), batch)])
    return (
        weights[:, None, None, None] * x + (1 - weights[:, None, None, None]) * x[partner],
        weights[:, None] * y + (1 - weights[:, None]) * y[partner],
    )


def alternating_flips(seed: int, epoch: int, n: int) -> np.ndarray:
    """Which of `n` training images (in their fixed order) are mirrored in epoch `epoch` (0-based) under alternating
    flips (Jordan 2024, airbench): a random half in the first epoch, the other half in the next, and so on, so that
    every two epochs show each image both ways."""
    first = np.random.default_rng(epoch_seeds(seed, 0, 2)[1]).random(n) < 0.5
    return first ^ bool(epoch % 2)


def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Reset every SeedGenerator of `model` (augmentation, dropout) to a state derived from (seed, epoch)."""
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for state, value in zip(states, epoch_seeds(seed, epoch, len(states)), strict=False):
        state.assign(np.array([value, 0], dtype=state.dtype))


def augmentation_layers(augmentation: config.Augmentation, seed: int = config.SEED) -> list[layers.Layer]:
    """The random transforms of `augmentation` as Keras layers (active only in training)."""
    a, fill = augmentation, {"fill_mode": "nearest", "seed": seed}
    chosen = [
        (a.flip, lambda: layers.RandomFlip("horizontal", seed=seed, name="aug_flip")),
        (a.rotation, lambda: layers.RandomRotation(a.rotation / 360, **fill, name="aug_rotate")),
        (a.zoom, lambda: layers.RandomZoom(a.zoom, **fill, name="aug_zoom")),
        (a.shift, lambda: layers.RandomTranslation(a.shift, a.shift, **fill, name="aug_shift")),
        (a.erase, lambda: layers.RandomErasing((a.erase, a.erase), value_range=(0, 1), seed=seed, name="aug_erase")),
    ]
    return [make() for wanted, make in chosen if wanted]


def trainer(model: keras.Model, augmentation: config.Augmentation) -> keras.Model:
    """`model` behind the recipe's augmentation layers: what is fitted (the saved model stays bare). Alternating
    flips are no layer: `train` mirrors the images of each epoch itself."""
    augment = augmentation_layers(replace(augmentation, flip=augmentation.flip is True))
    if not augment:
        return model
    inputs = keras.Input(model.input_shape[1:], name="image")
    x = inputs
    for layer in augment:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_training")


def augmented_views(
    x: np.ndarray, augmentation: config.Augmentation, views: int = 4, seed: int = config.SEED
) -> list[np.ndarray]:
    """`views` random augmentations of the images `x` (N,48,48,1), as training under `augmentation` sees them."""
    pipeline = keras.Sequential(augmentation_layers(augmentation, seed))
    return [keras.ops.convert_to_numpy(pipeline(x, training=True)) for _ in range(views)]


class WeightAverage(keras.callbacks.Callback):
    """For a recipe with a weight average (the optimizer's `use_ema`): validation scores the average, and each epoch
    trains on from the last one's training weights, which `fit` overwrites with the average as it ends, before
    `on_train_end` puts them back. The weights are copied, not swapped: Keras' own `SwapEMAWeights` swaps by
    addition and subtraction, which rounds them."""

    def on_test_begin(self, logs=None):
        self.training_weights = [keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables]
        self.model.optimizer.finalize_variable_values(self.model.trainable_variables)  # the average, in place

    def on_test_end(self, logs=None):
        self.restore()

    def on_train_end(self, logs=None):
        self.restore()

    def restore(self) -> None:
        for variable, value in zip(self.model.trainable_variables, self.training_weights, strict=True):
            variable.assign(value)


def run_summary(run) -> dict:
    """The training summary that tables show, of a `Run` or a `store.StoredRun` alike: epochs, kept epoch, time,
    seed, validation accuracy at the kept epoch, parameters and recipe."""
    return {
        "epochs_run": run.epochs,
        "best_epoch": run.best_epoch,
        "train_seconds": run.wall_seconds,
        "seconds_per_epoch": round(run.wall_seconds / max(run.epochs, 1), 1),
        "seed": run.seed,
        "val_accuracy": run.history["val_accuracy"][run.best_epoch - 1],
        "params": run.params,
        "recipe": run.recipe_text,
    }


class OutOfTime(RuntimeError):
    """A run stopped at its deadline, part way: its backup resumes it."""


@dataclass
class Run:
    model: keras.Model  # with the best epoch's weights
    history: dict  # metric -> list per epoch, every epoch across resumes
    best_epoch: int  # 1-based, by validation accuracy
    seed: int
    recipe: config.Recipe
    epoch_seconds: list  # wall time of each epoch
    load: dict  # 1-minute load average at the start and end of training in this session
    resumed_at: int = 0  # epochs already done when this session started
    sessions: list = ()  # [{"cpu": `machine.cpu_info`, "first_epoch": n}]: the sessions that trained it

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    @property
    def wall_seconds(self) -> float:
        return round(sum(self.epoch_seconds), 1)

    @property
    def params(self) -> int:
        return self.model.count_params()

    @property
    def recipe_text(self) -> str:
        return self.recipe.describe()

    def summary(self) -> dict:
        return run_summary(self) | {"resumed_at": self.resumed_at}

    def line(self, name: str) -> str:
        """The one summary line a run prints."""
        resumed = f", resumed after epoch {self.resumed_at}" if self.resumed_at else ""
        return (
            f"{name}: {self.epochs} epochs{resumed}, best epoch {self.best_epoch}, val accuracy "
            f"{self.history['val_accuracy'][self.best_epoch - 1]:.4f}, "
            f"{self.wall_seconds / max(self.epochs, 1):.0f} s/epoch"
        )


def train(
    model: keras.Model,
    split: Split,
    name: str,
    profile: config.Profile,
    recipe: config.Recipe,
    *,
    epochs: int | None = None,
    train: Subset | None = None,
    seed: int = config.SEED,
    save: bool = True,
    class_weight: dict | None = None,
    backup: Path | None = None,
    copies: tuple[Path, ...] = (),
    log: bool = True,
    stop_after: int | None = None,
    deadline: float | None = None,
) -> Run:
    """Fit `model` on split.train (or `train`) with `recipe` for exactly `epochs` (default: the recipe's).

    The model keeps the weights of the epoch with the best validation accuracy; `save` writes them to
    models/<name>.keras. With `log`, the history is logged to results/history/<name>.csv. A run that stopped
    part way resumes from its backup (`backup`, default models/.backup/<name>; a copy in each of `copies`)
    and ends with the same weights and history as an uninterrupted one. `stop_after` ends it after that many
    epochs of the same schedule (what `make verify RUN=` compares with a stored run's first epochs). With a
    `deadline` (a `time.monotonic()` value), it raises `OutOfTime` rather than begin an epoch that would end past
    it (judged by this session's slowest epoch), its backup kept to resume from.
    """
    epochs = recipe.epochs if epochs is None else epochs
    if epochs < 1:
        raise ValueError(f"{name}: epochs must be at least 1, got {epochs}")
    train = train or split.train
    set_seed(seed)
    steps = int(np.ceil(len(train) / recipe.batch))
    fitted = trainer(model, recipe.augmentation)
    fitted.compile(
        optimizer(recipe, steps, epochs),
        keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    fitted.optimizer.build(fitted.trainable_variables)
    x, y = train.x(), one_hot(train.labels)
    validation = batches(split.val.x(), one_hot(split.val.labels), recipe.batch)
    settings = {
        "seed": seed,
        "epochs": epochs,
        "recipe": recipe.settings(),
        "train": len(train),
        "params": model.count_params(),
        "class_weight": class_weight and {str(k): v for k, v in class_weight.items()},
    }
    backup = Backup(backup or profile.models_dir / ".backup" / name, settings, copies)
    history, epoch_seconds = backup.restore(fitted)
    resumed_at = len(epoch_seconds)
    sessions = [*backup.sessions, {"cpu": cpu_info(), "first_epoch": resumed_at + 1}]
    watch = Stopwatch()
    progress = Progress(name, epochs, steps, resumed_at)
    averaged = [WeightAverage()] if recipe.ema else []
    for epoch in range(resumed_at, min(epochs, stop_after or epochs)):
        slowest = max(epoch_seconds[resumed_at:], default=0.0)
        if deadline is not None and time.monotonic() + slowest > deadline:
            raise OutOfTime(f"{name}: stopped after epoch {epoch} of {epochs} at its deadline; its backup resumes it")
        reseed(fitted, seed, epoch)
        if recipe.schedule == "plateau":
            fitted.optimizer.learning_rate = plateau_rate(history.get("val_loss", []), recipe.learning_rate)
        rate = float(keras.ops.convert_to_numpy(fitted.optimizer.learning_rate))
        rng = np.random.default_rng(epoch_seeds(seed, epoch, 1)[0])
        order = rng.permutation(len(x))
        start = time.perf_counter()
        images = x
        if recipe.augmentation.flip == "alternating":
            images = np.where(alternating_flips(seed, epoch, len(x))[:, None, None, None], x[:, :, ::-1], x)
        epoch_data = (
            mixup(images[order], y[order], recipe.mixup, recipe.batch, rng)
            if recipe.mixup
            else (images[order], y[order])
        )
        logs = fitted.fit(
            batches(*epoch_data, recipe.batch),
            validation_data=validation,
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=False,
            class_weight=class_weight,
            verbose=0,
            callbacks=[progress, *averaged],
        ).history
        epoch_seconds.append(round(time.perf_counter() - start, 2))
        for key, values in {**logs, "learning_rate": [rate]}.items():
            history.setdefault(key, []).append(float(values[0]))
        backup.save(fitted, epoch + 1, best_epoch(history), history, epoch_seconds, sessions)
        if log:
            write_history(history, profile.results_dir / "history" / f"{name}.csv")
    backup.load_epoch(fitted, best_epoch(history))
    if recipe.ema:  # the kept model is the kept epoch's average, the weights its validation scored
        fitted.optimizer.finalize_variable_values(fitted.trainable_variables)
    backup.remove()
    load = {"start": watch.load_start, "end": load_average()}
    run = Run(model, history, best_epoch(history), seed, recipe, epoch_seconds, load, resumed_at, sessions)
    if save:
        save_model(model, profile.models_dir / f"{name}.keras")
    print(run.line(name))
    return run


def seconds_per_epoch(
    model: keras.Model, split: Split, recipe: config.Recipe, steps: int = 20, *, train: Subset | None = None
) -> dict:
    """What one epoch of `model` under `recipe` costs on this machine, without training it: the median time of
    `steps` training batches (after one warm-up batch, which builds the graph) scaled to an epoch of
    split.train (or `train`), plus one timed pass over split.val (the validation every epoch ends with).

    The model is trained for those few batches: build a fresh one to time and do not keep it. Returns
    {"steps", "seconds_per_step", "steps_per_epoch", "train_seconds", "validation_seconds", "seconds_per_epoch"}.
    """
    if steps < 1:
        raise ValueError(f"time at least one step, not {steps}")
    train = train or split.train
    steps_per_epoch = int(np.ceil(len(train) / recipe.batch))
    fitted = trainer(model, recipe.augmentation)
    fitted.compile(
        optimizer(recipe, steps_per_epoch, recipe.epochs),
        keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    x, y = train.x(), one_hot(train.labels)
    rows = np.arange((steps + 1) * recipe.batch) % len(x)  # the training images in turn, wrapping around
    times = []
    for step in range(steps + 1):
        batch = rows[step * recipe.batch : (step + 1) * recipe.batch]
        start = time.perf_counter()
        fitted.train_on_batch(x[batch], y[batch])
        times.append(time.perf_counter() - start)
    x_val = split.val.x()
    model.predict(x_val[: recipe.batch], batch_size=recipe.batch, verbose=0)  # builds the prediction graph
    start = time.perf_counter()
    model.predict(x_val, batch_size=recipe.batch, verbose=0)
    validation = time.perf_counter() - start
    per_step = float(np.median(times[1:]))
    return {
        "steps": steps,
        "seconds_per_step": per_step,
        "steps_per_epoch": steps_per_epoch,
        "train_seconds": per_step * steps_per_epoch,
        "validation_seconds": validation,
        "seconds_per_epoch": per_step * steps_per_epoch + validation,
    }


def best_epoch(history: dict) -> int:
    """1-based epoch of the highest validation accuracy (the first on a tie)."""
    return int(np.argmax(history["val_accuracy"])) + 1
