"""The book's verdicts on the study's claims: one record per claim, computed from repeated, paired runs.

    claim = comparisons.Claim(size=0.04)            # "B is at least 4 points above A"
    record = comparisons.assess("outliers", "Removing autoencoder outliers gives +4 points",
                                ("all images", "outliers removed"), correct, claim, leak_free=split.test.leak_free)
    comparisons.save(record, profile); comparisons.table(comparisons.load(profile))

`correct[arm][seed]` is the per-image correctness (bool) of the run of `arm` trained with `seed`, on the
same test images in the same order (`metrics.correct`); an arm's accuracy at a seed is its mean. The book's
rule: a claimed difference rests on at least three seeds per arm and a paired test.

The interval (`ci95`) carries both the seed-to-seed variance of training and the test images' sampling noise
(`intervals.two_level_t`); the verdict is read from it. Beside it: the two-level bootstrap (`ci95_bootstrap`,
seeds and images resampled) and the Student-t interval over the seeds alone (`ci95_seeds`). The paired test of
a difference is an exact McNemar test per seed (`p_values`; `p_value` is the largest of them: every seed's test is
at least that significant); the seeds' predictions on the same images are never pooled into one test. A level
claim ("reaches 64 %") bootstraps the arm's accuracy against the level and tests its seed accuracies with a
one-sample t-test. An equivalence claim ("B does as well as A", within ±margin) reads the 90 % interval of the same
two-level kind (`ci90`) and is tested by two one-sided t-tests. Macro-F1, which is not a mean over images, gets the
same two parts in `claims.judge` (`intervals.macro_f1_spread`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .. import chapters, config
from ..results import to_jsonable, write_atomic
from . import intervals

MIN_SEEDS = 3
VERDICTS = ("holds", "refuted", "inconclusive")


@dataclass(frozen=True)
class Claim:
    """What was claimed, in accuracy units.

    direction: +1 when arm B is claimed above arm A (or the arm above `level`), −1 when below;
    size: the claimed difference, at least this much (0.04 = "+4 points"); 0 when only the direction is claimed;
    level: for a claim about one arm's accuracy ("the U-Net reaches 64 %": level=0.64, size 0);
    margin: for a claim of equivalence ("B does as well as A": B − A within ±margin, stated before the runs).
    """

    direction: int = 1
    size: float = 0.0
    level: float | None = None
    margin: float | None = None

    def __post_init__(self):
        if self.direction not in (1, -1):
            raise ValueError(f"Claim direction must be +1 or -1, not {self.direction!r}")
        if not 0 <= self.size < 1:
            raise ValueError(f"Claim size is a non-negative accuracy difference below 1, not {self.size!r}")
        if self.level is not None and (not 0 < self.level < 1 or self.size):
            raise ValueError(
                f"a level claim takes a level in (0, 1) and no size, not level={self.level!r}, size={self.size!r}"
            )
        if self.margin is not None and (not 0 < self.margin < 1 or self.size or self.level is not None):
            raise ValueError(f"an equivalence claim takes a margin in (0, 1) and no size or level, not {self!r}")


def verdict(ci, claimed: Claim) -> str:
    """'holds', 'refuted' or 'inconclusive', read from a 95 % interval of the claimed quantity (a saved record's
    verdict is `verdict(record["ci95"], Claim(**record["claimed"]))`).

    The interval [lo, hi] is of B − A for a two-arm claim and of accuracy − level for a level claim; it is first
    turned to the claimed direction (multiplied by −1 for a claim of "below", bounds swapped). With δ the claimed
    size (0 when only a direction is claimed, and for level claims):
    - holds when lo > 0 (the interval excludes 0, on the claimed side) and hi ≥ δ (the claimed size is not ruled
      out); for "B is better than A" that is lo > 0; for "reaches 64 %" it is: the whole interval lies above 64 %;
    - refuted when hi < δ: every value the interval allows is below the claimed size; for a claim of "no
      smaller than δ" the upper bound is below δ (a real gain smaller than claimed is refuted too); for "B is
      better than A", hi < 0 (B is worse); for "reaches 64 %", the whole interval lies below 64 %;
    - inconclusive otherwise: the interval holds 0 (or the level) and values of the claimed size.
    An equivalence claim (`margin`) reads its 90 % interval (two one-sided tests at 5 % each): it holds inside
    ±margin, is refuted wholly outside, and is inconclusive otherwise.
    """
    if claimed.margin is not None:
        lo, hi = ci
        if -claimed.margin < lo and hi < claimed.margin:
            return "holds"
        return "refuted" if hi <= -claimed.margin or lo >= claimed.margin else "inconclusive"
    lo, hi = sorted(claimed.direction * np.asarray(ci, dtype=float))
    if hi < claimed.size:
        return "refuted"
    return "holds" if lo > 0 else "inconclusive"


def read(spread: intervals.Spread, claimed: Claim) -> dict:
    """What a claim reads from the `spread` of its quantity: "ci95", for an equivalence claim "ci90" too, and the
    "verdict" (`verdict`) from the 90 % interval for equivalence, from the 95 % one otherwise."""
    ci = {"ci95": spread.interval()} | ({"ci90": spread.interval(0.90)} if claimed.margin is not None else {})
    return ci | {"verdict": verdict(ci.get("ci90", ci["ci95"]), claimed)}


def statistics(arms: tuple[str, ...], correct: dict[str, np.ndarray], claimed: Claim) -> dict:
    """Accuracies, per-seed differences, interval, test and verdict for (seeds × images) correctness per arm."""
    accuracies = {arm: correct[arm].mean(axis=1) for arm in arms}
    if claimed.level is None:
        differences = accuracies[arms[1]] - accuracies[arms[0]]
        per_image = correct[arms[1]].astype(float) - correct[arms[0]]
    else:
        differences = accuracies[arms[0]] - claimed.level
        per_image = correct[arms[0]] - claimed.level
    spread = intervals.two_level_spread(per_image)
    p_values = None
    if claimed.level is not None:
        p_value, test = float(stats.ttest_1samp(accuracies[arms[0]], claimed.level).pvalue), "one-sample t"
    elif claimed.margin is not None:  # equivalence: the 90 % interval against the margin, two one-sided tests
        p_value, test = spread.equivalence_p(claimed.margin), "two one-sided t, two-level"
    else:
        p_values = intervals.mcnemar_per_seed(correct[arms[0]], correct[arms[1]])
        p_value, test = max(p_values), "McNemar per seed (largest p)"
    return {
        "n": int(next(iter(correct.values())).shape[1]),
        "accuracies": {arm: acc.tolist() for arm, acc in accuracies.items()},
        "mean": {arm: float(acc.mean()) for arm, acc in accuracies.items()},
        "sd": {arm: float(acc.std(ddof=1)) for arm, acc in accuracies.items()},
        "differences": differences.tolist(),
        "mean_difference": float(differences.mean()),
        **read(spread, claimed),
        "interval_method": intervals.TWO_LEVEL,
        "ci95_bootstrap": intervals.two_level(per_image),
        "ci95_seeds": intervals.t_interval(differences),
        "p_value": p_value,
        "p_values": p_values,
        "test": test,
    }


def stacked(claim_id: str, arms: tuple[str, ...], correct: dict) -> tuple[list, dict[str, np.ndarray]]:
    """The common seeds and, per arm, its correctness as a bool (seeds × images) array; bad input raises."""
    missing = [arm for arm in arms if arm not in correct]
    if missing:
        raise ValueError(f"claim {claim_id!r}: no runs for arm(s) {missing}; runs given for {sorted(correct)}")
    seeds = sorted(correct[arms[0]])
    for arm in arms:
        if sorted(correct[arm]) != seeds:
            raise ValueError(
                f"claim {claim_id!r}: arms are paired by seed, but {arms[0]!r} has seeds {seeds} "
                f"and {arm!r} has {sorted(correct[arm])}"
            )
        if len(correct[arm]) < MIN_SEEDS:
            raise ValueError(
                f"claim {claim_id!r}: arm {arm!r} has {len(correct[arm])} seed(s); a claim rests on "
                f"at least {MIN_SEEDS} seeds per arm"
            )
    runs = {(arm, s): np.asarray(correct[arm][s]) for arm in arms for s in seeds}
    found = sorted({f"{v.dtype}{list(v.shape)}" for v in runs.values()})
    if len(found) > 1 or any(v.dtype != bool or v.ndim != 1 for v in runs.values()):
        raise ValueError(
            f"claim {claim_id!r}: every run needs one bool per test image, the same images for all; got {found}"
        )
    return seeds, {arm: np.stack([runs[arm, s] for s in seeds]) for arm in arms}


def assess(
    claim_id: str,
    claim: str,
    arms: tuple[str, ...],
    correct: dict[str, dict[int, np.ndarray]],
    claimed: Claim,
    leak_free: np.ndarray | None = None,
) -> dict:
    """The record of one claim: arms (A, B) or (arm,) for a level claim; `correct[arm][seed]` bool per test image.

    With `leak_free` (a bool mask over the test images), the same statistics on the leak-free images are
    added under "leak_free", and on the others, those with a copy in training or validation, under "copied".
    """
    arms, expected = tuple(arms), 1 if claimed.level is not None else 2
    if len(arms) != expected:
        raise ValueError(f"claim {claim_id!r}: this claim takes {expected} arm(s), got {arms}")
    seeds, arrays = stacked(claim_id, arms, correct)
    record = {
        "claim_id": claim_id,
        "claim": claim,
        "arms": list(arms),
        "seeds": [int(s) for s in seeds],
        "claimed": asdict(claimed),
        **statistics(arms, arrays, claimed),
    }
    if leak_free is not None:
        mask = np.asarray(leak_free)
        if mask.dtype != bool or mask.shape != (record["n"],) or not mask.any():
            raise ValueError(
                f"claim {claim_id!r}: leak_free must be a bool mask over the {record['n']} test images "
                f"with at least one True, got {mask.dtype} of shape {mask.shape}"
            )
        record["leak_free"] = statistics(arms, {arm: a[:, mask] for arm, a in arrays.items()}, claimed)
        if (~mask).sum() > 1:  # the test images with a copy in training or validation: where leakage can show
            record["copied"] = statistics(arms, {arm: a[:, ~mask] for arm, a in arrays.items()}, claimed)
    return record


def path(profile: config.Profile) -> Path:
    return profile.results_dir / "comparisons.json"


def load(profile: config.Profile) -> dict[str, dict]:
    """Every saved record, {claim_id: record}, from <results>/comparisons.json."""
    file = path(profile)
    if not file.exists():
        raise FileNotFoundError(f"{file} not found: run the chapters that assess the study's claims first")
    try:
        records = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{file}: not valid JSON ({error})") from error
    keyed = isinstance(records, dict) and all(
        isinstance(r, dict) and r.get("claim_id") == key for key, r in records.items()
    )
    if not keyed:
        raise ValueError(f"{file}: expected an object of records keyed by their claim_id")
    return records


def save(record: dict, profile: config.Profile) -> Path:
    """Insert or replace `record` (by its claim_id) in <results>/comparisons.json."""
    file = path(profile)
    records = load(profile) if file.exists() else {}
    records[record["claim_id"]] = to_jsonable(record)
    return write_atomic(file, json.dumps(records, indent=2) + "\n")


# the book's claims by id, and the chapter that measures each (notebooks/<chapter>.ipynb)
def pending(records) -> list[str]:
    """The ids of the book's claims (`chapters.claims`) that have no record yet, in chapter order."""
    return [claim_id for claim_id in chapters.claims() if claim_id not in records]


def table(records) -> pd.DataFrame:
    """One row per record ({claim_id: record} or a list): claim, arms, mean and sd per arm, difference with its
    interval, p, verdict (and the leak-free difference and verdict where computed). Numbers stay numeric."""
    rows = []
    for r in records.values() if isinstance(records, dict) else records:
        (a, b), level = (r["arms"] + [None])[:2], r["claimed"]["level"]
        row = {
            "claim_id": r["claim_id"],
            "claim": r["claim"],
            "arm A": a,
            "arm B": b,
            "level": np.nan if level is None else level,
            "seeds": len(r["seeds"]),
            "mean A": r["mean"][a],
            "sd A": r["sd"][a],
            "mean B": r["mean"].get(b, np.nan),
            "sd B": r["sd"].get(b, np.nan),
            "difference": r["mean_difference"],
            "ci low": r["ci95"][0],
            "ci high": r["ci95"][1],
            "p": r["p_value"],
            "test": r["test"],
            "verdict": r["verdict"],
        }
        if "leak_free" in r:
            free = r["leak_free"]
            row |= {
                "leak-free difference": free["mean_difference"],
                "leak-free ci low": free["ci95"][0],
                "leak-free ci high": free["ci95"][1],
                "leak-free verdict": free["verdict"],
            }
        rows.append(row)
    return pd.DataFrame(rows).set_index("claim_id")
