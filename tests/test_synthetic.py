"""Synthetic faces: shaped like FER-2013, different per class, rarely near duplicates; the four written forms."""

import numpy as np

from fer_helpers import config
from fer_helpers.dataset import duplicates, synthetic
from fer_helpers.dataset.sources import read


def test_synthetic_dataset_has_fer_shape_and_every_class_in_every_part():
    dataset = synthetic.make_dataset(train_per_class=5, test_per_class=2)
    assert dataset.images.shape == (7 * 9, 48, 48) and dataset.images.dtype == np.uint8
    for part, n in (("Training", 5), ("PublicTest", 2), ("PrivateTest", 2)):
        assert np.bincount(dataset.labels[dataset.parts == part], minlength=7).tolist() == [n] * len(config.CLASSES)


def test_synthetic_faces_are_rarely_near_duplicates():
    """Leakage removal drops near copies: synthetic faces must not all look alike to the perceptual hash."""
    dataset = synthetic.make_dataset(train_per_class=40, test_per_class=10)
    exact, near = duplicates.pairs(duplicates.measure(dataset.images))
    assert len(exact) == 0 and len(near) < 0.001 * len(dataset) ** 2 / 2


def test_write_forms_writes_four_readable_forms_with_csv_rows_shuffled(tmp_path):
    dataset = synthetic.make_dataset(train_per_class=5, test_per_class=5)
    forms = synthetic.write_forms(dataset, tmp_path)
    assert forms["icml"].read_text().splitlines()[0] == "emotion, Usage, pixels"
    assert forms["csv"].read_text().splitlines()[0] == "emotion,pixels,Usage"
    expected = sorted(forms["expected"].keys)
    for form in ("folder", "zip", "csv", "icml"):
        assert sorted(read(forms[form]).keys) == expected
    assert read(forms["csv"]).ids.tolist() != forms["expected"].ids.tolist()  # row numbers are not file names
