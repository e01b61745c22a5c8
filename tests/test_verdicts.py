"""Comparison records written for a page: the claims table and the values a chapter's prose glues."""

import numpy as np
from helpers import claim_runs as runs

from fer_helpers import comparisons
from fer_helpers.book import verdicts
from fer_helpers.book.formats import Missing
from fer_helpers.comparisons import Claim

N = 1000


def test_page_table_writes_every_cell_and_says_what_does_not_apply(claim_records):
    records = claim_records
    pair = records["unet_vs_cnn"]
    page = verdicts.page_table(records)
    assert list(page.index) == ["unet_64", "unet_vs_cnn"]
    assert page.loc["unet_64", "level"] == "64.0%" and page.loc["unet_64", "mean A"] == "66.0%"
    assert page.loc["unet_64", "arm B"].startswith("\u2014") and page.loc["unet_vs_cnn", "level"].startswith("\u2014")
    assert page.loc["unet_vs_cnn", "difference"] == "+2.0" and page.loc["unet_vs_cnn", "verdict"] == pair["verdict"]
    assert page.loc["unet_64", "leak-free verdict"].startswith("\u2014")
    assert page.loc["unet_vs_cnn", "leak-free verdict"] == pair["leak_free"]["verdict"]
    text = page.to_string()
    assert "nan" not in text and "-0.0" not in text


def test_prose_values_name_every_number_a_chapter_glues():
    from fer_helpers.book.formats import format_value

    mask = np.arange(N) % 2 == 0
    pair = comparisons.assess(
        "outliers",
        "removing outliers gives +4 points",
        ("kept", "removed"),
        {"kept": runs([0.60, 0.61, 0.62]), "removed": runs([0.61, 0.62, 0.64], seed=1)},
        Claim(size=0.04),
        leak_free=mask,
    )
    values, kinds = verdicts.prose_values(pair, "ch4_outliers")
    assert values["ch4_outliers_verdict"] == pair["verdict"] and values["ch4_outliers_claimed"] == 0.04
    assert values["ch4_outliers_lf_verdict"] == pair["leak_free"]["verdict"]
    written = {key: format_value(value, kinds.get(key)) for key, value in values.items()}
    assert written["ch4_outliers_claimed"] == "+4.0" and written["ch4_outliers_mean_b"] == "62.3%"
    assert written["ch4_outliers_difference"] == "+1.3" and " to " in written["ch4_outliers_ci"]
    level = comparisons.assess("b52", "reaches 52 %", ("cnn",), {"cnn": runs([0.55, 0.56, 0.57])}, Claim(level=0.52))
    values, kinds = verdicts.prose_values(level, "ch4_b52")
    assert "ch4_b52_mean" in values and "ch4_b52_mean_b" not in values and "ch4_b52_lf_verdict" not in values
    assert format_value(values["ch4_b52_accuracy_ci"], kinds["ch4_b52_accuracy_ci"]).startswith("53.")
    assert format_value(values["ch4_b52_claimed"], kinds["ch4_b52_claimed"]) == "52.0%"
    direction = comparisons.assess("cw", "helps", ("a", "b"), {"a": runs([0.5] * 3), "b": runs([0.5] * 3)}, Claim())
    values, _ = verdicts.prose_values(direction, "ch4_cw")
    assert "ch4_cw_claimed" not in values and values["ch4_cw_difference"] == 0


def test_a_p_value_too_small_to_print_reads_below_the_smallest_never_zero():
    assert verdicts.p_text(3.2e-131) == "< 1e-06" and verdicts.p_text(0.0) == "< 1e-06"
    assert verdicts.p_text(0.0123) == "0.012" and isinstance(verdicts.p_text(float("nan")), Missing)


def test_the_copied_test_images_get_their_own_values_beside_the_leak_free_ones():
    mask = np.arange(N) % 4 != 0  # a quarter of the test images have a copy in training
    record = comparisons.assess(
        "leakage", "copies inflate", ("a", "b"), {"a": runs([0.5] * 3), "b": runs([0.6] * 3, seed=1)}, Claim(), mask
    )
    assert record["copied"]["n"] == (~mask).sum() and record["leak_free"]["n"] == mask.sum()
    values, _ = verdicts.prose_values(record, "ch4_leakage")
    assert values["ch4_leakage_copied_verdict"] == record["copied"]["verdict"]
    assert values["ch4_leakage_copied_difference"] == record["copied"]["mean_difference"]
