"""levers: each lever judged on validation against the control, paired by seed, and what validation keeps."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from fer_helpers import chapters, config
from fer_helpers.analysis import levers
from fer_helpers.dataset.data import Subset

LABELS = np.array([0, 1, 2, 3, 4, 5, 6, 0, 1, 2])
VAL = Subset(np.zeros((len(LABELS), 48, 48), np.uint8), LABELS, np.arange(len(LABELS)), np.array(["Training"] * 10))


def probabilities(hits: int) -> np.ndarray:
    """One-hot probabilities right on the first `hits` validation images, wrong on the others."""
    predicted = np.where(np.arange(len(LABELS)) < hits, LABELS, (LABELS + 1) % 7)
    return np.eye(7)[predicted]


def trial(seed: int, plain: int, flops: float = 1e15, **views) -> SimpleNamespace:
    stored = {"plain": probabilities(plain)} | {name: probabilities(hits) for name, hits in views.items()}
    run = SimpleNamespace(
        seed=seed,
        views=lambda part: stored,
        summary=lambda: {"val_accuracy": plain / len(LABELS)},
        record={"cost": {"training_flops": flops}},
    )
    return SimpleNamespace(run=run)


def test_each_lever_gains_over_the_control_seed_by_seed_with_its_kept_tta():
    table = levers.table(
        {
            "control": [trial(s, 6, flip_tta=7) for s in (42, 43, 44)],
            "window 44": [trial(42, 6, 0.8e15, ten_crop=9), trial(43, 7, 0.8e15, ten_crop=8), trial(44, 6, 0.8e15)],
            "mixup": [trial(s, 6, flip_tta=6) for s in (42, 43, 44)],
        },
        VAL,
    )
    assert table["TTA"].tolist() == ["flip", "windows × flip", "none"]
    np.testing.assert_allclose(table["gain"], [0.0, (0.2 + 0.1 - 0.1) / 3, -0.1], atol=1e-12)
    assert table["kept"].tolist() == ["control", "yes", "no"]
    assert table.loc["control", "gain interval"] is None and table.loc["window 44", "gain interval"][0] < 0
    np.testing.assert_allclose(table["cost"], [1.0, 0.8, 1.0])


def test_validation_keeps_the_best_kept_window_and_a_kept_mixup_and_the_final_arm_must_say_so():
    arms = {
        "window 44": chapters.arm("lever_window_44"),
        "window 40": chapters.arm("lever_window_40"),
        "mixup": chapters.arm("lever_mixup"),
    }
    table = levers.pd.DataFrame(
        {"gain": [0.0, 0.01, 0.02, -0.01], "kept": ["control", "yes", "yes", "no"]},
        index=["control", "window 44", "window 40", "mixup"],
    )
    assert levers.chosen(table, arms) == {"window": 40, "mixup": 0.0}
    final = dataclasses.replace(chapters.arm("strongest"), changes=(("window", 40),))
    levers.check_declared(final, {"window": 40, "mixup": 0.0})
    with pytest.raises(ValueError, match="validation keeps .*declare it so in fer_helpers/chapters.py"):
        levers.check_declared(
            dataclasses.replace(final, recipe=dataclasses.replace(config.PROTOCOL, mixup=0.2)),
            {"window": 40, "mixup": 0.0},
        )


def test_a_levers_settings_are_what_it_changes_from_the_control():
    assert levers.settings(chapters.arm("protocol_pipeline")) == {}
    assert levers.settings(chapters.arm("lever_window_44")) == {"window": 44}
    assert levers.settings(chapters.arm("lever_linear")) == {"schedule": "linear"}
    assert levers.settings(chapters.arm("lever_smoothing_02")) == {"label_smoothing": 0.2}
    assert levers.settings(chapters.arm("strongest")) == {"window": 44}  # its longer budget is not a lever


def test_every_kept_lever_is_carried_to_the_final_model_except_the_small_models_widths():
    arms = {label: chapters.arm(name) for label, name in [("w44", "lever_window_44"), ("linear", "lever_linear")]}
    arms |= {"stem": chapters.arm("lever_strided_stem"), "width": chapters.arm("lever_coarse_width")}
    table = levers.pd.DataFrame(
        {"gain": [0.0, 0.01, 0.02, -0.01, 0.03], "kept": ["control", "yes", "yes", "no", "yes"]},
        index=["control", "w44", "linear", "stem", "width"],
    )
    assert levers.chosen(table, arms) == {"window": 44, "mixup": 0.0, "schedule": "linear"}
    final = dataclasses.replace(
        chapters.arm("strongest"), recipe=dataclasses.replace(config.PROTOCOL, schedule="linear")
    )
    levers.check_declared(final, levers.chosen(table, arms))
    with pytest.raises(ValueError, match="validation keeps"):
        levers.check_declared(chapters.arm("strongest"), levers.chosen(table, arms))


def test_the_candidate_with_the_best_validation_accuracy_is_kept_and_the_claims_arm_must_train_as_it():
    found = {
        "sgd": [trial(42, 5, flip_tta=6)],
        "adamw": [trial(42, 6, flip_tta=8)],  # the best with its TTA
        "deep": [trial(42, 7, 3e15)],  # the best plain: TTA decides
    }
    table = levers.candidates(found, VAL)
    assert table["kept"].tolist() == ["no", "yes", "no"] and table["TTA"].tolist() == ["flip", "flip", "none"]
    np.testing.assert_allclose(table["val accuracy, chosen TTA"], [0.6, 0.8, 0.7])
    assert table.loc["deep", "PFLOP per run"] == 3.0
    levers.check_same(chapters.arm("vit"), chapters.arm("vit_adamw"))
    with pytest.raises(ValueError, match="candidate validation keeps: declare it so"):
        levers.check_same(chapters.arm("vit"), chapters.arm("vit_depth_6"))


def test_the_kept_levers_are_worded_for_the_page():
    assert levers.describe({"window": 44, "mixup": 0.0}) == "none"
    assert levers.describe({"window": 0, "mixup": 0.2, "schedule": "linear"}) == "a linear decay to zero"
    worded = levers.describe({"label_smoothing": 0.2, "bn_scale": False, "strided_stem": True, "dropout": 0.1})
    assert worded == "label smoothing 0.2, batch norms without scale, a strided first layer and dropout 0.1"


def test_the_protocols_own_parts_are_levers_taken_away_from_the_control():
    assert levers.settings(chapters.arm("lever_no_smoothing")) == {"label_smoothing": 0.0}
    erasing = levers.settings(chapters.arm("lever_no_erasing"))["augmentation"]
    assert erasing.erase == 0 and erasing.flip and "erasing" not in levers.describe({"augmentation": erasing})
    assert levers.describe(levers.settings(chapters.arm("lever_adamw"))) == "Adam and a rate of 0.001"


def test_an_arm_validation_chooses_is_checked_against_the_runs_it_is_chosen_from():
    final = dataclasses.replace(
        chapters.arm("strongest"), chosen_by=("protocol_pipeline", "lever_window_44", "lever_window_40", "lever_mixup")
    )
    label = {name: chapters.arm(name).label for name in final.chosen_by}
    found = {
        label["protocol_pipeline"]: [trial(s, 6) for s in (42, 43, 44)],
        label["lever_window_44"]: [trial(s, 7) for s in (42, 43, 44)],
        label["lever_window_40"]: [trial(s, 6) for s in (42, 43, 44)],
        label["lever_mixup"]: [trial(s, 5) for s in (42, 43, 44)],
    }
    shown, kept = levers.choose(final, found, VAL)
    assert list(shown.index) == list(found) and kept == {"window": 44, "mixup": 0.0}
    levers.check_choice(final, found, VAL)  # validation keeps the 44-pixel window, as declared
    found[label["lever_window_40"]] = [trial(s, 8) for s in (42, 43, 44)]
    with pytest.raises(ValueError, match="validation keeps .*'window': 40"):
        levers.check_choice(final, found, VAL)
    vit = chapters.VIT
    candidates = {chapters.arm(name).label: [trial(42, 7 if name == "vit_adamw" else 6)] for name in vit.chosen_by}
    shown, kept = levers.choose(vit, candidates, VAL)
    assert list(shown.index) == list(candidates) and kept == chapters.arm("vit_adamw")
    levers.check_choice(vit, candidates, VAL)  # the claim's transformer trains as the kept candidate
    candidates[chapters.arm("vit_sgd").label] = [trial(42, 9)]
    with pytest.raises(ValueError, match="does not train as 'vit_sgd'"):
        levers.check_choice(vit, candidates, VAL)
