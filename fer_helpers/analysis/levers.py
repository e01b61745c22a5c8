"""Levers from fast-training practice, judged on validation against a control arm, paired by seed; and recipe
candidates, one chosen on validation.

    table = levers.table({"control": trials, "window 44": trials, ...}, split.val)   # the control first
    levers.chosen(table, arms)   # {"window": 44, "mixup": 0.0}: what validation keeps for the final model
    levers.candidates({"AdamW 1e-3": trials, ...}, split.val)  # recipe candidates; "kept": the best on validation
    shown, kept = levers.choose(arm, trials, split.val)  # either of the two, for an arm chosen on validation
    levers.check(arm, kept)  # raise unless the arm is declared as validation keeps it

A lever's runs are its arm's seeds (`experiments.from_store`); each run's test-time augmentation is chosen on
validation from its stored views (`store.StoredRun.views`), and the lever's gain is its validation accuracy with
that augmentation minus the control's, seed by seed. The test images are not looked at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

import numpy as np
import pandas as pd

from ..chapters import PROTOCOL_PIPELINE
from ..chapters import arm as declared_arm
from ..modelling import inference
from ..specs import Arm
from . import intervals


def on_validation(trials: list, val) -> tuple[dict, dict]:
    """An arm's row on validation (seeds, mean accuracy plain and with each run's chosen TTA, the TTA most runs
    kept, PFLOP per run) and {seed: accuracy with its chosen TTA}: what `table` and `candidates` show."""
    chosen = [inference.choose_tta(t.run.views("val"), val) for t in trials]
    scores = {t.run.seed: tta.kept_accuracy for t, tta in zip(trials, chosen, strict=True)}
    row = {
        "seeds": len(trials),
        "val accuracy": np.mean([t.run.summary()["val_accuracy"] for t in trials]),
        "TTA": Counter(tta.label for tta in chosen).most_common(1)[0][0],
        "val accuracy, chosen TTA": np.mean(list(scores.values())),
        "PFLOP per run": np.mean([t.run.record["cost"]["training_flops"] for t in trials]) / 1e15,
    }
    return row, scores


def table(levers: dict[str, list], val) -> pd.DataFrame:
    """One row per lever ({label: trials of stored runs}, the control first): the mean validation accuracy plain
    and with each run's chosen TTA (the one most runs kept), the paired gain over the control with its 95 %
    t-interval over seeds, whether the lever is kept (a positive mean gain), and its training PFLOP per run,
    also as a ratio to the control's."""
    rows, scores = {}, {}
    for lever, trials in levers.items():
        rows[lever], scores[lever] = on_validation(trials, val)
    control = next(iter(levers))
    for lever, row in rows.items():
        gains = [scores[lever][seed] - scores[control][seed] for seed in scores[control]]
        row["gain"] = float(np.mean(gains))
        row["gain interval"] = tuple(intervals.t_interval(gains)) if lever != control else None
        row["kept"] = "control" if lever == control else ("yes" if row["gain"] > 0 else "no")
        row["cost"] = row["PFLOP per run"] / rows[control]["PFLOP per run"]
    columns = ["seeds", "val accuracy", "TTA", "val accuracy, chosen TTA", "gain", "gain interval", "kept"]
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("lever")[columns + ["PFLOP per run", "cost"]]


# what every choice states, kept or not: the whole image and no mixup unless a lever is kept
UNSET = {"window": 0, "mixup": 0.0}
# settings of the small model alone: reported, not carried to the final model, whose widths are its own
NOT_CARRIED = {"widths"}


def settings(arm: Arm) -> dict:
    """What an arm sets apart from the control (`chapters.PROTOCOL_PIPELINE`): its builder changes and the recipe
    fields that differ, the epochs aside."""
    control = PROTOCOL_PIPELINE.recipe
    recipe = {
        field.name: getattr(arm.recipe, field.name)
        for field in fields(control)
        if field.name != "epochs" and getattr(arm.recipe, field.name) != getattr(control, field.name)
    }
    return dict(arm.changes) | recipe


def chosen(lever_table: pd.DataFrame, arms: dict[str, Arm]) -> dict:
    """What validation keeps for the final model ({label: the lever's arm}): the settings of every kept lever
    (`settings`; where two set the same thing, such as two windows, the one with the larger gain), the
    small model's own settings (`NOT_CARRIED`) left out, and `UNSET` for what no kept lever sets."""
    kept = lever_table.index[lever_table["kept"] == "yes"]
    choice = dict(UNSET)
    for lever in sorted(kept, key=lambda lever: lever_table.loc[lever, "gain"]):  # the larger gain is set last
        choice |= {k: v for k, v in settings(arms[lever]).items() if k not in NOT_CARRIED}
    return choice


# how a page words a kept setting beyond the window and mixup (`describe`)
PHRASES = {
    "label_smoothing": lambda v: f"label smoothing {v:g}",
    "schedule": lambda v: f"a {v} decay to zero",
    "strided_stem": lambda v: "a strided first layer" if v else "no strided first layer",
    "bn_scale": lambda v: "batch norms with a scale" if v else "batch norms without scale",
    "augmentation": lambda v: v.describe(),
    "optimizer": lambda v: {"adam": "Adam", "sgd": "SGD"}[v],
    "learning_rate": lambda v: f"a rate of {v:g}",
    "ema": lambda v: f"a moving average of the weights ({v:g} per step)",
}


def describe(choice: dict) -> str:
    """The kept settings of `chosen` besides the window and mixup, as a page words them; "none" where there are
    none."""
    kept = [PHRASES.get(k, lambda v, k=k: f"{k.replace('_', ' ')} {v}")(v) for k, v in choice.items() if k not in UNSET]
    return " and ".join([", ".join(kept[:-1]), kept[-1]] if len(kept) > 1 else kept) or "none"


def check_declared(final: Arm, choice: dict) -> None:
    """Raise when the declared final arm is not what validation keeps (`chosen`): its declaration in
    `fer_helpers.chapters` is the one edit to make."""
    declared = UNSET | settings(final)
    if declared != choice:
        raise ValueError(
            f"the arm {final.name!r} is declared with {declared}, but validation keeps {choice}: "
            "declare it so in fer_helpers/chapters.py, then `make runs NB=08_cpu_cnn`"
        )


def candidates(found: dict[str, list], val) -> pd.DataFrame:
    """One row per recipe candidate ({label: trials of stored runs}, one seed or more each): its validation accuracy
    plain and with each run's chosen TTA (mean over its seeds), its PFLOP per run, and "kept" for the candidate with
    the highest validation accuracy with its TTA. Chapter 9 chooses the transformer's recipe this way."""
    rows = {label: on_validation(trials, val)[0] for label, trials in found.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("candidate")
    table["kept"] = np.where(table.index == table["val accuracy, chosen TTA"].idxmax(), "yes", "no")
    return table


def check_same(declared: Arm, candidate: Arm) -> None:
    """Raise unless `declared` trains as `candidate` does (model, builder changes, recipe): the arm a claim uses
    must be the candidate validation keeps (`candidates`), declared in `fer_helpers.chapters`."""
    if (declared.model, declared.changes, declared.recipe) != (candidate.model, candidate.changes, candidate.recipe):
        raise ValueError(
            f"the arm {declared.name!r} does not train as {candidate.name!r}, the candidate validation keeps: "
            "declare it so in fer_helpers/chapters.py, then `make runs NB=09_vit_ensemble`"
        )


def choose(arm: Arm, trials: dict[str, list], val) -> tuple[pd.DataFrame, dict | Arm]:
    """What validation chooses `arm` from, and what it keeps, from the trials of its `chosen_by` arms ({label:
    trials}): the lever table and the settings the levers keep against the control (`table`, `chosen`; the control
    comes first), or else the candidate table and the candidate with the best validation accuracy (`candidates`)."""
    arms = {declared_arm(name).label: declared_arm(name) for name in arm.chosen_by}
    found = {label: trials[label] for label in arms}
    if PROTOCOL_PIPELINE.name in arm.chosen_by:
        lever_table = table(found, val)
        return lever_table, chosen(lever_table, arms)
    ranked = candidates(found, val)
    return ranked, arms[ranked.index[ranked["kept"] == "yes"][0]]


def check(arm: Arm, kept: dict | Arm) -> None:
    """Raise unless `arm` is declared as validation keeps it (`choose`): with the kept levers' settings
    (`check_declared`) or training as the kept candidate (`check_same`)."""
    check_declared(arm, kept) if isinstance(kept, dict) else check_same(arm, kept)


def check_choice(arm: Arm, trials: dict[str, list], val) -> None:
    """`check` on what `choose` keeps: `make runs` calls it before it trains an arm chosen on validation."""
    check(arm, choose(arm, trials, val)[1])
