"""Where a heat map's mass lies on the face: eye band, mouth band, the rest; per class and per model.

    shares = band_shares(cams)                     # (N, 3) shares of eyes / mouth / rest; NaN rows: all-zero maps
    table = share_table(shares, labels)            # ShareTable: mean share per class, counts, never NaN
    diff = paired_difference(shares_a, shares_b)   # same images, two models: mean difference and 95 % CI
    errors = error_shares(explainer, cams, labels, x_wrong, truth, guess)   # right vs wrong answers, one model
    sanity_table(checks, between)                  # cam.randomisation_check results as Spearman's rho per model

FER-2013 faces are roughly aligned; on the train split's mean face the eyes are the dark band
around row 17 and the mouth around rows 37-43. `BANDS` fixes two 12-row bands (row ranges, start
inclusive, stop exclusive): eyes rows 12-23 and mouth rows 32-43; "rest" is every other pixel.
Each band covers a quarter of the image, so a uniform map puts 25 % / 25 % / 50 % of its mass in
eyes / mouth / rest (`area_shares`).

Maps are compared at one resolution: every function here takes 48x48 maps (`cam.Explainer`
upsamples each CAM from its layer's grid, e.g. 12x12 or 24x24). An all-zero map has no mass to
share: it is counted ("zero maps") and left out of the means, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config

SIZE = config.IMAGE_SIZE
BANDS = {"eyes": (12, 24), "mouth": (32, 44)}
REGIONS = ("eyes", "mouth", "rest")
EYE_SEARCH, MOUTH_SEARCH = (0, 24), (28, 44)  # rows searched for the darkest row (below 44: chin shadow)


def band_masks(size: int = SIZE, bands: dict = BANDS) -> dict[str, np.ndarray]:
    """Boolean (size, size) masks of every band (full-width row ranges) and of "rest" (all other pixels)."""
    masks, taken = {}, np.zeros((size, size), bool)
    for name, (start, stop) in bands.items():
        if not 0 <= start < stop <= size:
            raise ValueError(f"band {name!r} rows {start}..{stop} do not fit a {size}-row image")
        masks[name] = np.zeros((size, size), bool)
        masks[name][start:stop] = True
        if (masks[name] & taken).any():
            raise ValueError(f"band {name!r} overlaps another band")
        taken |= masks[name]
    masks["rest"] = ~taken
    return masks


def area_shares(size: int = SIZE, bands: dict = BANDS) -> dict[str, float]:
    """The shares a uniform map would give: each region's share of the pixels."""
    return {name: float(mask.mean()) for name, mask in band_masks(size, bands).items()}


def mean_face_check(images: np.ndarray, bands: dict = BANDS) -> dict:
    """The mean face, its row profile (central half of the columns) and its darkest row among rows
    0-23 (the eyes on aligned faces) and among rows 28-43 (the mouth), with whether each lies in its band."""
    mean = np.asarray(images, np.float64).mean(axis=0)
    profile = mean[:, SIZE // 4 : 3 * SIZE // 4].mean(axis=1)
    eye_row = EYE_SEARCH[0] + int(np.argmin(profile[slice(*EYE_SEARCH)]))
    mouth_row = MOUTH_SEARCH[0] + int(np.argmin(profile[slice(*MOUTH_SEARCH)]))
    return {
        "mean_face": mean,
        "row_profile": profile,
        "eye_row": eye_row,
        "mouth_row": mouth_row,
        "eye_row_in_band": bool(bands["eyes"][0] <= eye_row < bands["eyes"][1]),
        "mouth_row_in_band": bool(bands["mouth"][0] <= mouth_row < bands["mouth"][1]),
    }


def _checked(maps) -> np.ndarray:
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[1:] != (SIZE, SIZE):
        raise ValueError(f"expected maps (N, {SIZE}, {SIZE}) (upsample CAMs first), got shape {maps.shape}")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (CAMs after ReLU)")
    return maps


def zero_maps(maps) -> np.ndarray:
    """True for every all-zero map (no mass anywhere: the class score's gradient found nothing)."""
    return ~(_checked(maps).reshape(len(maps), -1) > 0).any(axis=1)


def band_shares(maps, bands: dict = BANDS) -> np.ndarray:
    """(N, regions) share of each 48x48 map's mass in every band and the rest; rows sum to 1.

    An all-zero map has no mass to share: its row is NaN (count such rows with `zero_maps`)."""
    maps = _checked(maps)
    masks = band_masks(SIZE, bands)
    mass = np.stack([maps[:, mask].sum(axis=1) for mask in masks.values()], axis=1)
    total = mass.sum(axis=1, keepdims=True)
    return np.where(total > 0, mass / np.where(total > 0, total, 1), np.nan)


@dataclass
class ShareTable:
    """Mean share per region and class, without NaN: classes with no usable map are listed, not averaged.

    `table` rows: every class with at least one non-zero map, then "all classes" (the mean of the
    class means; its n and zero maps are totals over all images); columns: the regions, "n" (maps
    averaged) and "zero maps" (all-zero maps left out). `images` counts the images of every class.
    """

    table: pd.DataFrame
    images: pd.Series
    zero_maps: int  # all-zero maps, in every class

    @property
    def empty(self) -> list[str]:
        """Classes without a single non-zero map."""
        return [name for name in self.images.index if name not in self.table.index]

    @property
    def overall(self) -> pd.Series:
        """The "all classes" row: mean share per region, "n" and "zero maps". When no map has mass, the
        shares are NaN (nothing to average; say why where it is shown), n is 0 and the zero maps still count."""
        if "all classes" in self.table.index:
            return self.table.loc["all classes"]
        shares = {name: np.nan for name in self.table.columns if name not in ("n", "zero maps")}
        return pd.Series({**shares, "n": 0, "zero maps": self.zero_maps}, name="all classes", dtype=object)

    def notes(self, what: str = "image") -> list[str]:
        """One line per class missing from the table, saying why, e.g. 'disgust: no correctly classified image'."""
        return [
            f"{name}: no {what}"
            if self.images[name] == 0
            else f"{name}: {self.images[name]} {what}(s), every map all-zero"
            for name in self.empty
        ]


def share_table(shares, labels, regions=REGIONS) -> ShareTable:
    """Mean share per region and class of `band_shares` rows (NaN rows, from all-zero maps, are counted apart)."""
    shares = np.asarray(shares, np.float64).reshape(-1, len(regions))
    labels = np.asarray(labels, int)
    if len(labels) != len(shares):
        raise ValueError(f"{len(shares)} share rows but {len(labels)} labels")
    frame = pd.DataFrame(shares, columns=list(regions))
    frame["class"] = pd.Categorical([config.CLASSES[i] for i in labels], categories=config.CLASSES)
    zero = frame[list(regions)].isna().any(axis=1)
    images = frame.groupby("class", observed=False).size()
    table = frame[~zero].groupby("class", observed=False)[list(regions)].mean()
    table["n"] = frame[~zero].groupby("class", observed=False).size()
    table["zero maps"] = frame[zero].groupby("class", observed=False).size()
    table = table[table["n"] > 0]
    if len(table):
        table.loc["all classes"] = list(table[list(regions)].mean()) + [table["n"].sum(), int(zero.sum())]
    table.index = pd.Index([str(name) for name in table.index], name="class")
    table[["n", "zero maps"]] = table[["n", "zero maps"]].astype(int)
    return ShareTable(table, images.rename(index=str), int(zero.sum()))


ERROR_MAPS = ("correct (true class)", "misclassified, predicted class", "misclassified, true class")


def error_shares(explainer, right_maps, right_labels, x_wrong, truth, guess) -> pd.DataFrame:
    """Where one model's heat-map mass lies when it is right and when it is wrong: the "all classes" row of
    :func:`share_table` (rows `ERROR_MAPS`) of `right_maps` (its maps of images it classifies correctly, of
    classes `right_labels`) and of the maps `explainer` (a `cam.Explainer`) gives of the misclassified images
    `x_wrong` for the predicted classes `guess` and for the true classes `truth`, grouped by true class."""
    maps = [(right_maps, right_labels), (explainer.cam(x_wrong, guess), truth), (explainer.cam(x_wrong, truth), truth)]
    rows = {
        what: share_table(band_shares(m), labels).overall for what, (m, labels) in zip(ERROR_MAPS, maps, strict=True)
    }
    return pd.DataFrame(rows).T.rename_axis("maps")


def paired_difference(shares_a, shares_b, region: str = "eyes") -> dict:
    """Mean of share_b - share_a in `region` over the images where neither map is all-zero (same images,
    two models), with a 95 % bootstrap interval; `zero_pairs` counts the pairs left out."""
    from .intervals import bootstrap_ci

    column = REGIONS.index(region)
    diff = np.asarray(shares_b)[:, column] - np.asarray(shares_a)[:, column]
    valid = ~np.isnan(diff)
    out = {"region": region, "n": int(valid.sum()), "zero_pairs": int((~valid).sum())}
    if not valid.any():
        return out | {"mean": None, "ci95": None}
    return out | {"mean": float(diff[valid].mean()), "ci95": bootstrap_ci(diff[valid])}


def rank_correlations(maps_a, maps_b) -> np.ndarray:
    """Spearman rank correlation between paired maps, one per image (NaN where a map is constant)."""
    from scipy.stats import spearmanr

    maps_a, maps_b = np.asarray(maps_a), np.asarray(maps_b)
    if maps_a.shape != maps_b.shape:
        raise ValueError(f"maps differ in shape: {maps_a.shape} vs {maps_b.shape}")
    out = np.full(len(maps_a), np.nan)
    for i, (a, b) in enumerate(zip(maps_a, maps_b, strict=False)):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            out[i] = spearmanr(a.ravel(), b.ravel()).statistic
    return out


def sanity_table(
    checks: dict, between: np.ndarray | None = None, between_label: str = "two trained models"
) -> pd.DataFrame:
    """`cam.randomisation_check` results ({(model, method): check}) as rows, Spearman's rho between each
    trained model's maps and its re-initialised twin's; with `between` (rho per image between two
    trained models' GradCAMs) one more row, for scale. "flat maps": constant maps, without a rank."""

    def row(rho, n):
        valid = np.asarray(rho)[~np.isnan(rho)]
        return {
            "mean Spearman": float(valid.mean()) if len(valid) else None,
            "median": float(np.median(valid)) if len(valid) else None,
            "flat maps": int(len(rho) - len(valid)),
            "images": n,
        }

    rows = {
        (model, f"{method}: trained vs random weights"): row(c["per_image"], c["n"])
        for (model, method), c in checks.items()
    }
    if between is not None:
        rows[(between_label, "GradCAM: both trained")] = row(between, len(between))
    table = pd.DataFrame(rows).T
    table[["flat maps", "images"]] = table[["flat maps", "images"]].astype(int)
    return table.rename_axis(["model", "maps compared"])


def class_mean_maps(maps, labels) -> dict[str, np.ndarray]:
    """{class name: mean map} in class order, for the classes that have at least one map (no empty means)."""
    maps, labels = np.asarray(maps), np.asarray(labels, int)
    return {name: maps[labels == c].mean(axis=0) for c, name in enumerate(config.CLASSES) if (labels == c).any()}
