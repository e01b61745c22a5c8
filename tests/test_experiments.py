"""Trials over seeds on tiny synthetic data: per-seed predictions, result files, rows."""

import dataclasses
import json

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.analysis import plots
from fer_helpers.modelling import inference, models, training
from fer_helpers.runstore import experiments

RECIPE = dataclasses.replace(config.STUDY_BASELINE, batch=16, epochs=1)


def build(x):
    return models.baseline_std_model(x, widths=(4, 8, 8), dense=8)


def trial(split, profile, seed):
    training.set_seed(seed)
    fitted = training.train(build(split.train.x()), split, f"arm_s{seed}", profile, RECIPE, seed=seed)
    return experiments.Trial.of(fitted, inference.predict(fitted.model, split.test.x()), split.test)


@pytest.fixture(scope="module")
def trials(tiny_split, tmp_path_factory):
    profile = config.Profile("smoke", None, {}, tmp_path_factory.mktemp("experiments"))
    return profile, [trial(tiny_split, profile, seed) for seed in (7, 8)]


def test_a_trial_keeps_its_seeds_predictions_and_training_is_seeded(trials, tiny_split):
    profile, found = trials
    assert [t.run.seed for t in found] == [7, 8]
    for one in found:
        assert one.predicted.shape == tiny_split.test.labels.shape
        np.testing.assert_array_equal(one.correct, one.predicted == tiny_split.test.labels)
        assert one.result["accuracy"] == pytest.approx(one.correct.mean())
    np.testing.assert_array_equal(trial(tiny_split, profile, 7).predicted, found[0].predicted)


def test_saved_result_reads_back_as_the_same_row(trials, tiny_split):
    profile, found = trials
    experiments.save_model_result("arm", found[0], tiny_split, profile, note="tiny")
    saved = json.loads((profile.results_dir / "arm.json").read_text())
    assert isinstance(saved["tta"]["flip_tta"], bool) and "accuracy" in saved["tta"]["test"]
    assert saved["run"]["seed"] == 7 and saved["run"]["epochs"] == 1 and saved["note"] == "tiny"
    assert saved["training"]["recipe"] == RECIPE.describe()


def test_arm_rows_carry_the_leak_free_accuracy(trials, tiny_split):
    _, found = trials
    table = experiments.arm_rows({"A": found, "B": found[:1]})
    assert list(table["variant"]) == ["A", "A", "B"] and list(table["seed"]) == [7, 8, 7]
    assert table["leak-free accuracy"].isna().all()  # the tiny split's test subset has no leak-free mask
    masked = {**found[0].result, "leak_free": {"n": 3, "accuracy": 0.0, "macro_f1": 0.0}}
    assert experiments.leak_free_accuracy(masked) == 0.0
    summary = experiments.mean_sd(table, experiments.ARM_COLUMNS)
    assert list(summary["seeds"]) == [2, 1]
    assert summary.loc["A", "test accuracy mean"] == pytest.approx(np.mean([t.result["accuracy"] for t in found]))


def test_plot_arms_draws_one_panel_per_arm(trials):
    import matplotlib

    matplotlib.use("Agg")
    _, found = trials
    fig = plots.plot_arms({"A": found, "B": found})
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    assert fig.axes[0].get_legend() is not None and fig.axes[1].get_legend() is None
    grid = plots.plot_arms({"A": found, "B": found, "C": found}, columns=2)
    assert [ax.get_title() for ax in grid.axes] == ["A", "B", "C"]  # the fourth panel of the 2 x 2 grid is removed
    fig.canvas.draw()
    low, high = fig.axes[0].get_xlim()
    assert [t for t in fig.axes[0].get_xticks() if low <= t <= high] == [1.0]  # whole epochs, even for one epoch


def test_per_class_recall_has_one_column_per_seed(trials):
    _, found = trials
    recall = experiments.per_class(found)
    assert list(recall.index) == list(config.CLASSES) and list(recall.columns) == ["seed 7", "seed 8"]
    assert recall.loc["happy", "seed 8"] == found[1].result["per_class"]["happy"]["recall"]


def test_by_seed_gives_each_seeds_correctness_for_paired_tests(trials):
    _, found = trials
    paired = experiments.by_seed(found)
    assert list(paired) == [7, 8]
    np.testing.assert_array_equal(paired[8], found[1].correct)


def test_mean_sd_table():
    import pandas as pd

    rows = pd.DataFrame({"variant": ["a", "a", "b", "b"], **{c: [0.5, 0.7, 0.6, 0.6] for c in experiments.COLUMNS}})
    summary = experiments.mean_sd(rows)
    assert summary.loc["a", "test accuracy mean"] == pytest.approx(0.6)
    assert summary.loc["a", "test accuracy sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary.loc["b", "test accuracy sd"] == 0 and summary.loc["a", "seeds"] == 2
