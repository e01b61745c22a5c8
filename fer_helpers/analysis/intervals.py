"""Intervals and tests for claims about trained models, where both the training seeds and the test images vary.

    intervals.two_level_t(scores)          # 95 % interval of the mean score: seeds and test images (the verdicts')
    intervals.two_level_spread(scores)     # the same as a `Spread`: its interval at any level, a TOST p-value
    intervals.macro_f1_spread(labels, a, b)  # the same for a macro-F1 difference, the images' part bootstrapped
    intervals.two_level(scores)            # the two-level bootstrap, reported beside the t interval
    intervals.t_interval(per_seed_values)  # 95 % Student-t interval over seeds alone
    intervals.mcnemar_per_seed(a, b)       # one exact McNemar p-value per seed
    intervals.bootstrap_ci(values)         # one model: 95 % percentile bootstrap over the test images alone

`scores` is a (seeds × images) array of per-image scores (1/0 correctness, or the paired difference of two arms'
correctness, −1/0/+1). An accuracy measured on 7,178 test images moves by about ±1.1 points at 95 % from the images
alone; seeds add training noise on top. Both intervals below carry both. With three seeds a percentile bootstrap
cannot resample beyond the three seeds it saw, so it understates their spread; the verdicts read `two_level_t`,
which adds the two variance components and takes Student's t quantile on their Welch–Satterthwaite degrees of
freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from .. import config

DRAWS = 2000
N_BOOTSTRAP = 1000
TWO_LEVEL = "two-level t: the seeds' spread plus the test images' sampling noise, Welch–Satterthwaite t quantile"


def two_level(scores: np.ndarray, draws: int = DRAWS, seed: int = config.SEED, level: float = 0.95) -> list[float]:
    """Percentile interval (95 % by default) of the mean of `scores` (seeds × images) under a two-level bootstrap.

    Each draw resamples the seeds with replacement and, independently, the test images with replacement (the same
    images for every seed: a seed's scores on one image are paired), and takes the mean score of the resampled
    table; the interval is the 2.5th and 97.5th percentiles of the draws. With one seed it is the image bootstrap
    alone. Resampling by multinomial counts keeps it to two matrix products.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or not scores.size:
        raise ValueError(f"scores must be a (seeds x images) array, got shape {scores.shape}")
    n_seeds, n_images = scores.shape
    rng = np.random.default_rng(seed)
    seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=draws)
    means = np.empty(draws)
    for start in range(0, draws, 250):  # image counts in chunks: 250 x images at a time
        image_counts = rng.multinomial(n_images, np.full(n_images, 1 / n_images), size=min(250, draws - start))
        per_seed = image_counts @ scores.T / n_images  # draws x seeds: each seed's mean on the resampled images
        chosen = seed_counts[start : start + len(image_counts)]
        means[start : start + len(image_counts)] = (per_seed * chosen).sum(axis=1) / n_seeds
    tail = 50 * (1 - level)
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


@dataclass(frozen=True)
class Spread:
    """A mean over seeds and test images with its variance in two parts: `seeds`, the variance of the seeds' means
    over their number, and `images`, the test images' sampling noise of the seed-averaged score. It is read with
    Student's t on the Welch–Satterthwaite degrees of freedom of their sum (seeds − 1 when the seeds dominate,
    images − 1 when the images do)."""

    mean: float
    seeds: float
    images: float
    n_seeds: int
    n_images: int

    @property
    def error(self) -> float:
        """The standard error of the mean: both parts."""
        return float(np.sqrt(self.seeds + self.images))

    @property
    def freedom(self) -> float:
        parts = self.seeds**2 / (self.n_seeds - 1) if self.n_seeds > 1 else 0.0
        return (self.seeds + self.images) ** 2 / (parts + self.images**2 / (self.n_images - 1))

    def interval(self, level: float = 0.95) -> list[float]:
        """The `level` interval of the mean; a point where nothing varies."""
        if self.error == 0:
            return [self.mean] * 2
        half = stats.t.ppf(0.5 + level / 2, self.freedom) * self.error
        return [float(self.mean - half), float(self.mean + half)]

    def p_value(self) -> float | None:
        """The two-sided t-test's p-value of a true mean of zero; None where nothing varies."""
        return float(2 * stats.t.sf(abs(self.mean) / self.error, self.freedom)) if self.error else None

    def equivalence_p(self, margin: float) -> float:
        """The p-value of two one-sided t-tests that the true mean lies within ±`margin` (the larger of the two): below
        0.05 exactly when the 90 % interval lies inside the margin."""
        if self.error == 0:
            return 0.0 if abs(self.mean) < margin else 1.0
        below, above = (self.mean + margin) / self.error, (self.mean - margin) / self.error
        return float(max(stats.t.sf(below, self.freedom), stats.t.cdf(above, self.freedom)))


def two_level_spread(scores: np.ndarray) -> Spread:
    """The `Spread` of the mean of `scores` (seeds × images): the variance of the seeds' means over the seeds, and the
    variance over test images of the seed-averaged scores over the images."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or not scores.size:
        raise ValueError(f"scores must be a (seeds x images) array, got shape {scores.shape}")
    n_seeds, n_images = scores.shape
    seeds = scores.mean(axis=1).var(ddof=1) / n_seeds if n_seeds > 1 else 0.0
    images = scores.mean(axis=0).var(ddof=1) / n_images
    return Spread(float(scores.mean()), float(seeds), float(images), n_seeds, n_images)


def two_level_t(scores: np.ndarray, level: float = 0.95) -> list[float]:
    """Interval of the mean of `scores` (seeds × images) from its two variance components (`two_level_spread`)."""
    return two_level_spread(scores).interval(level)


def macro_f1_spread(
    labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray, draws: int = DRAWS, seed: int = config.SEED
) -> Spread:
    """The `Spread` of macro-F1(B) − macro-F1(A), paired by seed (rows of `predicted_a` and `predicted_b`, seeds ×
    images): the mean of the seeds' differences, their variance over the seeds, and the test images' part as the
    variance of the seed-averaged difference over draws that resample the images with replacement (the same images
    for every run: paired). Macro-F1 is not a mean over images, so that part is bootstrapped. A class absent from a
    draw scores F1 = 0, as in scikit-learn with zero_division=0."""
    predicted_a, predicted_b = np.atleast_2d(predicted_a), np.atleast_2d(predicted_b)
    if predicted_a.shape != predicted_b.shape or predicted_a.shape[1] != len(labels):
        raise ValueError(
            f"predictions must be (seeds x images) arrays of one shape over the {len(labels)} test images, "
            f"got {predicted_a.shape} and {predicted_b.shape}"
        )
    classes = np.arange(max(labels.max(), predicted_a.max(), predicted_b.max()) + 1)
    truth = (labels[:, None] == classes).astype(np.float64)
    rng = np.random.default_rng(seed)
    every = np.ones((1, len(labels)))
    counts = np.vstack([every, rng.multinomial(len(labels), every[0] / len(labels), size=draws)])

    def macro_f1(predicted):  # the first row: on the test images as they are; then one row per draw
        guess = (predicted[:, None] == classes).astype(np.float64)
        hits, guessed, actual = counts @ (truth * guess), counts @ guess, counts @ truth
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(guessed + actual > 0, 2 * hits / (guessed + actual), 0.0)
        return f1.mean(axis=1)

    differences = np.stack([macro_f1(b) - macro_f1(a) for a, b in zip(predicted_a, predicted_b, strict=True)])
    n_seeds = len(differences)
    seeds = differences[:, 0].var(ddof=1) / n_seeds if n_seeds > 1 else 0.0
    images = differences[:, 1:].mean(axis=0).var(ddof=1)
    return Spread(float(differences[:, 0].mean()), float(seeds), float(images), n_seeds, len(labels))


def t_interval(values, level: float = 0.95) -> list[float]:
    """Student-t interval of the mean of `values` (one per seed): the seed-to-seed spread alone."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return [float(values.mean() - half), float(values.mean() + half)]


def mcnemar_per_seed(correct_a: np.ndarray, correct_b: np.ndarray) -> list[float]:
    """Exact McNemar p-value of each seed's paired predictions (rows: seeds; never pooled across seeds, whose
    predictions on the same images are not independent)."""
    p_values = []
    for a, b in zip(np.asarray(correct_a, bool), np.asarray(correct_b, bool), strict=True):
        table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
        p_values.append(float(mcnemar(table, exact=True).pvalue))
    return p_values


def bootstrap_ci(values: np.ndarray, seed: int = config.SEED) -> list[float]:
    """95 % percentile-bootstrap interval of the mean of per-image values (one trained model: test-sampling
    noise only; a claim about models rests on seeds, see `comparisons`)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (N_BOOTSTRAP, len(values)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]
