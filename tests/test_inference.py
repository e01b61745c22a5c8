"""Inference with test-time augmentation, and the choices that read validation only: TTA and the ensemble."""

import keras
import numpy as np
import pytest
from helpers import labelled, one_hot_probs

from fer_helpers.modelling import inference, metrics, models


class FlipSensitive:
    """p(angry) = mean brightness of the left half, p(disgust) = 1 - that: flipping a left-lit face changes it."""

    def predict(self, x, batch_size=None, verbose=0):
        left = x[:, :, :24].mean(axis=(1, 2, 3))
        return np.stack([left] + [1 - left] + [np.zeros_like(left)] * 5, axis=1)


def test_flip_tta_averages_the_flipped_prediction():
    x = np.zeros((1, 48, 48, 1), np.float32)
    x[:, :, :24] = 1
    np.testing.assert_allclose(inference.predict(FlipSensitive(), x, flip_tta=True)[0, :2], [0.5, 0.5])


def left_lit(labels):
    """Faces lit on the left at 0.6: plain predicts angry (0), flip TTA predicts disgust (1)."""
    images = np.zeros((len(labels), 48, 48), np.uint8)
    images[:, :, :24] = 153
    return labelled(labels, images=images)


def test_choose_tta_keeps_flip_only_when_it_raises_validation_accuracy():
    val, test = left_lit([1, 1, 1, 1]), left_lit([0, 0, 0, 0])  # flip TTA helps on val, hurts on test
    choice = inference.choose_tta(FlipSensitive(), val)
    assert choice == inference.TTA("flip_tta", "flip_tta", {"plain": 0.0, "flip_tta": 1.0})  # no window: no shifts
    assert choice.options == {"flip_tta": True, "shift_tta": False} and choice.label == "flip"
    assert choice.kept_accuracy == 1.0
    tested = {tta: inference.evaluate(FlipSensitive(), test, flip_tta=tta)["accuracy"] for tta in (False, True)}
    assert tested[True] < tested[False]
    assert inference.choose_tta(FlipSensitive(), test).kept == "plain"
    plain, flipped = one_hot_probs([0, 1, 2]), one_hot_probs([0, 1, 3])
    assert inference.choose_tta({"plain": plain, "flip_tta": flipped}, labelled([0, 1, 2])).kept == "plain"
    assert inference.choose_tta({"plain": plain, "flip_tta": plain}, labelled([0, 1, 2])).kept == "plain"  # a tie


def test_a_tta_choice_reads_back_from_its_json():
    choice = inference.TTA("shift_tta", "shift_tta", {"plain": 0.5, "flip_tta": 0.52, "shift_tta": 0.55})
    saved = choice.to_json()
    assert saved == {
        "flip_tta": False,
        "shift_tta": True,
        "best": "shift_tta",
        "val_accuracy": 0.5,
        "val_accuracy_flip_tta": 0.52,
        "val_accuracy_shift_tta": 0.55,
    }
    assert inference.TTA.from_json(saved) == choice
    assert inference.TTA.from_json(saved | {"test": {"accuracy": 0.6}}) == choice  # test metrics ride along, unread
    assert inference.TTA.from_json(None) == inference.TTA() and inference.TTA().options == {
        "flip_tta": False,
        "shift_tta": False,
    }


def test_tta_probabilities_follow_the_validation_choice_on_both_splits():
    val, test = left_lit([1, 1, 1, 1]), left_lit([0, 0, 0, 0])  # flip TTA helps on val, hurts on test
    chosen, probs = inference.tta_probabilities(FlipSensitive(), val, test)
    assert chosen.kept == "flip_tta" and chosen.kept_accuracy == 1.0
    np.testing.assert_allclose(probs["test"], inference.predict(FlipSensitive(), test.x(), flip_tta=True))
    assert metrics.accuracy(probs["val"], val.labels) == 1.0 and metrics.accuracy(probs["test"], test.labels) == 0
    plain, probs = inference.tta_probabilities(FlipSensitive(), test, val)  # chosen on `test` images: no flip
    assert plain.kept == "plain"
    np.testing.assert_allclose(probs["val"], FlipSensitive().predict(test.x()))


def windowed(size: int = 44):
    """A Functional model that looks at a centre window: p(angry) = mean brightness of its window's top-left quarter."""
    inputs = keras.Input(models.INPUT_SHAPE)
    seen = models.Window(size, name="window")(inputs)
    quarter = keras.ops.mean(seen[:, : size // 2, : size // 2], axis=(1, 2, 3))[:, None]
    outputs = keras.ops.concatenate([quarter, 1 - quarter, keras.ops.tile(quarter * 0, (1, 5))], axis=1)
    return keras.Model(inputs, outputs)


def test_shift_tta_averages_the_centre_and_four_corner_windows():
    x = np.zeros((1, 48, 48, 1), np.float32)
    x[:, 2:24, 2:24] = 1  # the centre window's top-left quarter
    model = windowed()
    assert models.margin(model) == 2 and models.margin(FlipSensitive()) == 0
    np.testing.assert_allclose(inference.predict(model, x)[0, 0], 1.0)
    shifts = [(0, 0), (-2, -2), (-2, 2), (2, -2), (2, 2)]
    expected = np.mean([np.roll(x, shift, axis=(1, 2))[:, 2:24, 2:24].mean() for shift in shifts])
    np.testing.assert_allclose(inference.predict(model, x, shift_tta=True)[0, 0], expected, rtol=1e-6)
    assert expected < 1.0
    with pytest.raises(ValueError, match="shift_tta needs a model that looks at a window"):
        inference.predict(FlipSensitive(), x, shift_tta=True)


def test_choose_tta_tries_shifted_windows_for_a_windowed_model():
    images = np.zeros((4, 48, 48), np.uint8)
    images[:, 2:24, 2:24] = 255  # bright only in the centre window: shifted windows see less of it
    choice = inference.choose_tta(windowed(), labelled([0, 0, 0, 0], images=images))
    assert set(choice.val_accuracy) == {"plain", "flip_tta", "shift_tta", "ten_crop"}
    assert choice.kept == "plain"  # no option beats plain: all kept off


def two_class_probs(p_first):
    """Probabilities that put p on class 0 and the rest on class 1, one row per value."""
    p = np.asarray(p_first, dtype=float)
    return np.stack([p, 1 - p] + [np.zeros_like(p)] * 5, axis=1)


def test_select_ensemble_is_greedy_on_validation_where_test_disagrees():
    val_labels = np.zeros(4, int)
    val = {
        "A": two_class_probs([0.9, 0.9, 0.9, 0.2]),  # 3/4 alone
        "B": two_class_probs([0.2, 0.2, 0.6, 0.9]),  # 2/4 alone; A + B: 4/4
        "C": two_class_probs([0.6, 0.2, 0.2, 0.2]),
    }  # 1/4; adding it to A + B lowers accuracy
    test = {
        "A": two_class_probs([0.2, 0.2, 0.2, 0.2]),
        "B": two_class_probs([0.2, 0.2, 0.2, 0.2]),
        "C": two_class_probs([0.9, 0.9, 0.9, 0.9]),
    }
    chosen = inference.select_ensemble(val, val_labels)
    assert chosen == {"members": ["A", "B"], "val_accuracy": [0.75, 1.0]}
    assert inference.select_ensemble(test, val_labels)["members"] == ["C"]  # what the test set would have picked
    assert inference.select_ensemble(val, val_labels, max_members=1)["members"] == ["A"]
    with pytest.raises(ValueError, match="max_members >= 1"):
        inference.select_ensemble(val, val_labels, max_members=0)


def test_a_seed_ensemble_averages_every_view_and_is_used_only_where_validation_prefers_it():
    labels = [0, 0, 0, 0]
    a = {"plain": two_class_probs([0.9, 0.9, 0.4, 0.4]), "flip_tta": two_class_probs([0.9, 0.9, 0.9, 0.4])}
    b = {"plain": two_class_probs([0.4, 0.4, 0.9, 0.9]), "flip_tta": two_class_probs([0.4, 0.4, 0.4, 0.9])}
    chosen = inference.seed_ensemble({"s42": a, "s43": b}, labelled(labels))
    assert chosen["members"] == ["s42", "s43"] and chosen["use_ensemble"] is True
    assert chosen["val_accuracy"] == 1.0 and inference.TTA.from_json(chosen["tta"]).kept == "plain"  # a tie: plain
    assert chosen["best_member"] == "s42" and chosen["best_member_val_accuracy"] == 0.75
    assert inference.TTA.from_json(chosen["best_member_tta"]).kept == "flip_tta"
    alone = inference.seed_ensemble({"s42": a, "s43": a}, labelled(labels))
    assert alone["use_ensemble"] is False  # averaging a model with itself gains nothing
    with pytest.raises(ValueError, match="two members"):
        inference.seed_ensemble({"s42": a}, labelled(labels))


def test_as_chosen_follows_the_test_time_augmentation_validation_kept():
    plain = {"accuracy": 0.60, "tta": {"flip_tta": False, "test": {"accuracy": 0.61}}}
    flipped = {"accuracy": 0.60, "tta": {"flip_tta": True, "test": {"accuracy": 0.61}}}
    assert inference.as_chosen(plain) is plain and inference.as_chosen(flipped)["accuracy"] == 0.61
    assert inference.as_chosen({"accuracy": 0.5}) == {"accuracy": 0.5}
    windows = {"accuracy": 0.60, "tta": {"flip_tta": False, "shift_tta": True, "test": {"accuracy": 0.62}}}
    assert inference.as_chosen(windows)["accuracy"] == 0.62
