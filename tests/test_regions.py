"""fer_helpers.analysis.regions: band masks and shares, share tables without NaN, paired differences, class means."""

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.analysis import regions


def gaussian_blob(row, col=24, sigma=3.0):
    r, c = np.mgrid[:48, :48]
    return np.exp(-((r - row) ** 2 + (c - col) ** 2) / (2 * sigma**2))


def test_band_masks_partition_the_image():
    masks = regions.band_masks()
    assert list(masks) == list(regions.REGIONS)
    stacked = np.stack(list(masks.values())).astype(int)
    assert (stacked.sum(axis=0) == 1).all()  # every pixel in exactly one region
    assert masks["eyes"][12].all() and masks["eyes"][23].all() and not masks["eyes"][24].any()
    assert regions.area_shares() == {"eyes": 0.25, "mouth": 0.25, "rest": 0.5}
    with pytest.raises(ValueError, match="overlaps"):
        regions.band_masks(bands={"a": (10, 20), "b": (15, 25)})
    with pytest.raises(ValueError, match="do not fit"):
        regions.band_masks(bands={"a": (40, 50)})


def test_band_shares_sum_to_one_mark_zero_maps_and_reject_bad_maps():
    maps = np.random.default_rng(1).random((6, 48, 48))
    maps[5] = 0
    shares = regions.band_shares(maps)
    assert shares.shape == (6, 3)
    np.testing.assert_allclose(shares[:5].sum(axis=1), 1.0)
    assert np.isnan(shares[5]).all()
    np.testing.assert_array_equal(regions.zero_maps(maps), [False] * 5 + [True])
    np.testing.assert_allclose(regions.band_shares(np.ones((1, 48, 48)))[0], [0.25, 0.25, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        regions.band_shares(-maps)
    with pytest.raises(ValueError, match="upsample"):  # maps are compared at 48x48 only
        regions.band_shares(np.ones((2, 12, 12)))


def test_band_shares_find_a_heatmap_on_the_eyes_or_the_mouth():
    eyes, mouth, _ = regions.band_shares(np.stack([gaussian_blob(17.5), gaussian_blob(38)])).T
    assert eyes[0] > 0.9 and mouth[0] < 0.01
    assert mouth[1] > 0.9 and eyes[1] < 0.01


def test_share_table_counts_zero_maps_and_never_gives_nan():
    shares = np.array([[0.5, 0.2, 0.3], [0.3, 0.2, 0.5], [np.nan] * 3, [0.1, 0.6, 0.3], [np.nan] * 3])
    result = regions.share_table(shares, np.array([0, 0, 0, 3, 2]))
    table = result.table
    assert not table.isna().any().any()
    assert list(table.index) == ["angry", "happy", "all classes"]
    assert table.loc["angry", "eyes"] == pytest.approx(0.4) and table.loc["happy", "mouth"] == pytest.approx(0.6)
    assert (table.loc["angry", "n"], table.loc["angry", "zero maps"]) == (2, 1)
    assert table.loc["all classes", "eyes"] == pytest.approx((0.4 + 0.1) / 2)  # mean of class means
    assert (table.loc["all classes", "n"], table.loc["all classes", "zero maps"]) == (3, 2)
    assert result.zero_maps == 2
    assert result.images["fear"] == 1 and result.images["disgust"] == 0
    assert result.empty == ["disgust", "fear", "neutral", "sad", "surprise"]
    notes = result.notes("correctly classified image")
    assert notes[0] == "disgust: no correctly classified image"
    assert notes[1] == "fear: 1 correctly classified image(s), every map all-zero"


def test_share_table_of_nothing_is_empty_not_nan():
    result = regions.share_table(np.zeros((0, 3)), np.zeros(0, int))
    assert result.table.empty and result.empty == list(config.CLASSES)
    assert result.overall["n"] == 0 and result.overall["zero maps"] == 0 and np.isnan(result.overall["eyes"])


def test_share_table_overall_is_the_all_classes_row_and_counts_zero_maps_without_any_mass():
    shares = np.array([[0.5, 0.2, 0.3], [np.nan] * 3])
    overall = regions.share_table(shares, np.array([0, 1])).overall
    assert overall["eyes"] == pytest.approx(0.5) and (overall["n"], overall["zero maps"]) == (1, 1)
    only_zero = regions.share_table(np.full((2, 3), np.nan), np.array([0, 4])).overall
    assert (only_zero["n"], only_zero["zero maps"]) == (0, 2)
    assert (
        list(only_zero.index) == [*regions.REGIONS, "n", "zero maps"] and only_zero[list(regions.REGIONS)].isna().all()
    )
    with pytest.raises(ValueError, match="labels"):
        regions.share_table(np.zeros((2, 3)), np.zeros(3, int))


def test_paired_difference_counts_the_pairs_left_out():
    a = np.array([[0.2, 0.3, 0.5], [0.3, 0.3, 0.4], [np.nan] * 3])
    b = np.array([[0.4, 0.2, 0.4], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4]])
    diff = regions.paired_difference(a, b, "eyes")
    assert (diff["n"], diff["zero_pairs"]) == (2, 1) and diff["mean"] == pytest.approx(0.2)
    assert diff["ci95"][0] <= 0.2 <= diff["ci95"][1]
    nothing = regions.paired_difference(a[2:], b[2:])
    assert nothing == {"region": "eyes", "n": 0, "zero_pairs": 1, "mean": None, "ci95": None}


def test_rank_correlations():
    a = np.random.default_rng(2).random((3, 48, 48))
    b = a.copy()
    b[1] = -a[1]
    b[2] = 0
    rho = regions.rank_correlations(a, b)
    assert rho[0] == pytest.approx(1.0) and rho[1] == pytest.approx(-1.0) and np.isnan(rho[2])
    with pytest.raises(ValueError, match="differ in shape"):
        regions.rank_correlations(a, b[:2])


def test_class_mean_maps_leave_out_classes_without_maps():
    maps = np.stack([np.full((48, 48), v) for v in (1.0, 3.0, 5.0)])
    means = regions.class_mean_maps(maps, [0, 0, 4])
    assert list(means) == ["angry", "neutral"]
    assert np.allclose(means["angry"], 2.0) and np.allclose(means["neutral"], 5.0)


def test_mean_face_check_finds_the_dark_rows():
    faces = np.full((4, 48, 48), 150.0)
    faces[:, 17, 12:36] = 40
    faces[:, 38, 12:36] = 60
    faces[:, 46:, :] = 0  # a dark chin edge is outside the mouth search rows
    check = regions.mean_face_check(faces)
    assert (check["eye_row"], check["mouth_row"]) == (17, 38)
    assert check["eye_row_in_band"] and check["mouth_row_in_band"]


class BandExplainer:
    """Stands in for a cam.Explainer: a map on the eyes for an even class, on the mouth for an odd one."""

    def cam(self, x, classes):
        return np.stack([gaussian_blob(17.5 if c % 2 == 0 else 38) for c in classes])


def test_error_shares_compare_right_answers_with_wrong_ones_for_both_classes():
    right = np.ones((3, 48, 48))
    right[2] = 0  # an all-zero map is counted, not averaged
    truth, guess = np.array([0, 2]), np.array([1, 3])
    table = regions.error_shares(BandExplainer(), right, [0, 0, 1], np.zeros((2, 48, 48, 1)), truth, guess)
    assert list(table.index) == list(regions.ERROR_MAPS) and table.index.name == "maps"
    assert table.loc["correct (true class)", "eyes"] == pytest.approx(0.25)
    assert (table.loc["correct (true class)", "n"], table.loc["correct (true class)", "zero maps"]) == (2, 1)
    assert table.loc["misclassified, predicted class", "mouth"] > 0.9  # the map for the predicted (odd) class
    assert table.loc["misclassified, true class", "eyes"] > 0.9
    assert table.loc["misclassified, true class", "n"] == 2


def test_sanity_table_rows():
    checks = {("tiny", "GradCAM"): {"per_image": np.array([0.2, np.nan, 0.4]), "n": 3}}
    table = regions.sanity_table(checks, np.array([0.5, np.nan, 0.7]))
    row = table.loc[("tiny", "GradCAM: trained vs random weights")]
    assert row["mean Spearman"] == pytest.approx(0.3) and row["median"] == pytest.approx(0.3)
    assert (row["images"], row["flat maps"]) == (3, 1)
    assert table.loc[("two trained models", "GradCAM: both trained"), "mean Spearman"] == pytest.approx(0.6)
    assert table.loc[("two trained models", "GradCAM: both trained"), "flat maps"] == 1
    flat = regions.sanity_table({("tiny", "SmoothGrad"): {"per_image": np.array([np.nan]), "n": 1}})
    assert flat["mean Spearman"].isna().all() and table.index.names == ["model", "maps compared"]
