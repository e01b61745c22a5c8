"""What a training run leaves on disk: its backup after every epoch (to resume from), its history as CSV,
and the saved model (weights and architecture, no optimizer state)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..results import atomic, write_atomic


class Backup:
    """A run's backup in `folder`: epoch-NNN.weights.h5 (weights with optimizer state) of the last and the
    best epoch, and progress.json (settings, history, epoch times, the sessions that trained it: `sessions`),
    renamed into place last. A copy is kept in each of `copies` too (outside the work tree, or a folder to commit:
    another checkout or machine resumes from it); a restore takes whichever holds the most epochs."""

    def __init__(self, folder: Path, settings: dict, copies: tuple[Path, ...] = ()):
        self.folder, self.settings = Path(folder), json.loads(json.dumps(settings))
        self.copies = tuple(Path(copy) for copy in copies)
        self.progress = self.folder / "progress.json"
        self.sessions: list[dict] = []  # restored: [{"cpu": `machine.cpu_info`, "first_epoch": n}] per session

    def path(self, epoch: int) -> Path:
        return self.folder / f"epoch-{epoch:03d}.weights.h5"

    def _saved_epochs(self, folder: Path) -> int:
        progress = read_progress(folder)
        return progress["epoch"] if progress and progress.get("settings") == self.settings else -1

    def restore(self, model: keras.Model) -> tuple[dict, list]:
        """Load the last backed-up epoch into `model`: (history, epoch seconds); empty without a backup."""
        most = max(self.copies, key=self._saved_epochs, default=None)
        if most and self._saved_epochs(most) > self._saved_epochs(self.folder):
            shutil.rmtree(self.folder, ignore_errors=True)
            shutil.copytree(most, self.folder)
        if not self.progress.exists():
            return {}, []
        progress = json.loads(self.progress.read_text())
        if progress["settings"] != self.settings:
            print(f"{self.folder}: a backup of other settings; starting afresh", file=sys.stderr)
            self.remove()
            return {}, []
        self.load_epoch(model, progress["epoch"])
        self.sessions = progress.get("sessions", [])
        return progress["history"], progress["epoch_seconds"]

    def save(
        self, model: keras.Model, epoch: int, best: int, history: dict, epoch_seconds: list, sessions: list = ()
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic(self.path(epoch)) as partial:
            model.save_weights(partial)
        progress = {"settings": self.settings, "epoch": epoch, "history": history, "epoch_seconds": epoch_seconds}
        write_atomic(self.progress, json.dumps({**progress, "sessions": list(sessions)}))
        for old in set(self.folder.glob("epoch-*.weights.h5")) - {self.path(epoch), self.path(best)}:
            old.unlink()
        for copy in self.copies:
            partial = copy.with_name(copy.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(self.folder, partial)
            shutil.rmtree(copy, ignore_errors=True)
            partial.rename(copy)

    def load_epoch(self, model: keras.Model, epoch: int) -> None:
        if not self.path(epoch).exists():
            raise FileNotFoundError(f"{self.path(epoch)}: backup of epoch {epoch} missing; delete {self.folder}")
        model.load_weights(self.path(epoch))

    def remove(self) -> None:
        for folder in (self.folder, *self.copies):
            shutil.rmtree(folder, ignore_errors=True)


def read_progress(folder: Path) -> dict | None:
    """A backup's progress.json in `folder`, or None where there is none to read."""
    try:
        return json.loads((Path(folder) / "progress.json").read_text())
    except (OSError, ValueError):
        return None


def saved_epochs(folders) -> int:
    """The most epochs a backup in any of `folders` holds (0 without one): what a run resumes from."""
    return max((progress.get("epoch", 0) for progress in map(read_progress, folders) if progress), default=0)


def write_history(history: dict, path) -> None:
    """The per-epoch log as CSV (epoch, then one column per metric)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(history)
    table.insert(0, "epoch", np.arange(1, len(table) + 1))
    table.to_csv(path, index=False)


def save_model(model: keras.Model, path) -> None:
    """Save the weights and architecture only (no optimizer state): small, and loads anywhere."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save(path)
