"""The book's classifiers in one place: what they are called, how they are built, where they are saved.

    registry.names()                       # every classifier, in the order the chapters train them
    registry.saved(profile)                # those with a saved models/<name>.keras
    model = registry.load("vgg_cnn", profile)
    name = registry.best(profile)          # highest validation accuracy in results/<name>.json

Everything that lists, loads or picks a classifier goes through this module. An entry's `name` is
the stem of its saved model and of its results file; `label` is how tables and figures name it;
`builder` and `options` say how `fer_helpers.modelling.models` builds it; `chapter` is the notebook that
trains it; `layer` is the layer whose feature maps Grad-CAM weights: "last_relu" (the last 3x3
conv -> BatchNorm -> ReLU, what the head reads), not "last_conv", whose output is pre-BatchNorm.

Results fields read here (written by `experiments.save_model_result`): `val_accuracy` (top level
or under "training") and `tta.flip_tta` / `tta.shift_tta`, booleans that are true when that test-time
augmentation was chosen *on the validation split*. Test metrics are never read to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config, results
from ..quiet import quiet

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Entry:
    name: str  # saved-model file stem: models/<name>.keras, results/<name>.json
    label: str  # for tables and figures
    builder: str  # function in fer_helpers.modelling.models
    chapter: str  # notebook stem of the chapter that trains it
    options: dict = field(default_factory=dict)  # keyword arguments of the builder
    note: str = ""  # what sets it apart, in a few words (the pipeline diagram)
    layer: str = config.CAM_LAYER  # Grad-CAM's target layer

    def build(self, x_train, **changes):
        """A fresh, untrained model of this entry, standardised with `x_train`'s statistics (`changes`: builder
        options that differ from the entry's, such as a `window` chosen on validation)."""
        from ..modelling import models

        return getattr(models, self.builder)(x_train, **self.options | changes)


ENTRIES = (
    Entry("baseline_std_model", "baseline CNN", "baseline_std_model", "04_baseline"),
    Entry(
        "vgg_cnn_small",
        "small VGG-style CNN",
        "vgg_cnn",
        "04_baseline",  # the treatment model: chapter 4's control arm, first seed
        {"widths": (16, 32, 64, 128), "convs": (1, 2, 2, 2)},
    ),
    Entry("attention_unet", "attention U-Net", "attention_unet", "06_unet"),  # the study's size (builder defaults)
    Entry(
        "vgg_cnn",
        "VGG-style CNN",
        "vgg_cnn",
        "08_cpu_cnn",
        {"widths": (32, 64, 128, 256), "convs": (1, 2, 3, 3)},
        "warm-up + cosine SGD,\nlabel smoothing, erasing",
    ),
    Entry(
        "vision_transformer",
        "vision transformer",
        "vision_transformer",
        "09_vit_ensemble",
        {},
        "conv stem, from scratch",
    ),
)
_BY_NAME = {entry.name: entry for entry in ENTRIES}


def names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def entry(name: str) -> Entry:
    if name not in _BY_NAME:
        raise ValueError(f"{name!r} is not one of the book's classifiers: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def labels() -> dict[str, str]:
    """{name: label} of every classifier."""
    return {entry.name: entry.label for entry in ENTRIES}


def model_path(name: str, profile: config.Profile) -> Path:
    return profile.models_dir / f"{entry(name).name}.keras"


def saved(profile: config.Profile) -> list[str]:
    """The classifiers with a saved models/<name>.keras, in registry order."""
    return [name for name in _BY_NAME if model_path(name, profile).is_file()]


def load_file(path) -> keras.Model:
    """A saved classifier (compile=False, quietly), checked to give one probability per class.

    A missing file raises FileNotFoundError, an unreadable one ValueError; both name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    with quiet():
        import keras

        from ..modelling import models  # noqa: F401  (registers models.Window, which saved models may hold)

        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ValueError(f"{path}: cannot load the model ({first})") from None
    if tuple(model.output_shape[1:]) != (len(config.CLASSES),):
        raise ValueError(f"{path}: not a {len(config.CLASSES)}-class classifier (output {model.output_shape})")
    return model


def load(name: str, profile: config.Profile):
    """The saved classifier `name`; a missing one names the chapter that trains it."""
    path = model_path(name, profile)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run notebooks/{entry(name).chapter}.ipynb first")
    return load_file(path)


def result(name: str, profile: config.Profile) -> dict | None:
    """results/<name>.json of the classifier `name`, or None when there is none (`results.load_result`)."""
    return results.load_result(entry(name).name, profile, required=False)


def validation_score(found: dict, by: str = "val_accuracy") -> float | None:
    """The validation metric `by` of a results dict (top level or under "training"), or None."""
    if not by.startswith("val_"):
        raise ValueError(f"models are chosen on the validation split only: {by!r} is not a val_ metric")
    for holder in (found, found.get("training")):
        value = holder.get(by) if isinstance(holder, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def best(profile: config.Profile, by: str = "val_accuracy") -> str:
    """The saved classifier with the highest validation metric `by` (the first in registry order on a tie)."""
    scores = {}
    for name in saved(profile):
        found = result(name, profile)
        score = validation_score(found, by) if found else None
        if score is not None:
            scores[name] = score
    if not scores:
        raise FileNotFoundError(
            f"no trained classifier: {profile.models_dir} has no <name>.keras with a {by} in "
            f"{profile.results_dir}/<name>.json; run notebooks/{ENTRIES[0].chapter}.ipynb first"
        )
    return max(scores, key=scores.get)


def ensemble(profile: config.Profile):
    """The seed ensemble of chapter 8 (results/ensemble.json, `inference.seed_ensemble`) where validation prefers it
    to its best member: its members' stored models and its test-time augmentation; None otherwise."""
    from ..modelling.inference import TTA
    from .store import MODEL, folder

    found = results.load_result("ensemble", profile, required=False)
    if not found or not found.get("use_ensemble"):
        return None
    return [folder(profile) / key / MODEL for key in found["members"]], TTA.from_json(found["tta"])


def tta_chosen(name: str, profile: config.Profile):
    """The test-time augmentation validation chose for `name` (an `inference.TTA`), none when it has no record."""
    from ..modelling.inference import TTA

    return TTA.from_json((result(name, profile) or {}).get("tta"))
