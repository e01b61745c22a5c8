"""The data layer: three input forms, caching, the split manifest, bad input, the CLI."""
import json
import shutil
import zipfile

import cv2
import numpy as np
import pytest

from fer_helpers import config, data, synthetic
from fer_helpers.sources import DataError, DataNotFound, read


def assert_same(a, b):
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.parts, b.parts)


@pytest.mark.parametrize("form", ["folder", "zip", "csv"])
def test_three_forms_give_identical_arrays(forms, form):
    dataset = read(forms[form])
    assert dataset.images.dtype == np.uint8 and dataset.images.shape[1:] == (48, 48)
    assert_same(dataset, forms["expected"].sorted())


def test_csv_label_order_is_mapped_to_alphabetical(forms):
    # row 1 of the CSV holds the first image; its emotion column uses the CSV's own order
    first = forms["csv"].read_text().splitlines()[1].split(",")[0]
    dataset = read(forms["csv"])
    assert config.CLASSES[dataset.labels[0]] == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")[int(first)]


def test_cache_makes_second_load_fast_and_identical(forms, isolated):
    first = data.load_dataset(forms["zip"])
    cached = list((isolated / "data" / "cache").glob("*.npz"))
    assert len(cached) == 1
    assert_same(data.load_dataset(forms["zip"]), first)


def test_manifest_is_stratified_seeded_and_exact(forms):
    dataset = synthetic.make_dataset(train_per_class=50, test_per_class=5)
    manifest = data.make_manifest(dataset)
    n_training = 50 * 7
    assert (manifest["split"] == "val").sum() == int(0.2 * n_training)
    assert (manifest["split"] == "train").sum() == n_training - int(0.2 * n_training)
    assert (manifest["split"] == "test").sum() == 2 * 5 * 7
    per_class_val = manifest[manifest["split"] == "val"]["label"].value_counts()
    assert per_class_val.max() - per_class_val.min() <= 1
    assert manifest.equals(data.make_manifest(dataset))
    assert not manifest.equals(data.make_manifest(dataset, seed=1))


def test_smoke_split_without_data_is_synthetic_and_says_so(isolated, monkeypatch, capsys):
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "smoke": config.Profile("smoke", 0.03, {}, isolated / "smoke")})
    split = data.load_split("smoke")
    assert split.synthetic and "synthetic" in capsys.readouterr().err
    assert len(split.train) and len(split.val) and len(split.test)
    assert set(split.test.parts) == {"PublicTest", "PrivateTest"}
    assert split.train.x().shape[1:] == (48, 48, 1) and split.train.x().max() <= 1.0


def test_full_profile_without_data_refuses(isolated):
    with pytest.raises(DataNotFound, match="Looked in"):
        data.load_split("full")


def test_cli_missing_data_is_clear_with_no_traceback(isolated, capsys):
    assert data.main(["--summary"]) == 2
    err = capsys.readouterr().err
    assert "FER-2013 not found" in err and "msambare/fer2013" in err and "Traceback" not in err


def test_cli_summary_prints_json(forms, isolated, monkeypatch, capsys):
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "full": config.Profile("full", None, {}, isolated)})
    assert data.main(["--summary", "--path", str(forms["zip"])]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sizes"]["test"] == 2 * 2 * 7
    assert summary["test_parts"] == {"PublicTest": 14, "PrivateTest": 14}
    assert summary["classes"] == list(config.CLASSES)
    assert (isolated / "artifacts" / "split.csv").exists()


# ---- bad input ------------------------------------------------------------------------------

@pytest.fixture
def folder(forms, tmp_path):
    copy = tmp_path / "fer2013"
    shutil.copytree(forms["folder"], copy)
    return copy


def first_jpeg(folder):
    return sorted((folder / "train" / "happy").glob("*.jpg"))[0]


def test_corrupt_jpeg(folder):
    path = first_jpeg(folder)
    path.write_bytes(b"\xff\xd8" + b"garbage" * 20 + b"\xff\xd9")
    with pytest.raises(DataError, match=f"{path.name}: corrupt JPEG"):
        read(folder)


def test_truncated_jpeg(folder):
    path = first_jpeg(folder)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=f"{path.name}: truncated JPEG"):
        read(folder)


def test_wrong_size(folder):
    path = first_jpeg(folder)
    path.write_bytes(cv2.imencode(".jpg", np.zeros((64, 64), np.uint8))[1].tobytes())
    with pytest.raises(DataError, match=f"{path.name}: image is 64x64, expected 48x48"):
        read(folder)


def test_not_grayscale(folder):
    path = first_jpeg(folder)
    path.write_bytes(cv2.imencode(".jpg", np.zeros((48, 48, 3), np.uint8) + [0, 0, 255])[1].tobytes())
    with pytest.raises(DataError, match=f"{path.name}: not grayscale"):
        read(folder)


def test_unknown_class_folder(folder):
    (folder / "train" / "contempt").mkdir()
    with pytest.raises(DataError, match="contempt: unknown class folder"):
        read(folder)


def test_empty_class_folder(folder):
    for file in (folder / "test" / "disgust").glob("*"):
        file.unlink()
    with pytest.raises(DataError, match="test/disgust: class folder is missing or empty"):
        read(folder)


def csv_with(forms, tmp_path, edit):
    lines = forms["csv"].read_text().splitlines()
    lines[3] = edit(lines[3])
    path = tmp_path / "fer2013.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_wrong_pixel_count(forms, tmp_path):
    def drop_last_pixel(row):
        emotion, pixels, usage = row.split(",")
        return ",".join([emotion, pixels.rsplit(" ", 1)[0], usage])

    path = csv_with(forms, tmp_path, drop_last_pixel)
    with pytest.raises(DataError, match="row 4: 2303 pixel values, expected 2304"):
        read(path)


def test_csv_label_out_of_range(forms, tmp_path):
    path = csv_with(forms, tmp_path, lambda row: "9" + row[1:])
    with pytest.raises(DataError, match="row 4: emotion label '9' is not in 0..6"):
        read(path)


@pytest.mark.parametrize("name", ["../evil.jpg", "/etc/evil.jpg", "train/../../evil.jpg"])
def test_zip_slip_is_refused_and_nothing_written(forms, tmp_path, name):
    path = tmp_path / "bad.zip"
    shutil.copy(forms["zip"], path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, b"x")
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    with pytest.raises(DataError, match="unsafe entry name"):
        read(path)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]


def test_truncated_zip(forms, tmp_path):
    path = tmp_path / "fer2013.zip"
    path.write_bytes(forms["zip"].read_bytes()[: forms["zip"].stat().st_size // 2])
    with pytest.raises(DataError, match="fer2013.zip: .*truncated"):
        read(path)


def test_missing_path(tmp_path):
    with pytest.raises(DataNotFound, match="does not exist"):
        read(tmp_path / "nowhere")


def test_env_path_that_does_not_exist(isolated, monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "nowhere.zip"))
    with pytest.raises(DataNotFound, match="FER2013_PATH=.*nowhere.zip does not exist"):
        data.load_split("full")


# ---- the real data set (skipped when absent) -----------------------------------------------

def test_real_data_counts(real_data_path):
    split = data.load_split("full", real_data_path)
    summary = split.summary()
    assert summary["sizes"] == {"train": 22968, "val": 5741, "test": 7178}
    assert summary["test_parts"] == {"PublicTest": 3589, "PrivateTest": 3589}
    train_part = {c: summary["class_counts"]["train"][c] + summary["class_counts"]["val"][c] for c in config.CLASSES}
    assert list(train_part.values()) == [3995, 436, 4097, 7215, 4965, 4830, 3171]
    assert list(summary["class_counts"]["test"].values()) == [958, 111, 1024, 1774, 1233, 1247, 831]
    assert len(set(split.train.ids) | set(split.val.ids) | set(split.test.ids)) == 35887


def test_real_split_matches_committed_manifest(real_data_path):
    import pandas as pd

    stored = pd.read_csv(config.ROOT / "artifacts" / "split.csv", dtype=str)
    made = data.make_manifest(data.load_dataset(real_data_path))
    assert list(stored["id"]) == list(made["id"]) and list(stored["split"]) == list(made["split"])
