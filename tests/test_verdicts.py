"""Comparison records written for a page: the claims table and the values a chapter's prose glues."""

import numpy as np
from helpers import claim_runs as runs

from fer_helpers.analysis import comparisons
from fer_helpers.analysis.comparisons import Claim
from fer_helpers.book import verdicts
from fer_helpers.book.formats import Missing

N = 1000


def test_page_table_is_one_short_row_per_claim_with_every_number_folded_below(claim_records):
    records = claim_records
    level, pair = records["unet_64"], records["unet_vs_cnn"]
    page = verdicts.page_table(records)
    assert list(page.table.index) == [level["claim"], pair["claim"]]  # whole claims, no claim ids
    assert list(page.table.columns) == ["measured here (95 % interval)", "verdict"]
    assert page.table.iloc[0, 0].startswith("66.0% (") and page.table.iloc[1, 1] == f"<b>{pair['verdict']}</b>"
    html = page._repr_html_()
    assert html.index("<details>") > html.index("</table>") and "unet_64" not in html
    detail = page.detail
    assert detail.loc[level["claim"], "level"] == "64.0%" and detail.loc[level["claim"], "mean A"] == "66.0%"
    assert detail.loc[level["claim"], "arm B"].startswith("\u2014")
    assert detail.loc[pair["claim"], "level"].startswith("\u2014")
    assert detail.loc[pair["claim"], "difference"] == "+2.0" and detail.loc[pair["claim"], "verdict"] == pair["verdict"]
    assert detail.loc[level["claim"], "leak-free verdict"].startswith("\u2014")
    assert detail.loc[pair["claim"], "leak-free verdict"] == pair["leak_free"]["verdict"]
    text = repr(page)
    assert "nan" not in text and "-0.0" not in text


def test_the_budget_table_names_claims_by_their_text(claim_records):
    judged = {claim_id: record | {"budget": 20} for claim_id, record in claim_records.items()}  # claims.judge adds it
    table = verdicts.budget_table(judged)
    assert list(table.index) == [record["claim"] for record in claim_records.values()]
    assert all(cell.startswith("20 epochs: ") for cell in table["at the budget"]) and "unet_64" not in table.to_string()
    assert set(table["at twice the epochs, one seed per arm"]) == {"— (not needed)"}


def test_the_budget_table_shows_the_numbers_at_both_budgets(claim_records):
    pair = claim_records["unet_vs_cnn"]
    doubled = {"mean": {"cnn": 0.60, "unet": 0.65}, "mean_difference": 0.05, "ci95": [0.03, 0.07], "verdict": "holds"}
    moved = pair | {
        "budget": 20,
        "doubled_budget": 40,
        "verdict_at_budget": "inconclusive",
        "verdict": "budget-limited",
    }
    moved |= {"verdict_at_doubled": "holds", "at_doubled": doubled}
    waiting = pair | {"budget": 20, "doubled_budget": 40, "verdict_at_doubled": "not trained yet"}
    table = verdicts.budget_table([moved])
    row = table.loc[pair["claim"]]
    assert row["at the budget"] == f"20 epochs: {verdicts.measured(pair)}, inconclusive"
    assert row["at twice the epochs, one seed per arm"] == "40 epochs: +5.0 points (+3.0 to +7.0), holds"
    assert row["verdict"] == "budget-limited"
    waits = verdicts.budget_table([waiting]).loc[pair["claim"], "at twice the epochs, one seed per arm"]
    assert waits == "40 epochs: not trained yet"
    said = {k: verdicts.written(v) for k, v in verdicts.prose_values(moved, "x").items() if "doubled" in k}
    assert said == {
        "x_doubled_mean_a": "60.0%",
        "x_doubled_mean_b": "65.0%",
        "x_doubled_difference": "+5.0",
        "x_doubled_ci": "+3.0 to +7.0",
        "x_doubled_verdict": "holds",
    }  # no p-value: one seed per arm


def test_prose_values_name_every_number_a_chapter_glues():
    mask = np.arange(N) % 2 == 0
    pair = comparisons.assess(
        "outliers",
        "removing outliers gives +4 points",
        ("kept", "removed"),
        {"kept": runs([0.60, 0.61, 0.62]), "removed": runs([0.61, 0.62, 0.64], seed=1)},
        Claim(size=0.04),
        leak_free=mask,
    )
    values = verdicts.prose_values(pair, "ch4_outliers")
    assert values["ch4_outliers_verdict"] == pair["verdict"] and values["ch4_outliers_claimed"].value == 0.04
    assert values["ch4_outliers_lf_verdict"] == pair["leak_free"]["verdict"]
    written = {key: verdicts.written(value) for key, value in values.items()}
    assert written["ch4_outliers_claimed"] == "+4.0" and written["ch4_outliers_mean_b"] == "62.3%"
    assert written["ch4_outliers_difference"] == "+1.3" and " to " in written["ch4_outliers_ci"]
    level = comparisons.assess("b52", "reaches 52 %", ("cnn",), {"cnn": runs([0.55, 0.56, 0.57])}, Claim(level=0.52))
    values = verdicts.prose_values(level, "ch4_b52")
    assert "ch4_b52_mean" in values and "ch4_b52_mean_b" not in values and "ch4_b52_lf_verdict" not in values
    assert verdicts.written(values["ch4_b52_accuracy_ci"]).startswith("53.")
    assert verdicts.written(values["ch4_b52_claimed"]) == "52.0%"
    direction = comparisons.assess("cw", "helps", ("a", "b"), {"a": runs([0.5] * 3), "b": runs([0.5] * 3)}, Claim())
    values = verdicts.prose_values(direction, "ch4_cw")
    assert "ch4_cw_claimed" not in values and values["ch4_cw_difference"].value == 0


def test_a_p_value_too_small_to_print_reads_below_the_smallest_never_zero():
    assert verdicts.p_text(3.2e-131) == "< 1e-06" and verdicts.p_text(0.0) == "< 1e-06"
    assert verdicts.p_text(0.0123) == "0.012" and isinstance(verdicts.p_text(float("nan")), Missing)


def test_the_copied_test_images_get_their_own_values_beside_the_leak_free_ones():
    mask = np.arange(N) % 4 != 0  # a quarter of the test images have a copy in training
    record = comparisons.assess(
        "leakage", "copies inflate", ("a", "b"), {"a": runs([0.5] * 3), "b": runs([0.6] * 3, seed=1)}, Claim(), mask
    )
    assert record["copied"]["n"] == (~mask).sum() and record["leak_free"]["n"] == mask.sum()
    values = verdicts.prose_values(record, "ch4_leakage")
    assert values["ch4_leakage_copied_verdict"] == record["copied"]["verdict"]
    assert values["ch4_leakage_copied_difference"].value == record["copied"]["mean_difference"]


def test_a_chapters_prose_values_carry_each_claims_id(claim_records):
    values = verdicts.chapter_values(claim_records, "ch6")
    assert values["ch6_unet_64_verdict"] == claim_records["unet_64"]["verdict"]
    assert values["ch6_unet_vs_cnn_verdict"] == claim_records["unet_vs_cnn"]["verdict"]
    assert set(values) == {
        *verdicts.prose_values(claim_records["unet_64"], "ch6_unet_64"),
        *verdicts.prose_values(claim_records["unet_vs_cnn"], "ch6_unet_vs_cnn"),
    }
