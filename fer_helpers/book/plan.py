"""What each training chapter will take on this machine, before it runs: its planned runs (model, recipe,
epoch budget, number of runs) times the seconds per epoch timed here.

    python -m fer_helpers.book.plan [NOTEBOOK ...]          (make plan; default: every planned chapter)

Budgets are in epochs (`config.PROFILES["full"]`), so the numbers do not depend on the machine, but the time
does, and by more than load alone: two cores with AVX-512 train the baseline CNN several times faster than
two without it. Each model is timed by `training.seconds_per_epoch` (median step time scaled to an epoch of
the pipeline's training images, plus a validation pass) on a fresh, untrained copy; the estimate covers
training only (evaluation, maps and tables come on top) and is an upper bound for chapter 8, whose levers
(smaller windows) cost less than the plain model timed. A chapter over `CAP_MINUTES` is flagged: run it on a
faster machine, or split it. Chapter 3's autoencoder is not planned (it costs minutes).

How close it comes, measured on a 2-core AVX-512 machine (2026-12-02): chapter 4 timed vgg_cnn_small at
43.1 s/epoch and trained it at 41; it timed the baseline CNN at 36.7 and trained it at 46–50, where the fixed
cost of an epoch (input pipeline, validation, the backup written after it) weighs more on a small model.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from .. import config

CAP_MINUTES = 120  # the longest a chapter may take in the full profile


@dataclass(frozen=True)
class Planned:
    """`runs` runs of the registry model `model` under `recipe` for the full profile's `budget` epochs."""

    model: str
    recipe: str  # a Recipe in config: "PROTOCOL", "STUDY_BASELINE" or "STRONGEST"
    budget: str
    runs: int


SEEDS = len(config.SEEDS)
PLANS = {
    "04_baseline": [
        Planned("baseline_std_model", "STUDY_BASELINE", "study", SEEDS),
        Planned("vgg_cnn_small", "PROTOCOL", "treatment", 4 * SEEDS),  # control, outliers, class weights, leaks
    ],
    "05_augmentation": [Planned("vgg_cnn_small", "PROTOCOL", "treatment", 2 * SEEDS)],  # no augmentation, denoised
    "06_unet": [
        Planned("attention_unet", "PROTOCOL", "protocol", SEEDS),
        Planned("baseline_std_model", "PROTOCOL", "protocol", SEEDS),
    ],
    "08_cpu_cnn": [
        Planned("vgg_cnn_small", "PROTOCOL", "treatment", 3),  # the levers
        Planned("vgg_cnn", "STRONGEST", "strongest", 1),
    ],
    "09_vit_ensemble": [Planned("vision_transformer", "PROTOCOL", "treatment", SEEDS)],
}


def recipe_of(planned: Planned, profile: config.Profile) -> config.Recipe:
    return profile.recipe(getattr(config, planned.recipe), planned.budget)


def estimate(chapters, profile: config.Profile, split, steps: int = 20) -> list[dict]:
    """One row per planned run group: chapter, model, runs x epochs, seconds per epoch here, minutes."""
    from .. import registry, training

    timed, rows = {}, []
    for chapter in chapters:
        for planned in PLANS[chapter]:
            recipe = recipe_of(planned, profile)
            key = (planned.model, recipe.describe())
            if key not in timed:
                training.set_seed()
                model = registry.entry(planned.model).build(split.train.x())
                timed[key] = training.seconds_per_epoch(model, split, recipe, steps)["seconds_per_epoch"]
            epochs = planned.runs * recipe.epochs
            rows.append(
                {
                    "chapter": chapter,
                    "model": planned.model,
                    "runs x epochs": f"{planned.runs} x {recipe.epochs}",
                    "s/epoch": timed[key],
                    "minutes": epochs * timed[key] / 60,
                }
            )
    return rows


def report(rows: list[dict]) -> tuple[str, list[str]]:
    """The table as text, and the chapters whose training alone exceeds `CAP_MINUTES`."""
    lines = [f"{'chapter':18} {'model':20} {'runs x epochs':>13} {'s/epoch':>8} {'minutes':>8}"]
    lines += [
        f"{r['chapter']:18} {r['model']:20} {r['runs x epochs']:>13} {r['s/epoch']:8.1f} {r['minutes']:8.1f}"
        for r in rows
    ]
    totals = {}
    for r in rows:
        totals[r["chapter"]] = totals.get(r["chapter"], 0.0) + r["minutes"]
    over = [chapter for chapter, minutes in totals.items() if minutes > CAP_MINUTES]
    lines.append("")
    flag = f"  OVER the {CAP_MINUTES} min cap"
    lines += [
        f"{chapter:18} training {minutes:6.1f} min{flag * (chapter in over)}" for chapter, minutes in totals.items()
    ]
    return "\n".join(lines), over


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.book.plan", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help=f"chapter stems (default: {', '.join(PLANS)})")
    parser.add_argument("--steps", type=int, default=20, help="training steps timed per model")
    args = parser.parse_args(argv)
    unknown = [name for name in args.notebooks if name not in PLANS]
    if unknown:
        parser.error(f"no plan for {unknown}; planned chapters: {', '.join(PLANS)}")
    from .. import data
    from ..quiet import quiet_tensorflow
    from ..results import cpu_info

    quiet_tensorflow()
    profile = config.get_profile("full")
    split = data.load_split(profile)
    cpu = cpu_info()
    print(f"machine: {cpu['model']}, flags {', '.join(cpu['flags']) or 'none of note'}")
    text, over = report(estimate(args.notebooks or list(PLANS), profile, split, args.steps))
    print(text)
    return 0 if not over else 1


if __name__ == "__main__":
    sys.exit(main())
