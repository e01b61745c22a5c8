"""The data an arm trains on (`specs.DATA_VARIANTS`), and a key of its content.

    split, train = variants.load("pipeline", split, profile)   # validate on split.val, train on `train`
    variants.key("denoised", split, profile)                   # what the run store keys it by

Every variant validates and tests on the book's split (the denoised one on its denoised images). The key of a
variant is a digest of the training and validation images, labels and order it trains on; the denoised
variant's is the pipeline's key with the denoising settings (computing it would cost the denoising itself).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from .. import config
from ..dataset import data
from ..dataset.data import Split, Subset
from ..specs import DATA_VARIANTS
from . import denoise, outliers

OVERFIT_IMAGES = 1000  # the "1,000 training images" variant


def _check(variant: str) -> None:
    if variant not in DATA_VARIANTS:
        raise ValueError(f"unknown data variant {variant!r}; choose one of {list(DATA_VARIANTS)}")


def load(variant: str, split: Split, profile: config.Profile) -> tuple[Split, Subset]:
    """(the split to validate and test on, the training images) of `variant`."""
    _check(variant)
    if variant == "outliers kept":
        return split, split.train
    if variant == "1,000 training images":
        train = split.train.without(outliers.load_outlier_keys(profile))
        rows = np.random.default_rng(config.SEED).choice(len(train), min(OVERFIT_IMAGES, len(train)), replace=False)
        return split, train.take(np.sort(rows))
    drop = outliers.load_outlier_keys(profile)
    if variant == "leaks kept":
        return split, data.load_split(profile, leakage="kept").train.without(drop)
    if variant == "denoised":
        split = denoise.denoised(split, **denoise.pipeline_settings(profile))
    return split, split.train.without(drop)


def content_key(train: Subset, val: Subset) -> str:
    """A digest of what training sees: the training images, labels and order, and the validation images."""
    digest = hashlib.sha256()
    for subset in (train, val):
        digest.update(f"{subset.images.shape}".encode())
        digest.update(np.ascontiguousarray(subset.images).tobytes())
        digest.update(np.ascontiguousarray(subset.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def key(variant: str, split: Split, profile: config.Profile) -> str:
    """The content key of `variant` (see the module's docstring)."""
    _check(variant)
    if variant == "denoised":
        base = key("pipeline", split, profile)
        settings = json.dumps(denoise.pipeline_settings(profile), sort_keys=True)
        return hashlib.sha256(f"{base}|nl-means|{settings}".encode()).hexdigest()[:16]
    variant_split, train = load(variant, split, profile)
    return content_key(train, variant_split.val)
