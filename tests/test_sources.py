"""Reading the data set: the four forms, content keys, locating it, its checksum, and bad input named by
file and what is wrong."""

import hashlib
import shutil
import zipfile

import cv2
import numpy as np
import pytest
from helpers import FORMS, assert_same

from fer_helpers import config
from fer_helpers.dataset import synthetic
from fer_helpers.dataset.sources import DataError, DataNotFound, fingerprint, id_number, locate, read


def by_key(dataset):
    order = np.argsort(dataset.keys)
    return dataset.keys[order], dataset.images[order], dataset.labels[order], dataset.parts[order]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_holds_the_same_images_under_the_same_keys(forms, form):
    dataset = read(forms[form])
    assert dataset.images.dtype == np.uint8 and dataset.images.shape[1:] == (48, 48)
    for got, expected in zip(by_key(dataset), by_key(forms["expected"]), strict=False):
        np.testing.assert_array_equal(got, expected)
    assert dataset.kaggle_ids == (form in ("folder", "zip"))
    if dataset.kaggle_ids:
        assert_same(dataset, forms["expected"].sorted())


def test_content_keys_number_identical_images():
    dataset = synthetic.make_dataset(train_per_class=6, test_per_class=2)
    dataset.images[1] = dataset.images[0]
    dataset.labels[1] = dataset.labels[0]
    keys = dataset.keys
    assert len(set(keys)) == len(keys)
    assert keys[0].split("-")[0] == keys[1].split("-")[0] and {keys[0][-2:], keys[1][-2:]} == {"-0", "-1"}
    relabelled = synthetic.make_dataset(train_per_class=6, test_per_class=2)
    relabelled.labels[5] = (relabelled.labels[5] + 1) % 7
    assert relabelled.keys[5] != synthetic.make_dataset(train_per_class=6, test_per_class=2).keys[5]


def test_csv_label_order_is_mapped_to_alphabetical(forms):
    # row 1 of the CSV gets the id <Usage>_0; its emotion column uses the CSV's own order
    emotion, _, usage = forms["csv"].read_text().splitlines()[1].split(",")
    dataset = read(forms["csv"])
    label = dataset.labels[list(dataset.ids).index(f"{usage}_0")]
    assert config.CLASSES[label] == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")[int(emotion)]


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


def csv_with(forms, tmp_path, edit, form="csv", line=3):
    lines = forms[form].read_text().splitlines()
    lines[line] = edit(lines[line])
    path = tmp_path / forms[form].name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_wrong_pixel_count(forms, tmp_path):
    def drop_last_pixel(row):
        emotion, pixels, usage = row.split(",")
        return ",".join([emotion, pixels.rsplit(" ", 1)[0], usage])

    path = csv_with(forms, tmp_path, drop_last_pixel)
    with pytest.raises(DataError, match="row 4: 2303 pixel values, expected 2304"):
        read(path)


def test_icml_bad_usage_names_file_and_row(forms, tmp_path):
    def bad_usage(row):
        emotion, _usage, pixels = row.split(",")
        return ",".join([emotion, " Validation", pixels])

    path = csv_with(forms, tmp_path, bad_usage, form="icml")
    with pytest.raises(DataError, match="icml_face_data.csv, row 4: Usage 'Validation' is not one of"):
        read(path)


def test_csv_header_with_another_column_is_refused(forms, tmp_path):
    path = csv_with(forms, tmp_path, lambda header: "emotion,pixels,Split", line=0)
    with pytest.raises(DataError, match="fer2013.csv: header is .*Split.*expected the columns emotion, pixels, Usage"):
        read(path)


def test_csv_row_with_a_missing_column(forms, tmp_path):
    path = csv_with(forms, tmp_path, lambda row: row.rsplit(",", 1)[0])
    with pytest.raises(DataError, match="row 4: expected 3 columns, found 2"):
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


# ---- locating the data set and its checksum ---------------------------------------------------


def test_locate_takes_the_environment_variable_then_the_data_folder(isolated, monkeypatch, forms):
    with pytest.raises(DataNotFound, match="Looked in"):
        locate()
    config.DATA_DIR.mkdir(parents=True)
    shutil.copy(forms["zip"], config.DATA_DIR / "fer2013.zip")
    assert locate() == config.DATA_DIR / "fer2013.zip"
    monkeypatch.setenv(config.DATA_ENV, str(forms["csv"]))
    assert locate() == forms["csv"]


def test_fingerprint_is_the_start_of_a_files_sha256_and_follows_a_folders_files(forms, folder):
    assert fingerprint(forms["zip"]) == hashlib.sha256(forms["zip"].read_bytes()).hexdigest()[:16]
    before = fingerprint(folder)
    assert fingerprint(folder) == before
    with open(first_jpeg(folder), "ab") as handle:
        handle.write(b"\0")
    assert fingerprint(folder) != before


@pytest.mark.parametrize("image_id, number", [("Training_8475486", 8475486), ("PublicTest_12-angry", 12)])
def test_id_number_reads_the_number_of_an_id(image_id, number):
    assert id_number(image_id) == number
