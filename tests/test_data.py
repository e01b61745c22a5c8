"""The data layer: four input forms, content keys, caching, the split manifest and its migration,
leakage removal, bad input, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import FORMS, assert_same

from fer_helpers import config
from fer_helpers.dataset import data, synthetic
from fer_helpers.dataset.sources import DataError, DataNotFound, read


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
    smoke = config.Profile("smoke", 0.03, {}, isolated / "smoke")
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "smoke": smoke})
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


@pytest.fixture
def full_here(isolated, monkeypatch):
    """The full profile writing to the temporary folder: its manifest is isolated/artifacts/split.csv."""
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "full": config.Profile("full", None, {}, isolated)})
    return isolated / "artifacts" / "split.csv"


def summary_of(path, capsys, *args):
    assert data.main(["--summary", "--path", str(path), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_summary_prints_json(forms, full_here, capsys):
    summary = summary_of(forms["zip"], capsys)
    assert summary["sizes"]["test"] == 2 * 2 * 7
    assert summary["test_parts"] == {"PublicTest": 14, "PrivateTest": 14}
    assert summary["classes"] == list(config.CLASSES) and summary["source"] == "FER-2013"
    assert set(summary["leakage"]) == {
        "removed",
        "train_copies_of_test",
        "val_copies_of_test",
        "val_copies_of_train",
        "test_leak_free",
    }
    assert full_here.exists()


def memberships(split):
    return {name: sorted(getattr(split, name).keys) for name in config.SPLITS}


def test_every_form_gives_the_same_split_and_summary(forms, full_here, capsys):
    """A manifest made from any form is the one every other form makes and reads."""
    made = {}
    for form in FORMS:
        full_here.unlink(missing_ok=True)
        split = data.load_split("full", forms[form], leakage="kept")
        made[form] = (memberships(split), summary_of(forms[form], capsys))
    for form in FORMS:
        assert made[form] == made["zip"], form
    for form in FORMS:  # and each form reads the manifest the last one wrote
        assert summary_of(forms[form], capsys) == made["zip"][1]
    manifest = pd.read_csv(full_here, dtype=str, keep_default_na=False)
    assert list(manifest.columns) == data.MANIFEST_COLUMNS and (manifest["id"] == "").all()  # written from a CSV


def old_manifest(forms, seed=7):
    """A manifest of the old format (keyed by Kaggle file name), with a membership make_manifest would not make."""
    made = data.make_manifest(read(forms["zip"]), seed=seed)
    return made[["id", "part", "label", "split"]].sort_values("id").reset_index(drop=True)


def test_old_manifest_is_migrated_with_the_same_membership(forms, full_here, capsys):
    old = old_manifest(forms)
    full_here.parent.mkdir(parents=True)
    old.to_csv(full_here, index=False)
    with pytest.raises(DataError, match="keyed by Kaggle file names.*Migrate it once.*or delete it"):
        data.load_split("full", forms["csv"])
    split = data.load_split("full", forms["zip"], leakage="kept")
    assert "migrated from Kaggle file names to content keys, membership unchanged" in capsys.readouterr().err
    for name in config.SPLITS:
        assert sorted(getattr(split, name).ids) == sorted(old.loc[old["split"] == name, "id"])
    migrated = pd.read_csv(full_here, dtype=str)
    assert list(migrated.columns) == data.MANIFEST_COLUMNS and migrated["id"].tolist() == old["id"].tolist()
    assert memberships(data.load_split("full", forms["icml"], leakage="kept")) == memberships(split)
    data.load_split("full", forms["zip"])
    assert "migrated" not in capsys.readouterr().err  # once only


def test_manifest_of_another_data_set_is_refused(forms, full_here):
    full_here.parent.mkdir(parents=True)
    other = data.make_manifest(synthetic.make_dataset(train_per_class=6, test_per_class=2, seed=1))
    other.to_csv(full_here, index=False)
    with pytest.raises(DataError, match="split.csv: split manifest does not match the data set .* delete it"):
        data.load_split("full", forms["zip"])


def test_too_few_images_per_class_is_a_clear_error(tmp_path):
    tiny = synthetic.make_dataset(train_per_class=6, test_per_class=1)
    disgust = (tiny.parts == "Training") & (tiny.labels == config.CLASSES.index("disgust"))
    keep = ~disgust | (np.arange(len(tiny)) % 2 == 0)
    path = synthetic.write_csv(
        data.Dataset(tiny.images[keep], tiny.labels[keep], tiny.ids[keep], tiny.parts[keep]),
        tmp_path / "fer2013.csv",
        ["emotion", "pixels", "Usage"],
    )
    with pytest.raises(DataError, match="class 'disgust' has 3 Training image"):
        data.make_manifest(read(path))


# ---- leakage ----------------------------------------------------------------------------------


def test_leakage_masks_follow_pairs_not_chains():
    members = {"train": np.array([0, 1, 2]), "val": np.array([3, 4, 5]), "test": np.array([6, 7, 8])}
    pairs = np.array(
        [
            [0, 6, 0],  # train copy of a test image
            [3, 7, 2],  # val near copy of a test image
            [1, 4, 3],  # val copy of a train image that stays
            [0, 5, 1],  # val copy of a train image that is dropped: stays
            [2, 1, 4],
        ]
    )  # train-train: no leakage
    masks = data.leakage_masks(pairs, members, 9)
    assert np.flatnonzero(masks["train_copies_of_test"]).tolist() == [0]
    assert np.flatnonzero(masks["val_copies_of_test"]).tolist() == [3]
    assert np.flatnonzero(masks["val_copies_of_train"]).tolist() == [4]
    assert np.flatnonzero(masks["test_leak_free"]).tolist() == [8]


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """Synthetic data with a test image copied into training, a brighter copy of another, a training image copied."""
    dataset = synthetic.make_dataset(train_per_class=10, test_per_class=2)
    test, train = np.flatnonzero(dataset.parts != "Training"), np.flatnonzero(dataset.parts == "Training")
    dataset.images[train[0]] = dataset.images[test[0]]
    dataset.images[train[1]] = np.clip(dataset.images[test[1]].astype(int) + 6, 0, 255)
    dataset.images[train[2]] = dataset.images[train[3]]
    return synthetic.write_forms(dataset, tmp_path_factory.mktemp("leaky"))


def test_load_split_removes_copies_of_test_images_by_default(leaky, full_here):
    kept = data.load_split("full", leaky["zip"], leakage="kept")
    removed = data.load_split("full", leaky["zip"])
    report = removed.leakage
    assert report["removed"] and not kept.leakage["removed"]
    assert {**kept.leakage, "removed": True} == report  # the same counts either way
    assert report["train_copies_of_test"] + report["val_copies_of_test"] >= 2
    assert len(kept.train) - len(removed.train) == report["train_copies_of_test"]
    assert len(kept.val) - len(removed.val) == report["val_copies_of_test"] + report["val_copies_of_train"]
    assert np.array_equal(kept.test.keys, removed.test.keys)
    assert removed.test.leak_free.sum() == report["test_leak_free"]
    assert report["test_leak_free"] <= len(removed.test) - 2
    copied = set(removed.test.ids[~removed.test.leak_free])
    assert {"PublicTest_70", "PublicTest_71"} <= copied  # the first two test images, copied into training
    left = np.concatenate([removed.train.images, removed.val.images])
    assert not any((left == image).all(axis=(1, 2)).any() for image in removed.test.images)
    assert removed.train.leak_free is None
    assert len(removed.train.without(removed.train.keys[:2])) == len(removed.train) - 2  # names may be keys


def test_pairs_are_cached_by_the_data_checksum(leaky, full_here):
    data.load_split("full", leaky["zip"])
    cached = sorted(p.name for p in (full_here.parents[1] / "data" / "cache").glob("pairs-*.npz"))
    assert len(cached) == 1 and data.fingerprint(leaky["zip"]) in cached[0]


# ---- bad input ------------------------------------------------------------------------------


def test_env_path_that_does_not_exist(isolated, monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "nowhere.zip"))
    with pytest.raises(DataNotFound, match="FER2013_PATH=.*nowhere.zip does not exist"):
        data.load_split("full")


# ---- the real data set (skipped when absent) -----------------------------------------------


def test_real_data_counts(real_data_path):
    split = data.load_split("full", real_data_path, leakage="kept")
    summary = split.summary()
    assert summary["sizes"] == {"train": 22968, "val": 5741, "test": 7178}
    assert summary["test_parts"] == {"PublicTest": 3589, "PrivateTest": 3589}
    train_part = {c: summary["class_counts"]["train"][c] + summary["class_counts"]["val"][c] for c in config.CLASSES}
    assert list(train_part.values()) == [3995, 436, 4097, 7215, 4965, 4830, 3171]
    assert list(summary["class_counts"]["test"].values()) == [958, 111, 1024, 1774, 1233, 1247, 831]
    assert len(set(split.train.keys) | set(split.val.keys) | set(split.test.keys)) == 35887


def test_real_split_matches_committed_manifest(real_data_path):
    stored = pd.read_csv(config.ROOT / "artifacts" / "split.csv", dtype=str, keep_default_na=False)
    split = data.load_split("full", real_data_path, leakage="kept")
    for name in config.SPLITS:
        rows = stored[stored["split"] == name]
        assert getattr(split, name).keys.tolist() == rows["key"].tolist()  # the manifest's order, too
        if real_data_path.suffix.lower() != ".csv":  # the migrated manifest keeps the Kaggle file names
            assert getattr(split, name).ids.tolist() == rows["id"].tolist()


def test_real_leakage_is_removed(real_data_path):
    kept, removed = data.load_split("full", real_data_path, leakage="kept"), data.load_split("full", real_data_path)
    report = removed.leakage
    assert len(kept.train) - len(removed.train) == report["train_copies_of_test"] > 0
    assert len(kept.val) - len(removed.val) == report["val_copies_of_test"] + report["val_copies_of_train"] > 0
    assert 0 < report["test_leak_free"] == removed.test.leak_free.sum() < len(removed.test)


def test_real_csv_form_gives_the_same_split_and_summary(real_data_path, tmp_path, monkeypatch, capsys):
    """The zip converted to the original fer2013.csv (rows shuffled) on the fly gives the zip's split and summary."""
    dataset = data.load_dataset(real_data_path)
    order = np.random.default_rng(0).permutation(len(dataset))
    path = synthetic.write_csv(dataset, tmp_path / "fer2013.csv", ["emotion", "pixels", "Usage"], order)
    zip_split, zip_summary = data.load_split("full", real_data_path), summary_of(real_data_path, capsys)
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    csv_split = data.load_split("full", path)
    assert summary_of(path, capsys) == zip_summary
    for name in config.SPLITS:
        np.testing.assert_array_equal(getattr(csv_split, name).keys, getattr(zip_split, name).keys)
        np.testing.assert_array_equal(getattr(csv_split, name).images, getattr(zip_split, name).images)
    np.testing.assert_array_equal(csv_split.test.leak_free, zip_split.test.leak_free)
