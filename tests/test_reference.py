"""The cited reference accuracies: the study and the literature, each with its test images and source."""

from fer_helpers.analysis import reference


def test_reference_table_lists_the_study_and_the_literature():
    table = reference.reference_table()
    assert table["test accuracy"].between(0, 1).all()
    assert any("study" in name for name in table.index)


def test_every_reference_names_its_test_images_and_source():
    table = reference.reference_table()
    assert table.index.is_unique
    assert (table[["test images", "source", "checkpoint chosen on"]].map(len) > 0).all().all()
    assert table.loc["study: baseline CNN", "test accuracy"] < table.loc["study: attention U-Net", "test accuracy"]


def test_the_published_models_leave_out_people_and_the_model_re_scored_here():
    published = reference.published()
    assert "human performance" not in published.index and not any("`fer`" in name for name in published.index)
    assert "2013 challenge winner" in published.index
    assert published.loc["2013 challenge winner", "checkpoint chosen on"].startswith("PublicTest")
