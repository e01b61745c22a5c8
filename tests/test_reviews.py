"""Reviews by eye on constructed cases: the drawn samples, the review file, and the precision they measure."""

import numpy as np
import pandas as pd
import pytest
from helpers import make_split, shifted, smooth_images

from fer_helpers import config
from fer_helpers.analysis import reviews
from fer_helpers.dataset import audit


@pytest.fixture(scope="module")
def base():
    return smooth_images(40)


def test_review_sample_is_seeded_and_stratified_by_distance(base):
    test = base[30:].copy()
    test[0], test[1], test[2] = shifted(base[0], 4), shifted(base[1], 8), shifted(base[2], 12)
    found = audit.run(make_split(base[:20], base[20:30], test))
    pairs = found.pairs_within(12)
    sample = reviews.review_sample(pairs, per_bits=1)
    assert sample["bits"].value_counts().max() == 1 and set(sample["bits"]) == set(pairs["bits"])
    assert (sample["duplicate"] == "").all() and {"key_a", "key_b", "id_a", "id_b"} <= set(sample.columns)
    assert sample.equals(reviews.review_sample(pairs, per_bits=1))
    assert reviews.review_sample(pairs.iloc[:0]).empty


def test_near_duplicate_review_is_written_once_and_kept_once_filled(base, tmp_path):
    test = base[30:].copy()
    test[0], test[1], test[2] = shifted(base[0], 4), shifted(base[1], 8), shifted(base[2], 12)
    found = audit.run(make_split(base[:20], base[20:30], test))
    profile = config.Profile("smoke", None, {}, tmp_path)
    review = reviews.near_duplicate_review(found, profile, max_bits=12)
    assert reviews.review_path(profile).exists() and reviews.review_progress(review) == (0, len(review))
    filled = review.assign(duplicate=["1"] + [""] * (len(review) - 1))
    filled.to_csv(reviews.review_path(profile), index=False)
    again = reviews.near_duplicate_review(found, profile, max_bits=12)
    assert reviews.review_progress(again) == (1, len(review))  # a started review is never overwritten
    other = audit.run(make_split(base[10:30], base[:10], base[30:]))
    with pytest.raises(ValueError, match="not images of this data set"):
        reviews.near_duplicate_review(other, profile, max_bits=12)


def test_near_duplicate_precision_from_a_review():
    review = pd.DataFrame({"bits": [1, 1, 2, 2, 3, 3, 3, 3, 6, 6], "duplicate": [1, 1, 1, 0, 1, 1, 1, 0, 0, 0]})
    pairs = pd.DataFrame({"bits": [1] * 10 + [2] * 4 + [3] * 8 + [4] * 2})
    table = reviews.near_duplicate_precision(review, pairs)
    assert table.index.tolist() == [1, 2, 3, 4, 6]
    assert table["reviewed"].tolist() == [2, 2, 4, 0, 2]
    assert table["precision"].iloc[:3].tolist() == [1.0, 0.5, 0.75] and np.isnan(table.loc[4, "precision"])
    assert table["pairs here"].tolist() == [10, 4, 8, 2, 0]
    assert table["estimated duplicates"].iloc[:3].tolist() == [10.0, 2.0, 6.0]
    with pytest.raises(ValueError, match="no verdict"):
        reviews.near_duplicate_precision(review.assign(duplicate=[""] + [1] * 9), pairs)


def test_watermark_precision_from_a_review():
    review = pd.DataFrame(
        {"id": [f"x{k}" for k in range(8)], "score": [6, 6, 7, 7, 8, 9, 9, 12], "watermark": [0, 1, 0, 0, 1, 1, 0, 1]}
    )
    scores = np.array([0, 3, 6, 6, 6, 6, 7, 8, 10, 11])
    table = reviews.watermark_precision(review, scores)
    assert table.index.tolist() == ["6", "7", "8+"]
    assert table["precision"].tolist() == [0.5, 0.0, 0.75]
    assert table["images here"].tolist() == [4, 1, 3]
    assert table["estimated watermarks"].tolist() == [2.0, 0.0, 2.25]


def test_threshold_precision_waits_for_a_complete_review():
    review = pd.DataFrame({"bits": [1, 1, 2, 2, 3, 3, 3, 3, 6, 6], "duplicate": [1, 1, 1, 0, 1, 1, 1, 0, 0, 0]})
    pairs = pd.DataFrame({"bits": [1] * 10 + [2] * 4 + [3] * 8 + [4] * 2})
    measured = reviews.threshold_precision(review, pairs, max_bits=3)
    assert measured["estimate"] == pytest.approx((10 + 2 + 6) / (10 + 4 + 8))  # real duplicates within 3 bits
    assert measured["limit"] == 0.75 and (measured["far"], measured["far_precision"]) == (6, 0.0)
    assert measured["table"].equals(reviews.near_duplicate_precision(review, pairs))
    assert reviews.threshold_precision(review.assign(duplicate=[""] + [1] * 9), pairs, max_bits=3) is None
    assert reviews.threshold_precision(review.iloc[:0], pairs) is None  # nothing sampled: nothing measured
