"""The cited reference accuracies: the study and the literature, each with its test images and source."""

from fer_helpers import reference


def test_reference_table_lists_the_study_and_the_literature():
    table = reference.reference_table()
    assert table["test accuracy"].between(0, 1).all()
    assert any("study" in name for name in table.index)


def test_every_reference_names_its_test_images_and_source():
    table = reference.reference_table()
    assert table.index.is_unique
    assert (table[["test images", "source"]].map(len) > 0).all().all()
    assert table.loc["study: baseline CNN", "test accuracy"] < table.loc["study: attention U-Net", "test accuracy"]
