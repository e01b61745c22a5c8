"""variants: the data each arm trains on, and the content key the run store files it under."""

import pandas as pd
import pytest

from fer_helpers import specs
from fer_helpers.cleaning import variants


@pytest.fixture
def profile(tiny_split, tiny_profile):
    """The tiny split's profile, its outlier list the first two training images."""
    tiny_profile.artifacts_dir.mkdir(parents=True, exist_ok=True)
    keys = tiny_split.train.keys[:2]
    pd.DataFrame({"key": keys}).to_csv(tiny_profile.artifacts_dir / "outliers.csv", index=False)
    return tiny_profile


def test_the_pipeline_drops_the_outliers_and_outliers_kept_keeps_them(tiny_split, profile):
    _, pipeline = variants.load("pipeline", tiny_split, profile)
    _, kept = variants.load("outliers kept", tiny_split, profile)
    assert len(kept) == len(tiny_split.train) == len(pipeline) + 2
    assert not set(tiny_split.train.keys[:2]) & set(pipeline.keys)


def test_the_overfit_subset_is_a_seeded_draw_of_the_pipelines_images(tiny_split, profile, monkeypatch):
    monkeypatch.setattr(variants, "OVERFIT_IMAGES", 50)
    split, subset = variants.load("1,000 training images", tiny_split, profile)
    _, pipeline = variants.load("pipeline", tiny_split, profile)
    assert split is tiny_split and len(subset) == 50 and set(subset.keys) <= set(pipeline.keys)
    assert list(variants.load("1,000 training images", tiny_split, profile)[1].keys) == list(subset.keys)
    assert variants.key("1,000 training images", tiny_split, profile) != variants.key("pipeline", tiny_split, profile)


def test_every_declared_variant_has_a_key_and_an_unknown_one_is_refused(tiny_split, profile, monkeypatch):
    monkeypatch.setattr(variants, "OVERFIT_IMAGES", 50)  # fewer than the tiny split holds
    loaded_here = set(specs.DATA_VARIANTS) - {"denoised", "leaks kept"}  # those two read the data set again
    keys = {name: variants.key(name, tiny_split, profile) for name in loaded_here}
    assert len(set(keys.values())) == len(keys)
    with pytest.raises(ValueError, match="unknown data variant 'blurred'"):
        variants.key("blurred", tiny_split, profile)
