"""A training run's progress on the terminal: a bar with the run's ETA, rewritten in place, or, when the output is
a file (`make runs > log`), one line per epoch to poll."""

from __future__ import annotations

import sys
import time

import keras

from ..machine import duration


class Progress(keras.callbacks.Callback):
    """A progress bar with the run's ETA on a terminal, rewritten in place; without a terminal, one line per epoch
    (a log file to poll). Either goes to the process's own stderr, never into a notebook's outputs."""

    def __init__(self, name: str, epochs: int, steps: int, done: int = 0):
        super().__init__()
        self.stream = sys.__stderr__
        self.tty = bool(self.stream and self.stream.isatty())
        self.name, self.epochs, self.steps, self.done = name, epochs, steps, done
        self.epoch, self.batches, self.started, self.last = done, 0, time.monotonic(), 0.0

    def eta(self, batch: int) -> str:
        """Time left at this session's pace (batch `batch` of epoch `self.epoch` done)."""
        left = (self.epochs - self.epoch - 1) * self.steps + self.steps - batch - 1
        pace = (time.monotonic() - self.started) / max(self.batches, 1)
        return duration(left * pace) if self.batches else "?"

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.tty and time.monotonic() - self.last > 1:
            self.last = time.monotonic()
            share = (self.epoch * self.steps + batch + 1) / (self.epochs * self.steps)
            bar = "#" * int(20 * share)
            self.stream.write(
                f"\r{self.name}: [{bar:20}] epoch {self.epoch + 1}/{self.epochs}, batch {batch + 1}/{self.steps},"
                f" ETA {self.eta(batch)}\033[K"
            )
            self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        if not self.stream:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        else:
            accuracy = (logs or {}).get("val_accuracy", float("nan"))
            self.stream.write(
                f"{self.name}: epoch {epoch + 1}/{self.epochs}, val accuracy {accuracy:.4f}, "
                f"ETA {self.eta(self.steps - 1)}\n"
            )
        self.stream.flush()
