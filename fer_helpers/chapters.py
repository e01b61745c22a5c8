"""The book's experiments as data: for every chapter, the chapters it reads, its arms and its claims.

    chapters.CHAPTERS["04_baseline"].arms          # what chapter 4 trains
    chapters.arm("study_pipeline").epochs(profile)  # an arm's budget in a profile
    chapters.claim("unet_64").text                 # a claim, as every page words it

An *arm* is one way of training: a registry model (with builder changes), a recipe, an epoch budget, a data
variant and the seeds. A *run* is one (arm, seed): the run store (`fer_helpers.runstore.store`) trains it once, and two
chapters that declare the same arm share its runs. A *claim* names its arms, its kind and what was claimed.
Adding an arm, a claim or a chapter is one edit here; `make runs`, the staleness checks and the verdicts
derive from it.
"""

from __future__ import annotations

from dataclasses import replace

from . import config
from .specs import DOUBLED, Arm, Chapter, ClaimSpec


def level(claim_id: str, text: str, arm: str, reached: float, **options) -> ClaimSpec:
    """A claim that `arm` reaches the level `reached`."""
    return ClaimSpec(claim_id, text, "level", (arm,), reached, **options)


def difference(claim_id: str, text: str, a: str, b: str, **options) -> ClaimSpec:
    """A claim that arm `b` scores above arm `a` (by at least `size`, where given)."""
    return ClaimSpec(claim_id, text, "difference", (a, b), **options)


# the study's baseline CNN under the study's recipe: the model of the study's baseline, data and training claims
STUDY = config.STUDY_BASELINE
STUDY_AUGMENTED = replace(STUDY, augmentation=config.STUDY_AUGMENTATION)
PROTOCOL = config.PROTOCOL
NO_AUGMENTATION = replace(PROTOCOL, augmentation=config.Augmentation())
STUDY_UNET = (("widths", (32, 64, 128, 256)), ("convs", (2, 2, 2, 2)))  # the study's size: 1.94 M parameters


def study_arm(name: str, label: str, **options) -> Arm:
    return Arm(name, label, "baseline_std_model", options.pop("recipe", STUDY), "study", **options)


def protocol_arm(name: str, label: str, **options) -> Arm:
    return Arm(name, label, "vgg_cnn_small", options.pop("recipe", PROTOCOL), "treatment", **options)


STUDY_PIPELINE = study_arm("study_pipeline", "baseline CNN", keep=1)
PROTOCOL_PIPELINE = protocol_arm("protocol_pipeline", "small VGG-style CNN", keep=1)


def lever(name: str, what: str, **options) -> Arm:
    """A lever of chapter 8: one change to the control arm (`PROTOCOL_PIPELINE`), over its seeds."""
    return protocol_arm(f"lever_{name}", f"small VGG-style CNN, {what}", **options)


LEVERS = (
    lever("window_44", "44-pixel crops", changes=(("window", 44),)),
    lever("window_40", "40-pixel crops", changes=(("window", 40),)),
    lever("mixup", "mixup 0.2", recipe=replace(PROTOCOL, mixup=0.2)),
    lever("smoothing_02", "label smoothing 0.2", recipe=replace(PROTOCOL, label_smoothing=0.2)),
    lever("linear", "linear decay to zero", recipe=replace(PROTOCOL, schedule="linear")),
    lever("strided_stem", "strided first layer", changes=(("strided_stem", True),)),
    lever("bn_no_scale", "batch norm without scale", changes=(("bn_scale", False),)),
    lever("coarse_width", "width moved to the 12×12 and 6×6 stages", changes=(("widths", (16, 24, 72, 144)),)),
    lever("weight_average", "moving average of the weights 0.998", recipe=replace(PROTOCOL, ema=0.998)),
    lever(
        "alternating_flips",
        "alternating flips",
        recipe=replace(PROTOCOL, augmentation=replace(PROTOCOL.augmentation, flip="alternating")),
    ),
    # the protocol's own parts, each taken away: where the protocol came from, in runs
    lever("no_smoothing", "no label smoothing", recipe=replace(PROTOCOL, label_smoothing=0.0)),
    lever(
        "no_erasing",
        "no random erasing",
        recipe=replace(PROTOCOL, augmentation=replace(PROTOCOL.augmentation, erase=0)),
    ),
    lever("adamw", "AdamW 1e-3 instead of SGD", recipe=replace(PROTOCOL, optimizer="adam", learning_rate=1e-3)),
)


def vit_arm(name: str, label: str, recipe=config.VIT_RECIPE, budget: str = "treatment", **options) -> Arm:
    return Arm(name, label, "vision_transformer", recipe, budget, **options)


# chapter 9: the transformer's overfit check (1,000 images, no regularisation), then its recipe chosen on validation
# among one-seed candidates; the claim's arm is the candidate validation keeps, over three seeds
VIT_OVERFIT = vit_arm(
    "vit_overfit",
    "vision transformer on 1,000 images, unregularised",
    replace(config.VIT_RECIPE, weight_decay=0.0, label_smoothing=0.0, augmentation=config.Augmentation()),
    budget="overfit",
    data="1,000 training images",
    changes=(("dropout", 0.0),),
    seeds=(config.SEED,),
)
VIT_CANDIDATES = tuple(
    vit_arm(f"vit_{name}", f"transformer candidate: {label}", recipe, changes=changes, seeds=(config.SEED,))
    for name, label, recipe, changes in (
        ("sgd", "the CNNs' recipe", PROTOCOL, ()),
        ("adamw", "AdamW 1e-3", config.VIT_RECIPE, ()),
        ("adamw_3e4", "AdamW 3e-4", replace(config.VIT_RECIPE, learning_rate=3e-4), ()),
        ("patch_4", "4-pixel patches", config.VIT_RECIPE, (("stem_widths", (32,)),)),
        ("depth_6", "six blocks", config.VIT_RECIPE, (("depth", 6),)),
    )
)
VIT = vit_arm(  # trains as the candidate validation keeps (levers.check_same)
    "vit", "vision transformer", keep=1, chosen_by=tuple(a.name for a in VIT_CANDIDATES)
)

CHAPTERS = {
    chapter.stem: chapter
    for chapter in (
        Chapter("01_data_overview"),
        Chapter("02_denoising"),
        Chapter("03_outliers"),
        Chapter(
            "04_baseline",
            ("03_outliers",),
            (
                STUDY_PIPELINE,
                study_arm("study_outliers_kept", "baseline CNN, outliers kept", data="outliers kept"),
                study_arm("study_class_weights", "baseline CNN, class weights", class_weights=True),
                study_arm("study_leaks_kept", "baseline CNN, copies of test images kept", data="leaks kept"),
                PROTOCOL_PIPELINE,
                protocol_arm("protocol_outliers_kept", "small VGG-style CNN, outliers kept", data="outliers kept"),
            ),
            (
                level("baseline_52", "The baseline CNN reaches 52 % test accuracy", "study_pipeline", 0.52),
                difference(
                    "outliers",
                    "Removing the autoencoder's outliers raises accuracy by 4 points",
                    "study_outliers_kept",
                    "study_pipeline",
                    size=0.04,
                ),
                difference(
                    "class_weights",
                    "Class weights raise macro-F1",
                    "study_pipeline",
                    "study_class_weights",
                    metric="macro_f1",
                ),
                difference(
                    "leakage",
                    "Training on copies of test images inflates test accuracy",
                    "study_pipeline",
                    "study_leaks_kept",
                ),
                difference(
                    "outliers_protocol",
                    "Removing the autoencoder's outliers raises accuracy by 4 points (the book's protocol)",
                    "protocol_outliers_kept",
                    "protocol_pipeline",
                    size=0.04,
                ),
            ),
        ),
        Chapter(
            "05_augmentation",
            ("02_denoising", "03_outliers", "04_baseline"),
            (
                STUDY_PIPELINE,
                study_arm("study_augmented", "baseline CNN, the study's augmentation", recipe=STUDY_AUGMENTED),
                study_arm("study_denoised", "baseline CNN, denoised images", data="denoised"),
                PROTOCOL_PIPELINE,
                protocol_arm(
                    "protocol_no_augmentation", "small VGG-style CNN, no augmentation", recipe=NO_AUGMENTATION
                ),
            ),
            (
                difference("augmentation", "Augmentation raises accuracy", "study_pipeline", "study_augmented"),
                difference("denoising", "NL-means denoising raises accuracy", "study_pipeline", "study_denoised"),
                difference(
                    "augmentation_protocol",
                    "Augmentation raises accuracy (the book's protocol)",
                    "protocol_no_augmentation",
                    "protocol_pipeline",
                ),
            ),
        ),
        Chapter(
            "06_unet",
            ("03_outliers", "04_baseline"),
            (
                Arm(
                    "unet_study", "attention U-Net", "attention_unet", PROTOCOL, "protocol", changes=STUDY_UNET, keep=1
                ),
                Arm("plain_protocol", "baseline CNN, the U-Net's recipe", "baseline_std_model", PROTOCOL, "protocol"),
            ),
            (
                level("unet_64", "The attention U-Net reaches 64 %", "unet_study", 0.64),
                difference(
                    "unet_vs_cnn",
                    "The attention U-Net beats the baseline CNN trained the same way",
                    "plain_protocol",
                    "unet_study",
                ),
            ),
        ),
        Chapter("07_gradcam", ("04_baseline", "06_unet")),
        Chapter(
            "08_cpu_cnn",
            ("03_outliers", "04_baseline"),
            (
                PROTOCOL_PIPELINE,
                *LEVERS,
                Arm(  # its settings are the levers validation keeps (levers.check_declared)
                    "strongest",
                    "VGG-style CNN",
                    "vgg_cnn",
                    PROTOCOL,
                    "strongest",
                    changes=(("window", 44),),
                    keep=3,
                    chosen_by=(PROTOCOL_PIPELINE.name, *(a.name for a in LEVERS)),
                ),
            ),
        ),
        Chapter(
            "09_vit_ensemble",
            ("03_outliers", "04_baseline", "06_unet", "08_cpu_cnn"),
            (PROTOCOL_PIPELINE, VIT_OVERFIT, *VIT_CANDIDATES, VIT),
            (
                ClaimSpec(
                    "vit_vs_cnn",
                    "A vision transformer does as well as a CNN",
                    "equivalence",
                    ("protocol_pipeline", "vit"),
                    margin=0.02,
                ),
            ),
        ),
        Chapter("10_architectures"),
        Chapter(
            "11_claims",
            ("04_baseline", "05_augmentation", "06_unet", "09_vit_ensemble"),
            partial=True,  # it collects the claims judged so far and names those that wait
            claims=(
                level(
                    "study_goal",
                    "The study-size attention U-Net reaches the study's goal of 75 %",
                    "unet_study",
                    0.75,
                ),
            ),
        ),
    )
}


def arms() -> dict[str, Arm]:
    """Every arm of the book by name, in chapter order (an arm two chapters declare is listed once)."""
    found: dict[str, Arm] = {}
    for chapter in CHAPTERS.values():
        for a in chapter.arms:
            if found.setdefault(a.name, a) != a:
                raise ValueError(f"two different arms are called {a.name!r}")
    return found


def arm(name: str) -> Arm:
    """The arm called `name`; <arm>_x2 is its doubled-budget check."""
    every = arms()
    if name.endswith(DOUBLED) and name.removesuffix(DOUBLED) in every:
        return every[name.removesuffix(DOUBLED)].doubled()
    if name not in every:
        raise KeyError(f"no arm {name!r}; the book's arms: {', '.join(every)}")
    return every[name]


def claims() -> dict[str, ClaimSpec]:
    """Every claim by id, in chapter order."""
    return {c.id: c for chapter in CHAPTERS.values() for c in chapter.claims}


def claim(claim_id: str) -> ClaimSpec:
    if claim_id not in (every := claims()):
        raise KeyError(f"no claim {claim_id!r}; the book's claims: {', '.join(every)}")
    return every[claim_id]


def chapter_of_claim(claim_id: str) -> str:
    return next(stem for stem, chapter in CHAPTERS.items() if any(c.id == claim_id for c in chapter.claims))


def reads() -> dict[str, tuple[str, ...]]:
    """{chapter: the chapters it reads}, for the chapters that read any."""
    return {stem: chapter.reads for stem, chapter in CHAPTERS.items() if chapter.reads}
