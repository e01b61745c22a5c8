"""The report's claims at a glance: one short row per claim, every cell written."""

from helpers import claim_runs

from fer_helpers.analysis import comparisons
from fer_helpers.book import glance


def test_table_states_each_claim_as_measured_with_its_interval_and_verdict(claim_records):
    records = claim_records
    level, pair = records["unet_64"], records["unet_vs_cnn"]
    page = glance.table(records, dict.fromkeys(records, "06_unet")).data
    measured = page["measured here (95 % interval)"]
    assert list(page["claim"]) == [level["claim"], pair["claim"]]  # whole, no claim ids
    assert measured[0].startswith("66.0% (") and measured[0].endswith("against 64.0%")
    assert measured[1].startswith("+2.0 points (")
    assert set(page["chapter"]) == {'<a href="../notebooks/06_unet.html">chapter 6</a>'}
    colour = glance.VERDICT_COLOURS[level["verdict"]]
    assert page["verdict"][0] == f'<b style="color: {colour}">{level["verdict"]}</b>'
    html = glance.table(records, dict.fromkeys(records, "06_unet")).to_html()
    assert "unet_64" not in html and "nan" not in html and "-0.0" not in html and "<b style=" in html


def test_figure_draws_each_claim_on_its_scale_with_the_claim_marked_and_the_verdict_in_colour(claim_records):
    import matplotlib

    matplotlib.use("Agg")
    records = claim_records
    fig = glance.figure(records)
    levels, sizes = fig.axes
    labels = [t.get_text() for t in levels.get_yticklabels()]
    assert [label.replace("\n", " ") for label in labels] == [r["claim"] for r in records.values()]  # wrapped
    assert max(len(line) for label in labels for line in label.splitlines()) <= glance.LABEL_WIDTH
    level_line = levels.lines[0].get_xdata()  # the level claim's interval, in accuracy (%)
    assert level_line[0] < 66.0 < level_line[1] and levels.lines[2].get_xdata()[0] == 64.0  # the claimed level
    words = [text.get_text() for text in sizes.texts]
    assert words == [r["verdict"] for r in records.values()]
    assert sizes.texts[0].get_color() == glance.VERDICT_COLOURS[records["unet_64"]["verdict"]]


def test_the_intro_counts_what_holds_what_is_refuted_and_what_stays_open(claim_records):
    records = {
        "a": claim_records["unet_64"] | {"verdict": "holds"},
        "b": claim_records["unet_vs_cnn"] | {"verdict": "refuted"},
        "c": claim_records["unet_vs_cnn"] | {"verdict": "budget-limited"},
    }
    said = glance.tally(records)
    assert said["intro_n_claims"] == "3" and said["intro_n_holds"] == "1 holds" and said["intro_n_open"] == "1 more is"
    assert said["intro_holds"] == f"“{records['a']['claim']}”" and said["intro_n_refuted"] == "1 is refuted"
    assert glance.tally({"a": records["c"]})["intro_holds"] == "none"
    assert said["intro_waiting"] == "every claim has its runs"
    waits = glance.tally(records, {"unet_64": "The U-Net reaches 64 %"})  # a claim whose runs are not all in
    assert waits["intro_n_claims"] == "4" and waits["intro_n_open"] == "1 more is"
    assert waits["intro_waiting"] == "1 waits for its runs (“The U-Net reaches 64 %”)"
    two = glance.tally({}, {"vit_vs_cnn": "B", "unet_64": "A"})
    assert two["intro_waiting"] == "2 wait for their runs (“A”; “B”)" and two["intro_n_holds"] == "0 hold"  # in order


def test_a_claim_whose_runs_are_not_all_in_keeps_its_row_in_the_studys_order(claim_records):
    import matplotlib

    matplotlib.use("Agg")
    judged = {"unet_vs_cnn": claim_records["unet_vs_cnn"]}
    waiting = {"unet_64": "The attention U-Net reaches 64 %"}  # before unet_vs_cnn in the study's order
    page = glance.table(judged, dict.fromkeys(claim_records, "06_unet"), waiting).data
    assert list(page["claim"]) == ["The attention U-Net reaches 64 %", judged["unet_vs_cnn"]["claim"]]
    assert page["measured here (95 % interval)"][0] == "— (its runs are not all in)"
    assert page["verdict"][0] == f'<b style="color: {glance.VERDICT_COLOURS[glance.WAITS]}">{glance.WAITS}</b>'
    fig = glance.figure(judged, waiting)
    levels, sizes = fig.axes
    assert [t.get_text().replace("\n", " ") for t in levels.get_yticklabels()] == list(page["claim"])
    assert [t.get_text() for t in sizes.texts] == [glance.WAITS, judged["unet_vs_cnn"]["verdict"]]


def test_a_claim_of_equivalence_shows_the_90_percent_interval_its_verdict_reads_against_its_margin():
    import matplotlib

    matplotlib.use("Agg")
    correct = {"cnn": claim_runs([0.600, 0.610, 0.620]), "vit": claim_runs([0.601, 0.612, 0.619])}
    record = comparisons.assess(
        "vit_vs_cnn", "B does as well as A", ("cnn", "vit"), correct, comparisons.Claim(margin=0.02)
    )
    page = glance.table({"vit_vs_cnn": record}, {"vit_vs_cnn": "09_vit_ensemble"}).data
    assert page["measured here (95 % interval)"][0].endswith("within ±2.0") and "(90 %: " in page.iloc[0, 1]
    sizes = glance.figure({"vit_vs_cnn": record}).axes[1]
    interval, _, bars = sizes.lines[:3]
    assert list(interval.get_xdata()) == [100 * end for end in record["ci90"]]  # the interval the verdict reads
    assert list(bars.get_xdata()) == [-2.0, 2.0] and bars.get_marker() == "|"  # the margin, not a diamond
