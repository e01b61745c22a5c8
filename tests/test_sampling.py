"""fer_helpers.dataset.sampling.choose: seeded, per class, with preferences."""

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.dataset import sampling

N_CLASSES = len(config.CLASSES)
LABELS = np.repeat(np.arange(N_CLASSES), 10)


def test_up_to_n_per_class_within_the_mask_seeded_and_sorted():
    keep = np.arange(len(LABELS)) % 2 == 0
    picked = sampling.choose(LABELS, 3, where=keep)
    assert len(picked) == 3 * N_CLASSES and keep[picked].all()
    assert (np.bincount(LABELS[picked]) == 3).all()
    assert (np.diff(LABELS[picked]) >= 0).all()
    np.testing.assert_array_equal(picked, sampling.choose(LABELS, 3, where=keep))
    assert not np.array_equal(picked, sampling.choose(LABELS, 3, where=keep, seed=1))
    assert len(sampling.choose(LABELS, 100, where=keep)) == keep.sum()  # a small class gives what it has


def test_a_class_draw_does_not_depend_on_the_other_classes():
    fewer = LABELS != 0
    a, b = sampling.choose(LABELS, 2), sampling.choose(LABELS, 2, where=fewer)
    np.testing.assert_array_equal(a[LABELS[a] == 3], b[LABELS[b] == 3])


def test_preferences_are_tiers_tried_in_order():
    second = np.arange(len(LABELS)) % 10 < 4
    first = np.zeros(len(LABELS), bool)
    first[[2, 25]] = True  # one image of class 0 and one of class 2
    one = sampling.choose(LABELS, 1, prefer=[first, second])
    assert len(one) == N_CLASSES and (LABELS[one] == np.arange(N_CLASSES)).all()
    assert one[0] == 2 and one[2] == 25 and second[one[[1, 3, 4, 5, 6]]].all()
    three = sampling.choose(LABELS, 3, prefer=[first])
    assert 2 in three and 25 in three  # the preferred image, then others of its class


def test_without_labels_one_group():
    mask = np.arange(20) % 4 == 0
    picked = sampling.choose(None, 3, where=mask)
    assert len(picked) == 3 and mask[picked].all() and (np.diff(picked) > 0).all()
    assert len(sampling.choose(None, 99, where=mask)) == mask.sum()


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="labels or a `where` mask"):
        sampling.choose(None, 3)
    with pytest.raises(ValueError, match="one entry per image"):
        sampling.choose(LABELS, 3, where=np.ones(5, bool))
    with pytest.raises(ValueError, match="non-negative"):
        sampling.choose(LABELS, -1)
    assert len(sampling.choose(np.zeros(0, int), 3)) == 0
