"""Profiles (which one applies, budgets, sample sizes), the training recipes and the accuracy targets."""

import dataclasses

import pytest

from fer_helpers import config


def test_an_explicit_profile_beats_the_environment(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    assert config.get_profile("full").name == "full"
    assert config.get_profile().name == "smoke"
    monkeypatch.delenv(config.PROFILE_ENV)
    assert config.get_profile().name == "full"
    with pytest.raises(ValueError, match="unknown profile 'fast'.*'full', 'smoke'"):
        config.get_profile("fast")


def test_profiles_give_epoch_budgets_and_sample_sizes():
    full, smoke = config.PROFILES["full"], config.PROFILES["smoke"]
    assert set(full.epochs) == set(smoke.epochs) and set(full.samples) == set(smoke.samples)
    assert all(1 <= epochs <= 2 for epochs in smoke.epochs.values())
    assert all(smoke.epochs[k] <= full.epochs[k] for k in full.epochs)
    assert full.sample("sanity_per_class") * len(config.CLASSES) >= 100  # GradCAM checks on >= 100 images
    recipe = full.recipe(config.PROTOCOL, "protocol")
    assert recipe.epochs == full.budget("protocol") and dataclasses.replace(recipe, epochs=30) == config.PROTOCOL
    with pytest.raises(KeyError, match="no epoch budget 'unet'"):
        full.budget("unet")
    with pytest.raises(KeyError, match="no sample size 'nothing'"):
        full.sample("nothing")


def test_the_protocol_is_the_books_shared_recipe():
    protocol = config.PROTOCOL
    assert (protocol.optimizer, protocol.learning_rate, protocol.schedule, protocol.warmup_epochs) == (
        "sgd",
        0.05,
        "cosine",
        2,
    )
    assert (protocol.weight_decay, protocol.label_smoothing, protocol.batch) == (5e-4, 0.1, 64)
    assert protocol.augmentation == config.Augmentation(flip=True, rotation=10, zoom=0.1, shift=0.1, erase=0.25)
    assert (config.STUDY_BASELINE.optimizer, config.STUDY_BASELINE.schedule) == ("adam", "plateau")
    assert config.STUDY_BASELINE.augmentation == config.Augmentation()
    assert protocol.describe().startswith("SGD-Nesterov 0.05, warm-up 2, cosine, wd 0.0005, label smoothing 0.1")
    assert "no augmentation" in config.STUDY_BASELINE.describe()


@pytest.mark.parametrize(
    "change, message",
    [({"optimizer": "rmsprop"}, "optimizer"), ({"schedule": "step"}, "schedule"), ({"epochs": 0}, "positive")],
)
def test_a_bad_recipe_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(config.PROTOCOL, **change)


def test_a_bad_augmentation_is_refused():
    with pytest.raises(ValueError, match="erase"):
        config.Augmentation(erase=1.5)
    with pytest.raises(ValueError, match="flip"):
        config.Augmentation(flip="sometimes")


def test_alternating_flips_and_a_weight_average_are_described():
    alternating = config.Augmentation(flip="alternating", rotation=10)
    assert alternating.describe() == "alternating flips, rotation ±10°"
    assert "weight average 0.998" in dataclasses.replace(config.PROTOCOL, ema=0.998).describe()
    with pytest.raises(ValueError, match="ema"):
        dataclasses.replace(config.PROTOCOL, ema=1.0)


def test_a_field_added_later_enters_the_settings_only_when_set():
    assert "ema" not in config.PROTOCOL.settings()
    assert set(config.PROTOCOL.settings()) == {f.name for f in dataclasses.fields(config.Recipe)} - {"ema"}
    assert dataclasses.replace(config.PROTOCOL, ema=0.99).settings()["ema"] == 0.99


def test_the_strongest_recipe_is_the_protocol_trained_longer():
    full = config.PROFILES["full"]
    assert full.recipe(config.STRONGEST, "strongest") == config.STRONGEST
    assert dataclasses.replace(config.STRONGEST, epochs=config.PROTOCOL.epochs) == config.PROTOCOL
    assert full.budget("strongest") > full.budget("protocol") and config.PROFILES["smoke"].budget("strongest") == 1


def test_targets_are_ordered_and_sourced():
    targets = config.TARGETS
    assert targets["human"].accuracy < targets["best single model"].accuracy < targets["study goal"].accuracy
    assert all(target.source for target in targets.values())
    assert {target.part for target in targets.values()} <= {"merged", "PrivateTest", "PublicTest"}
    assert targets["best single model"].part == "PrivateTest"


def test_split_names():
    assert config.SPLITS == ("train", "val", "test")
