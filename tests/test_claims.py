"""claims: a declared claim judged from its arms' runs, the word by its kind, and the budget rule."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import claim_runs, labelled
from sklearn.metrics import f1_score

from fer_helpers import chapters, config, specs
from fer_helpers.analysis import claims, comparisons, intervals

N = 1000
LABELS = np.arange(N) % 7
TEST = labelled(LABELS)
RECIPE = dataclasses.replace(config.STUDY_BASELINE, batch=16)
ARMS = (
    specs.Arm("a", "arm A", "baseline_std_model", RECIPE, "study"),
    specs.Arm("b", "arm B", "baseline_std_model", RECIPE, "study", "outliers kept"),
)


@pytest.fixture(autouse=True)
def book(monkeypatch):
    monkeypatch.setattr(chapters, "CHAPTERS", {"04_tiny": specs.Chapter("04_tiny", (), ARMS)})


def trials(accuracies, seed=0, epochs=20) -> list:
    """Trials of one arm with exactly these test accuracies per seed (42, 43, 44), and the macro-F1 they give."""
    found = []
    for s, correct in claim_runs(accuracies, N, seed).items():
        predicted = np.where(correct, LABELS, (LABELS + 1) % 7)
        result = {"accuracy": correct.mean(), "macro_f1": f1_score(LABELS, predicted, average="macro")}
        found.append(
            SimpleNamespace(
                run=SimpleNamespace(seed=s, epochs=epochs, params=1234, key=f"run-{seed}-{s}"),
                result=result,
                correct=correct,
                predicted=predicted,
            )
        )
    return found


def doubled(accuracy, seed=5) -> list:
    return trials([accuracy], seed, epochs=40)[:1]


def test_equivalence_is_two_one_sided_tests_read_from_the_90_percent_interval():
    within = comparisons.Claim(margin=0.02)
    assert comparisons.verdict((-0.01, 0.015), within) == "holds"
    assert comparisons.verdict((0.025, 0.05), within) == "refuted"
    assert comparisons.verdict((-0.01, 0.03), within) == "inconclusive"
    with pytest.raises(ValueError, match="margin in"):
        comparisons.Claim(margin=0.02, size=0.01)
    edge = intervals.Spread(0.0, 0.0, 0.011**2, 3, 7000)  # 95 % reaches past ±0.02, 90 % stays inside
    read = comparisons.read(edge, within)
    assert read["ci95"][1] > 0.02 > read["ci90"][1] and read["verdict"] == "holds"
    assert comparisons.read(edge, comparisons.Claim()) == {"ci95": read["ci95"], "verdict": "inconclusive"}


def test_a_level_claim_holds_when_the_interval_over_seeds_and_images_clears_the_level():
    spec = specs.ClaimSpec("lvl", "A reaches 52 %", "level", ("a",), 0.52)
    record = claims.judge(spec, {"arm A": trials([0.60, 0.61, 0.62])}, TEST)
    assert record["kind"] == "level" and record["verdict"] == "holds" and record["budget"] == 20
    assert record["params"] == {"arm A": 1234}  # each arm's parameter count, as its runs recorded it
    assert record["runs"] == {"arm A": ["run-0-42", "run-0-43", "run-0-44"]}  # the runs it was judged from
    assert "doubled_budget" not in record  # a word more training would not change


def test_a_changeable_word_is_checked_at_twice_the_epochs_and_becomes_budget_limited_when_it_moves():
    spec = specs.ClaimSpec("gain", "B beats A by 4 points", "difference", ("a", "b"), size=0.04)
    arms = {"arm A": trials([0.60, 0.60, 0.60]), "arm B": trials([0.60, 0.61, 0.60], seed=1)}
    waiting = claims.judge(spec, arms, TEST)
    assert waiting["verdict"] == "refuted" and waiting["verdict_at_doubled"] == "not trained yet"
    assert waiting["doubled_budget"] == 40
    more = arms | {"arm A, twice the epochs": doubled(0.55), "arm B, twice the epochs": doubled(0.65, seed=6)}
    moved = claims.judge(spec, more, TEST)
    assert moved["verdict"] == "budget-limited" and moved["verdict_at_budget"] == "refuted"
    assert moved["verdict_at_doubled"] == "holds" == moved["at_doubled"]["verdict"]
    a, b = (more[label][0].correct.mean() for label in ("arm A, twice the epochs", "arm B, twice the epochs"))
    assert moved["at_doubled"]["mean"] == {"arm A": a, "arm B": b}  # the doubled runs, under the claim's arm labels
    low, high = moved["at_doubled"]["ci95"]
    assert moved["at_doubled"]["mean_difference"] == pytest.approx(b - a) and low < b - a < high and low > 0
    same = arms | {"arm A, twice the epochs": doubled(0.62), "arm B, twice the epochs": doubled(0.58, seed=6)}
    assert claims.judge(spec, same, TEST)["verdict"] == "refuted"  # the doubled runs agree: the word stands


def test_a_stand_in_is_not_tested_and_keeps_what_it_measured():
    spec = specs.ClaimSpec("si", "B beats A", "difference", ("a", "b"), stand_in="not the study's model")
    record = claims.judge(spec, {"arm A": trials([0.5] * 3), "arm B": trials([0.6] * 3, seed=1)}, TEST)
    assert record["verdict"] == "not tested" and record["verdict_as_measured"] == "holds"


def test_macro_f1_and_equivalence_claims_carry_the_seeds_and_the_test_images():
    f1 = specs.ClaimSpec("f1", "B raises macro-F1", "difference", ("a", "b"), metric="macro_f1")
    arms = {"arm A": trials([0.50, 0.51, 0.52]), "arm B": trials([0.60, 0.62, 0.61], 1)}
    record = claims.judge(f1, arms, TEST)
    assert record["test"] == "two-level t" and record["verdict"] == "holds" and record["p_value"] < 0.05
    gains = np.subtract(record["accuracies"]["arm B"], record["accuracies"]["arm A"])  # macro-F1, seed by seed
    low, high = record["ci95"]
    assert record["mean_difference"] == pytest.approx(gains.mean()) and 0 < low < gains.mean() < high
    assert record["ci95_seeds"] == pytest.approx(intervals.t_interval(gains))  # the seeds alone, beside it
    shuffled = {"arm A": arms["arm A"][::-1], "arm B": arms["arm B"][1:] + arms["arm B"][:1]}  # paired by seed
    assert claims.judge(f1, shuffled, TEST)["differences"] == pytest.approx(record["differences"])
    same = specs.ClaimSpec("eq", "B does as well as A", "equivalence", ("a", "b"), margin=0.02)
    near = {"arm A": trials([0.600, 0.610, 0.620]), "arm B": trials([0.601, 0.612, 0.619])}  # nearly the same images
    record = claims.judge(same, near, TEST)
    assert record["test"] == "two one-sided t, two-level" and record["verdict"] == "holds" and record["p_value"] < 0.05
    assert record["ci90"][0] > record["ci95"][0] and record["interval_method"] == intervals.TWO_LEVEL
    apart = {"arm A": near["arm A"], "arm B": trials([0.601, 0.612, 0.619], seed=1)}  # other images right
    assert claims.judge(same, apart, TEST)["verdict"] == "inconclusive"  # 1,000 images cannot show ±2 points


def test_a_chapter_judges_and_saves_every_claim_it_declares(tmp_path, monkeypatch):
    declared = (specs.ClaimSpec("gain", "B beats A", "difference", ("a", "b")),)
    chapter = specs.Chapter("04_tiny", (), ARMS, declared)
    profile = config.Profile("smoke", None, {}, tmp_path)
    records = claims.judge_chapter(chapter, {"arm A": trials([0.5] * 3), "arm B": trials([0.6] * 3, 1)}, TEST, profile)
    assert list(records) == ["gain"] and comparisons.load(profile)["gain"]["verdict"] == records["gain"]["verdict"]
