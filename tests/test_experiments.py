"""Trials over seeds on tiny synthetic data: per-seed predictions, saved predictions, result files, rows."""

import dataclasses
import json

import numpy as np
import pytest

from fer_helpers import config, experiments, models, plots

RECIPE = dataclasses.replace(config.STUDY_BASELINE, batch=16, epochs=1)


def build(x):
    return models.baseline_std_model(x, widths=(4, 8, 8), dense=8)


@pytest.fixture(scope="module")
def trials(tiny_split, tmp_path_factory):
    profile = config.Profile("smoke", None, {}, tmp_path_factory.mktemp("experiments"))
    return profile, experiments.run_seeds(build, tiny_split, "arm", profile, RECIPE, seeds=(7, 8), save=True)


def test_run_seeds_keeps_every_seeds_predictions(trials, tiny_split):
    profile, found = trials
    assert [t.run.seed for t in found] == [7, 8]
    for trial in found:
        assert trial.predicted.shape == tiny_split.test.labels.shape
        np.testing.assert_array_equal(trial.correct, trial.predicted == tiny_split.test.labels)
        assert trial.result["accuracy"] == pytest.approx(trial.correct.mean())
    assert (profile.models_dir / "arm.keras").exists()
    assert {p.name for p in (profile.results_dir / "history").iterdir()} == {"arm_s7.csv", "arm_s8.csv"}


def test_training_is_seeded(trials, tiny_split):
    profile, found = trials
    again = experiments.run(build, tiny_split, "again", profile, RECIPE, seed=7)
    np.testing.assert_array_equal(again.predicted, found[0].predicted)


def test_saved_predictions_give_correctness_per_seed(trials, tiny_split):
    profile, found = trials
    experiments.save_predictions("arm", found, tiny_split.test, profile)
    correct = experiments.load_correct("arm", profile)
    assert list(correct.columns) == ["seed 7", "seed 8"] and list(correct.index) == list(tiny_split.test.ids)
    np.testing.assert_array_equal(correct["seed 8"].to_numpy(), found[1].correct)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        experiments.load_correct("missing", profile)


def test_saved_result_reads_back_as_the_same_row(trials, tiny_split):
    profile, found = trials
    experiments.save_model_result("arm", found[0], tiny_split, profile, note="tiny")
    saved = json.loads((profile.results_dir / "arm.json").read_text())
    assert isinstance(saved["tta"]["flip_tta"], bool) and "accuracy" in saved["tta"]["test"]
    assert saved["run"]["seed"] == 7 and saved["run"]["epochs"] == 1 and saved["note"] == "tiny"
    assert saved["training"]["recipe"] == RECIPE.describe()
    assert experiments.row_from_saved("arm", saved) == pytest.approx(experiments.row("arm", found[0]))


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


def test_accuracies_read_back_from_saved_predictions(trials, tiny_split):
    profile, found = trials
    test = dataclasses.replace(tiny_split.test, leak_free=np.arange(len(tiny_split.test)) % 2 == 0)
    experiments.save_predictions("arm_accuracies", found, test, profile)
    table = experiments.accuracies_from_predictions("arm_accuracies", test, profile)
    assert list(table.index) == [7, 8]
    assert table.loc[7, "test accuracy"] == pytest.approx(found[0].result["accuracy"])
    assert table.loc[8, "PrivateTest"] == pytest.approx(found[1].result["parts"]["PrivateTest"]["accuracy"])
    assert table.loc[8, "leak-free accuracy"] == pytest.approx(found[1].correct[test.leak_free].mean())
    shorter = test.take(np.arange(len(test) - 1))
    with pytest.raises(ValueError, match="not the"):
        experiments.accuracies_from_predictions("arm_accuracies", shorter, profile)


def test_load_by_seed_reads_back_what_by_seed_gives(trials, tiny_split):
    profile, found = trials
    experiments.save_predictions("paired", found, tiny_split.test, profile)
    loaded = experiments.load_by_seed("paired", tiny_split.test, profile)
    assert sorted(loaded) == [7, 8]
    for seed, correct in experiments.by_seed(found).items():
        np.testing.assert_array_equal(loaded[seed], correct)
        assert loaded[seed].dtype == bool
    with pytest.raises(ValueError, match="not the .* test images of this split"):
        experiments.load_by_seed("paired", tiny_split.test.take(np.arange(len(tiny_split.test))[::-1]), profile)
