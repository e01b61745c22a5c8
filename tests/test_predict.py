"""`python -m fer_helpers.predict`: faces found in a real photo, 48x48 crops, no face, bad input, GradCAM,
top-k, model choice by validation accuracy with the TTA validation chose."""

import json
import shutil

import cv2
import numpy as np
import pytest
import skimage.data

from fer_helpers import config, faces, predict
from fer_helpers.modelling import inference
from fer_helpers.runstore import registry

HAS_HAAR = hasattr(cv2, "CascadeClassifier")
needs_haar = pytest.mark.skipif(
    not HAS_HAAR,
    reason=f"OpenCV {cv2.__version__} has no Haar cascade (removed in OpenCV 5): pin opencv-python-headless 4.x",
)

# Where the astronaut's (Eileen Collins') face lies in skimage.data.astronaut() (512x512): roughly x 170-280, y 60-170.
ASTRONAUT_FACE_CENTRE = (225, 115)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny Functional classifier like the book's (last_conv -> last_relu for GradCAM), saved as .keras."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="last_conv")(inputs)
    x = layers.Activation("relu", name="last_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(len(config.CLASSES), activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="tiny")
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The astronaut photo, a grey and a colour 48x48 crop of her face, a blank image and a text file."""
    folder = tmp_path_factory.mktemp("photos")
    bgr = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    face = bgr[60:180, 165:285]
    colour_crop = cv2.resize(face, (48, 48), interpolation=cv2.INTER_AREA)
    files = {
        "astronaut": folder / "astronaut.png",
        "grey_crop": folder / "grey_crop.png",
        "colour_crop": folder / "colour_crop.jpg",
        "blank": folder / "blank.png",
        "text": folder / "notes.png",
    }
    cv2.imwrite(str(files["astronaut"]), bgr)
    cv2.imwrite(str(files["grey_crop"]), cv2.cvtColor(colour_crop, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(files["colour_crop"]), colour_crop)
    cv2.imwrite(str(files["blank"]), np.full((200, 240, 3), 128, np.uint8))
    files["text"].write_text("this is not an image\n")  # named .png on purpose: the content decides
    return files


def run(capsys, *argv):
    code = predict.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def check_probabilities(face):
    probs = face["probabilities"]
    assert list(probs) == list(config.CLASSES)
    assert all(0 <= p <= 1 for p in probs.values())
    assert sum(probs.values()) == pytest.approx(1, abs=1e-4)
    assert face["top"] == max(probs, key=probs.get) == face["top_k"][0]["class"]
    ranked = sorted(probs.values(), reverse=True)
    assert [entry["probability"] for entry in face["top_k"]] == ranked[: len(face["top_k"])]


@needs_haar
def test_real_photo_face_found(tiny_model, photos, capsys):
    code, report, err = run(capsys, photos["astronaut"], "--model", tiny_model)
    assert code == 0, err
    assert report["model"] == str(tiny_model) and report["flip_tta"] is False
    (image,) = report["images"]
    assert image["image"] == str(photos["astronaut"])
    assert len(image["faces"]) >= 1
    face = image["faces"][0]
    assert list(face["box"]) == ["x", "y", "w", "h"]
    x, y, w, h = face["box"].values()
    assert 50 <= w <= 200 and 50 <= h <= 200
    assert abs(x + w / 2 - ASTRONAUT_FACE_CENTRE[0]) < 40 and abs(y + h / 2 - ASTRONAUT_FACE_CENTRE[1]) < 40
    check_probabilities(face)


def test_face_crops_classified_directly(tiny_model, photos, capsys):
    """A 48x48 image (grey or colour) is one face, box [0, 0, 48, 48], fed to the model as x / 255."""
    import keras

    code, report, err = run(capsys, photos["grey_crop"], photos["colour_crop"], "--model", tiny_model)
    assert code == 0, err
    model = keras.saving.load_model(tiny_model)
    for entry, path in zip(report["images"], (photos["grey_crop"], photos["colour_crop"]), strict=False):
        (face,) = entry["faces"]
        assert face["box"] == {"x": 0, "y": 0, "w": 48, "h": 48}
        check_probabilities(face)
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        expected = model.predict((grey.astype("float32") / 255)[None, ..., None], verbose=0)[0]
        assert list(face["probabilities"].values()) == pytest.approx(expected.tolist(), abs=1e-5)


def test_top_k_lists_the_most_probable_classes(tiny_model, photos, capsys):
    code, report, err = run(capsys, photos["grey_crop"], "--model", tiny_model, "--top-k", 5)
    assert code == 0, err
    (face,) = report["images"][0]["faces"]
    assert len(face["top_k"]) == 5
    check_probabilities(face)
    code, report, err = run(capsys, photos["grey_crop"], "--model", tiny_model, "--top-k", 9)
    assert code == 2 and report is None and "--top-k must be between 1 and 7" in err


def test_text_file_is_a_clear_error(tiny_model, photos, capsys):
    code, report, err = run(capsys, photos["text"], "--model", tiny_model)
    assert code == 1
    assert err.strip() == f"error: {photos['text']}: not an image OpenCV can read"
    assert "Traceback" not in err
    assert report["images"] == [
        {"image": str(photos["text"]), "error": f"{photos['text']}: not an image OpenCV can read"}
    ]


def test_missing_file(tiny_model, tmp_path, capsys):
    missing = tmp_path / "nowhere.jpg"
    code, _, err = run(capsys, missing, "--model", tiny_model)
    assert code == 1
    assert err.strip() == f"error: {missing}: file not found"


@needs_haar
def test_no_face_is_a_normal_result_with_a_note(tiny_model, photos, tmp_path, capsys):
    out = tmp_path / "cams.png"
    code, report, err = run(capsys, photos["blank"], "--model", tiny_model, "--gradcam", out)
    assert code == 0
    assert report["images"] == [{"image": str(photos["blank"]), "faces": []}]
    assert err.strip() == f"note: {photos['blank']}: no face found"
    assert not out.exists()


@needs_haar
def test_several_images_reported_one_by_one(tiny_model, photos, tmp_path, capsys):
    missing = tmp_path / "gone.png"
    code, report, err = run(
        capsys, photos["grey_crop"], missing, photos["blank"], photos["text"], "--model", tiny_model
    )
    assert code == 1
    assert [len(e.get("faces", [])) for e in report["images"]] == [1, 0, 0, 0]
    assert [("error" in e) for e in report["images"]] == [False, True, False, True]
    assert err.splitlines() == [
        f"note: {photos['blank']}: no face found",
        f"error: {missing}: file not found",
        f"error: {photos['text']}: not an image OpenCV can read",
    ]


def test_no_detector_is_a_clear_error(tiny_model, photos, capsys, monkeypatch):
    """Without OpenCV's Haar cascade (OpenCV 5 removed it) a photo fails with a message saying so."""
    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)
    faces.face_detector.cache_clear()
    try:
        code, _, err = run(capsys, photos["astronaut"], "--model", tiny_model)
    finally:
        faces.face_detector.cache_clear()
    assert code == 1
    assert "no Haar cascade face detector" in err and "opencv-python-headless 4" in err


def test_gradcam_writes_png(tiny_model, photos, tmp_path, capsys):
    out = tmp_path / "cam" / "overlay.png"
    code, report, err = run(capsys, photos["colour_crop"], "--model", tiny_model, "--gradcam", out)
    assert code == 0, err
    assert report["images"][0]["gradcam"] == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = cv2.imread(str(out))
    assert picture.shape == (240, 240, 3)  # the 48x48 crop drawn 5x larger
    original = cv2.resize(cv2.imread(str(photos["colour_crop"])), (240, 240), interpolation=cv2.INTER_NEAREST)
    assert np.abs(picture.astype(int) - original).mean() > 5  # the heat map is blended in


def test_gradcam_uses_the_registry_layer(tiny_model, tmp_path):
    import keras

    chosen = predict.classifier(tiny_model)
    assert chosen.layer == config.CAM_LAYER and chosen.tta == inference.TTA()
    x = np.random.default_rng(0).random((2, 48, 48, 1), dtype=np.float32)
    cams = predict.gradcam(chosen, x, [1, 3])
    assert cams.shape == (2, 48, 48) and cams.min() >= 0 and cams.max() <= 1
    inputs = keras.Input((48, 48, 1))
    conv = keras.layers.Conv2D(2, 3, name="features")(inputs)
    foreign = tmp_path / "foreign.keras"
    keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(conv))).save(
        foreign
    )
    with pytest.raises(predict.PredictError, match=f"{foreign}: .*no layer 'last_relu'"):
        predict.gradcam(predict.classifier(foreign), x, [0, 0])


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    """The full profile's results/ and models/ moved to tmp_path."""
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    profile = config.Profile("full", None, {}, tmp_path)
    monkeypatch.setitem(config.PROFILES, "full", profile)
    profile.results_dir.mkdir()
    profile.models_dir.mkdir()
    return profile


def test_default_model_is_best_by_validation_accuracy_with_its_tta(tiny_model, photos, outputs, capsys):
    results = {
        "baseline_std_model": {"val_accuracy": 0.55, "accuracy": 0.99},  # test accuracy: never used
        "attention_unet": {"training": {"val_accuracy": 0.61}, "accuracy": 0.10, "tta": {"flip_tta": True}},
    }
    for name, result in results.items():
        (outputs.results_dir / f"{name}.json").write_text(json.dumps(result))
        shutil.copy(tiny_model, outputs.models_dir / f"{name}.keras")
    code, report, err = run(capsys, photos["grey_crop"])
    assert code == 0, err
    assert report["model"] == str(outputs.models_dir / "attention_unet.keras") and report["flip_tta"] is True
    grey = cv2.imread(str(photos["grey_crop"]), cv2.IMREAD_GRAYSCALE)
    x = (grey.astype("float32") / 255)[None, ..., None]
    expected = inference.predict(registry.load_file(tiny_model), x, flip_tta=True)[0]
    probs = report["images"][0]["faces"][0]["probabilities"]
    assert list(probs.values()) == pytest.approx(expected.tolist(), abs=1e-5)


def test_the_seed_ensemble_is_used_where_validation_prefers_it_and_model_picks_a_member(
    tiny_model, photos, outputs, capsys
):
    (outputs.results_dir / "baseline_std_model.json").write_text(json.dumps({"val_accuracy": 0.55}))
    shutil.copy(tiny_model, outputs.models_dir / "baseline_std_model.keras")
    members = {"k42": registry.load_file(tiny_model), "k43": registry.load_file(tiny_model)}
    members["k43"].set_weights([w * 0.5 for w in members["k43"].get_weights()])
    for key, model in members.items():
        (outputs.output_root / "runs" / key).mkdir(parents=True)
        model.save(outputs.output_root / "runs" / key / "model.keras")
    chosen = {"members": list(members), "tta": inference.TTA().to_json(), "val_accuracy": 0.6}
    (outputs.results_dir / "ensemble.json").write_text(json.dumps(chosen | {"use_ensemble": True}))
    code, report, err = run(capsys, photos["grey_crop"])
    assert code == 0, err
    paths = [str(outputs.output_root / "runs" / key / "model.keras") for key in members]
    assert report["model"] == "ensemble" and report["members"] == paths
    grey = cv2.imread(str(photos["grey_crop"]), cv2.IMREAD_GRAYSCALE)
    x = (grey.astype("float32") / 255)[None, ..., None]
    expected = np.mean([model.predict(x, verbose=0)[0] for model in members.values()], axis=0)
    probs = report["images"][0]["faces"][0]["probabilities"]
    assert list(probs.values()) == pytest.approx(expected.tolist(), abs=1e-5)
    code, report, err = run(capsys, photos["grey_crop"], "--model", paths[1])
    assert code == 0 and report["model"] == paths[1] and "members" not in report
    (outputs.results_dir / "ensemble.json").write_text(json.dumps(chosen | {"use_ensemble": False}))
    code, report, err = run(capsys, photos["grey_crop"])
    assert report["model"] == str(outputs.models_dir / "baseline_std_model.keras")


def test_no_trained_model_names_the_notebook(photos, outputs, capsys):
    code, report, err = run(capsys, photos["grey_crop"])
    assert code == 2 and report is None
    assert len(err.strip().splitlines()) == 1
    assert "no trained classifier" in err and "--model" in err and "notebooks/04_baseline.ipynb" in err


def test_bad_model_file(photos, tmp_path, capsys):
    fake = tmp_path / "broken.keras"
    fake.write_text("not a model")
    code, _, err = run(capsys, photos["grey_crop"], "--model", fake)
    assert code == 2
    assert err.startswith(f"error: {fake}: cannot load the model") and len(err.strip().splitlines()) == 1


def test_usage_error_returns_2(capsys):
    assert predict.main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_prints_no_tensorflow_log_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "fer_helpers.predict", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage:" in done.stdout
    assert not any(marker in done.stdout + done.stderr for marker in ("oneDNN", "absl", "E0000", "I0000"))
