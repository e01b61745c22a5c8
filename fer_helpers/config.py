"""One place for the project's configuration: paths, the seed, the class names and the profiles."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
CACHE_DIR = DATA_DIR / "cache"
DATA_ENV = "FER2013_PATH"
PROFILE_ENV = "FER_PROFILE"
VERIFY_ROOT_ENV = "FER_VERIFY_ROOT"

SEED = 42
IMAGE_SIZE = 48
CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
PARTS = ("Training", "PublicTest", "PrivateTest")
VAL_FRACTION = 0.2
# the book's classifiers, by the name of their saved model, in the order the chapters train them
CLASSIFIERS = ("baseline_std_model", "baseline_augmented", "attention_unet", "vgg_cnn", "vgg_cnn_small",
               "vision_transformer")


@dataclass(frozen=True)
class Profile:
    """How much work a run does: `full` gives the book's numbers, `smoke` checks that code runs."""

    name: str
    subset_fraction: float | None  # stratified share of every split kept; None keeps all
    epochs: dict = field(default_factory=dict)  # chapter -> epoch budget
    output_root: Path = ROOT

    @property
    def results_dir(self) -> Path:
        return self.output_root / "results"

    @property
    def models_dir(self) -> Path:
        return self.output_root / "models"

    @property
    def artifacts_dir(self) -> Path:
        return self.output_root / "artifacts"


PROFILES = {
    "full": Profile(
        "full",
        None,
        {"autoencoder": 15, "baseline": 5, "augmentation": 12, "unet": 12, "vit": 7, "cpu_cnn": 28,
         "cpu_cnn_small": 40},
    ),
    "smoke": Profile(
        "smoke",
        0.03,
        {"autoencoder": 1, "baseline": 1, "augmentation": 1, "unet": 1, "vit": 1, "cpu_cnn": 1, "cpu_cnn_small": 1},
        ROOT / ".smoke",
    ),
}
# `full` once more, into a scratch folder: `make verify` (fer_helpers.book.verify) compares it with the committed
# outputs; FER_VERIFY_ROOT moves the folder (the kernels that run the chapters inherit it)
PROFILES["verify"] = Profile("verify", None, dict(PROFILES["full"].epochs),
                             Path(os.environ.get(VERIFY_ROOT_ENV) or ROOT / "_build" / "verify"))


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name`; the environment variable FER_PROFILE, when set, wins (the tests use it)."""
    name = os.environ.get(PROFILE_ENV) or name or "full"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]
