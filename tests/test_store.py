"""store: run keys cover what decides the numbers; runs are written whole and read back as written."""

import dataclasses
import json

import numpy as np
import pytest

from fer_helpers import config, specs
from fer_helpers.runstore import store

ARM = specs.Arm("tiny", "tiny arm", "baseline_std_model", config.STUDY_BASELINE, "study")
PROFILE = config.PROFILES["full"]


def test_the_key_is_stable_and_changes_with_each_thing_that_decides_the_numbers():
    key = store.key_of(store.spec(ARM, 42, PROFILE, "data-a"))
    assert key == store.key_of(store.spec(ARM, 42, PROFILE, "data-a")) and len(key) == 16
    others = [
        store.spec(ARM, 43, PROFILE, "data-a"),
        store.spec(ARM, 42, PROFILE, "data-b"),
        store.spec(dataclasses.replace(ARM, factor=2), 42, PROFILE, "data-a"),
        store.spec(dataclasses.replace(ARM, class_weights=True), 42, PROFILE, "data-a"),
        store.spec(dataclasses.replace(ARM, changes=(("dense", 64),)), 42, PROFILE, "data-a"),
        store.spec(dataclasses.replace(ARM, recipe=config.PROTOCOL), 42, PROFILE, "data-a"),
        store.spec(dataclasses.replace(ARM, recipe=dataclasses.replace(ARM.recipe, ema=0.99)), 42, PROFILE, "data-a"),
    ]
    assert len({key, *map(store.key_of, others)}) == 1 + len(others)


def test_the_key_of_a_recipe_without_the_fields_added_later_is_the_key_from_before_them():
    """`config.Recipe.ADDED`: the runs stored before a field was added keep their keys."""
    before = {k: v for k, v in dataclasses.asdict(ARM.recipe_in(PROFILE)).items() if k not in config.Recipe.ADDED}
    assert store.spec(ARM, 42, PROFILE, "d")["recipe"] == store.to_jsonable(before)


def test_the_key_ignores_names_and_labels_so_identical_arms_share_runs():
    renamed = dataclasses.replace(ARM, name="other", label="another label", keep=True)
    assert store.key_of(store.spec(renamed, 42, PROFILE, "d")) == store.key_of(store.spec(ARM, 42, PROFILE, "d"))


def test_the_code_digest_ignores_docstrings(monkeypatch):
    from fer_helpers.modelling import training

    before = store.code_digest()
    monkeypatch.setattr(training.train, "__doc__", "changed")  # the digest reads the source, not __doc__
    assert store.code_digest() == before


def run_files(tiny_split):
    record = {"seed": 42, "history": {"val_accuracy": [0.5]}, "kept_epoch": 1, "epochs": 1}
    record["images"] = {"val": store.images_digest(tiny_split.val), "test": store.images_digest(tiny_split.test)}
    rng = np.random.default_rng(0)
    probabilities = {part: rng.dirichlet(np.ones(7), len(getattr(tiny_split, part))) for part in ("val", "test")}
    return record, probabilities


def test_a_written_run_reads_back_with_float16_probabilities_and_no_scratch_left(tiny_split, tiny_profile):
    record, probabilities = run_files(tiny_split)
    run = store.write("abc", tiny_profile, record, probabilities)
    found = store.find("abc", tiny_profile)
    assert found.record == {"key": "abc", **record} and found.seed == 42 and found.kept_epoch == 1
    assert np.allclose(found.probabilities["test"], probabilities["test"], atol=1e-3)
    assert found.correct(tiny_split.test).dtype == bool
    assert [r.key for r in store.stored(tiny_profile)] == ["abc"] == [run.key]
    assert not list(store.folder(tiny_profile).glob(".*partial"))
    with pytest.raises(FileNotFoundError, match="kept no weights"):
        _ = found.model


def test_predictions_made_on_other_images_are_refused(tiny_split, tiny_profile):
    record, probabilities = run_files(tiny_split)
    run = store.write("abc", tiny_profile, record, probabilities)
    run.check(tiny_split.val, tiny_split.test)
    with pytest.raises(ValueError, match="other test images"):
        run.check(tiny_split.val, tiny_split.test.take(np.arange(len(tiny_split.test))[::-1]))


def test_a_missing_or_unreadable_run_is_named(tiny_profile):
    assert store.find("nope", tiny_profile) is None and store.stored(tiny_profile) == []
    folder = store.folder(tiny_profile) / "bad"
    folder.mkdir(parents=True)
    (folder / store.RECORD).write_text("{not json")
    with pytest.raises(ValueError, match="bad/record.json: not a readable run record"):
        _ = store.find("bad", tiny_profile).record


def test_update_record_adds_fields_safely(tiny_split, tiny_profile):
    record, probabilities = run_files(tiny_split)
    run = store.write("abc", tiny_profile, record, probabilities)
    store.update_record(run, code_verified=["x"])
    assert run.record["code_verified"] == ["x"]
    assert json.loads((run.path / store.RECORD).read_text())["code_verified"] == ["x"]


def test_a_published_model_is_the_stored_file_byte_for_byte(tiny_split, tiny_profile):
    record, probabilities = run_files(tiny_split)
    run = store.write("abc", tiny_profile, record, probabilities)
    target = tiny_profile.models_dir / "tiny.keras"
    with pytest.raises(FileNotFoundError, match="kept no weights to publish as .*tiny.keras"):
        run.publish_model(target)
    (run.path / store.MODEL).write_bytes(b"weights")
    run.publish_model(target)
    run.publish_model(target)  # a chapter executed again writes the same bytes
    assert target.read_bytes() == b"weights" and [p.name for p in target.parent.iterdir()] == ["tiny.keras"]
