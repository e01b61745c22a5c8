"""The training protocol on tiny synthetic data: exact epoch budgets, best-epoch selection,
seeded randomness, and a resumed run equal to the uninterrupted one."""

import dataclasses
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from helpers import weights_equal

from fer_helpers import config
from fer_helpers.modelling import checkpoints, models, training

RECIPE = dataclasses.replace(config.PROTOCOL, warmup_epochs=1, batch=16, epochs=3)


def tiny_model(split, seed=7):
    training.set_seed(seed)
    return models.vgg_cnn(split.train.x(), widths=(4, 8, 8, 8), convs=(1, 1, 1, 1))


def test_augmentation_layers_follow_the_recipe():
    names = [layer.name for layer in training.augmentation_layers(config.PROTOCOL.augmentation)]
    assert names == ["aug_flip", "aug_rotate", "aug_zoom", "aug_shift", "aug_erase"]
    assert [layer.name for layer in training.augmentation_layers(config.Augmentation(flip=True))] == ["aug_flip"]
    model = models.baseline_std_model(np.zeros((2, 48, 48, 1), np.float32), widths=(4, 4, 4), dense=4)
    assert training.trainer(model, config.Augmentation()) is model


def test_reseeding_fixes_dropout_by_seed_and_epoch():
    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    x = np.ones((4, 64), np.float32)

    def masks(seed, epoch):
        training.reseed(model, seed, epoch)
        return [keras.ops.convert_to_numpy(model(x, training=True)) for _ in range(2)]

    first = masks(1, 0)
    assert not np.array_equal(*first)  # successive batches of an epoch draw afresh
    assert np.array_equal(np.stack(first), np.stack(masks(1, 0)))
    assert not np.array_equal(first[0], masks(1, 1)[0]) and not np.array_equal(first[0], masks(2, 0)[0])


def test_train_runs_exactly_the_budget_keeps_the_best_epoch_and_saves(tiny_split, tiny_profile, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. Keras' "shuffle=True ... will be ignored"
        fitted = training.train(tiny_model(tiny_split), tiny_split, "tiny", tiny_profile, RECIPE, epochs=4)
    assert fitted.epochs == 4 and all(len(v) == 4 for v in fitted.history.values())
    assert not hasattr(training, "TimeBudget")
    assert fitted.best_epoch == np.argmax(fitted.history["val_accuracy"]) + 1
    val_accuracy = (fitted.model.predict(tiny_split.val.x(), verbose=0).argmax(1) == tiny_split.val.labels).mean()
    assert val_accuracy == pytest.approx(fitted.history["val_accuracy"][fitted.best_epoch - 1])
    assert fitted.history["learning_rate"][0] == 0 and fitted.history["learning_rate"][1] == pytest.approx(0.05)
    logged = pd.read_csv(tiny_profile.results_dir / "history" / "tiny.csv")
    assert list(logged["epoch"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(logged["val_accuracy"], fitted.history["val_accuracy"])
    loaded = keras.saving.load_model(tiny_profile.models_dir / "tiny.keras")
    assert weights_equal(loaded, fitted.model)
    assert not (tiny_profile.models_dir / ".backup" / "tiny").exists()
    assert capsys.readouterr().out.strip().splitlines() == [fitted.line("tiny")]


class Interrupt(Exception):
    pass


class Interrupting(training.Progress):
    """A progress bar that stops the run as its third epoch begins."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise Interrupt


def test_a_resumed_run_equals_the_uninterrupted_run(tiny_split, tiny_profile, monkeypatch):
    whole = training.train(tiny_model(tiny_split), tiny_split, "whole", tiny_profile, RECIPE, save=False)

    monkeypatch.setattr(training, "Progress", Interrupting)
    with pytest.raises(Interrupt):
        training.train(tiny_model(tiny_split), tiny_split, "cut", tiny_profile, RECIPE, save=False)
    backup = tiny_profile.models_dir / ".backup" / "cut"
    assert (backup / "progress.json").exists() and (backup / "epoch-002.weights.h5").exists()
    monkeypatch.undo()

    resumed = training.train(tiny_model(tiny_split), tiny_split, "cut", tiny_profile, RECIPE, save=False)
    assert resumed.resumed_at == 2 and resumed.epochs == 3 and len(resumed.epoch_seconds) == 3
    assert resumed.history == whole.history and resumed.best_epoch == whole.best_epoch
    assert weights_equal(resumed.model, whole.model)
    assert len(pd.read_csv(tiny_profile.results_dir / "history" / "cut.csv")) == 3


def test_a_backup_of_other_settings_is_not_resumed(tiny_split, tiny_profile, capsys):
    backup = checkpoints.Backup(tiny_profile.models_dir / ".backup" / "stale", {"seed": 1})
    model = tiny_model(tiny_split)
    model.compile("sgd", "categorical_crossentropy")
    backup.save(model, 1, 1, {"loss": [1.0], "accuracy": [0.1], "val_loss": [1.0], "val_accuracy": [0.1]}, [1.0])
    fitted = training.train(tiny_model(tiny_split), tiny_split, "stale", tiny_profile, RECIPE, epochs=1, save=False)
    assert fitted.resumed_at == 0 and "other settings" in capsys.readouterr().err


def test_augmented_views_change_the_images():
    x = np.random.default_rng(0).random((2, 48, 48, 1), dtype=np.float32)
    views = training.augmented_views(x, config.STUDY_AUGMENTATION, views=2)
    assert len(views) == 2 and views[0].shape == x.shape and not np.allclose(views[0], x)


@pytest.mark.parametrize("probability, low, high", [(1.0, 1.0, 1.0), (0.25, 0.15, 0.35), (0.0, 0.0, 0.0)])
def test_random_erasing_hits_the_stated_share_of_training_images(probability, low, high):
    pipeline = keras.Sequential(
        training.augmentation_layers(config.Augmentation(erase=probability)) or [keras.layers.Identity()]
    )
    blank = np.full((400, 48, 48, 1), 0.5, np.float32)
    out = keras.ops.convert_to_numpy(pipeline(blank, training=True))
    erased = out.reshape(len(out), -1).std(axis=1) > 1e-6
    assert low <= erased.mean() <= high
    assert np.ptp(keras.ops.convert_to_numpy(pipeline(blank, training=False))) == 0


def test_seconds_per_epoch_times_steps_and_scales_them_to_an_epoch(tiny_split):
    cost = training.seconds_per_epoch(tiny_model(tiny_split), tiny_split, RECIPE, steps=3)
    assert cost["steps"] == 3 and cost["steps_per_epoch"] == int(np.ceil(len(tiny_split.train) / RECIPE.batch))
    assert cost["train_seconds"] == pytest.approx(cost["seconds_per_step"] * cost["steps_per_epoch"])
    assert cost["seconds_per_epoch"] == pytest.approx(cost["train_seconds"] + cost["validation_seconds"])
    assert cost["seconds_per_step"] > 0 and cost["validation_seconds"] > 0
    with pytest.raises(ValueError, match="at least one step"):
        training.seconds_per_epoch(tiny_model(tiny_split), tiny_split, RECIPE, steps=0)


def test_mixup_blends_each_batch_with_itself_and_keeps_labels_summing_to_one():
    rng = np.random.default_rng(0)
    x = rng.random((10, 48, 48, 1), dtype=np.float32)
    y = training.one_hot(np.arange(10) % 7)
    mixed_x, mixed_y = training.mixup(x, y, 0.4, 4, np.random.default_rng(1))
    again = training.mixup(x, y, 0.4, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(mixed_x, again[0])  # the same generator, the same blend
    assert mixed_x.shape == x.shape and mixed_y.shape == y.shape
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1, rtol=1e-6)
    for start in range(0, 10, 4):  # a blend never reaches outside its batch
        batch = slice(start, start + 4)
        assert mixed_x[batch].min() >= x[batch].min() - 1e-6 and mixed_x[batch].max() <= x[batch].max() + 1e-6
    assert not np.allclose(mixed_x, x)


def test_a_mixup_recipe_trains_and_says_so(tiny_split, tiny_profile):
    recipe = dataclasses.replace(RECIPE, epochs=1, mixup=0.2)
    assert "mixup 0.2" in recipe.describe()
    with pytest.raises(ValueError, match="mixup >= 0"):
        dataclasses.replace(RECIPE, mixup=-1)
    run = training.train(tiny_model(tiny_split), tiny_split, "mixed", tiny_profile, recipe, save=False)
    assert run.epochs == 1 and np.isfinite(run.history["loss"][0])


def test_alternating_flips_mirror_a_random_half_and_then_the_other_half():
    first, second, third = (training.alternating_flips(3, epoch, 1000) for epoch in range(3))
    assert 400 < first.sum() < 600
    np.testing.assert_array_equal(second, ~first)
    np.testing.assert_array_equal(third, first)
    assert not np.array_equal(first, training.alternating_flips(4, 0, 1000))  # another seed, another half


def test_alternating_flips_are_no_layer_of_the_trainer():
    model = models.vgg_cnn(np.zeros((2, 48, 48, 1), np.float32), widths=(4, 8, 8, 8), convs=(1, 1, 1, 1))
    alternating = config.Augmentation(flip="alternating", rotation=10)
    names = [layer.name for layer in training.trainer(model, alternating).layers]
    assert "aug_rotate" in names and "aug_flip" not in names


def test_a_weight_average_is_validated_kept_and_resumed(tiny_split, tiny_profile, monkeypatch):
    """Validation scores the average, the kept model is the kept epoch's average, and a resumed run equals an
    uninterrupted one (the average is in the backup with the optimizer's state)."""
    alternating = dataclasses.replace(RECIPE.augmentation, flip="alternating")
    recipe = dataclasses.replace(RECIPE, ema=0.9, augmentation=alternating)
    whole = training.train(tiny_model(tiny_split), tiny_split, "avg", tiny_profile, recipe, save=False)
    val_accuracy = (whole.model.predict(tiny_split.val.x(), verbose=0).argmax(1) == tiny_split.val.labels).mean()
    assert val_accuracy == pytest.approx(whole.history["val_accuracy"][whole.best_epoch - 1])

    monkeypatch.setattr(training, "Progress", Interrupting)
    with pytest.raises(Interrupt):
        training.train(tiny_model(tiny_split), tiny_split, "avg_cut", tiny_profile, recipe, save=False)
    monkeypatch.undo()
    resumed = training.train(tiny_model(tiny_split), tiny_split, "avg_cut", tiny_profile, recipe, save=False)
    assert resumed.resumed_at == 2 and resumed.history == whole.history
    assert weights_equal(resumed.model, whole.model)


def test_the_weight_average_is_not_what_training_continues_from(tiny_split, tiny_profile):
    """Without the average the same run trains the same weights: the average only watches (and is kept)."""
    plain = training.train(tiny_model(tiny_split), tiny_split, "plain", tiny_profile, RECIPE, save=False)
    recipe = dataclasses.replace(RECIPE, ema=0.9)
    averaged = training.train(tiny_model(tiny_split), tiny_split, "averaged", tiny_profile, recipe, save=False)
    assert averaged.history["loss"] == plain.history["loss"]  # the same training trajectory
    assert not weights_equal(averaged.model, plain.model)  # a different kept model: the average
