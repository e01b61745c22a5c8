"""intervals: the two-level bootstrap against cases with a known answer, the t-interval, McNemar per seed."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from fer_helpers.analysis import intervals


def test_scores_that_never_vary_give_a_point():
    assert intervals.two_level(np.full((3, 500), 0.25)) == [0.25, 0.25]


def test_one_seed_gives_the_binomial_interval_of_its_test_images():
    rng = np.random.default_rng(1)
    correct = (rng.random((1, 5000)) < 0.6).astype(float)
    p = correct.mean()
    half = 1.96 * np.sqrt(p * (1 - p) / correct.size)
    lo, hi = intervals.two_level(correct)
    assert lo == pytest.approx(p - half, abs=0.004) and hi == pytest.approx(p + half, abs=0.004)


def test_seeds_that_differ_on_every_image_alike_give_the_spread_of_resampled_seed_means():
    # three seeds scoring 0, 0.5 and 1 on every image: a draw's mean is the mean of three seeds drawn with
    # replacement, 0 or 1 with probability 1/27 each (> 2.5 %), so the interval is [0, 1]
    scores = np.repeat([[0.0], [0.5], [1.0]], 200, axis=1)
    assert intervals.two_level(scores) == [0.0, 1.0]


def test_seed_spread_widens_the_interval_of_the_images_alone_and_draws_are_reproducible():
    rng = np.random.default_rng(2)
    scores = (rng.random((3, 2000)) < [[0.50], [0.56], [0.62]]).astype(float)
    lo, hi = intervals.two_level(scores)
    images_lo, images_hi = intervals.two_level(scores.mean(axis=0, keepdims=True))  # the seeds held fixed
    assert lo < scores.mean() < hi and hi - lo > 2 * (images_hi - images_lo)
    assert intervals.two_level(scores) == [lo, hi]


def test_bad_shapes_are_refused():
    for interval in (intervals.two_level, intervals.two_level_t):
        with pytest.raises(ValueError, match="seeds x images"):
            interval(np.zeros(10))


def test_two_level_t_adds_the_seed_and_image_variances_by_hand():
    scores = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0]])
    seeds = np.var([0.75, 0.5, 0.75], ddof=1) / 3
    images = np.var([2 / 3, 1 / 3, 1.0, 2 / 3], ddof=1) / 4
    freedom = (seeds + images) ** 2 / (seeds**2 / 2 + images**2 / 3)  # Welch-Satterthwaite
    half = stats.t.ppf(0.975, freedom) * np.sqrt(seeds + images)
    np.testing.assert_allclose(intervals.two_level_t(scores), [2 / 3 - half, 2 / 3 + half])
    one = intervals.two_level_t(scores[:1])  # one seed: the images' t interval
    half = stats.t.ppf(0.975, 3) * np.sqrt(0.25 / 4)
    assert one == pytest.approx([0.75 - half, 0.75 + half])
    assert intervals.two_level_t(np.full((3, 5), 0.4)) == pytest.approx([0.4, 0.4])


def test_t_interval_is_scipys_student_interval():
    values = np.array([0.001, 0.016, -0.017])
    expected = stats.t.interval(0.95, 2, loc=values.mean(), scale=stats.sem(values))
    np.testing.assert_allclose(intervals.t_interval(values), expected)
    assert intervals.t_interval([0.02, 0.02, 0.02]) == [0.02, 0.02]


def test_mcnemar_per_seed_is_statsmodels_exact_test_of_each_seed():
    rng = np.random.default_rng(3)
    a, b = rng.random((3, 300)) < 0.6, rng.random((3, 300)) < 0.65
    expected = [
        mcnemar([[np.sum(x & y), np.sum(x & ~y)], [np.sum(~x & y), np.sum(~x & ~y)]], exact=True).pvalue
        for x, y in zip(a, b, strict=True)
    ]
    assert intervals.mcnemar_per_seed(a, b) == pytest.approx(expected)


def test_bootstrap_ci_brackets_the_accuracy_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small, large = (rng.random(100) < 0.6).astype(float), (rng.random(10000) < 0.6).astype(float)
    lo, hi = intervals.bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = intervals.bootstrap_ci(large)
    assert hi2 - lo2 < (hi - lo) / 5
    assert intervals.bootstrap_ci(small) == [lo, hi]  # seeded


def test_a_spread_reads_its_interval_and_its_tests_from_one_t():
    rng = np.random.default_rng(4)
    scores = (rng.random((3, 2000)) < [[0.50], [0.52], [0.51]]).astype(float) - 0.5
    spread = intervals.two_level_spread(scores)
    assert spread.interval() == intervals.two_level_t(scores) and spread.mean == pytest.approx(scores.mean())
    lo, hi = spread.interval(1 - spread.p_value())  # the interval at 1 − p just touches zero
    assert min(abs(lo), abs(hi)) == pytest.approx(0, abs=1e-9)
    lo90, hi90 = spread.interval(0.90)
    edge = max(abs(lo90), abs(hi90))  # two one-sided tests at 5 %: the 90 % interval inside ±margin
    assert spread.equivalence_p(edge * 1.01) < 0.05 < spread.equivalence_p(edge * 0.99)


def test_macro_f1_spread_adds_the_seeds_spread_to_the_images_bootstrapped_noise():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 7, 1500)
    a = np.where(rng.random((3, 1500)) < 0.6, labels, rng.integers(0, 7, (3, 1500)))
    b = np.where(rng.random((3, 1500)) < [[0.62], [0.66], [0.70]], labels, rng.integers(0, 7, (3, 1500)))
    f1 = [f1_score(labels, p, average="macro", zero_division=0) for p in (*a, *b)]
    differences = np.array(f1[3:]) - np.array(f1[:3])
    spread = intervals.macro_f1_spread(labels, a, b)
    assert spread.mean == pytest.approx(differences.mean()) and spread.seeds == pytest.approx(
        differences.var(ddof=1) / 3
    )
    draws = [rng.integers(0, 1500, 1500) for _ in range(300)]  # the images' part, by sklearn on resampled images
    one = [f1_score(labels[d], b[0][d], average="macro") - f1_score(labels[d], a[0][d], average="macro") for d in draws]
    assert intervals.macro_f1_spread(labels, a[:1], b[:1]).images == pytest.approx(np.var(one), rel=0.25)
    assert intervals.macro_f1_spread(labels, a, a).interval() == [0.0, 0.0]  # the same predictions: no difference
    with pytest.raises(ValueError, match="seeds x images"):
        intervals.macro_f1_spread(labels, a, b[:, :10])
