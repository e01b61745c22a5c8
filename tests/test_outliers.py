"""The autoencoder outlier step and the simple outlier scores, on tiny synthetic data."""

import numpy as np

from fer_helpers import outliers


def test_outliers_flag_the_top_two_percent_reproducibly(tiny_split, tiny_profile, capsys):
    first = outliers.fit_autoencoder(tiny_split, tiny_profile)
    assert len(first.history["loss"]) == tiny_profile.budget("autoencoder")
    expected = len(tiny_split.train) - int(np.ceil(0.98 * (len(tiny_split.train) - 1) + 1)) + 1
    assert len(first.flagged) == expected
    assert (first.flagged > first.threshold).all()
    again = outliers.fit_autoencoder(tiny_split, tiny_profile)
    assert list(again.flagged.index) == list(first.flagged.index)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2  # one summary line per run


def test_study_counts_follow_from_the_percentile_rule():
    errors = np.random.default_rng(0).random(22968)
    assert (errors > np.percentile(errors, outliers.PERCENTILE)).sum() == 460


def test_simple_outlier_scores_find_an_odd_image(tiny_split):
    x = tiny_split.train.x().copy()
    x[0] = 1.0  # a white square is unlike any face
    assert outliers.top_share(outliers.isolation_forest_scores(x), 99)[0]
    assert outliers.class_mean_distance(x, tiny_split.train.labels).argmax() == 0
