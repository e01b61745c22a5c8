"""Table 1 statistics, class counts, imbalance and class weights, mean faces, histograms, plots."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.analysis import grids
from fer_helpers.dataset import eda
from fer_helpers.dataset.data import Split, Subset


def subset(images, labels):
    n = len(images)
    return Subset(
        np.asarray(images, np.uint8),
        np.asarray(labels, np.int8),
        np.array([f"Training_{k}" for k in range(n)]),
        np.array(["Training"] * n),
    )


@pytest.fixture
def split():
    # train: 3 images, one black, one white, one at 51 (=0.2 after scaling) -> known statistics
    train = subset([np.zeros((48, 48)), np.full((48, 48), 255), np.full((48, 48), 51)], [0, 1, 1])
    val = subset([np.full((48, 48), 102)] * 7, np.arange(7))
    test = subset([np.full((48, 48), 255)] * 14, np.repeat(np.arange(7), 2))
    return Split(train, val, test, "synthetic", "smoke")


def test_table1_values(split):
    table = eda.table1(split)
    train = table.loc["train"]
    assert train["images"] == 3
    assert train["batch shape"] == "(3, 48, 48, 1)"  # a batch cannot be larger than the split
    assert train["dtype"] == "float32"
    assert train["mean"] == pytest.approx((0 + 1 + 0.2) / 3)
    assert train["std"] == pytest.approx(np.std([0.0, 1.0, 0.2]), rel=1e-6)
    assert (train["min"], train["max"]) == (0.0, 1.0)
    assert train["missing pixels"] == 0
    assert train["total pixels"] == 3 * 48 * 48
    assert table.loc["val", "mean"] == pytest.approx(0.4)
    assert table.loc["val", "std"] == pytest.approx(0.0, abs=1e-7)
    assert table.loc["test", "batch shape"] == "(14, 48, 48, 1)"


def test_batch_shape_and_missing_pixels_are_counted():
    x = np.zeros((100, 48, 48, 1), np.float32)
    x[0, 0, 0, 0] = np.nan
    x[1, 5, 5, 0] = np.nan
    stats = eda.pixel_statistics(x)
    assert stats["batch shape"] == "(32, 48, 48, 1)"
    assert stats["missing pixels"] == 2 and stats["total pixels"] == 100 * 2304
    assert stats["mean"] == 0.0  # over the finite pixels


def test_study_totals_are_n_times_2304():
    # the study's Table 1 totals for 22,968 / 5,741 / 7,178 images
    assert [n * 48 * 48 for n in (22968, 5741, 7178)] == [52918272, 13227264, 16538112]


def test_class_counts_and_imbalance(split):
    counts = eda.class_counts(split)
    assert list(counts.index) == list(config.CLASSES)
    assert counts["train"].tolist() == [1, 2, 0, 0, 0, 0, 0]
    assert counts["test"].tolist() == [2] * 7
    assert eda.imbalance_ratio(counts["test"]) == 1.0
    assert eda.imbalance_ratio([10, 5, 40]) == 8.0
    assert eda.imbalance_ratio(counts["train"]) == float("inf")
    assert eda.class_shares(counts)["val"].sum() == pytest.approx(1.0)


def test_class_weights_balanced():
    labels = np.array([0] * 10 + [1] * 40 + [2] * 20 + [3] * 10 + [4] * 10 + [5] * 5 + [6] * 5)
    weights = eda.class_weights(labels)
    n, k = len(labels), 7
    assert weights == pytest.approx({c: n / (k * np.sum(labels == c)) for c in range(7)})
    # weighted class totals are all equal: the point of 'balanced'
    totals = [weights[c] * np.sum(labels == c) for c in range(7)]
    assert np.allclose(totals, n / k)
    assert all(isinstance(c, int) for c in weights)


def test_class_weights_refuse_a_missing_class():
    with pytest.raises(ValueError, match="disgust"):
        eda.class_weights(np.array([0, 2, 3, 4, 5, 6]))


def test_mean_faces_and_histograms():
    images = np.stack([np.zeros((48, 48)), np.full((48, 48), 200), np.full((48, 48), 100)]).astype(np.uint8)
    labels = np.array([0, 0, 3])
    means = eda.mean_faces(images, labels)
    assert means.shape == (7, 48, 48)
    assert np.allclose(means[0], 100) and np.allclose(means[3], 100)
    assert np.isnan(means[1]).all()
    hist = eda.intensity_histograms(images, labels, bins=4)
    angry = hist[hist["class"] == "angry"]["share"].to_numpy()
    assert angry == pytest.approx([0.5, 0, 0, 0.5])  # half the pixels at 0, half at 200
    assert hist[hist["class"] == "disgust"]["share"].sum() == 0


def test_plots_return_figures(split):
    import matplotlib.pyplot as plt

    fig = grids.samples_per_class(split.test.images, split.test.labels, per_class=3)
    assert len(fig.axes) == 7 * 3
    fig2 = grids.pair_grid(split.test.images[:3], split.test.images[3:6], captions=["a", "b", "c"], ncols=2)
    assert len(fig2.axes) == 2 * 2 * 2
    fig3 = grids.image_grid(split.val.images, titles=list(config.CLASSES), ncols=4)
    assert len(fig3.axes) == 8
    plt.close("all")


def test_leakage_table_adds_up(split):
    leak = {"removed": True, "train_copies_of_test": 1, "val_copies_of_test": 2, "val_copies_of_train": 3}
    book = Split(split.train.take([0, 1]), split.val.take([0, 1]), split.test, "synthetic", "smoke", leak)
    table = eda.leakage_table(split, book)
    assert table.loc["train"].tolist() == [3, 1, 0, 2]
    assert table.loc["val"].tolist() == [7, 2, 3, 2] and table.loc["test"].tolist() == [14, 0, 0, 14]
