"""Claims judged from paired runs over seeds: the two-level interval, McNemar per seed, each verdict, the file."""

import json

import numpy as np
import pytest
from helpers import SEEDS
from helpers import claim_runs as runs
from scipy import stats

from fer_helpers import chapters, config
from fer_helpers.analysis import comparisons, intervals
from fer_helpers.analysis.comparisons import Claim

N = 1000


@pytest.mark.parametrize(
    "ci, claimed, expected",
    [
        # B better than A, no size
        ([0.01, 0.03], Claim(), "holds"),
        ([-0.01, 0.03], Claim(), "inconclusive"),
        ([-0.03, -0.01], Claim(), "refuted"),
        # B at least 4 points above A
        ([0.01, 0.06], Claim(size=0.04), "holds"),
        ([0.05, 0.09], Claim(size=0.04), "holds"),
        ([0.005, 0.03], Claim(size=0.04), "refuted"),
        ([-0.041, 0.041], Claim(size=0.04), "inconclusive"),
        ([-0.05, 0.02], Claim(size=0.04), "refuted"),
        # B below A, without and with a size
        ([-0.03, -0.01], Claim(direction=-1), "holds"),
        ([0.01, 0.03], Claim(direction=-1), "refuted"),
        ([-0.01, 0.01], Claim(direction=-1), "inconclusive"),
        ([-0.05, -0.01], Claim(direction=-1, size=0.02), "holds"),
        ([-0.015, -0.005], Claim(direction=-1, size=0.02), "refuted"),
        # a level (interval of accuracy minus the level)
        ([0.005, 0.02], Claim(level=0.64), "holds"),
        ([-0.02, -0.005], Claim(level=0.64), "refuted"),
        ([-0.01, 0.01], Claim(level=0.64), "inconclusive"),
    ],
)
def test_verdict_of_every_branch(ci, claimed, expected):
    assert comparisons.verdict(ci, claimed) == expected


@pytest.mark.parametrize(
    "kwargs", [dict(direction=0), dict(size=-0.01), dict(size=4), dict(level=64), dict(level=0.64, size=0.01)]
)
def test_a_malformed_claim_is_refused(kwargs):
    with pytest.raises(ValueError, match="Claim|level claim"):
        Claim(**kwargs)


def test_a_small_gain_refutes_a_claimed_four_points_once_the_images_count_too():
    """Gains of +0.1, +1.6, -1.7 points over three seeds: the seeds alone (t on 2 degrees of freedom) cannot tell
    +4 points from 0; with the test images' noise added as a second variance component (and its degrees of
    freedom), the interval rules out +4 points."""
    plain = runs([0.500, 0.520, 0.510])
    cleaned = runs([0.501, 0.536, 0.493], seed=1)
    record = comparisons.assess(
        "outliers",
        "removing outliers gives +4 points",
        ("all", "clean"),
        {"all": plain, "clean": cleaned},
        Claim(size=0.04),
    )
    np.testing.assert_allclose(record["differences"], [0.001, 0.016, -0.017], atol=1e-12)
    assert record["mean_difference"] == pytest.approx(0.0, abs=1e-12)
    lo, hi = record["ci95"]  # seeds and images
    assert lo < 0 < hi < 0.04 and record["interval_method"] == intervals.TWO_LEVEL
    np.testing.assert_allclose(record["ci95_seeds"], intervals.t_interval([0.001, 0.016, -0.017]))
    assert record["ci95_seeds"][1] > 0.04 and record["ci95_bootstrap"][0] < 0 < record["ci95_bootstrap"][1]
    assert record["verdict"] == "refuted"
    assert record["seeds"] == list(SEEDS) and record["n"] == N
    assert record["accuracies"]["clean"] == pytest.approx([0.501, 0.536, 0.493])
    assert record["mean"]["all"] == pytest.approx(0.51) and record["sd"]["all"] == pytest.approx(0.01)
    assert record["claimed"] == {"direction": 1, "size": 0.04, "level": None, "margin": None}
    assert comparisons.verdict(record["ci95"], Claim(**record["claimed"])) == record["verdict"]
    json.dumps(record)  # JSON-able as it is


def test_mcnemar_is_one_test_per_seed_and_the_record_shows_the_largest_p():
    rng = np.random.default_rng(3)
    a = rng.random((3, 400)) < 0.6
    b = a.copy()
    b[:2, :80] = True  # B fixes A's errors among the first 80 images, except at the last seed
    record = comparisons.assess(
        "x",
        "B helps",
        ("A", "B"),
        {"A": dict(zip(SEEDS, a, strict=True)), "B": dict(zip(SEEDS, b, strict=True))},
        Claim(),
    )
    assert record["p_values"] == intervals.mcnemar_per_seed(a, b)
    assert record["p_value"] == max(record["p_values"]) == 1.0 and record["p_values"][0] < 0.001
    assert record["test"] == "McNemar per seed (largest p)"


def test_a_consistent_gain_holds_and_a_loss_refutes():
    base = runs([0.60, 0.61, 0.62])
    better = {s: v | (np.arange(N) < 150) for s, v in base.items()}  # about +6 points at every seed
    assess = lambda a, b: comparisons.assess("c", "B helps", ("A", "B"), {"A": a, "B": b}, Claim())  # noqa: E731
    assert assess(base, better)["verdict"] == "holds"
    assert assess(better, base)["verdict"] == "refuted"
    assert assess(base, better)["p_value"] < 0.001


def test_level_claim_bootstraps_the_accuracy_against_the_level_and_t_tests_the_seeds():
    reached = comparisons.assess(
        "unet", "the U-Net reaches 64 %", ("unet",), {"unet": runs([0.655, 0.660, 0.665])}, Claim(level=0.64)
    )
    lo, hi = np.array(reached["ci95"]) + 0.64
    assert lo < 0.66 < hi and lo > 0.64 - 0.05  # images add their noise to the seeds' spread
    np.testing.assert_allclose(
        np.array(reached["ci95_seeds"]) + 0.64,
        stats.t.interval(0.95, 2, loc=0.66, scale=stats.sem([0.655, 0.660, 0.665])),
    )
    assert reached["test"] == "one-sample t"
    assert reached["p_value"] == pytest.approx(stats.ttest_1samp([0.655, 0.660, 0.665], 0.64).pvalue)
    missed = comparisons.assess(
        "unet", "the U-Net reaches 64 %", ("unet",), {"unet": runs([0.55, 0.56, 0.57])}, Claim(level=0.64)
    )
    assert missed["verdict"] == "refuted"


def test_leak_free_statistics_use_the_masked_images_only():
    a, b = runs([0.5, 0.5, 0.5]), runs([0.6, 0.6, 0.6], seed=1)
    mask = np.arange(N) % 2 == 0
    record = comparisons.assess("c", "B helps", ("A", "B"), {"A": a, "B": b}, Claim(), leak_free=mask)
    free = record["leak_free"]
    assert free["n"] == mask.sum()
    assert free["accuracies"]["B"] == pytest.approx([b[s][mask].mean() for s in SEEDS])
    assert free["verdict"] in comparisons.VERDICTS
    with pytest.raises(ValueError, match="leak_free must be a bool mask"):
        comparisons.assess("c", "B helps", ("A", "B"), {"A": a, "B": b}, Claim(), leak_free=mask[:10])
    with pytest.raises(ValueError, match="at least one True"):
        comparisons.assess("c", "B helps", ("A", "B"), {"A": a, "B": b}, Claim(), leak_free=np.zeros(N, bool))


def test_bad_input_is_refused_with_the_reason():
    three = runs([0.5, 0.5, 0.5])
    two = {s: three[s] for s in SEEDS[:2]}
    with pytest.raises(ValueError, match="at least 3 seeds"):
        comparisons.assess("c", "B helps", ("A", "B"), {"A": two, "B": two}, Claim())
    with pytest.raises(ValueError, match="paired by seed"):
        comparisons.assess("c", "B helps", ("A", "B"), {"A": three, "B": {**two, 99: three[44]}}, Claim())
    with pytest.raises(ValueError, match="no runs for arm"):
        comparisons.assess("c", "B helps", ("A", "B"), {"A": three}, Claim())
    with pytest.raises(ValueError, match="one bool per test image"):
        comparisons.assess(
            "c", "B helps", ("A", "B"), {"A": three, "B": {s: v[:-1] for s, v in three.items()}}, Claim()
        )
    with pytest.raises(ValueError, match="one bool per test image"):
        floats = {s: v.astype(float) for s, v in three.items()}
        comparisons.assess("c", "B helps", ("A", "B"), {"A": three, "B": floats}, Claim())
    with pytest.raises(ValueError, match="takes 1 arm"):
        comparisons.assess("c", "reaches 64 %", ("A", "B"), {"A": three, "B": three}, Claim(level=0.64))


def test_save_upserts_by_claim_id_and_load_reads_back(tmp_path):
    profile = config.Profile("test", None, {}, tmp_path)
    with pytest.raises(FileNotFoundError, match="comparisons.json"):
        comparisons.load(profile)
    a, b = runs([0.5, 0.51, 0.52]), runs([0.55, 0.56, 0.57], seed=1)
    first = comparisons.assess(
        "aug", "augmentation helps", ("plain", "augmented"), {"plain": a, "augmented": b}, Claim()
    )
    other = comparisons.assess("unet", "reaches 64 %", ("unet",), {"unet": b}, Claim(level=0.64))
    comparisons.save(first, profile)
    comparisons.save(other, profile)
    comparisons.save({**first, "claim": "augmentation helps (re-run)"}, profile)
    saved = comparisons.load(profile)
    assert list(saved) == ["aug", "unet"]
    assert saved["aug"]["claim"] == "augmentation helps (re-run)" and saved["unet"] == json.loads(json.dumps(other))
    comparisons.path(profile).write_text("[1, 2]")
    with pytest.raises(ValueError, match="comparisons.json: expected an object"):
        comparisons.load(profile)
    comparisons.path(profile).write_text("{")
    with pytest.raises(ValueError, match="comparisons.json: not valid JSON"):
        comparisons.load(profile)


def test_table_has_one_numeric_row_per_claim():
    a, b = runs([0.5, 0.51, 0.52]), runs([0.55, 0.56, 0.57], seed=1)
    mask = np.arange(N) < 800
    records = {
        "aug": comparisons.assess(
            "aug", "augmentation helps", ("plain", "augmented"), {"plain": a, "augmented": b}, Claim(), leak_free=mask
        ),
        "unet": comparisons.assess("unet", "reaches 64 %", ("unet",), {"unet": b}, Claim(level=0.64)),
    }
    table = comparisons.table(records)
    assert list(table.index) == ["aug", "unet"]
    assert table.loc["aug", "arm B"] == "augmented" and table.loc["aug", "mean B"] == pytest.approx(0.56)
    assert table.loc["aug", "difference"] == pytest.approx(0.05) and table.loc["aug", "verdict"] == "holds"
    assert np.isnan(table.loc["unet", "mean B"]) and table.loc["unet", "level"] == 0.64
    assert np.isnan(table.loc["unet", "leak-free difference"])
    numeric = ["mean A", "sd A", "mean B", "difference", "ci low", "ci high", "p", "leak-free difference"]
    assert all(np.issubdtype(table[c].dtype, np.floating) for c in numeric)
    assert comparisons.table(list(records.values())).equals(table)
    assert np.issubdtype(comparisons.table([records["aug"]])["level"].dtype, np.floating)


def test_pending_lists_the_claims_without_a_record_in_chapter_order():
    from fer_helpers.analysis import comparisons

    assert comparisons.pending({"outliers": {}}) == [c for c in chapters.claims() if c != "outliers"]
    assert comparisons.pending(dict.fromkeys(chapters.claims())) == []


def test_every_committed_verdict_is_glued_in_the_report():
    """Each record of the committed results/comparisons.json shows in the report through chapter 11's glue, and
    chapter 11 glued the verdict the record holds (once chapter 11 ran on the current records)."""
    import json

    import nbformat

    from fer_helpers import config
    from fer_helpers.book import drafts, glance
    from fer_helpers.book.verify import glued_values

    path = config.PROFILES["full"].results_dir / "comparisons.json"
    if not path.exists():
        pytest.skip("no committed results/comparisons.json yet (chapters 4-9 write it)")
    records = json.loads(path.read_text())
    report = (config.ROOT / "book" / "report.md").read_text()
    missing = [c for c in records if f"/notebooks/11_claims.ipynb::verdict_{c}" not in report]
    assert not missing, f"book/report.md does not glue the verdicts of {missing}"
    chapter_11 = config.ROOT / "notebooks" / "11_claims.ipynb"
    glued = glued_values(nbformat.read(chapter_11, as_version=4))
    if glued and not drafts.is_draft(chapter_11):  # a draft is left out of the build, its glue with it
        # a record that names no runs is from before the run store: its claim waits for its chapter to run again
        wrong = {
            c: (glued.get(f"verdict_{c}"), r["verdict"])
            for c, r in records.items()
            if glued.get(f"verdict_{c}") not in (r["verdict"] if "runs" in r else None, glance.WAITS)
        }
        assert not wrong, f"chapter 11's glued verdicts differ from results/comparisons.json (re-run it): {wrong}"
