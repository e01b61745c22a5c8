"""Reviews by eye: a person's verdicts on a drawn sample measure a detector's precision.

    sample = reviews.review_sample(found.pairs_within(8))          # pairs to look at, for the review file
    table = reviews.near_duplicate_review(found, profile)          # artifacts/near_duplicate_review.csv
    reviews.near_duplicate_precision(table, found.pairs("near"))   # what the review says of the threshold
    reviews.threshold_precision(table, found.pairs("near"))        # ... in a few numbers, once it is complete
    reviews.watermark_precision(pd.read_csv("artifacts/watermark_review.csv"), scores)

The drawn samples are seeded; a review file that a person has started is read as it is, never overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import config
from ..dataset.duplicates import NEAR_MAX_BITS

if TYPE_CHECKING:
    from ..dataset.audit import Audit

REVIEW_PER_BITS = 25  # pairs drawn per distance for the by-eye review of the near-duplicate threshold


def precision_by_level(
    levels: list, reviewed: pd.Series, verdicts: pd.Series, found: pd.Series, what: str, items: str
) -> pd.DataFrame:
    """Precision of a detector per level from a by-eye review and what it implies for all `found` items:
    per level, the items reviewed, how many the reviewer confirmed (`what`), the precision, the number of
    `items` found at that level and the estimated number of real ones among them."""
    table = (
        pd.DataFrame({"level": reviewed.to_numpy(), "verdict": verdicts.astype(int).to_numpy()})
        .groupby("level")["verdict"]
        .agg(reviewed="count", **{what: "sum"})
        .reindex(levels, fill_value=0)
    )
    table["precision"] = table[what] / table["reviewed"].where(table["reviewed"] > 0)
    table[f"{items} here"] = found.value_counts().reindex(levels, fill_value=0).to_numpy()
    table[f"estimated {what}"] = table[f"{items} here"] * table["precision"]
    return table


def watermark_precision(review: pd.DataFrame, scores: np.ndarray, min_score: int = 6, top: int = 8) -> pd.DataFrame:
    """Precision of the watermark heuristic per score level from a by-eye review (columns id, score,
    watermark 0/1, a random sample of images at each level), and what it implies for `scores`: the
    number of images at each level and the estimated number of real watermarks among them.
    Levels are min_score .. top-1 and "top+" (all scores >= top)."""

    def level(score):
        return f"{top}+" if score >= top else str(score)

    levels = [str(k) for k in range(min_score, top)] + [f"{top}+"]
    return precision_by_level(
        levels,
        review["score"].astype(int).map(level),
        review["watermark"],
        pd.Series(np.asarray(scores)).map(level),
        "watermarks",
        "images",
    ).rename_axis("score")


def review_sample(pairs: pd.DataFrame, per_bits: int = REVIEW_PER_BITS, seed: int = config.SEED) -> pd.DataFrame:
    """Pairs to look at by eye, to measure the near-duplicate threshold's precision: a seeded sample of a
    pair table (:meth:`Audit.pairs_within`, reaching past :data:`NEAR_MAX_BITS` to see where precision
    falls), stratified by distance (up to `per_bits` pairs at each number of bits), in random order, with
    an empty ``duplicate`` column for the reviewer: 1 when both are the same photograph, 0 otherwise.
    Saved as ``artifacts/near_duplicate_review.csv`` and filled in, it is what
    :func:`near_duplicate_precision` reads."""
    strata = [group.sample(min(per_bits, len(group)), random_state=seed) for _, group in pairs.groupby("bits")]
    sample = pd.concat(strata) if strata else pairs.iloc[:0]
    return sample.sample(frac=1, random_state=seed).reset_index(drop=True).assign(duplicate="")


def review_path(profile: config.Profile):
    return profile.artifacts_dir / "near_duplicate_review.csv"


def near_duplicate_review(found: Audit, profile: config.Profile, max_bits: int = 2 * NEAR_MAX_BITS) -> pd.DataFrame:
    """The by-eye review of the near-duplicate threshold, <artifacts>/near_duplicate_review.csv: a
    :func:`review_sample` of the pairs within `max_bits` bits, written when there is no file or none of its
    pairs has a verdict yet; once a person has entered verdicts (``duplicate``: 1 or 0) the file is read as it
    is, never overwritten, and must name the images of `found` (its ``i``/``j`` rows are checked by key)."""
    target = review_path(profile)
    if target.exists():
        stored = pd.read_csv(target, dtype={"duplicate": str, "key_a": str, "key_b": str}, keep_default_na=False)
        if stored["duplicate"].str.strip().ne("").any():
            keys = found.table["key"].to_numpy()
            rows = stored[["i", "j"]].to_numpy()
            inside = (rows >= 0).all() and (rows < len(keys)).all()
            if not inside or (keys[rows[:, 0]] != stored["key_a"]).any() or (keys[rows[:, 1]] != stored["key_b"]).any():
                raise ValueError(f"{target}: its pairs are not images of this data set; move it aside to start afresh")
            return stored
    sample = review_sample(found.pairs_within(max_bits))
    target.parent.mkdir(parents=True, exist_ok=True)
    sample.to_csv(target, index=False)
    return sample


def review_progress(review: pd.DataFrame) -> tuple[int, int]:
    """(pairs with a verdict, pairs) of a near-duplicate review."""
    return int(review["duplicate"].astype(str).str.strip().ne("").sum()), len(review)


def near_duplicate_precision(review: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Precision of the perceptual-hash distance per number of bits from a reviewed :func:`review_sample`
    (columns bits and duplicate 0/1), and what it implies for `pairs` (a pair table, e.g. the near pairs):
    the pairs at each distance and the estimated number of real duplicates among them."""
    if review["duplicate"].astype(str).str.strip().eq("").any():
        raise ValueError("near-duplicate review: some pairs have no verdict in the `duplicate` column (1 or 0)")
    levels = sorted(set(review["bits"].astype(int)) | set(pairs["bits"].astype(int)))
    return precision_by_level(
        levels, review["bits"].astype(int), review["duplicate"], pairs["bits"].astype(int), "duplicates", "pairs"
    ).rename_axis("bits")


def threshold_precision(review: pd.DataFrame, pairs: pd.DataFrame, max_bits: int = NEAR_MAX_BITS) -> dict | None:
    """What a complete near-duplicate review says of the threshold `max_bits`, or None while a sampled pair has
    no verdict: the :func:`near_duplicate_precision` table (`table`), the estimated share of real duplicates
    among the `pairs` within the threshold (`estimate`), the precision at the threshold (`limit`), and the
    farthest distance in the table (`far`) with its precision (`far_precision`)."""
    reviewed, sampled = review_progress(review)
    if not sampled or reviewed < sampled:
        return None
    table = near_duplicate_precision(review, pairs)
    within = table.loc[table.index <= max_bits]
    far = int(table.index.max())
    return {
        "table": table,
        "estimate": within["estimated duplicates"].sum() / max(within["pairs here"].sum(), 1),
        "limit": table.loc[max_bits, "precision"],
        "far": far,
        "far_precision": table.loc[far, "precision"],
    }
