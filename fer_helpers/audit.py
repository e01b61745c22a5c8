"""The data audit: exact and near duplicates, blank images and watermark candidates.

    report = audit.run(split)                   # one row per flagged image (see COLUMNS)
    audit.save(report, profile)                 # artifacts/audit.csv, read back with audit.load(profile)
    drop = audit.ids_to_drop(report, splits=("train", "val"))

Definitions (the chapter shows examples of each and why the thresholds are where they are):

- *exact duplicate*: identical pixel bytes (SHA-1 of the 48x48 uint8 array); blank images are left out
  of this test (they are identical to each other and flagged as blank instead);
- *near duplicate*: perceptual hash (``imagehash.phash``, 64 bits) at most :data:`NEAR_MAX_BITS` bits
  apart, pixels not identical;
- *blank*: pixel standard deviation below :data:`BLANK_MAX_STD` grey levels;
- *watermark candidate*: at least :data:`WATERMARK_MIN_CHAIN` letter-sized bright thin strokes in one
  horizontal row (:func:`watermark_score`).

In each group of duplicates one image is kept, preferring test, then validation, then training (so the
test set stays whole and the training copies are the ones to drop); every other member gets a row whose
``related_id`` is the kept image.
"""
from __future__ import annotations

import hashlib
from itertools import combinations_with_replacement

import cv2
import imagehash
import numpy as np
import pandas as pd
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from . import config

BLANK_MAX_STD = 5.0  # grey levels (0..255)
NEAR_MAX_BITS = 4  # of 64 phash bits
WATERMARK_MIN_CHAIN = 7  # letter-like strokes in one row
WATERMARK_TOPHAT = 20  # grey levels a stroke stands out above its 3x3 surroundings
SPLIT_ORDER = ("train", "val", "test")
KEEP_PRIORITY = {"test": 0, "val": 1, "train": 2}
COLUMNS = ["id", "split", "label", "issue", "related_id", "related_split", "related_label", "detail"]
ISSUES = ("exact_duplicate", "near_duplicate", "blank", "watermark_candidate")


# ---- the pool of images ------------------------------------------------------------------------

def pool(split) -> tuple[pd.DataFrame, np.ndarray]:
    """All images of a Split as one table (id, split, part, label) and the stacked uint8 images."""
    frames, images = [], []
    for name in SPLIT_ORDER:
        subset = getattr(split, name)
        frames.append(pd.DataFrame({"id": subset.ids, "split": name, "part": subset.parts,
                                    "label": [config.CLASSES[i] for i in subset.labels]}))
        images.append(subset.images)
    table = pd.concat(frames, ignore_index=True)
    return table, np.concatenate(images)


# ---- measurements per image --------------------------------------------------------------------

def pixel_hashes(images: np.ndarray) -> np.ndarray:
    """SHA-1 of each image's pixel bytes: equal hashes mean identical pixels."""
    return np.array([hashlib.sha1(np.ascontiguousarray(im).tobytes()).hexdigest() for im in images])


def pixel_std(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(images.shape[0], int(np.prod(images.shape[1:])))
    return flat.astype(np.float32).std(axis=1)


def blank_mask(images: np.ndarray, max_std: float = BLANK_MAX_STD) -> np.ndarray:
    """True for near-constant images (pixel standard deviation below `max_std` grey levels)."""
    return pixel_std(images) < max_std


def perceptual_hashes(images: np.ndarray) -> np.ndarray:
    """64-bit perceptual hash (``imagehash.phash``: DCT of a 32x32 resize, signs of the 8x8 lowest
    frequencies against their median) of each image, as uint64."""
    return np.array([int(str(imagehash.phash(Image.fromarray(im))), 16) for im in images], dtype=np.uint64)


def hamming(a, b) -> np.ndarray:
    """Number of differing bits between uint64 hashes (broadcasting)."""
    return np.bitwise_count(np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64)))


def close_pairs(hashes: np.ndarray, max_bits: int, chunk: int = 2048) -> np.ndarray:
    """All pairs (i, j, bits) with i < j whose hashes differ in at most `max_bits` bits."""
    hashes = np.asarray(hashes, np.uint64)
    found = [np.empty((0, 3), np.int64)]
    for start in range(0, len(hashes), chunk):
        block = hamming(hashes[start:start + chunk, None], hashes[None, start:])
        i, j = np.nonzero(block <= max_bits)
        keep = j > i  # j is offset by `start`, as i is
        found.append(np.stack([i[keep] + start, j[keep] + start, block[i[keep], j[keep]]], axis=1))
    return np.concatenate(found).astype(np.int64)


def groups_from_pairs(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of the graph whose edges are `pairs` (i, j, ...): a group number per node."""
    pairs = np.asarray(pairs)
    if len(pairs) == 0:
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

def _keeper_order(table: pd.DataFrame) -> np.ndarray:
    """Rank of each image when choosing which duplicate to keep: test, val, train, then table order."""
    return np.lexsort((np.arange(len(table)), table["split"].map(KEEP_PRIORITY).to_numpy()))


def _group_rows(table: pd.DataFrame, group: np.ndarray, issue: str, detail) -> list[dict]:
    """One row per non-kept member of every group with two or more members."""
    rank = np.empty(len(table), np.int64)
    rank[_keeper_order(table)] = np.arange(len(table))
    rows = []
    sizes = np.bincount(group)
    for g in np.flatnonzero(sizes > 1):
        members = np.flatnonzero(group == g)
        keeper = members[np.argmin(rank[members])]
        for m in members[members != keeper]:
            rows.append(_row(table, m, issue, keeper, detail(m, keeper)))
    return rows


def _row(table: pd.DataFrame, i: int, issue: str, related: int | None = None, detail="") -> dict:
    row = {"id": table.at[i, "id"], "split": table.at[i, "split"], "label": table.at[i, "label"], "issue": issue,
           "related_id": "", "related_split": "", "related_label": "", "detail": detail}
    if related is not None:
        row.update(related_id=table.at[related, "id"], related_split=table.at[related, "split"],
                   related_label=table.at[related, "label"])
    return row


class Audit:
    """What :func:`run` measured: the per-image table, the hashes and pairs, and the flagged rows."""

    def __init__(self, table, images, sha1, phash, blank, exact_pairs, near_pairs, watermark):
        self.table, self.images = table, images
        self.sha1, self.phash, self.blank = sha1, phash, blank
        self.exact_pairs, self.near_pairs, self.watermark = exact_pairs, near_pairs, watermark
        n = len(table)
        exact_group = groups_from_pairs(n, exact_pairs)
        near_group = groups_from_pairs(n, np.concatenate([exact_pairs[:, :2], near_pairs[:, :2]]))
        rows = _group_rows(table, exact_group, "exact_duplicate", lambda m, k: 0)
        exact_listed = {r["id"] for r in rows}
        near_rows = _group_rows(table, near_group, "near_duplicate", lambda m, k: int(hamming(phash[m], phash[k])))
        rows += [r for r in near_rows if r["id"] not in exact_listed]  # an exact copy is listed once
        rows += [_row(table, i, "blank", detail=round(float(s), 2))
                 for i, s in zip(np.flatnonzero(blank), pixel_std(images[blank]))]
        rows += [_row(table, i, "watermark_candidate", detail=int(watermark[i]))
                 for i in np.flatnonzero(watermark >= WATERMARK_MIN_CHAIN)]
        self.report = pd.DataFrame(rows, columns=COLUMNS)
        self.exact_group, self.near_group = exact_group, near_group

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
        """Left images, right images and captions of `pairs` (rows of a pair table), for plots.pair_grid."""
        caption = caption or (lambda r: f"{r.split_a}/{r.label_a} | {r.split_b}/{r.label_b}")
        return (self.images[pairs["i"].to_numpy()], self.images[pairs["j"].to_numpy()],
                [caption(r) for r in pairs.itertuples()])

    def _pair_table(self, pairs: np.ndarray) -> pd.DataFrame:
        pairs = np.asarray(pairs, np.int64).reshape(-1, 3)
        i, j = pairs[:, 0], pairs[:, 1]
        t = self.table
        return pd.DataFrame({
            "i": i, "j": j, "id_a": t["id"].to_numpy()[i], "id_b": t["id"].to_numpy()[j],
            "split_a": t["split"].to_numpy()[i], "split_b": t["split"].to_numpy()[j],
            "label_a": t["label"].to_numpy()[i], "label_b": t["label"].to_numpy()[j], "bits": pairs[:, 2],
        })

    def pair_counts(self) -> pd.DataFrame:
        """Number of exact and near-duplicate image pairs for every pair of splits, and how many disagree on the label."""
        index = [f"{a}-{b}" for a, b in combinations_with_replacement(SPLIT_ORDER, 2)]
        out = pd.DataFrame(0, index=pd.Index(index, name="splits"),
                           columns=["exact pairs", "exact, labels differ", "near pairs", "near, labels differ"])
        for kind, prefix in (("exact", "exact"), ("near", "near")):
            pairs = self.pairs(kind)
            if pairs.empty:
                continue
            a, b = pairs["split_a"].map(SPLIT_ORDER.index), pairs["split_b"].map(SPLIT_ORDER.index)
            key = [f"{SPLIT_ORDER[min(x, y)]}-{SPLIT_ORDER[max(x, y)]}" for x, y in zip(a, b)]
            differ = (pairs["label_a"] != pairs["label_b"]).to_numpy()
            out[f"{prefix} pairs"] = pd.Series(key).value_counts().reindex(index, fill_value=0).to_numpy()
            out[f"{prefix}, labels differ"] = pd.Series(key)[differ].value_counts().reindex(index, fill_value=0).to_numpy()
        return out

    def leakage(self, kind: str = "exact") -> dict:
        """Test images with a copy (exact, or exact-or-near) in the Training part (train or val), and whether labels agree.

        ``label_agrees`` counts test images whose label equals the label of every training copy;
        ``labels_differ`` those with at least one copy labelled otherwise.
        """
        group = self.exact_group if kind == "exact" else self.near_group
        t = self.table
        is_test = (t["split"] == "test").to_numpy()
        sizes = np.bincount(group)
        result = {"test_images": int(is_test.sum()), "in_training": 0, "in_train": 0, "in_val": 0,
                  "label_agrees": 0, "labels_differ": 0, "training_copies": 0,
                  "by_part": {part: 0 for part in ("PublicTest", "PrivateTest")}}
        labels = t["label"].to_numpy()
        splits = t["split"].to_numpy()
        parts = t["part"].to_numpy()
        for g in np.unique(group[is_test & (sizes[group] > 1)]):
            members = np.flatnonzero(group == g)
            training = members[splits[members] != "test"]
            if len(training) == 0:
                continue
            tests = members[splits[members] == "test"]
            result["in_training"] += len(tests)
            result["in_train"] += len(tests) * bool((splits[training] == "train").any())
            result["in_val"] += len(tests) * bool((splits[training] == "val").any())
            result["training_copies"] += len(training)
            for m in tests:
                if parts[m] in result["by_part"]:
                    result["by_part"][parts[m]] += 1
                agree = bool((labels[training] == labels[m]).all())
                result["label_agrees" if agree else "labels_differ"] += 1
        return result

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
                out.append({"file name": name, "id": self.table.at[i, "id"], "split": self.table.at[i, "split"],
                            "label": self.table.at[i, "label"],
                            "mean abs. difference to the first": float(np.abs(self.images[i].astype(int) - first).mean()),
                            "phash bits to the first": int(hamming(self.phash[i], self.phash[index[0]])), "row": i})
        columns = ["file name", "id", "split", "label", "mean abs. difference to the first", "phash bits to the first", "row"]
        return pd.DataFrame(out, columns=columns).astype({"phash bits to the first": int, "row": int})

    def counts(self) -> dict:
        """Images flagged per issue and split."""
        return {issue: {s: int(((self.report["issue"] == issue) & (self.report["split"] == s)).sum())
                        for s in SPLIT_ORDER} for issue in ISSUES}


def run(split, near_max_bits: int = NEAR_MAX_BITS, blank_max_std: float = BLANK_MAX_STD) -> Audit:
    """Audit every image of a Split (train, val and test together)."""
    table, images = pool(split)
    blank = blank_mask(images, blank_max_std)
    sha1 = pixel_hashes(images)
    phash = perceptual_hashes(images)
    # exact pairs among non-blank images: all pairs inside each group of equal SHA-1
    codes = pd.Series(sha1).where(~blank).factorize()[0]  # blank -> -1
    exact = []
    for code in np.flatnonzero(np.bincount(codes[codes >= 0]) > 1):
        members = np.flatnonzero(codes == code)
        exact += [(a, b, 0) for k, a in enumerate(members) for b in members[k + 1:]]
    exact_pairs = np.array(exact, np.int64).reshape(-1, 3)
    near = close_pairs(phash, near_max_bits)
    near = near[(codes[near[:, 0]] != codes[near[:, 1]]) & ~blank[near[:, 0]] & ~blank[near[:, 1]]] if len(near) else near
    return Audit(table, images, sha1, phash, blank, exact_pairs, near, watermark_scores(images))


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


def watermark_precision(review: pd.DataFrame, scores: np.ndarray, min_score: int = 6, top: int = 8) -> pd.DataFrame:
    """Precision of the watermark heuristic per score level from a by-eye review (columns id, score,
    watermark 0/1, a random sample of images at each level), and what it implies for `scores`: the
    number of images at each level and the estimated number of real watermarks among them.
    Levels are min_score .. top-1 and "top+" (all scores >= top)."""
    def level(score):
        return f"{top}+" if score >= top else str(score)

    reviewed = review.assign(level=review["score"].astype(int).map(level))
    levels = [str(k) for k in range(min_score, top)] + [f"{top}+"]
    table = reviewed.groupby("level")["watermark"].agg(reviewed="count", watermarks="sum").reindex(levels, fill_value=0)
    table["precision"] = table["watermarks"] / table["reviewed"].where(table["reviewed"] > 0)
    scores = np.asarray(scores)
    table["images here"] = [int(np.sum(scores >= top)) if lv.endswith("+") else int(np.sum(scores == int(lv)))
                            for lv in levels]
    table["estimated watermarks"] = table["images here"] * table["precision"]
    return table.rename_axis("score")


def ids_to_drop(report: pd.DataFrame, issues=("exact_duplicate", "near_duplicate", "blank"),
                splits=("train", "val")) -> set[str]:
    """Ids flagged with one of `issues` in one of `splits`: with the defaults, the training copies of
    duplicates (the kept copy stays) and blank images, leaving the test set untouched."""
    chosen = report["issue"].isin(issues) & report["split"].isin(splits)
    return set(report.loc[chosen, "id"])
