"""Hashes and copy pairs: perceptual-hash distances, the pair search, blank images, the copy mask."""

import numpy as np
from helpers import smooth_images

from fer_helpers.dataset import duplicates


def test_phash_distance_separates_copies_from_other_images():
    base = smooth_images(40)
    hashes = duplicates.perceptual_hashes(base)
    shifted = duplicates.perceptual_hashes(np.clip(base[:1].astype(int) + 10, 0, 255).astype(np.uint8))
    assert duplicates.hamming(hashes[0], shifted[0]) <= duplicates.NEAR_MAX_BITS
    others = duplicates.hamming(hashes[0], hashes[1:])
    assert others.min() > 3 * duplicates.NEAR_MAX_BITS
    assert duplicates.blank_mask(base).sum() == 0


def test_close_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 300, dtype=np.uint64)
    hashes[10] = hashes[3] ^ np.uint64(0b101)  # 2 bits apart
    hashes[200] = hashes[3]
    found = {tuple(p) for p in duplicates.close_pairs(hashes, 4, chunk=64)}
    brute = {
        (i, j, int(bin(int(hashes[i]) ^ int(hashes[j])).count("1")))
        for i in range(300)
        for j in range(i + 1, 300)
        if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 4
    }
    assert found == brute and (3, 10, 2) in found and (3, 200, 0) in found


def test_pairs_split_exact_from_near_and_leave_blank_images_out():
    images = smooth_images(6)
    images[1] = images[0]  # exact
    images[2] = np.clip(images[3].astype(int) + 6, 0, 255)  # near
    images[4] = images[5] = 0  # blank, identical
    exact, near = duplicates.pairs(duplicates.measure(images))
    assert exact.tolist() == [[0, 1, 0]]
    assert near[:, :2].tolist() == [[2, 3]] and near[0, 2] <= duplicates.NEAR_MAX_BITS


def test_has_copy_is_directional_and_uses_pairs_only():
    pairs = np.array([[0, 1, 0], [1, 2, 3], [3, 4, 1]])
    among, within = np.array([True, False, True, False, True]), np.array([False, True, False, True, False])
    assert duplicates.has_copy(pairs, among, within).tolist() == [True, False, True, False, True]
    assert duplicates.has_copy(pairs, within, among).tolist() == [False, True, False, True, False]
    assert not duplicates.has_copy(pairs[:0], among, within).any()
