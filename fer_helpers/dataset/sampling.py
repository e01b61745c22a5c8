"""Which images a chapter looks at: one seeded draw, per class, with preferences.

    pool = choose(split.test.labels, 250)                        # up to 250 test images per class
    shown = choose(labels, 1, prefer=[right_for_all, right_for_one])  # one per class, best-explained first
    examples = choose(None, 3, where=correct)                    # 3 among the correct ones, classes ignored

It is its own module because both statistics (the images behind chapter 7's share tables and
sanity check) and figures (`grids.samples_per_class`) draw with it; neither should own the other.
"""

from __future__ import annotations

import numpy as np

from .. import config


def choose(labels, n: int, where=None, prefer=(), seed: int = config.SEED) -> np.ndarray:
    """Indices of up to `n` images of every class (of all images when `labels` is None), seeded.

    Only images where `where` is true take part. Each mask of `prefer` is a tier tried in order:
    a class's images are drawn from the first tier until it runs out, then from the next, then
    from the rest. The result is sorted by class, then by index. Every class draws from its own
    generator (seeded by `seed` and the class), so a class's images do not depend on the others'.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if labels is None and where is None:
        raise ValueError("choose needs labels or a `where` mask to know how many images there are")
    groups = np.zeros(len(where), int) if labels is None else np.asarray(labels, int)
    allowed = np.ones(len(groups), bool) if where is None else np.asarray(where, bool)
    tiers = [np.asarray(mask, bool) for mask in prefer] + [np.ones(len(groups), bool)]
    for mask in [allowed, *tiers]:
        if mask.shape != groups.shape:
            raise ValueError(f"masks must have one entry per image ({len(groups)}), got shape {mask.shape}")
    chosen = []
    for group in np.unique(groups):
        rng = np.random.default_rng([seed, int(group)])
        left = (groups == group) & allowed
        picked = []
        for tier in tiers:
            members = np.flatnonzero(left & tier)
            take = min(n - len(picked), len(members))
            picked.extend(rng.choice(members, take, replace=False))
            left[members] = False
        chosen.append(np.sort(np.asarray(picked, int)))
    return np.concatenate(chosen).astype(int) if chosen else np.zeros(0, int)
