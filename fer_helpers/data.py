"""The data set as the chapters see it: decoded once and cached, one seeded split manifest, profiles.

    split = load_split(profile)      # Split with train / val / test arrays and ids
    python -m fer_helpers.data --summary
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

from . import config, synthetic
from .sources import Dataset, DataError, DataNotFound, fingerprint, locate, read

SPLITS = ("train", "val", "test")


def load_dataset(path: Path | None = None) -> Dataset:
    """The whole data set, decoded once and cached in data/cache/ as .npz keyed by the source's checksum."""
    path = Path(path) if path else locate()
    cache = config.CACHE_DIR / f"fer2013-{fingerprint(path)}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            return Dataset(stored["images"], stored["labels"], stored["ids"], stored["parts"])
    dataset = read(path)
    config.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp.npz")
    np.savez(partial, images=dataset.images, labels=dataset.labels, ids=dataset.ids, parts=dataset.parts)
    partial.replace(cache)
    return dataset


def make_manifest(dataset: Dataset, seed: int = config.SEED) -> pd.DataFrame:
    """id -> split: a seeded, stratified 80/20 train/val split of Training; both test parts are test."""
    training = np.flatnonzero(dataset.parts == "Training")
    n_val = int(config.VAL_FRACTION * len(training))
    train_idx, val_idx = train_test_split(
        training, test_size=n_val, stratify=dataset.labels[training], random_state=seed
    )
    split = np.full(len(dataset), "test", dtype=object)
    split[train_idx] = "train"
    split[val_idx] = "val"
    return pd.DataFrame(
        {"id": dataset.ids, "part": dataset.parts, "label": [config.CLASSES[i] for i in dataset.labels], "split": split}
    )


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


@dataclass
class Subset:
    """Images of one split: uint8 (N,48,48), labels, ids and the source part."""

    images: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    parts: np.ndarray
    leak_free: np.ndarray | None = None  # test images with no exact or near copy in train or val (data helper)

    def __len__(self) -> int:
        return len(self.labels)

    def x(self) -> np.ndarray:
        """float32 (N,48,48,1) scaled to [0,1]: what every model takes."""
        return (self.images.astype(np.float32) / 255.0)[..., None]

    def without(self, ids) -> "Subset":
        keep = ~np.isin(self.ids, np.asarray(list(ids), dtype=str))
        return Subset(self.images[keep], self.labels[keep], self.ids[keep], self.parts[keep])


@dataclass
class Split:
    train: Subset
    val: Subset
    test: Subset
    source: str  # "FER-2013 (<path>)" or "synthetic"
    profile: str

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    def summary(self) -> dict:
        def counts(subset):
            return {name: int((subset.labels == i).sum()) for i, name in enumerate(config.CLASSES)}

        return {
            "source": self.source,
            "profile": self.profile,
            "classes": list(config.CLASSES),
            "sizes": {name: len(getattr(self, name)) for name in SPLITS},
            "test_parts": {p: int((self.test.parts == p).sum()) for p in ("PublicTest", "PrivateTest")},
            "class_counts": {name: counts(getattr(self, name)) for name in SPLITS},
        }


def manifest_path(profile: config.Profile) -> Path:
    return profile.artifacts_dir / "split.csv"


def load_manifest(dataset: Dataset, profile: config.Profile, synthetic: bool = False) -> pd.DataFrame:
    """The split manifest of `profile`, saved as <artifacts>/split.csv; a stored full manifest is checked.

    The smoke profile keeps a stratified subset of the real data; synthetic data is small already.
    """
    manifest = make_manifest(dataset)
    path = manifest_path(profile)
    if profile.subset_fraction is not None and not synthetic:
        manifest = subset_manifest(manifest, profile.subset_fraction)
    elif profile.subset_fraction is None and path.exists():
        stored = pd.read_csv(path, dtype=str)
        if list(stored["id"]) != list(manifest["id"]) or list(stored["split"]) != list(manifest["split"]):
            raise DataError(f"{path}: split manifest does not match the data set; delete it to re-make it")
        return manifest
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(path, index=False)
    return manifest


def load_split(profile: str | config.Profile = "full", path: Path | None = None) -> Split:
    """Train / val / test for a profile. Without a data set the smoke profile uses synthetic faces (and says so)."""
    profile = config.get_profile(profile) if isinstance(profile, str) else profile
    try:
        source_path = Path(path) if path else locate()
        dataset, source = load_dataset(source_path), f"FER-2013 ({source_path.name})"
    except DataNotFound:
        if profile.name == "full":
            raise
        print("No FER-2013 data set found: the smoke profile runs on synthetic faces.", file=sys.stderr)
        dataset, source = synthetic.make_dataset(), "synthetic"
    manifest = load_manifest(dataset, profile, synthetic=source == "synthetic")
    index = pd.Series(np.arange(len(dataset)), index=dataset.ids)

    def subset(name):
        rows = index[manifest.loc[manifest["split"] == name, "id"]].to_numpy()
        return Subset(dataset.images[rows], dataset.labels[rows], dataset.ids[rows], dataset.parts[rows])

    return Split(subset("train"), subset("val"), subset("test"), source, profile.name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.data", description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true", help="print split sizes and class counts as JSON")
    parser.add_argument("--locate", action="store_true", help="print the data set's path")
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--path", type=Path, help=f"data set path (default: ${config.DATA_ENV} or data/)")
    args = parser.parse_args(argv)
    try:
        if args.locate:
            print(args.path or locate())
        else:
            split = load_split(args.profile, args.path)
            print(json.dumps(split.summary(), indent=2))
    except (DataNotFound, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
