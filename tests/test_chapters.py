"""chapters: the book's chapters, arms and claims declared once, and consistent."""

import dataclasses

import pytest

from fer_helpers import chapters, config, specs
from fer_helpers.analysis import comparisons
from fer_helpers.book import provenance
from fer_helpers.runstore import registry


def test_every_arm_trains_a_registry_model_on_a_known_data_variant_in_a_profile_budget():
    full = config.PROFILES["full"]
    for arm in chapters.arms().values():
        assert arm.model in registry.names()
        assert arm.data in specs.DATA_VARIANTS
        assert arm.recipe_in(full).epochs == full.budget(arm.budget) > 0


def test_every_claim_names_arms_its_chapter_trains_or_reads_with_three_seeds_each():
    for stem, chapter in chapters.CHAPTERS.items():
        visible = {a.name for up in (stem, *chapter.reads) for a in chapters.CHAPTERS[up].arms}
        for claim in chapter.claims:
            assert set(claim.arms) <= visible, (stem, claim.id)
            assert all(len(chapters.arm(name).seeds) >= comparisons.MIN_SEEDS for name in claim.arms)


def test_claim_ids_are_unique_and_each_claim_has_one_chapter():
    ids = [c.id for chapter in chapters.CHAPTERS.values() for c in chapter.claims]
    assert len(ids) == len(set(ids)) == len(chapters.claims())
    assert chapters.chapter_of_claim("unet_64") == "06_unet"
    assert chapters.claim("unet_64").level == 0.64


def test_chapters_read_only_earlier_chapters_and_the_staleness_check_uses_the_declarations():
    order = list(chapters.CHAPTERS)
    for stem, upstream in chapters.reads().items():
        assert all(order.index(up) < order.index(stem) for up in upstream)
    assert chapters.reads() == provenance.READS
    assert list(notebook.stem for notebook in provenance.chapter_notebooks()) == order


def test_the_study_claims_use_the_study_models():
    assert {chapters.arm(a).model for a in chapters.claim("outliers").arms} == {"baseline_std_model"}
    assert chapters.claim("class_weights").metric == "macro_f1"
    unet = chapters.arm("unet_study")
    assert dict(unet.changes)["widths"] == (32, 64, 128, 256)
    plain, unet_arm = (chapters.arm(a) for a in chapters.claim("unet_vs_cnn").arms)
    assert plain.recipe == unet_arm.recipe and plain.budget == unet_arm.budget  # one recipe for both arms


def test_an_arm_shared_by_two_chapters_is_one_arm_and_its_doubled_check_is_found_by_name():
    assert chapters.arms()["study_pipeline"] is chapters.STUDY_PIPELINE
    doubled = chapters.arm("study_pipeline" + specs.DOUBLED)
    assert doubled == chapters.STUDY_PIPELINE.doubled() and doubled.seeds == (config.SEED,) and not doubled.keep
    assert doubled.epochs(config.PROFILES["full"]) == 2 * config.PROFILES["full"].budget("study")


def test_two_different_arms_under_one_name_are_refused(monkeypatch):
    changed = dataclasses.replace(chapters.STUDY_PIPELINE, data="outliers kept")
    extra = specs.Chapter("12_extra", (), (changed,))
    monkeypatch.setitem(chapters.CHAPTERS, "12_extra", extra)
    with pytest.raises(ValueError, match="two different arms are called 'study_pipeline'"):
        chapters.arms()


def test_an_unknown_name_is_refused():
    with pytest.raises(KeyError, match="no arm 'nope'"):
        chapters.arm("nope")
    with pytest.raises(KeyError, match="no claim 'nope'"):
        chapters.claim("nope")
