"""The data set as the chapters see it: decoded once and cached, one seeded split manifest keyed by
content, copies of test images kept out of training, profiles.

    split = load_split(profile)                      # train / val / test, copies of test images removed
    split = load_split(profile, leakage="kept")      # the same split with the copies left in
    python -m fer_helpers.dataset.data --summary

The manifest ``artifacts/split.csv`` names every image by its content key (:func:`sources.content_keys`),
so every form of the data (Kaggle folder, zip, ``fer2013.csv``, ``icml_face_data.csv``) gives the same
train / val / test membership; the Kaggle file name is kept beside it when known, for reading only.
A manifest of the older format, keyed by Kaggle file names, is migrated in place when the data carries
those names (the folder or the zip), with the same membership.

Leakage (:func:`leakage_masks`): with ``leakage="removed"`` (the default) train and val lose every image
that is an exact or near copy (:mod:`duplicates`) of a test image, and val every copy of an image that
stays in train; ``Subset.leak_free`` marks the test images with no copy in the full train or val split.
``Split.leakage`` holds the counts (also with ``leakage="kept"``, where nothing is removed).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .. import config
from ..results import atomic
from . import duplicates, synthetic
from .sources import DataError, DataNotFound, Dataset, content_keys, fingerprint, locate, read

LEAKAGE = ("removed", "kept")
MIN_PER_CLASS = int(np.ceil(1 / config.VAL_FRACTION))  # Training images per class a stratified split needs
MANIFEST_COLUMNS = ["key", "part", "label", "split", "id"]


def load_dataset(path: Path | None = None, checksum: str | None = None) -> Dataset:
    """The whole data set, decoded once and cached in data/cache/ as .npz keyed by the source's checksum."""
    path = Path(path) if path else locate()
    cache = config.CACHE_DIR / f"fer2013-{checksum or fingerprint(path)}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            if "kaggle_ids" in stored.files:  # caches written before the flag existed are decoded again
                return Dataset(
                    stored["images"], stored["labels"], stored["ids"], stored["parts"], bool(stored["kaggle_ids"])
                )
    dataset = read(path)
    with atomic(cache) as partial:
        np.savez(
            partial,
            images=dataset.images,
            labels=dataset.labels,
            ids=dataset.ids,
            parts=dataset.parts,
            kaggle_ids=dataset.kaggle_ids,
        )
    return dataset


def make_manifest(dataset: Dataset, seed: int = config.SEED) -> pd.DataFrame:
    """key -> split: a seeded, stratified 80/20 train/val split of Training; both test parts are test.

    Made in the order of the content keys, so every form of the data gives the same split."""
    training = dataset.parts == "Training"
    counts = np.bincount(dataset.labels[training], minlength=len(config.CLASSES))
    for name, count in zip(config.CLASSES, counts, strict=False):
        if count < MIN_PER_CLASS:
            raise DataError(
                f"class {name!r} has {count} Training image(s); a stratified {1 - config.VAL_FRACTION:.0%}/"
                f"{config.VAL_FRACTION:.0%} train/val split needs at least {MIN_PER_CLASS} per class"
            )
    order = np.lexsort((dataset.keys, [config.PARTS.index(p) for p in dataset.parts]))
    ordered = order[training[order]]
    train_idx, val_idx = train_test_split(
        ordered, test_size=int(config.VAL_FRACTION * len(ordered)), stratify=dataset.labels[ordered], random_state=seed
    )
    split = np.full(len(dataset), "test", dtype=object)
    split[train_idx] = "train"
    split[val_idx] = "val"
    ids = dataset.ids if dataset.kaggle_ids else np.full(len(dataset), "")
    labels = [config.CLASSES[i] for i in dataset.labels]
    manifest = pd.DataFrame({"key": dataset.keys, "part": dataset.parts, "label": labels, "split": split, "id": ids})
    return manifest.iloc[order].reset_index(drop=True)


def subset_manifest(manifest: pd.DataFrame, fraction: float, seed: int = config.SEED) -> pd.DataFrame:
    """A stratified share of every split (and of both test parts), for the smoke profile."""
    keep = []
    for _, group in manifest.groupby(["split", "part"], sort=False):
        n = max(len(config.CLASSES), round(fraction * len(group)))
        if n >= len(group):
            keep.append(group)
            continue
        chosen, _ = train_test_split(group, train_size=n, stratify=group["label"], random_state=seed)
        keep.append(chosen)
    return pd.concat(keep).sort_index()


def migrate_manifest(stored: pd.DataFrame, dataset: Dataset, path: Path) -> pd.DataFrame:
    """An old manifest (id, part, label, split keyed by Kaggle file name) keyed by content instead, rows and
    membership unchanged; needs the data with its Kaggle file names (folder or zip)."""
    if not dataset.kaggle_ids:
        raise DataError(
            f"{path}: this split manifest is keyed by Kaggle file names, which the CSV form of the data "
            "does not carry. Migrate it once by loading the Kaggle folder or zip (python -m "
            "fer_helpers.dataset.data --summary --path fer2013.zip), or delete it to make a new split."
        )
    key_of = pd.Series(dataset.keys, index=dataset.ids)
    unknown = set(stored["id"]) - set(key_of.index)
    if unknown or len(stored) != len(dataset):
        raise DataError(
            f"{path}: split manifest does not match the data set ({len(unknown)} ids not in the data, "
            f"{len(stored)} rows for {len(dataset)} images); delete it to re-make it"
        )
    return stored.assign(key=key_of[stored["id"]].to_numpy())[MANIFEST_COLUMNS]


def stored_manifest(dataset: Dataset, path: Path) -> pd.DataFrame:
    """The manifest at `path`, checked against the data set (migrated first if keyed by Kaggle file name);
    made and saved when there is none."""
    if not path.exists():
        manifest = make_manifest(dataset)
    else:
        manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "key" in manifest:
            missing, extra = set(dataset.keys) - set(manifest["key"]), set(manifest["key"]) - set(dataset.keys)
            if missing or extra or len(manifest) != len(dataset):
                raise DataError(
                    f"{path}: split manifest does not match the data set ({len(missing)} images not in "
                    f"it, {len(extra)} keys not in the data); delete it to re-make it"
                )
            return manifest
        manifest = migrate_manifest(manifest, dataset, path)
        sizes = manifest["split"].value_counts()
        print(
            f"{path}: split manifest migrated from Kaggle file names to content keys, membership unchanged "
            f"({', '.join(f'{sizes.get(s, 0):,} {s}' for s in config.SPLITS)})",
            file=sys.stderr,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(path, index=False)
    return manifest


@dataclass
class Subset:
    """Images of one split: uint8 (N,48,48), labels, ids, the source part, content keys and, on the test
    subset of :func:`load_split`, ``leak_free`` (True where the image has no copy in train or val)."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    parts: np.ndarray
    keys: np.ndarray | None = None  # computed from the content when not given
    leak_free: np.ndarray | None = None

    def __post_init__(self):
        if self.keys is None:
            self.keys = content_keys(self.images, self.labels, self.parts)

    def __len__(self) -> int:
        return len(self.labels)

    def x(self) -> np.ndarray:
        """float32 (N,48,48,1) scaled to [0,1]: what every model takes."""
        return (self.images.astype(np.float32) / 255.0)[..., None]

    def take(self, rows) -> Subset:
        """The images at `rows` (indices or a bool mask), every field with them."""
        leak_free = None if self.leak_free is None else self.leak_free[rows]
        return Subset(
            self.images[rows], self.labels[rows], self.ids[rows], self.parts[rows], self.keys[rows], leak_free
        )

    def without(self, names) -> Subset:
        """All images but those named in `names` (ids or content keys)."""
        names = np.asarray(list(names), dtype=str)
        return self.take(~(np.isin(self.ids, names) | np.isin(self.keys, names)))


@dataclass
class Split:
    train: Subset
    val: Subset
    test: Subset
    source: str  # "FER-2013" or "synthetic"
    profile: str
    leakage: dict | None = None  # what load_split found and removed (see leakage_masks)

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    def summary(self) -> dict:
        def counts(subset):
            return {name: int((subset.labels == i).sum()) for i, name in enumerate(config.CLASSES)}

        summary = {
            "source": self.source,
            "profile": self.profile,
            "classes": list(config.CLASSES),
            "sizes": {name: len(getattr(self, name)) for name in config.SPLITS},
            "test_parts": {p: int((self.test.parts == p).sum()) for p in ("PublicTest", "PrivateTest")},
            "class_counts": {name: counts(getattr(self, name)) for name in config.SPLITS},
        }
        return summary if self.leakage is None else {**summary, "leakage": self.leakage}


def manifest_path(profile: config.Profile) -> Path:
    return profile.artifacts_dir / "split.csv"


def load_manifest(dataset: Dataset, profile: config.Profile, synthetic: bool = False) -> pd.DataFrame:
    """The split manifest of `profile`, saved as <artifacts>/split.csv.

    The full profile's manifest is kept once made (and checked); the smoke profile keeps a stratified
    subset of it; synthetic data is small already and gets a fresh manifest.
    """
    path = manifest_path(profile)
    if profile.subset_fraction is None and not synthetic:
        return stored_manifest(dataset, path)
    manifest = make_manifest(dataset)
    full = manifest_path(config.PROFILES["full"])
    if not synthetic:
        base = stored_manifest(dataset, full) if full.exists() else manifest
        manifest = subset_manifest(base, profile.subset_fraction)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(path, index=False)
    return manifest


def leakage_masks(pairs: np.ndarray, members: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Bool masks over the data set's `n` rows from copy `pairs` (i, j, bits) and the rows of each split:
    train images copying a test image, val images copying a test image, val images copying no test image
    but an image that stays in train, and the test images with no copy in train or val ("leak_free")."""
    split = {name: np.isin(np.arange(n), rows) for name, rows in members.items()}
    train_test = duplicates.has_copy(pairs, split["train"], split["test"])
    val_test = duplicates.has_copy(pairs, split["val"], split["test"])
    val_train = duplicates.has_copy(pairs, split["val"] & ~val_test, split["train"] & ~train_test)
    leaked = duplicates.has_copy(pairs, split["test"], split["train"] | split["val"])
    return {
        "train_copies_of_test": train_test,
        "val_copies_of_test": val_test,
        "val_copies_of_train": val_train,
        "test_leak_free": split["test"] & ~leaked,
    }


def load_split(profile: str | config.Profile = "full", path: Path | None = None, leakage: str = "removed") -> Split:
    """Train / val / test for a profile, with copies of test images removed from train and val unless
    ``leakage="kept"``. Without a data set the smoke profile uses synthetic faces (and says so)."""
    if leakage not in LEAKAGE:
        raise ValueError(f"leakage={leakage!r}; choose one of {LEAKAGE}")
    profile = config.get_profile(profile) if isinstance(profile, str) else profile
    try:
        source_path = Path(path) if path else locate()
        checksum = fingerprint(source_path)
        dataset, source = load_dataset(source_path, checksum), "FER-2013"
    except DataNotFound:
        if profile.subset_fraction is None:  # the book's numbers (full, verify) need the real data
            raise
        print("No FER-2013 data set found: the smoke profile runs on synthetic faces.", file=sys.stderr)
        dataset, source, checksum = synthetic.make_dataset(), "synthetic", None
    manifest = load_manifest(dataset, profile, synthetic=source == "synthetic")
    row_of = pd.Series(np.arange(len(dataset)), index=dataset.keys)
    members = {name: row_of[manifest.loc[manifest["split"] == name, "key"]].to_numpy() for name in config.SPLITS}
    masks = leakage_masks(np.concatenate(duplicates.dataset_pairs(dataset, checksum)), members, len(dataset))
    report = {"removed": leakage == "removed", **{name: int(mask.sum()) for name, mask in masks.items()}}
    if leakage == "removed":
        drop = masks["train_copies_of_test"] | masks["val_copies_of_test"] | masks["val_copies_of_train"]
        members = {name: rows[~drop[rows]] for name, rows in members.items()}

    def subset(name):
        rows = members[name]
        return Subset(
            dataset.images[rows],
            dataset.labels[rows],
            dataset.ids[rows],
            dataset.parts[rows],
            dataset.keys[rows],
            masks["test_leak_free"][rows] if name == "test" else None,
        )

    return Split(subset("train"), subset("val"), subset("test"), source, profile.name, report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.dataset.data", description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true", help="print split sizes, class counts and leakage as JSON")
    parser.add_argument("--locate", action="store_true", help="print the data set's path")
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--path", type=Path, help=f"data set path (default: ${config.DATA_ENV} or data/)")
    parser.add_argument(
        "--leakage",
        default="removed",
        choices=LEAKAGE,
        help="remove copies of test images from train and val (default) or keep them",
    )
    args = parser.parse_args(argv)
    try:
        if args.locate:
            print(args.path or locate())
        else:
            split = load_split(args.profile, args.path, args.leakage)
            print(json.dumps(split.summary(), indent=2))
    except (DataNotFound, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
