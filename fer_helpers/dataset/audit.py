"""The data audit: exact and near duplicates, blank images and watermark candidates.

    report = audit.run(split)                   # one row per flagged image (see COLUMNS)
    audit.save(report, profile)                 # artifacts/audit.csv, read back with audit.load(profile)
    drop = audit.ids_to_drop(report, splits=("train", "val"))

Duplicates, near duplicates and blank images are defined in :mod:`duplicates`; a *watermark candidate*
has at least :data:`WATERMARK_MIN_CHAIN` letter-sized bright thin strokes in one horizontal row
(:func:`watermark_score`). How precise the near-duplicate threshold and the watermark heuristic are is
measured by a person's review of drawn samples (:mod:`reviews`).

Which copy is listed: among identical images one is kept, preferring test, then validation, then
training (so the test set stays whole and the training copies are the ones to drop); every other one
gets a row whose ``related_id`` is the kept image. A near duplicate is a pair: of each pair within the
threshold the image of lower priority is listed, naming as ``related_id`` its nearest partner and as
``detail`` their distance in bits, so no listed pair exceeds :data:`NEAR_MAX_BITS` and dropping every
listed image leaves no pair.
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import cv2
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .. import config
from . import duplicates
from .duplicates import BLANK_MAX_STD, NEAR_MAX_BITS, close_pairs, hamming, has_copy, pixel_std

WATERMARK_MIN_CHAIN = 7  # letter-like strokes in one row
WATERMARK_TOPHAT = 20  # grey levels a stroke stands out above its 3x3 surroundings
KEEP_PRIORITY = {"test": 0, "val": 1, "train": 2}
COLUMNS = ["id", "split", "label", "issue", "related_id", "related_split", "related_label", "detail"]
ISSUES = ("exact_duplicate", "near_duplicate", "blank", "watermark_candidate")


# ---- the pool of images ------------------------------------------------------------------------


def pool(split) -> tuple[pd.DataFrame, np.ndarray]:
    """All images of a Split as one table (id, key, split, part, label) and the stacked uint8 images."""
    frames, images = [], []
    for name in config.SPLITS:
        subset = getattr(split, name)
        frames.append(
            pd.DataFrame(
                {
                    "id": subset.ids,
                    "key": subset.keys,
                    "split": name,
                    "part": subset.parts,
                    "label": [config.CLASSES[i] for i in subset.labels],
                }
            )
        )
        images.append(subset.images)
    table = pd.concat(frames, ignore_index=True)
    return table, np.concatenate(images)


def groups_from_pairs(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of the graph whose edges are `pairs` (i, j, ...): a group number per node."""
    if len(pairs := np.asarray(pairs)) == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


_STROKE_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def stroke_mask(image: np.ndarray, threshold: int = WATERMARK_TOPHAT) -> np.ndarray:
    """Thin bright strokes: pixels that a 3x3 white top-hat lifts above `threshold` grey levels."""
    return cv2.morphologyEx(image, cv2.MORPH_TOPHAT, _STROKE_KERNEL) > threshold


def watermark_score(image: np.ndarray, threshold: int = WATERMARK_TOPHAT, max_gap: float = 6.0) -> int:
    """Length of the longest row of letter-sized bright strokes: the text-overlay heuristic.

    Stroke pixels (:func:`stroke_mask`) are grouped into 8-connected blobs; a blob is letter-sized when
    it is 2-7 px tall, at most 7 px wide and has at least 2 pixels. Blobs whose centres lie within 2.5 px
    of the same height and at most `max_gap` px apart side by side form a row; the score is the longest
    row. Stock-photo watermarks ("shutterstock", "iStock", ...) give long rows; faces rarely do.
    """
    mask = stroke_mask(image, threshold).astype(np.uint8)
    _, _, stats, centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats, centres = stats[1:], centres[1:]
    letter = (stats[:, 3] >= 2) & (stats[:, 3] <= 7) & (stats[:, 2] <= 7) & (stats[:, 4] >= 2)
    centres = centres[letter]
    best = int(len(centres) > 0)
    for y in centres[:, 1]:
        xs = np.sort(centres[np.abs(centres[:, 1] - y) <= 2.5, 0])
        run = 1
        for gap in np.diff(xs):
            run = run + 1 if gap <= max_gap else 1
            best = max(best, run)
    return best


def watermark_scores(images: np.ndarray) -> np.ndarray:
    return np.array([watermark_score(im) for im in images], dtype=np.int64)


# ---- the audit ---------------------------------------------------------------------------------


def _keep_rank(table: pd.DataFrame) -> np.ndarray:
    """Rank of each image when choosing which copy to keep (0 = kept first): test, val, train, then table order."""
    order = np.lexsort((np.arange(len(table)), table["split"].map(KEEP_PRIORITY).to_numpy()))
    rank = np.empty(len(table), np.int64)
    rank[order] = np.arange(len(table))
    return rank


def _exact_rows(table: pd.DataFrame, group: np.ndarray, rank: np.ndarray) -> list[dict]:
    """One row per non-kept member of every group of identical images."""
    rows = []
    for g in np.flatnonzero(np.bincount(group) > 1):
        members = np.flatnonzero(group == g)
        keeper = members[np.argmin(rank[members])]
        rows += [_row(table, m, "exact_duplicate", keeper, 0) for m in members[members != keeper]]
    return rows


def _near_rows(table: pd.DataFrame, near_pairs: np.ndarray, rank: np.ndarray) -> list[dict]:
    """Of each near pair the image of lower keep priority, once, with its nearest partner and their distance."""
    i, j, bits = np.asarray(near_pairs, np.int64).reshape(-1, 3).T
    listed, partner = np.where(rank[i] > rank[j], i, j), np.where(rank[i] > rank[j], j, i)
    chosen = (
        pd.DataFrame({"listed": listed, "partner": partner, "bits": bits, "partner_rank": rank[partner]})
        .sort_values(["listed", "bits", "partner_rank"])
        .drop_duplicates("listed")
    )
    return [_row(table, r.listed, "near_duplicate", r.partner, int(r.bits)) for r in chosen.itertuples()]


def _row(table: pd.DataFrame, i: int, issue: str, related: int | None = None, detail="") -> dict:
    row = {
        "id": table.at[i, "id"],
        "split": table.at[i, "split"],
        "label": table.at[i, "label"],
        "issue": issue,
        "related_id": "",
        "related_split": "",
        "related_label": "",
        "detail": detail,
    }
    if related is not None:
        row.update(
            related_id=table.at[related, "id"],
            related_split=table.at[related, "split"],
            related_label=table.at[related, "label"],
        )
    return row


class Audit:
    """What :func:`run` measured: the per-image table, the hashes and pairs, and the flagged rows."""

    def __init__(self, table, images, hashes: duplicates.Hashes, exact_pairs, near_pairs, watermark):
        self.table, self.images = table, images
        self.sha1, self.phash, self.blank = hashes.sha1, hashes.phash, hashes.blank
        self.exact_pairs, self.near_pairs, self.watermark = exact_pairs, near_pairs, watermark
        self.exact_group = groups_from_pairs(len(table), exact_pairs)
        rank = _keep_rank(table)
        rows = _exact_rows(table, self.exact_group, rank)
        exact_listed = {r["id"] for r in rows}
        rows += [r for r in _near_rows(table, near_pairs, rank) if r["id"] not in exact_listed]  # listed once
        blank = self.blank
        rows += [
            _row(table, i, "blank", detail=round(float(s), 2))
            for i, s in zip(np.flatnonzero(blank), pixel_std(images[blank]), strict=False)
        ]
        rows += [
            _row(table, i, "watermark_candidate", detail=int(watermark[i]))
            for i in np.flatnonzero(watermark >= WATERMARK_MIN_CHAIN)
        ]
        self.report = pd.DataFrame(rows, columns=COLUMNS)

    def pairs(self, kind: str = "exact") -> pd.DataFrame:
        """The pairs of one kind ("exact" or "near") as a table: both ids, splits and labels, and the phash distance."""
        return self._pair_table(self.exact_pairs if kind == "exact" else self.near_pairs)

    def pairs_within(self, max_bits: int) -> pd.DataFrame:
        """All pairs of non-blank images that are not pixel-identical and whose perceptual hashes differ in at
        most `max_bits` bits (to see what a looser near-duplicate threshold would add)."""
        found = close_pairs(self.phash, max_bits)
        keep = (self.sha1[found[:, 0]] != self.sha1[found[:, 1]]) & ~self.blank[found[:, 0]] & ~self.blank[found[:, 1]]
        return self._pair_table(found[keep])

    def pair_images(self, pairs: pd.DataFrame, caption=None):
        """Left images, right images and captions of `pairs` (rows of a pair table), for grids.pair_grid."""
        caption = caption or (lambda r: f"{r.split_a}/{r.label_a} | {r.split_b}/{r.label_b}")
        return (
            self.images[pairs["i"].to_numpy()],
            self.images[pairs["j"].to_numpy()],
            [caption(r) for r in pairs.itertuples()],
        )

    def _pair_table(self, pairs: np.ndarray) -> pd.DataFrame:
        pairs = np.asarray(pairs, np.int64).reshape(-1, 3)
        i, j = pairs[:, 0], pairs[:, 1]
        columns = {
            f"{c}_{side}": self.table[c].to_numpy()[k]
            for c in ("id", "key", "split", "label")
            for side, k in (("a", i), ("b", j))
        }
        return pd.DataFrame({"i": i, "j": j, **columns, "bits": pairs[:, 2]})

    def pair_counts(self) -> pd.DataFrame:
        """Number of exact and near-duplicate image pairs for every pair of splits, and how many disagree on the
        label."""
        index = [f"{a}-{b}" for a, b in combinations_with_replacement(config.SPLITS, 2)]
        out = pd.DataFrame(
            0,
            index=pd.Index(index, name="splits"),
            columns=["exact pairs", "exact, labels differ", "near pairs", "near, labels differ"],
        )
        for kind in ("exact", "near"):
            pairs = self.pairs(kind)
            if pairs.empty:
                continue
            a, b = pairs["split_a"].map(config.SPLITS.index), pairs["split_b"].map(config.SPLITS.index)
            key = [f"{config.SPLITS[min(x, y)]}-{config.SPLITS[max(x, y)]}" for x, y in zip(a, b, strict=False)]
            differ = (pairs["label_a"] != pairs["label_b"]).to_numpy()
            out[f"{kind} pairs"] = pd.Series(key).value_counts().reindex(index, fill_value=0).to_numpy()
            differing = pd.Series(key)[differ].value_counts()
            out[f"{kind}, labels differ"] = differing.reindex(index, fill_value=0).to_numpy()
        return out

    def leakage(self, kind: str = "exact") -> dict:
        """Test images with a copy (exact, or exact-or-near: a pair, not a chain) in the Training part
        (train or val), and whether labels agree.

        ``label_agrees`` counts test images whose label equals the label of every training copy;
        ``labels_differ`` those with at least one copy labelled otherwise; ``training_copies`` the
        training images that copy a test image.
        """
        found = self.exact_pairs if kind == "exact" else np.concatenate([self.exact_pairs, self.near_pairs])
        splits, labels = self.table["split"].to_numpy(), self.table["label"].to_numpy()
        is_test = splits == "test"
        leaked = has_copy(found, is_test, ~is_test)
        differ = has_copy(found[labels[found[:, 0]] != labels[found[:, 1]]], is_test, ~is_test)
        parts = self.table["part"].to_numpy()[leaked]
        return {
            "test_images": int(is_test.sum()),
            "in_training": int(leaked.sum()),
            "in_train": int(has_copy(found, is_test, splits == "train").sum()),
            "in_val": int(has_copy(found, is_test, splits == "val").sum()),
            "label_agrees": int(leaked.sum() - differ.sum()),
            "labels_differ": int(differ.sum()),
            "training_copies": int(has_copy(found, ~is_test, is_test).sum()),
            "by_part": {part: int((parts == part).sum()) for part in ("PublicTest", "PrivateTest")},
        }

    def double_filed(self) -> pd.DataFrame:
        """Images whose file name occurs in two class folders (their ids carry ``-<class>``), with the
        pixel difference to their namesake: are they the same picture filed twice or two pictures?"""
        ids = self.table["id"].astype(str)
        rows = self.table[ids.str.contains("-")].assign(name=lambda t: t["id"].str.split("-").str[0])
        out = []
        for name, group in rows.groupby("name", sort=True):
            index = group.index.to_numpy()
            first = self.images[index[0]].astype(int)
            for i in index:
                difference = float(np.abs(self.images[i].astype(int) - first).mean())
                out.append(
                    {
                        "file name": name,
                        "id": self.table.at[i, "id"],
                        "split": self.table.at[i, "split"],
                        "label": self.table.at[i, "label"],
                        "mean abs. difference to the first": difference,
                        "phash bits to the first": int(hamming(self.phash[i], self.phash[index[0]])),
                        "row": i,
                    }
                )
        columns = [
            "file name",
            "id",
            "split",
            "label",
            "mean abs. difference to the first",
            "phash bits to the first",
            "row",
        ]
        return pd.DataFrame(out, columns=columns).astype({"phash bits to the first": int, "row": int})

    def counts(self) -> dict:
        """Images flagged per issue and split."""
        return {
            issue: {
                s: int(((self.report["issue"] == issue) & (self.report["split"] == s)).sum()) for s in config.SPLITS
            }
            for issue in ISSUES
        }


def run(split, near_max_bits: int = NEAR_MAX_BITS, blank_max_std: float = BLANK_MAX_STD) -> Audit:
    """Audit every image of a Split (train, val and test together)."""
    table, images = pool(split)
    hashes = duplicates.measure(images, blank_max_std)
    exact_pairs, near_pairs = duplicates.pairs(hashes, near_max_bits)
    return Audit(table, images, hashes, exact_pairs, near_pairs, watermark_scores(images))


# ---- the saved list ----------------------------------------------------------------------------


def path(profile: config.Profile):
    return profile.artifacts_dir / "audit.csv"


def save(report: pd.DataFrame, profile: config.Profile):
    target = path(profile)
    target.parent.mkdir(parents=True, exist_ok=True)
    report.to_csv(target, index=False)
    return target


def load(profile: config.Profile) -> pd.DataFrame:
    target = path(profile)
    if not target.exists():
        raise FileNotFoundError(f"{target} not found: run notebooks/01_data_overview.ipynb first")
    return pd.read_csv(target, dtype=str, keep_default_na=False)


def pairs_by_distance(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per perceptual-hash distance (bits) of a pair table: the pairs, how many join two splits and how many
    carry two labels."""
    marked = pairs.assign(across=pairs["split_a"] != pairs["split_b"], differ=pairs["label_a"] != pairs["label_b"])
    grouped = marked.groupby("bits")
    table = pd.DataFrame(
        {"pairs": grouped.size(), "across splits": grouped["across"].sum(), "labels differ": grouped["differ"].sum()}
    )
    return table.astype(int).rename_axis("bits")


def ids_to_drop(
    report: pd.DataFrame, issues=("exact_duplicate", "near_duplicate", "blank"), splits=("train", "val")
) -> set[str]:
    """Ids flagged with one of `issues` in one of `splits`: with the defaults, the training copies of
    duplicates (the kept copy stays) and blank images, leaving the test set untouched."""
    chosen = report["issue"].isin(issues) & report["split"].isin(splits)
    return set(report.loc[chosen, "id"])
