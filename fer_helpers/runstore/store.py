"""The run store: every training run of the book, trained once, committed as data, read by the chapters.

    runs/<key>/record.json       arm, seed, what the key covers, history, kept epoch, metrics, machine, cost
    runs/<key>/predictions.npz   class probabilities (float16) on the validation and test images, under each
                                 test-time augmentation the model allows ("val", "val_flip_tta", ...)
    runs/<key>/model.keras       the kept epoch's weights, only for the seeds an arm keeps

A run is one (arm, seed) of `fer_helpers.chapters`. Its key is a digest of what decides its numbers: the model
and its builder options, the recipe with its epochs, the data variant's content key, the seed, class weights
and `training.TRAINING_CODE`, the version of the training code (raised when a change moves the numbers; the
digest of that code is recorded beside it, and `make verify RUN=` shows whether a change moved them).
Metrics are computed from the stored probabilities, so a reader never needs the weights. A run is written
into a scratch folder and renamed into place: the store never holds a half-done run. The smoke profile has
its own store under .smoke/runs.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .. import config
from ..dataset.data import Subset
from ..results import atomic, to_jsonable, write_atomic
from ..specs import Arm

RECORD, PREDICTIONS, MODEL = "record.json", "predictions.npz", "model.keras"
# outside the work tree: a backup there survives a new checkout on the same machine
MIRROR = Path.home() / ".cache" / "fer2013-book" / "backups"
PARKED = "parked"  # runs/parked/<key>: the backup of a run stopped at its deadline, committed to resume anywhere


class MissingRuns(RuntimeError):
    """A chapter asked for runs the store does not hold."""


def folder(profile: config.Profile) -> Path:
    return profile.output_root / "runs"


def backup_folder(key: str, profile: config.Profile) -> Path:
    return folder(profile) / ".backup" / key


def parked_folder(key: str, profile: config.Profile) -> Path:
    return folder(profile) / PARKED / key


def backup_copies(key: str, profile: config.Profile) -> tuple[Path, ...]:
    """Where a run's backup is copied after every epoch: the folder committed when it stops at its deadline, and,
    for the book's own store, `MIRROR` outside the work tree."""
    own = profile.name == "full" and profile.output_root == config.ROOT  # the book's store, not a test's
    return (parked_folder(key, profile), *([MIRROR / key] if own else []))


def epochs_done(key: str, profile: config.Profile) -> int:
    """The epochs of run `key` that a backup holds (0 without one)."""
    from ..modelling.checkpoints import saved_epochs

    return saved_epochs([backup_folder(key, profile), *backup_copies(key, profile)])


def sessions(record: dict) -> list[dict]:
    """The sessions that trained a stored run, each {"cpu", "epochs", "seconds"}: one for a run trained in one go."""
    made = record["machine"]
    found = made.get("sessions", [])
    if len(found) < 2:
        return [{"cpu": made["cpu"], "epochs": record["epochs"], "seconds": made["train_seconds"]}]
    ends = [s["first_epoch"] - 1 for s in found[1:]] + [record["epochs"]]
    return [
        {
            "cpu": s["cpu"],
            "epochs": end + 1 - s["first_epoch"],
            "seconds": sum(made["epoch_seconds"][s["first_epoch"] - 1 : end]),
        }
        for s, end in zip(found, ends, strict=True)
    ]


def spec(arm: Arm, seed: int, profile: config.Profile, data_key: str) -> dict:
    """What decides a run's numbers: the run key is a digest of this."""
    from ..modelling import training
    from . import registry

    entry = registry.entry(arm.model)
    return to_jsonable(
        {
            "builder": entry.builder,
            "options": entry.options | dict(arm.changes),
            "recipe": arm.recipe_in(profile).settings(),
            "data": data_key,
            "class_weights": arm.class_weights,
            "seed": seed,
            "training_code": training.TRAINING_CODE,
        }
    )


def key_of(run_spec: dict) -> str:
    return hashlib.sha256(json.dumps(run_spec, sort_keys=True).encode()).hexdigest()[:16]


def code_digest() -> str:
    """A digest of the training code (training, optimizers, models, checkpoints) with docstrings, comments and
    layout left out: what a refactor may change only when `make verify RUN=` shows the numbers stay the same."""
    from ..modelling import checkpoints, models, optimizers, training

    digest = hashlib.sha256()
    for module in (training, optimizers, models, checkpoints):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            first = body[0] if isinstance(body, list) and body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()[:16]


def images_digest(subset: Subset) -> str:
    """Which images, in which order: the predictions of a run are on these."""
    return hashlib.sha256("\n".join(map(str, subset.keys)).encode()).hexdigest()[:16]


@dataclass
class StoredRun:
    """One finished run read back from the store."""

    path: Path

    @cached_property
    def record(self) -> dict:
        try:
            return json.loads((self.path / RECORD).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{self.path / RECORD}: not a readable run record ({error})") from None

    @cached_property
    def stored_probabilities(self) -> dict[str, np.ndarray]:
        with np.load(self.path / PREDICTIONS, allow_pickle=False) as stored:
            return {name: stored[name].astype(np.float32) for name in stored.files}

    @property
    def probabilities(self) -> dict[str, np.ndarray]:
        """{"val", "test"}: float32 class probabilities without test-time augmentation, in the split's order."""
        return {part: self.stored_probabilities[part] for part in ("val", "test")}

    def views(self, part: str) -> dict[str, np.ndarray]:
        """{TTA option: probabilities} on `part` ("val" or "test"), "plain" among them (`inference.TTA_OPTIONS`)."""
        prefix = f"{part}_"
        found = {k.removeprefix(prefix): v for k, v in self.stored_probabilities.items() if k.startswith(prefix)}
        return {"plain": self.stored_probabilities[part]} | found

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def seed(self) -> int:
        return self.record["seed"]

    @property
    def history(self) -> dict:
        return self.record["history"]

    @property
    def kept_epoch(self) -> int:
        return self.record["kept_epoch"]

    best_epoch = kept_epoch  # the names `training.Run` uses, so tables and plots take either

    @property
    def epochs(self) -> int:
        return self.record["epochs"]

    @property
    def wall_seconds(self) -> float:
        return self.record["machine"]["train_seconds"]

    @property
    def load(self) -> dict:
        return self.record["machine"]["load"]

    @property
    def params(self) -> int:
        return self.record["cost"]["params"]

    @property
    def recipe_text(self) -> str:
        return self.record["recipe"]

    def summary(self) -> dict:
        """The training summary `training.Run.summary` gives, read from the record, with its cost."""
        from ..modelling.training import run_summary

        return run_summary(self) | {"training_pflop": self.record["cost"]["training_flops"] / 1e15}

    def check(self, val: Subset, test: Subset) -> None:
        """Raise when the stored predictions are not on these validation and test images, in this order."""
        for part, subset in (("val", val), ("test", test)):
            if self.record["images"][part] != images_digest(subset):
                raise ValueError(
                    f"{self.path}: its {part} predictions were made on other {part} images than this split's "
                    "(another data set or split manifest): train the run again"
                )

    def correct(self, test: Subset) -> np.ndarray:
        """Per test image: was it classified correctly (what paired tests compare)."""
        return self.probabilities["test"].argmax(axis=1) == test.labels

    @cached_property
    def model(self):
        """The kept epoch's model (loaded once); only the runs whose arm keeps weights have one."""
        from . import registry

        if not (self.path / MODEL).is_file():
            raise FileNotFoundError(
                f"{self.path}: this run kept no weights (its arm keeps the weights of its first `keep` seeds only)"
            )
        return registry.load_file(self.path / MODEL)

    def publish_model(self, path: Path) -> None:
        """Copy the kept epoch's weights to `path` (models/<name>.keras) byte for byte: a chapter executed again
        leaves the file as it was, and git keeps one copy of the two."""
        if not (self.path / MODEL).is_file():
            raise FileNotFoundError(f"{self.path}: this run kept no weights to publish as {path}")
        with atomic(path) as partial:
            shutil.copyfile(self.path / MODEL, partial)


def find(key: str, profile: config.Profile) -> StoredRun | None:
    path = folder(profile) / key
    return StoredRun(path) if (path / RECORD).is_file() else None


def stored(profile: config.Profile) -> list[StoredRun]:
    """Every finished run of the store, by key."""
    root = folder(profile)
    return [StoredRun(p.parent) for p in sorted(root.glob(f"*/{RECORD}"))] if root.exists() else []


def summary(runs: list[StoredRun]) -> dict:
    """What `runs` hold and cost: how many, with weights, bytes on disk, training FLOPs and seconds."""
    return {
        "runs": len(runs),
        "with_weights": sum((r.path / MODEL).is_file() for r in runs),
        "bytes": sum(f.stat().st_size for r in runs for f in r.path.iterdir()),
        "training_flops": sum(r.record["cost"]["training_flops"] for r in runs),
        "train_seconds": sum(r.record["machine"]["train_seconds"] for r in runs),
    }


def write(key: str, profile: config.Profile, record: dict, probabilities: dict, model=None) -> StoredRun:
    """Put a finished run into the store: written into a scratch folder, then renamed into place."""
    from ..modelling.checkpoints import save_model

    final = folder(profile) / key
    scratch = folder(profile) / f".{key}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    (scratch / RECORD).write_text(json.dumps(to_jsonable({"key": key, **record}), indent=1) + "\n")
    np.savez_compressed(scratch / PREDICTIONS, **{n: v.astype(np.float16) for n, v in probabilities.items()})
    if model is not None:
        save_model(model, scratch / MODEL)
    shutil.rmtree(final, ignore_errors=True)
    scratch.rename(final)
    return StoredRun(final)


def update_record(run: StoredRun, **fields) -> None:
    """Add `fields` to a stored run's record (safe write: a scratch file renamed over it)."""
    record = {**run.record, **to_jsonable(fields)}
    write_atomic(run.path / RECORD, json.dumps(record, indent=1) + "\n")
    run.__dict__.pop("record", None)
