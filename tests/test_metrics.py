"""Test metrics from known predictions (parts, leak-free, per-image), calibration, tables; rank reads validation."""

import json

import numpy as np
import pytest
from helpers import labelled, one_hot_probs

from fer_helpers.modelling import metrics


def test_accuracy_by_part_and_per_class():
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    predicted = np.array([0, 1, 2, 3, 0, 0, 0, 0])  # PublicTest all right, PrivateTest 1 of 4
    parts = np.array(["PublicTest"] * 4 + ["PrivateTest"] * 4)
    result = metrics.metrics(one_hot_probs(predicted), labelled(labels, parts))
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
    test = labelled(labels, leak_free=leak_free)
    result = metrics.metrics(one_hot_probs(predicted), test)
    assert result["leak_free"]["n"] == 6
    assert result["leak_free"]["accuracy"] == pytest.approx(3 / 6)
    assert result["leak_free"]["macro_f1"] == pytest.approx(
        f1_score(labels[leak_free], predicted[leak_free], labels=range(7), average="macro", zero_division=0)
    )
    np.testing.assert_array_equal(metrics.correct(result, labels), predicted == labels)
    roundtrip = json.loads(json.dumps(result))
    np.testing.assert_array_equal(metrics.correct(roundtrip, test.labels), predicted == labels)
    with pytest.raises(ValueError, match="leak_free must be a bool mask"):
        metrics.metrics(one_hot_probs(predicted), labelled(labels, leak_free=leak_free[:3]))
    with pytest.raises(ValueError, match="8 predictions for 7 labels"):
        metrics.correct(result, labels[:7])
    with pytest.raises(KeyError, match="no per-image predictions"):
        metrics.correct({"accuracy": 0.5}, labels)


def result_with(val_accuracy, test_accuracy, n=100):
    """A metrics result of a model with the given test accuracy, and its validation accuracy."""
    labels = np.arange(n) % 7
    predicted = np.where(np.arange(n) < round(test_accuracy * n), labels, (labels + 1) % 7)
    return {**metrics.metrics(one_hot_probs(predicted), labelled(labels)), "val_accuracy": val_accuracy}


def test_metric_table_has_one_row_per_model_and_nan_where_unknown():
    results = {"a": result_with(0.7, 0.6), "b": {**result_with(0.5, 0.8), "val_accuracy": None}}
    table = metrics.metric_table(results)
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
    ranking = metrics.rank(results)
    assert list(ranking.index) == ["val_best", "middle", "test_best"]
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking.loc["test_best", "test accuracy"] == pytest.approx(0.80)  # carried, not used
    by_f1 = metrics.rank(
        {name: {**r, "val_macro_f1": -r["val_accuracy"]} for name, r in results.items()}, by="val_macro_f1"
    )
    assert list(by_f1.index) == ["test_best", "middle", "val_best"]
    assert list(by_f1["val_macro_f1"]) == [-0.55, -0.6, -0.7]
    with pytest.raises(ValueError, match="validation metric"):
        metrics.rank(results, by="accuracy")
    with pytest.raises(ValueError, match="no 'val_accuracy' for \\['ensemble'\\]"):
        metrics.rank({**results, "ensemble": {**result_with(0, 0.9), "val_accuracy": None}})


def test_calibration_error_of_a_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 7, 20000)
    correct = rng.random(20000) < 0.7
    predicted = np.where(correct, labels, (labels + 1) % 7)
    calibrated = metrics.calibration(one_hot_probs(predicted, 0.7), labels)
    overconfident = metrics.calibration(one_hot_probs(predicted, 0.99), labels)
    assert calibrated["ece"] < 0.02
    assert overconfident["ece"] == pytest.approx(0.29, abs=0.02)
    assert sum(b["count"] for b in calibrated["bins"]) == 20000


def test_against_targets_compares_on_the_targets_test_images():
    from fer_helpers import config

    result = {"accuracy": 0.70, "parts": {"PrivateTest": {"accuracy": 0.74}, "PublicTest": {"accuracy": 0.66}}}
    table = metrics.against_targets(result)
    assert list(table.index) == list(config.TARGETS)
    goal, best, human = (table.loc[name] for name in ("study goal", "best single model", "human"))
    assert goal["this model"] == 0.70 and goal["this model is"] == "below"
    assert goal["difference"] == pytest.approx(-0.05)
    assert best["test images"] == "PrivateTest" and best["this model"] == 0.74 and best["this model is"] == "above"
    assert human["this model is"] == "above" and all(table["source"].str.len() > 0)
