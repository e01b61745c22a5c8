"""Copies of one image: the hashes that find them and the pairs they form (one implementation, used by
the audit and by :func:`data.load_split` to keep copies of test images out of training).

    hashes = measure(images)                     # SHA-1 of pixels, 64-bit perceptual hash, blank flag
    exact, near = pairs(hashes)                  # (i, j, bits) rows, i < j
    exact, near = dataset_pairs(dataset, fingerprint)   # the same for a whole data set, cached in data/cache/
    has_copy(pairs, among, within)               # images of `among` with a copy in `within`

- *exact duplicate*: identical pixel bytes (SHA-1 of the 48x48 uint8 array);
- *near duplicate*: perceptual hash (``imagehash.phash``, 64 bits) at most :data:`NEAR_MAX_BITS` bits
  apart, pixels not identical. A near duplicate is a *pair* within the threshold: pairs do not chain;
- *blank*: pixel standard deviation below :data:`BLANK_MAX_STD` grey levels. Blank images are left out
  of both kinds of pairs (they are identical to each other and flagged as blank instead).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import imagehash
import numpy as np
import pandas as pd
from PIL import Image

from .. import config
from ..results import atomic

BLANK_MAX_STD = 5.0  # grey levels (0..255)
NEAR_MAX_BITS = 4  # of 64 phash bits


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
        block = hamming(hashes[start : start + chunk, None], hashes[None, start:])
        i, j = np.nonzero(block <= max_bits)
        keep = j > i  # j is offset by `start`, as i is
        found.append(np.stack([i[keep] + start, j[keep] + start, block[i[keep], j[keep]]], axis=1))
    return np.concatenate(found).astype(np.int64)


@dataclass
class Hashes:
    """Per image: SHA-1 of the pixels, the 64-bit perceptual hash and whether it is blank."""

    sha1: np.ndarray
    phash: np.ndarray
    blank: np.ndarray


def measure(images: np.ndarray, blank_max_std: float = BLANK_MAX_STD) -> Hashes:
    return Hashes(pixel_hashes(images), perceptual_hashes(images), blank_mask(images, blank_max_std))


def pairs(hashes: Hashes, near_max_bits: int = NEAR_MAX_BITS) -> tuple[np.ndarray, np.ndarray]:
    """Exact and near-duplicate pairs (i, j, bits), i < j, among the non-blank images."""
    codes = pd.Series(hashes.sha1).where(~hashes.blank).factorize()[0]  # blank -> -1
    exact = []
    for code in np.flatnonzero(np.bincount(codes[codes >= 0]) > 1):
        members = np.flatnonzero(codes == code)
        exact += [(a, b, 0) for k, a in enumerate(members) for b in members[k + 1 :]]
    exact = np.array(exact, np.int64).reshape(-1, 3)
    near = close_pairs(hashes.phash, near_max_bits)
    i, j = near[:, 0], near[:, 1]
    return exact, near[(codes[i] != codes[j]) & ~hashes.blank[i] & ~hashes.blank[j]]


def dataset_pairs(dataset, fingerprint: str | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pairs` of a whole data set, in its row order, cached in data/cache/ by the source's checksum
    (`fingerprint`; None computes without a cache, for synthetic data)."""
    cache = config.CACHE_DIR / f"pairs-{fingerprint}-{NEAR_MAX_BITS}bits.npz"
    if fingerprint and cache.exists():
        with np.load(cache) as stored:
            return stored["exact"], stored["near"]
    exact, near = pairs(measure(dataset.images))
    if fingerprint:
        with atomic(cache) as partial:
            np.savez(partial, exact=exact, near=near)
    return exact, near


def has_copy(found: np.ndarray, among: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Bool per image: in `among` (bool mask) and one of `found` pairs joins it to an image in `within`."""
    a, b = np.asarray(found, np.int64).reshape(-1, 3)[:, :2].T
    out = np.zeros(len(among), bool)
    out[a[among[a] & within[b]]] = True
    out[b[among[b] & within[a]]] = True
    return out
