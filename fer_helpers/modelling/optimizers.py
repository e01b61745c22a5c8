"""The recipe's optimizer and its learning-rate schedule: warm-up then cosine or a straight line to zero, sized
to the run's steps, or the study's rate halved when validation loss stalls (replayed from the history, so a resumed
run gets the same rate)."""

from __future__ import annotations

import keras
import numpy as np

from .. import config

# the plateau schedule: the rate is halved when validation loss has not improved for 3 epochs
PLATEAU_FACTOR, PLATEAU_PATIENCE, PLATEAU_FLOOR, PLATEAU_MIN_DELTA = 0.5, 3, 1e-5, 1e-4


def cosine_schedule(peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: int = 0):
    """Linear warm-up from 0 to `peak` over `warmup_epochs`, then cosine decay to 0 by the end of `epochs`.

    The warm-up is cut to leave at least one epoch of decay (a 1-epoch smoke run has none).
    """
    warmup = steps_per_epoch * min(warmup_epochs, epochs - 1)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else peak,
        steps_per_epoch * epochs - warmup,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


def plateau_rate(val_losses, start: float) -> float:
    """The plateau schedule's rate after `val_losses` (Keras ReduceLROnPlateau's rule, replayed from history)."""
    rate, best, wait = start, np.inf, 0
    for loss in val_losses:
        if loss < best - PLATEAU_MIN_DELTA:
            best, wait = loss, 0
            continue
        wait += 1
        if wait >= PLATEAU_PATIENCE:
            rate, wait = max(rate * PLATEAU_FACTOR, PLATEAU_FLOOR), 0
    return rate


def linear_schedule(peak: float, steps_per_epoch: int, epochs: int, warmup_epochs: int = 0):
    """Linear warm-up from 0 to `peak` over `warmup_epochs`, then a straight line to 0 at the end of `epochs`
    (the warm-up cut as in `cosine_schedule`)."""
    return LinearToZero(peak, steps_per_epoch * min(warmup_epochs, epochs - 1), steps_per_epoch * epochs)


@keras.saving.register_keras_serializable(package="fer_helpers")
class LinearToZero(keras.optimizers.schedules.LearningRateSchedule):
    """Rate `peak` * step / warmup while warming up, then falling linearly to 0 at step `total`."""

    def __init__(self, peak: float, warmup: int, total: int):
        self.peak, self.warmup, self.total = peak, warmup, total

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rising = step / max(self.warmup, 1) if self.warmup else keras.ops.ones_like(step)
        falling = (self.total - step) / (self.total - self.warmup)
        return self.peak * keras.ops.clip(keras.ops.minimum(rising, falling), 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup, "total": self.total}


SCHEDULE_BUILDERS = {"cosine": cosine_schedule, "linear": linear_schedule}


def optimizer(recipe: config.Recipe, steps_per_epoch: int, epochs: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer: SGD with Nesterov momentum 0.9, or Adam (AdamW with weight decay); with the recipe's
    `ema`, it also keeps a moving average of the weights (`training` validates and keeps the average)."""
    rate = (
        SCHEDULE_BUILDERS[recipe.schedule](recipe.learning_rate, steps_per_epoch, epochs, recipe.warmup_epochs)
        if recipe.schedule in SCHEDULE_BUILDERS
        else recipe.learning_rate
    )
    average = {"use_ema": True, "ema_momentum": recipe.ema} if recipe.ema else {}
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(
            rate, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay or None, **average
        )
    if recipe.weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=recipe.weight_decay, **average)
    return keras.optimizers.Adam(rate, **average)
