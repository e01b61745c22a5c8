"""One place for the project's configuration: paths, seeds, class names, the training recipes, the
accuracy targets and the profiles (how much work a run does)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
CACHE_DIR = DATA_DIR / "cache"
DATA_ENV = "FER2013_PATH"
PROFILE_ENV = "FER_PROFILE"
VERIFY_ROOT_ENV = "FER_VERIFY_ROOT"

SEED = 42
SEEDS = (SEED, SEED + 1, SEED + 2)  # the seeds every repeated experiment runs
IMAGE_SIZE = 48
CAM_LAYER = "last_relu"  # GradCAM's layer: every classifier ends its convolutional part with it (`models`)
CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
PARTS = ("Training", "PublicTest", "PrivateTest")
SPLITS = ("train", "val", "test")
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class Target:
    accuracy: float
    source: str
    part: str = "merged"  # the test images it was measured on: "merged" (all 7,178), "PrivateTest" or "PublicTest"


# accuracy targets a chapter measures itself against (their sources: reference.py)
TARGETS = {
    "study goal": Target(0.75, "the study's stated goal"),
    "best single model": Target(
        0.733, "best single model without extra data, PrivateTest (Khaireddin & Chen 2021)", "PrivateTest"
    ),
    "human": Target(0.65, "human accuracy, ±5 points (Goodfellow et al. 2013)"),
}


@dataclass(frozen=True)
class Augmentation:
    """Random transforms of the training images, drawn afresh every epoch (training only)."""

    flip: bool | str = False  # horizontal: True at random, or "alternating" (`training.alternating_flips`)
    rotation: float = 0.0  # up to ± this many degrees
    zoom: float = 0.0  # scale in 1 ± zoom
    shift: float = 0.0  # up to ± this share of the side, both axes
    erase: float = 0.0  # probability of erasing a random rectangle

    def __post_init__(self):
        if self.flip not in (False, True, "alternating"):
            raise ValueError(f"Augmentation.flip = {self.flip!r}: choose False, True or 'alternating'")
        for name in ("rotation", "zoom", "shift", "erase"):
            if not 0 <= getattr(self, name) <= (180 if name == "rotation" else 1):
                raise ValueError(f"Augmentation.{name} = {getattr(self, name)} is out of range")

    def describe(self) -> str:
        flips = {True: ["flip"], "alternating": ["alternating flips"]}.get(self.flip, [])
        parts = flips + [
            text
            for value, text in [
                (self.rotation, f"rotation ±{self.rotation:g}°"),
                (self.zoom, f"zoom ±{self.zoom:.0%}"),
                (self.shift, f"shift ±{self.shift:.0%}"),
                (self.erase, f"erasing p={self.erase:g}"),
            ]
            if value
        ]
        return ", ".join(parts) or "no augmentation"


OPTIMIZERS = ("sgd", "adam")  # SGD with Nesterov momentum 0.9; Adam (AdamW with weight decay)
SCHEDULES = ("cosine", "linear", "plateau")  # warm-up then cosine or a straight line to 0; halved on stalls


@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained: optimizer, learning-rate schedule, regularisation, batch, augmentation, epochs."""

    optimizer: str
    learning_rate: float  # the peak (cosine) or starting (plateau) rate
    schedule: str
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    batch: int = 64
    augmentation: Augmentation = Augmentation()
    epochs: int = 30
    mixup: float = 0.0  # Beta(mixup, mixup) weight of each batch's blend with a shuffled copy of itself; 0: none
    ema: float = 0.0  # decay per step of a moving average of the weights, which validation and the kept model use

    # fields added after runs were stored: in `settings` only when set, so that those runs keep their keys
    ADDED: ClassVar[dict] = {"ema": 0.0}

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Recipe.optimizer {self.optimizer!r}: choose one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Recipe.schedule {self.schedule!r}: choose one of {SCHEDULES}")
        if self.learning_rate <= 0 or self.batch < 1 or self.epochs < 1 or self.warmup_epochs < 0 or self.mixup < 0:
            raise ValueError(f"Recipe needs a positive learning rate, batch and epochs, and mixup >= 0: {self}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"Recipe.ema = {self.ema}: a decay in [0, 1), 0 for none")

    def settings(self) -> dict:
        """The recipe as a dict for run keys and backups: every field, those of `ADDED` only when set."""
        return {k: v for k, v in asdict(self).items() if k not in self.ADDED or v != self.ADDED[k]}

    def describe(self) -> str:
        """One line for tables and results files."""
        optimizer = {"sgd": "SGD-Nesterov", "adam": "AdamW" if self.weight_decay else "Adam"}[self.optimizer]
        schedule = (
            (f"warm-up {self.warmup_epochs}, {self.schedule}" if self.warmup_epochs else self.schedule)
            if self.schedule != "plateau"
            else "halved on plateau"
        )
        extras = (
            [f"wd {self.weight_decay:g}"] * bool(self.weight_decay)
            + [f"label smoothing {self.label_smoothing:g}"] * bool(self.label_smoothing)
            + [f"mixup {self.mixup:g}"] * bool(self.mixup)
            + [f"weight average {self.ema:g}"] * bool(self.ema)
        )
        return ", ".join(
            [
                f"{optimizer} {self.learning_rate:g}",
                schedule,
                *extras,
                f"batch {self.batch}",
                self.augmentation.describe(),
                f"{self.epochs} epochs",
            ]
        )


# the book's one recipe for every architecture comparison
PROTOCOL = Recipe(
    "sgd",
    0.05,
    "cosine",
    warmup_epochs=2,
    weight_decay=5e-4,
    label_smoothing=0.1,
    batch=64,
    augmentation=Augmentation(flip=True, rotation=10, zoom=0.1, shift=0.1, erase=0.25),
)
# the study's own recipe, for the chapters that reproduce it; its augmentation is what chapter 5 tests
STUDY_BASELINE = Recipe("adam", 1e-3, "plateau", batch=64)
STUDY_AUGMENTATION = Augmentation(flip=True, rotation=18, zoom=0.1, shift=0.1)
# the transformer's recipe (ch. 9): AdamW with warm-up, as vision transformers are trained; candidates vary it
VIT_RECIPE = replace(PROTOCOL, optimizer="adam", learning_rate=1e-3, warmup_epochs=5, weight_decay=0.05)
# the strongest single model (ch. 8): the protocol, trained longer (epochs: the profile's `strongest` budget)
STRONGEST = replace(PROTOCOL, epochs=45)


@dataclass(frozen=True)
class Profile:
    """How much work a run does: `full` gives the book's numbers, `smoke` checks that code runs."""

    name: str
    subset_fraction: float | None  # stratified share of every split kept; None keeps all
    epochs: dict = field(default_factory=dict)  # budget name -> epochs
    output_root: Path = ROOT
    samples: dict = field(default_factory=dict)  # what a chapter samples (e.g. GradCAM images) -> how many

    @property
    def results_dir(self) -> Path:
        return self.output_root / "results"

    @property
    def models_dir(self) -> Path:
        return self.output_root / "models"

    @property
    def artifacts_dir(self) -> Path:
        return self.output_root / "artifacts"

    def budget(self, name: str) -> int:
        """Epochs of the budget `name` in this profile."""
        if name not in self.epochs:
            raise KeyError(f"profile {self.name!r} has no epoch budget {name!r}; it has {sorted(self.epochs)}")
        return self.epochs[name]

    def recipe(self, recipe: Recipe, budget: str) -> Recipe:
        """`recipe` with this profile's epoch budget `budget`."""
        return replace(recipe, epochs=self.budget(budget))

    def sample(self, name: str) -> int:
        """How many items the sample `name` holds in this profile."""
        if name not in self.samples:
            raise KeyError(f"profile {self.name!r} has no sample size {name!r}; it has {sorted(self.samples)}")
        return self.samples[name]


PROFILES = {
    "full": Profile(
        "full",
        None,
        # study: the study's baseline under its own recipe; treatment: the cheap models of the data and training
        # treatments and the ViT comparison (ch. 4, 5, 9); protocol: the U-Net comparison (ch. 6); strongest: the
        # strongest single model (ch. 8). Sized so that each chapter's seeds x arms x epochs fit its 120 min at the
        # cost measured on two quiet cores (about 35-40 s an epoch for the small CNNs, twice that for the U-Net).
        {"autoencoder": 15, "study": 20, "treatment": 30, "protocol": 25, "strongest": 45, "overfit": 100},
        ROOT,
        {
            "gradcam_pool_per_class": 250,
            "gradcam_per_class": 60,
            "gradcam_wrong_per_class": 30,
            "sanity_per_class": 15,
            "am_steps": 128,
            "timing_steps": 20,
        },
    ),
    "smoke": Profile(
        "smoke",
        0.03,
        {"autoencoder": 1, "study": 1, "treatment": 1, "protocol": 2, "strongest": 1, "overfit": 2},
        ROOT / ".smoke",
        {
            "gradcam_pool_per_class": 30,
            "gradcam_per_class": 4,
            "gradcam_wrong_per_class": 4,
            "sanity_per_class": 2,
            "am_steps": 16,
            "timing_steps": 3,
        },
    ),
}
# `full` once more, into a scratch folder: `make verify` (fer_helpers.book.verify) compares it with the committed
# outputs; FER_VERIFY_ROOT moves the folder (the kernels that run the chapters inherit it): a new one, or one the
# project made (`results.fresh_folder`)
PROFILES["verify"] = replace(
    PROFILES["full"], name="verify", output_root=Path(os.environ.get(VERIFY_ROOT_ENV) or ROOT / "_build" / "verify")
)


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name`; without a name, the one FER_PROFILE names, else `full`."""
    name = name or os.environ.get(PROFILE_ENV) or "full"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]
