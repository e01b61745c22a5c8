"""fer_helpers.runstore.registry: the book's classifiers, builders and layers, saved models, choice on validation."""

import json
import shutil

import keras
import numpy as np
import pytest
from keras import layers

from fer_helpers import config
from fer_helpers.modelling import inference, models
from fer_helpers.runstore import registry

X = np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32)


@pytest.fixture
def profile(tmp_path):
    profile = config.Profile("full", None, {}, tmp_path)
    profile.models_dir.mkdir()
    profile.results_dir.mkdir()
    return profile


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny 7-class Functional classifier saved as .keras."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1))
    x = layers.Conv2D(2, 3, padding="same", activation="relu", name="last_relu")(inputs)
    outputs = layers.Dense(len(config.CLASSES), activation="softmax")(layers.GlobalAveragePooling2D()(x))
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    keras.Model(inputs, outputs).save(path)
    return path


def save(profile, tiny, name, result=None):
    shutil.copy(tiny, profile.models_dir / f"{name}.keras")
    if result is not None:
        (profile.results_dir / f"{name}.json").write_text(json.dumps(result))


def test_entries_are_unique_and_in_chapter_order():
    names = registry.names()
    assert names[0] == "baseline_std_model" and len(set(names)) == len(names)
    assert len(set(registry.labels().values())) == len(names)
    chapters = [registry.entry(name).chapter for name in names]
    assert chapters == sorted(chapters)
    assert all((config.ROOT / "notebooks" / f"{chapter}.ipynb").is_file() for chapter in chapters)
    with pytest.raises(ValueError, match="not one of the book's classifiers: baseline_std_model"):
        registry.entry("resnet")


@pytest.mark.parametrize("name", registry.names())
def test_every_entry_builds_a_classifier_with_its_cam_layer(name):
    entry = registry.entry(name)
    model = entry.build(X)
    assert model.output_shape == (None, len(config.CLASSES))
    assert len(model.get_layer(entry.layer).output.shape) == 4  # feature maps for Grad-CAM


def test_saved_lists_only_models_on_disk_in_registry_order(profile, tiny):
    assert registry.saved(profile) == []
    for name in ("vgg_cnn", "baseline_std_model"):
        save(profile, tiny, name)
    save(profile, tiny, "not_in_the_book")
    assert registry.saved(profile) == ["baseline_std_model", "vgg_cnn"]


def test_load_gives_the_model_and_names_the_chapter_when_missing(profile, tiny):
    save(profile, tiny, "vgg_cnn")
    model = registry.load("vgg_cnn", profile)
    assert model.output_shape == (None, len(config.CLASSES))
    with pytest.raises(FileNotFoundError, match="run notebooks/06_unet.ipynb first"):
        registry.load("attention_unet", profile)


def test_load_file_rejects_what_is_not_a_classifier(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        registry.load_file(tmp_path / "gone.keras")
    broken = tmp_path / "broken.keras"
    broken.write_text("not a model")
    with pytest.raises(ValueError, match=f"{broken}: cannot load the model"):
        registry.load_file(broken)
    inputs = keras.Input((48, 48, 1))
    three = tmp_path / "three.keras"
    keras.Model(inputs, layers.Dense(3)(layers.Flatten()(inputs))).save(three)
    with pytest.raises(ValueError, match="not a 7-class classifier"):
        registry.load_file(three)


def test_best_is_chosen_on_validation_never_on_test(profile, tiny):
    save(profile, tiny, "baseline_std_model", {"val_accuracy": 0.55, "accuracy": 0.99})
    save(profile, tiny, "attention_unet", {"training": {"val_accuracy": 0.61}, "accuracy": 0.10})
    save(profile, tiny, "vgg_cnn", {"accuracy": 1.0})  # no validation score: not a candidate
    save(profile, tiny, "vision_transformer")  # no results file
    (profile.results_dir / "vgg_cnn_small.json").write_text(json.dumps({"val_accuracy": 0.9}))  # no model saved
    assert registry.best(profile) == "attention_unet"
    with pytest.raises(ValueError, match="validation split only"):
        registry.best(profile, by="accuracy")


def test_best_breaks_ties_in_registry_order_and_needs_a_model(profile, tiny):
    with pytest.raises(FileNotFoundError, match="no trained classifier.*04_baseline"):
        registry.best(profile)
    save(profile, tiny, "vgg_cnn", {"val_accuracy": 0.6})
    save(profile, tiny, "vgg_cnn_small", {"val_accuracy": 0.6})
    assert registry.best(profile) == "vgg_cnn_small"


def test_results_files_are_checked(profile, tiny):
    save(profile, tiny, "vgg_cnn")
    (profile.results_dir / "vgg_cnn.json").write_text("{not json")
    with pytest.raises(ValueError, match="vgg_cnn.json: not readable JSON"):
        registry.best(profile)
    assert registry.validation_score({"val_accuracy": True}) is None  # a boolean is not a score


def test_tta_is_what_validation_chose(profile, tiny):
    save(profile, tiny, "vgg_cnn", {"val_accuracy": 0.6, "tta": {"flip_tta": True, "shift_tta": True}})
    save(profile, tiny, "vgg_cnn_small", {"val_accuracy": 0.5, "flip_tta": {"accuracy": 0.7}})  # test metrics: ignored
    assert registry.tta_chosen("vgg_cnn", profile).kept == "ten_crop"
    assert registry.tta_chosen("vgg_cnn", profile).options == {"flip_tta": True, "shift_tta": True}
    assert registry.tta_chosen("vgg_cnn_small", profile) == inference.TTA()  # none chosen: none applied
    assert registry.tta_chosen("attention_unet", profile) == inference.TTA()  # no results file


def test_build_takes_changed_options():
    x = np.zeros((4, 48, 48, 1), np.float32)
    model = registry.entry("vgg_cnn_small").build(x, window=40)
    assert models.margin(model) == 4 and model.input_shape == (None, 48, 48, 1)
