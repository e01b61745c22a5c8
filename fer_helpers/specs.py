"""The shapes the book declares its experiments in (`chapters` holds the declarations): an *arm* is one way of
training over seeds, a *claim* names its arms, its kind and what was claimed, a *chapter* what it reads, trains and
judges. Each is checked as it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import config

DATA_VARIANTS = {
    "pipeline": "training split without the autoencoder's outliers",
    "outliers kept": "training split with the outliers",
    "leaks kept": "the study's split without the outliers: copies of test images kept",
    "denoised": "the pipeline's images after NL-means denoising (validation and test too)",
    "1,000 training images": "1,000 images of the pipeline's training split, drawn at random (an overfit check)",
}
CLAIM_KINDS = ("level", "difference", "equivalence")
DOUBLED = "_x2"  # the name of an arm's doubled-budget check: <arm>_x2
METRICS = ("accuracy", "macro_f1")


@dataclass(frozen=True)
class Arm:
    """One way of training a model, over seeds (a run is one arm at one seed)."""

    name: str  # unique in the book
    label: str  # how pages name it
    model: str  # a `registry` entry
    recipe: config.Recipe  # its epochs are set by `budget`
    budget: str  # the profile's epoch budget
    data: str = "pipeline"  # a key of DATA_VARIANTS
    changes: tuple = ()  # (option, value) pairs over the registry entry's builder options
    class_weights: bool = False  # balanced class weights (`eda.class_weights`)
    seeds: tuple = config.SEEDS
    keep: int = 0  # how many of its seeds store their weights (a later chapter, `predict` or GradCAM loads them)
    factor: int = 1  # the budget times this: 2 for the doubled-budget check of a verdict
    chosen_by: tuple = ()  # the arms among whose runs validation chose this arm's settings: its runs wait for theirs

    def __post_init__(self):
        if self.data not in DATA_VARIANTS:
            raise ValueError(f"arm {self.name!r}: data {self.data!r} is not one of {list(DATA_VARIANTS)}")
        if not self.seeds or self.factor < 1:
            raise ValueError(f"arm {self.name!r} needs at least one seed and a budget factor >= 1")

    def epochs(self, profile: config.Profile) -> int:
        return profile.budget(self.budget) * self.factor

    def recipe_in(self, profile: config.Profile) -> config.Recipe:
        """The arm's recipe with its epochs in `profile`."""
        return replace(self.recipe, epochs=self.epochs(profile))

    def doubled(self) -> Arm:
        """The same arm at twice the budget, first seed only: whether more training would change a verdict."""
        return replace(
            self,
            name=f"{self.name}{DOUBLED}",
            label=f"{self.label}, twice the epochs",
            seeds=self.seeds[:1],
            keep=0,
            factor=2 * self.factor,
        )


@dataclass(frozen=True)
class ClaimSpec:
    """A claim of the study as the book tests it.

    kind "level": arms = (arm,), reaches `level`; "difference": arms = (A, B), B above A by at least `size`;
    "equivalence": arms = (A, B), within ±`margin` (stated before the runs). `metric` is what is compared.
    """

    id: str
    text: str
    kind: str
    arms: tuple[str, ...]
    level: float | None = None
    size: float = 0.0
    margin: float | None = None
    metric: str = "accuracy"
    stand_in: str = ""  # why the arms are not the model the claim is about: its verdict is "not tested"

    def __post_init__(self):
        shape = {"level": 1, "difference": 2, "equivalence": 2}
        if self.kind not in CLAIM_KINDS or len(self.arms) != shape[self.kind]:
            raise ValueError(f"claim {self.id!r}: kind {self.kind!r} with {len(self.arms)} arm(s)")
        if (self.kind == "level") != (self.level is not None) or (self.kind == "equivalence") != bool(self.margin):
            raise ValueError(f"claim {self.id!r}: a level claim needs a level, an equivalence claim a margin")
        if self.metric not in METRICS:
            raise ValueError(f"claim {self.id!r}: metric {self.metric!r} is not one of {METRICS}")


@dataclass(frozen=True)
class Chapter:
    stem: str
    reads: tuple[str, ...] = ()  # chapters whose outputs it reads
    arms: tuple[Arm, ...] = ()  # what it trains (runs of the store)
    claims: tuple[ClaimSpec, ...] = ()  # what it judges
    partial: bool = False  # it runs while chapters it reads wait for their runs, and says what waits
