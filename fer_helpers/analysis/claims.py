"""The book's declared claims (`specs.ClaimSpec`) judged from their arms' runs, with the budget rule.

    record = claims.judge(spec, trials, split.test)   # trials: {arm label: experiments.Trial}

The verdict word is one of `WORDS`:
- holds, refuted, inconclusive: read from the claim's 95 % interval (`comparisons.verdict`; for an equivalence
  claim, from the 90 % interval against the margin);
- budget-limited: the word more training could change (refuted, inconclusive) was checked with one seed per arm
  at twice the epochs (`specs.Arm.doubled`), and the doubled runs gave another word;
- not tested: the claim's arms are not the model the claim is about (`ClaimSpec.stand_in` says why).
The record keeps each arm's parameter count ("params") and the keys of the runs it was judged from ("runs"), the
budget, and where the rule applied the doubled budget, the word at it and what the doubled runs measured
("at_doubled").
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .. import chapters, specs
from . import comparisons, intervals

WORDS = ("holds", "refuted", "inconclusive", "budget-limited", "not tested")
CHANGEABLE = ("refuted", "inconclusive")  # words more training could change


def claimed(spec) -> comparisons.Claim:
    """What a declared claim claims, as `comparisons` reads it: a level, a size of gain, or a margin."""
    return comparisons.Claim(size=spec.size, level=spec.level, margin=spec.margin)


def macro_f1_record(spec, trials: dict[str, list], labels: tuple[str, ...], test_labels: np.ndarray) -> dict:
    """The record of a macro-F1 difference claim: per-seed values of the two arms, the 95 % interval of the paired
    difference from the seeds' spread and the test images' sampling noise (`intervals.macro_f1_spread`), with the
    t-interval over seeds beside it, and the two-level t-test of no difference."""
    by_seed = {label: {int(t.run.seed): t for t in trials[label]} for label in labels}
    seeds, _ = comparisons.stacked(
        spec.id, labels, {label: {seed: t.correct for seed, t in by_seed[label].items()} for label in labels}
    )
    runs = {label: [by_seed[label][seed] for seed in seeds] for label in labels}
    values = {label: [float(t.result[spec.metric]) for t in runs[label]] for label in labels}
    a, b = (np.array(values[label]) for label in labels)
    spread = intervals.macro_f1_spread(test_labels, *(np.stack([t.predicted for t in runs[label]]) for label in labels))
    return {
        "claim_id": spec.id,
        "claim": spec.text,
        "arms": list(labels),
        "seeds": seeds,
        "claimed": asdict(claimed(spec)),
        "n": len(test_labels),
        "accuracies": values,
        "mean": {label: float(np.mean(values[label])) for label in labels},
        "sd": {label: float(np.std(values[label], ddof=1)) for label in labels},
        "differences": (b - a).tolist(),
        "mean_difference": spread.mean,
        **comparisons.read(spread, claimed(spec)),
        "interval_method": intervals.TWO_LEVEL + "; the images' part bootstrapped",
        "ci95_seeds": intervals.t_interval(b - a),
        "p_value": spread.p_value(),
        "test": "two-level t",
    }


def at_doubled_budget(spec, trials: dict[str, list], labels: np.ndarray) -> dict | None:
    """What the doubled-budget runs (one seed per arm) measure, or None where they are not among `trials`: the
    arms' test metric ("mean", keyed by the claim's arm labels), "mean_difference" and "ci95" (B − A, or accuracy −
    level, as in the claim's record; for an equivalence claim "ci90" too) and the "verdict". With one seed
    per arm, the interval is the test images' sampling noise of that pair (`labels`: the test labels)."""
    doubled = [chapters.arm(name).doubled().label for name in spec.arms]
    if not all(label in trials for label in doubled):
        return None
    runs = [trials[label][0] for label in doubled]
    mean = {chapters.arm(name).label: float(r.result[spec.metric]) for name, r in zip(spec.arms, runs, strict=True)}
    if spec.kind == "level":
        spread = intervals.two_level_spread(runs[0].correct[None, :].astype(float) - spec.level)
    elif spec.metric == "macro_f1":
        spread = intervals.macro_f1_spread(labels, runs[0].predicted, runs[1].predicted)
    else:
        spread = intervals.two_level_spread((runs[1].correct.astype(float) - runs[0].correct)[None, :])
    return {"mean": mean, "mean_difference": spread.mean, **comparisons.read(spread, claimed(spec))}


def judge(spec, trials: dict[str, list], test) -> dict:
    """The record of a declared claim from its arms' trials ({arm label: trials}, the doubled-budget arms among
    them where trained) on the `test` subset: accuracy claims are `comparisons.assess`ed (paired by image and seed,
    and on the leak-free images), macro-F1 claims by `macro_f1_record`. Then the budget rule (module doc)."""
    leak_free = test.leak_free
    labels = tuple(chapters.arm(name).label for name in spec.arms)
    if spec.metric == "accuracy":
        correct = {label: {int(t.run.seed): t.correct for t in trials[label]} for label in labels}
        record = comparisons.assess(spec.id, spec.text, labels, correct, claimed(spec), leak_free=leak_free)
    else:
        record = macro_f1_record(spec, trials, labels, test.labels)
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
