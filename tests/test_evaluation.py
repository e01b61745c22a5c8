"""Test metrics from known predictions (parts, leak-free, per-image), calibration; choices that read validation only."""

import json

import keras
import numpy as np
import pytest

from fer_helpers import data, evaluation, experiments, models


def subset(labels, parts=None, leak_free=None, images=None):
    n = len(labels)
    parts = np.asarray(parts if parts is not None else ["PrivateTest"] * n)
    images = np.zeros((n, 48, 48), np.uint8) if images is None else images
    return data.Subset(images, np.asarray(labels), np.array([f"x_{i}" for i in range(n)]), parts, leak_free=leak_free)


def one_hot_probs(predicted, confidence=0.9):
    probs = np.full((len(predicted), 7), (1 - confidence) / 6)
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def test_accuracy_by_part_and_per_class():
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    predicted = np.array([0, 1, 2, 3, 0, 0, 0, 0])  # PublicTest all right, PrivateTest 1 of 4
    parts = np.array(["PublicTest"] * 4 + ["PrivateTest"] * 4)
    result = evaluation.metrics(one_hot_probs(predicted), subset(labels, parts))
    assert result["accuracy"] == pytest.approx(5 / 8)
    assert result["parts"]["PublicTest"]["accuracy"] == 1.0
    assert result["parts"]["PrivateTest"]["accuracy"] == pytest.approx(0.25)
    assert result["per_class"]["angry"]["recall"] == 1.0
    assert result["per_class"]["angry"]["precision"] == pytest.approx(2 / 5)
    assert result["per_class"]["disgust"]["recall"] == pytest.approx(0.5)
    confusion = np.array(result["confusion"])
    assert confusion[1, 0] == pytest.approx(0.5) and confusion[0, 0] == 1.0
    assert "leak_free" not in result and "ci95" not in result


def test_leak_free_metrics_and_per_image_correctness():
    from sklearn.metrics import f1_score

    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    predicted = np.array([0, 1, 2, 3, 0, 0, 0, 0])
    leak_free = np.array([False, False, True, True, True, True, True, True])  # two leaked images, both right
    test = subset(labels, leak_free=leak_free)
    result = evaluation.metrics(one_hot_probs(predicted), test)
    assert result["leak_free"]["n"] == 6
    assert result["leak_free"]["accuracy"] == pytest.approx(3 / 6)
    assert result["leak_free"]["macro_f1"] == pytest.approx(
        f1_score(labels[leak_free], predicted[leak_free], labels=range(7), average="macro", zero_division=0)
    )
    np.testing.assert_array_equal(evaluation.correct(result, labels), predicted == labels)
    roundtrip = json.loads(json.dumps(result))
    np.testing.assert_array_equal(evaluation.correct(roundtrip, test.labels), predicted == labels)
    with pytest.raises(ValueError, match="leak_free must be a bool mask"):
        evaluation.metrics(one_hot_probs(predicted), subset(labels, leak_free=leak_free[:3]))
    with pytest.raises(ValueError, match="8 predictions for 7 labels"):
        evaluation.correct(result, labels[:7])
    with pytest.raises(KeyError, match="no per-image predictions"):
        evaluation.correct({"accuracy": 0.5}, labels)


def result_with(val_accuracy, test_accuracy, n=100):
    """A metrics result of a model with the given test accuracy, and its validation accuracy."""
    labels = np.arange(n) % 7
    predicted = np.where(np.arange(n) < round(test_accuracy * n), labels, (labels + 1) % 7)
    return {**evaluation.metrics(one_hot_probs(predicted), subset(labels)), "val_accuracy": val_accuracy}


def test_metric_table_has_one_row_per_model_and_nan_where_unknown():
    results = {"a": result_with(0.7, 0.6), "b": {**result_with(0.5, 0.8), "val_accuracy": None}}
    table = evaluation.metric_table(results)
    assert list(table.index) == ["a", "b"]
    assert list(table.columns) == [
        "val accuracy",
        "test accuracy",
        "PrivateTest",
        "PublicTest",
        "leak-free accuracy",
        "macro-F1",
        "ECE",
    ]
    assert table.loc["a", "val accuracy"] == 0.7 and table.loc["a", "test accuracy"] == pytest.approx(0.6)
    assert table.loc["a", "PrivateTest"] == pytest.approx(0.6)
    assert np.isnan(table.loc["b", "val accuracy"]) and np.isnan(table.loc["a", "PublicTest"])
    assert np.isnan(table.loc["a", "leak-free accuracy"])


def test_rank_follows_validation_where_test_disagrees():
    results = {
        "test_best": result_with(0.55, 0.80),
        "val_best": result_with(0.70, 0.50),
        "middle": result_with(0.60, 0.60),
    }
    ranking = evaluation.rank(results)
    assert list(ranking.index) == ["val_best", "middle", "test_best"]
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking.loc["test_best", "test accuracy"] == pytest.approx(0.80)  # carried, not used
    by_f1 = evaluation.rank(
        {name: {**r, "val_macro_f1": -r["val_accuracy"]} for name, r in results.items()}, by="val_macro_f1"
    )
    assert list(by_f1.index) == ["test_best", "middle", "val_best"]
    assert list(by_f1["val_macro_f1"]) == [-0.55, -0.6, -0.7]
    with pytest.raises(ValueError, match="validation metric"):
        evaluation.rank(results, by="accuracy")
    with pytest.raises(ValueError, match="no 'val_accuracy' for \\['ensemble'\\]"):
        evaluation.rank({**results, "ensemble": {**result_with(0, 0.9), "val_accuracy": None}})


class FlipSensitive:
    """p(angry) = mean brightness of the left half, p(disgust) = 1 - that: flipping a left-lit face changes it."""

    def predict(self, x, batch_size=None, verbose=0):
        left = x[:, :, :24].mean(axis=(1, 2, 3))
        return np.stack([left] + [1 - left] + [np.zeros_like(left)] * 5, axis=1)


def test_flip_tta_averages_the_flipped_prediction():
    x = np.zeros((1, 48, 48, 1), np.float32)
    x[:, :, :24] = 1
    np.testing.assert_allclose(evaluation.predict(FlipSensitive(), x, flip_tta=True)[0, :2], [0.5, 0.5])


def left_lit(labels):
    """Faces lit on the left at 0.6: plain predicts angry (0), flip TTA predicts disgust (1)."""
    images = np.zeros((len(labels), 48, 48), np.uint8)
    images[:, :, :24] = 153
    return subset(labels, images=images)


def test_choose_tta_keeps_flip_only_when_it_raises_validation_accuracy():
    val, test = left_lit([1, 1, 1, 1]), left_lit([0, 0, 0, 0])  # flip TTA helps on val, hurts on test
    choice = evaluation.choose_tta(FlipSensitive(), val)
    assert choice == {
        "flip_tta": True,
        "shift_tta": False,  # no window: shifted views are not tried
        "best": "flip_tta",
        "val_accuracy": 0.0,
        "val_accuracy_flip_tta": 1.0,
    }
    tested = {tta: evaluation.evaluate(FlipSensitive(), test, flip_tta=tta)["accuracy"] for tta in (False, True)}
    assert tested[True] < tested[False]
    assert evaluation.choose_tta(FlipSensitive(), test)["flip_tta"] is False
    plain, flipped = one_hot_probs([0, 1, 2]), one_hot_probs([0, 1, 3])
    assert evaluation.choose_tta({"plain": plain, "flip_tta": flipped}, subset([0, 1, 2]))["flip_tta"] is False
    assert evaluation.choose_tta({"plain": plain, "flip_tta": plain}, subset([0, 1, 2]))["flip_tta"] is False  # a tie


def test_tta_probabilities_follow_the_validation_choice_on_both_splits():
    val, test = left_lit([1, 1, 1, 1]), left_lit([0, 0, 0, 0])  # flip TTA helps on val, hurts on test
    chosen = evaluation.tta_probabilities(FlipSensitive(), val, test)
    assert chosen["flip_tta"] is True and chosen["val_accuracy_flip_tta"] == 1.0
    np.testing.assert_allclose(chosen["test"], evaluation.predict(FlipSensitive(), test.x(), flip_tta=True))
    assert (
        evaluation.accuracy(chosen["val"], val.labels) == 1.0 and evaluation.accuracy(chosen["test"], test.labels) == 0
    )
    plain = evaluation.tta_probabilities(FlipSensitive(), test, val)  # chosen on `test` images: no flip
    assert plain["flip_tta"] is False
    np.testing.assert_allclose(plain["val"], FlipSensitive().predict(test.x()))


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
    np.testing.assert_allclose(evaluation.predict(model, x)[0, 0], 1.0)
    shifts = [(0, 0), (-2, -2), (-2, 2), (2, -2), (2, 2)]
    expected = np.mean([np.roll(x, shift, axis=(1, 2))[:, 2:24, 2:24].mean() for shift in shifts])
    np.testing.assert_allclose(evaluation.predict(model, x, shift_tta=True)[0, 0], expected, rtol=1e-6)
    assert expected < 1.0
    with pytest.raises(ValueError, match="shift_tta needs a model that looks at a window"):
        evaluation.predict(FlipSensitive(), x, shift_tta=True)


def test_choose_tta_tries_shifted_windows_for_a_windowed_model():
    images = np.zeros((4, 48, 48), np.uint8)
    images[:, 2:24, 2:24] = 255  # bright only in the centre window: shifted windows see less of it
    choice = evaluation.choose_tta(windowed(), subset([0, 0, 0, 0], images=images))
    assert set(choice) >= {"val_accuracy_shift_tta", "val_accuracy_ten_crop"}
    assert choice["flip_tta"] is False and choice["shift_tta"] is False  # no option beats plain: all kept off


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
    chosen = evaluation.select_ensemble(val, val_labels)
    assert chosen == {"members": ["A", "B"], "val_accuracy": [0.75, 1.0]}
    assert evaluation.select_ensemble(test, val_labels)["members"] == ["C"]  # what the test set would have picked
    assert evaluation.select_ensemble(val, val_labels, max_members=1)["members"] == ["A"]
    with pytest.raises(ValueError, match="max_members >= 1"):
        evaluation.select_ensemble(val, val_labels, max_members=0)


def test_bootstrap_ci_brackets_the_accuracy_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small, large = (rng.random(100) < 0.6).astype(float), (rng.random(10000) < 0.6).astype(float)
    lo, hi = evaluation.bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = evaluation.bootstrap_ci(large)
    assert hi2 - lo2 < (hi - lo) / 5
    assert evaluation.bootstrap_ci(small) == [lo, hi]  # seeded


def test_calibration_error_of_a_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 7, 20000)
    correct = rng.random(20000) < 0.7
    predicted = np.where(correct, labels, (labels + 1) % 7)
    calibrated = evaluation.calibration(one_hot_probs(predicted, 0.7), labels)
    overconfident = evaluation.calibration(one_hot_probs(predicted, 0.99), labels)
    assert calibrated["ece"] < 0.02
    assert overconfident["ece"] == pytest.approx(0.29, abs=0.02)
    assert sum(b["count"] for b in calibrated["bins"]) == 20000


def test_mean_sd_table():
    import pandas as pd

    rows = pd.DataFrame({"variant": ["a", "a", "b", "b"], **{c: [0.5, 0.7, 0.6, 0.6] for c in experiments.COLUMNS}})
    summary = experiments.mean_sd(rows)
    assert summary.loc["a", "test accuracy mean"] == pytest.approx(0.6)
    assert summary.loc["a", "test accuracy sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary.loc["b", "test accuracy sd"] == 0 and summary.loc["a", "seeds"] == 2


def test_as_chosen_follows_the_validation_choice_of_flip_tta():
    plain = {"accuracy": 0.60, "tta": {"flip_tta": False, "test": {"accuracy": 0.61}}}
    flipped = {"accuracy": 0.60, "tta": {"flip_tta": True, "test": {"accuracy": 0.61}}}
    assert evaluation.as_chosen(plain) is plain and evaluation.as_chosen(flipped)["accuracy"] == 0.61
    assert evaluation.as_chosen({"accuracy": 0.5}) == {"accuracy": 0.5}


def test_against_targets_compares_on_the_targets_test_images():
    from fer_helpers import config

    result = {"accuracy": 0.70, "parts": {"PrivateTest": {"accuracy": 0.74}, "PublicTest": {"accuracy": 0.66}}}
    table = evaluation.against_targets(result)
    assert list(table.index) == list(config.TARGETS)
    goal, best, human = (table.loc[name] for name in ("study goal", "best single model", "human"))
    assert goal["this model"] == 0.70 and goal["this model is"] == "below"
    assert goal["difference"] == pytest.approx(-0.05)
    assert best["test images"] == "PrivateTest" and best["this model"] == 0.74 and best["this model is"] == "above"
    assert human["this model is"] == "above" and all(table["source"].str.len() > 0)
