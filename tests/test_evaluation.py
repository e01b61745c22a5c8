"""The evaluation function: metrics from known predictions, bootstrap CIs, calibration, speed."""
import numpy as np
import pytest

from fer_helpers import config, data, evaluation, experiments, reference


def subset(labels, parts):
    n = len(labels)
    return data.Subset(np.zeros((n, 48, 48), np.uint8), np.asarray(labels), np.array([f"x_{i}" for i in range(n)]),
                       np.asarray(parts))


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


def test_flip_tta_averages_the_flipped_prediction():
    class Model:
        def predict(self, x, batch_size=None, verbose=0):
            left = x[:, :, :24].mean(axis=(1, 2, 3))
            return np.stack([left] + [1 - left] + [np.zeros_like(left)] * 5, axis=1)

    x = np.zeros((1, 48, 48, 1), np.float32)
    x[:, :, :24] = 1
    np.testing.assert_allclose(evaluation.predict(Model(), x, flip_tta=True)[0, :2], [0.5, 0.5])


def test_mean_sd_table():
    import pandas as pd

    rows = pd.DataFrame({"variant": ["a", "a", "b", "b"], **{c: [0.5, 0.7, 0.6, 0.6] for c in experiments.COLUMNS}})
    summary = experiments.mean_sd(rows)
    assert summary.loc["a", "test accuracy mean"] == pytest.approx(0.6)
    assert summary.loc["a", "test accuracy sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary.loc["b", "test accuracy sd"] == 0 and summary.loc["a", "seeds"] == 2


def test_reference_table_lists_the_study_and_the_literature():
    table = reference.reference_table()
    assert table["test accuracy"].between(0, 1).all()
    assert any("study" in name for name in table.index)
