"""The book's declared claims (`specs.ClaimSpec`) judged from their arms' runs, with the budget rule.

    record = claims.judge(spec, trials, split.test)   # trials: {arm label: experiments.Trial}

The verdict word is one of `WORDS`:
- holds, refuted, inconclusive: read from the claim's 95 % interval (`comparisons.verdict`; for an equivalence
  claim, from the 90 % interval against the margin, `equivalence_verdict`);
- budget-limited: the word more training could change (refuted, inconclusive) was checked with one seed per arm
  at twice the epochs (`specs.Arm.doubled`), and the doubled runs gave another word;
- not tested: the claim's arms are not the model the claim is about (`ClaimSpec.stand_in` says why).
The record keeps each arm's parameter count ("params") and the keys of the runs it was judged from ("runs"), the
budget, and where the rule applied the doubled budget, the word at it and what the doubled runs measured
("at_doubled").
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .. import chapters, specs
from . import comparisons, intervals

WORDS = ("holds", "refuted", "inconclusive", "budget-limited", "not tested")
CHANGEABLE = ("refuted", "inconclusive")  # words more training could change


def equivalence_verdict(ci90, margin: float) -> str:
    """Two one-sided tests at 5 % each, read from the 90 % interval of B − A: 'holds' when it lies within ±margin
    (the arms are equivalent), 'refuted' when it lies wholly outside, 'inconclusive' otherwise."""
    lo, hi = ci90
    if -margin < lo and hi < margin:
        return "holds"
    return "refuted" if hi <= -margin or lo >= margin else "inconclusive"


def seed_values(trials: list, metric: str) -> dict[int, float]:
    """{seed: the test metric of that seed's trial} ("accuracy" or "macro_f1")."""
    return {int(t.run.seed): float(t.result[metric]) for t in trials}


def by_seed_metric(spec, trials: dict[str, list], labels: tuple[str, ...]) -> dict:
    """The record of a macro-F1 difference or an equivalence claim: per-seed values of the two arms, a paired
    t-interval over seeds (the 90 % one against the margin for equivalence) and a paired t-test."""
    values = {label: seed_values(trials[label], spec.metric) for label in labels}
    seeds = sorted(values[labels[0]])
    if sorted(values[labels[1]]) != seeds or len(seeds) < comparisons.MIN_SEEDS:
        raise ValueError(f"claim {spec.id!r}: arms are paired by seed, at least {comparisons.MIN_SEEDS}: {values}")
    a, b = (np.array([values[label][seed] for seed in seeds]) for label in labels)
    differences = b - a
    ci = intervals.t_interval(differences)
    if spec.kind == "equivalence":
        extra = {"ci90": intervals.t_interval(differences, level=0.90)}
        word, test = equivalence_verdict(extra["ci90"], spec.margin), "two one-sided t"
    else:
        extra, word, test = {}, comparisons.verdict(ci, comparisons.Claim(size=spec.size)), "paired t over seeds"
    return {
        "claim_id": spec.id,
        "claim": spec.text,
        "arms": list(labels),
        "seeds": seeds,
        "claimed": {"direction": 1, "size": spec.size, "level": None, "margin": spec.margin},
        "n": len(trials[labels[0]][0].correct),
        "accuracies": {label: [values[label][seed] for seed in seeds] for label in labels},
        "mean": {label: float(np.mean(list(values[label].values()))) for label in labels},
        "sd": {label: float(np.std(list(values[label].values()), ddof=1)) for label in labels},
        "differences": differences.tolist(),
        "mean_difference": float(differences.mean()),
        "ci95": ci,
        "interval_method": "Student t over seeds",
        **extra,
        "p_value": float(stats.ttest_rel(b, a).pvalue),
        "test": test,
        "verdict": word,
    }


def at_doubled_budget(spec, trials: dict[str, list], labels: np.ndarray) -> dict | None:
    """What the doubled-budget runs (one seed per arm) measure, or None where they are not among `trials`: the
    arms' test metric ("mean", keyed by the claim's arm labels), "mean_difference" and "ci95" (B − A, or accuracy −
    level, as in the claim's record) and the "verdict". With one seed per arm, the interval is the test images'
    sampling noise of that pair (`labels`: the test labels), by a paired bootstrap for macro-F1."""
    doubled = [chapters.arm(name).doubled().label for name in spec.arms]
    if not all(label in trials for label in doubled):
        return None
    runs = [trials[label][0] for label in doubled]
    mean = {chapters.arm(name).label: float(r.result[spec.metric]) for name, r in zip(spec.arms, runs, strict=True)}
    if spec.kind == "level":
        scores = runs[0].correct[None, :].astype(float) - spec.level
        ci = intervals.two_level_t(scores)
        word = comparisons.verdict(ci, comparisons.Claim(level=spec.level))
        return {"mean": mean, "mean_difference": float(scores.mean()), "ci95": list(ci), "verdict": word}
    if spec.metric == "macro_f1":
        ci = intervals.macro_f1_difference(labels, runs[0].predicted, runs[1].predicted)
    else:
        paired = (runs[1].correct.astype(float) - runs[0].correct)[None, :]
        ci = intervals.two_level_t(paired, level=0.90 if spec.kind == "equivalence" else 0.95)
    if spec.kind == "equivalence":
        word = equivalence_verdict(ci, spec.margin)
    else:
        word = comparisons.verdict(ci, comparisons.Claim(size=spec.size))
    a, b = mean.values()
    return {"mean": mean, "mean_difference": b - a, "ci95": list(ci), "verdict": word}


def judge(spec, trials: dict[str, list], test) -> dict:
    """The record of a declared claim from its arms' trials ({arm label: trials}, the doubled-budget arms among
    them where trained) on the `test` subset: accuracy claims of kind level and difference are
    `comparisons.assess`ed (paired by image and seed, and on the leak-free images); macro-F1 and equivalence claims
    by seed (`by_seed_metric`). Then the budget rule (module doc)."""
    leak_free = test.leak_free
    labels = tuple(chapters.arm(name).label for name in spec.arms)
    if spec.metric == "accuracy" and spec.kind != "equivalence":
        claimed = comparisons.Claim(level=spec.level) if spec.kind == "level" else comparisons.Claim(size=spec.size)
        correct = {label: {int(t.run.seed): t.correct for t in trials[label]} for label in labels}
        record = comparisons.assess(spec.id, spec.text, labels, correct, claimed, leak_free=leak_free)
    else:
        record = by_seed_metric(spec, trials, labels)
    budget = trials[labels[0]][0].run.epochs
    params = {label: int(trials[label][0].run.params) for label in labels}
    judged_from = {label: [t.run.key for t in trials[label]] for label in labels}
    record = {
        "kind": spec.kind,
        "metric": spec.metric,
        **record,
        "params": params,
        "runs": judged_from,
        "budget": budget,
    }
    word = record["verdict"]
    if spec.stand_in:
        record |= {"verdict": "not tested", "verdict_as_measured": word, "stand_in": spec.stand_in}
    elif word in CHANGEABLE:
        doubled = at_doubled_budget(spec, trials, test.labels)
        record["doubled_budget"] = 2 * budget
        if doubled is None:
            record["verdict_at_doubled"] = "not trained yet"
        else:
            record |= {"verdict_at_doubled": doubled["verdict"], "at_doubled": doubled}
            if doubled["verdict"] != word:
                record |= {"verdict": "budget-limited", "verdict_at_budget": word}
    return record


def judge_chapter(chapter: specs.Chapter, trials: dict[str, list], test, profile) -> dict:
    """{claim id: record} of every claim `chapter` declares (`judge`), each saved to results/comparisons.json."""
    records = {spec.id: judge(spec, trials, test) for spec in chapter.claims}
    for record in records.values():
        comparisons.save(record, profile)
    return records
