"""formats: one writing of each kind of number; no "-0.0", no "nan" ever reaches a page."""

import math

import numpy as np
import pandas as pd
import pytest

from fer_helpers.book import formats
from fer_helpers.book.formats import MINUS, Missing


@pytest.mark.parametrize(
    "fraction, text",
    [
        (0.6543, "65.4%"),
        (1.0, "100.0%"),
        (0.99996, "100.0%"),
        (0.0, "0.0%"),
        (-0.0004, "0.0%"),
        (-0.03, f"{MINUS}3.0%"),
    ],
)
def test_percent(fraction, text):
    assert formats.percent(fraction) == text


def test_percent_decimals():
    assert formats.percent(0.6543, decimals=0) == "65%"


@pytest.mark.parametrize(
    "difference, text",
    [
        (0.012, "+1.2"),
        (-0.008, f"{MINUS}0.8"),
        (0.0, "0.0"),
        (-0.0, "0.0"),
        (-0.0004, "0.0"),
        (0.00049, "0.0"),
        (0.00051, "+0.1"),
        (-0.00051, f"{MINUS}0.1"),
    ],
)
def test_points_are_signed_except_zero(difference, text):
    assert formats.points(difference) == text


def test_no_negative_zero_in_any_spec():
    for spec in (".1f", ".3f", "+.2f", ".0%", ",.0f"):
        text = formats.number(-1e-9, spec)
        assert not text.startswith(("-", MINUS, "+")), (spec, text)
    assert formats.number(-0.5071, ".3f") == f"{MINUS}0.507"
    assert formats.number(-1e-9, ".2g") == f"{MINUS}1e-09"  # not zero: keeps its sign


@pytest.mark.parametrize("n, text", [(7178, "7,178"), (np.int64(35887), "35,887"), (0, "0"), (1234.6, "1,235")])
def test_count(n, text):
    assert formats.count(n) == text


def test_a_counted_phrase_agrees_with_its_count():
    assert [formats.counted(n, "holds", "hold") for n in (0, 1, 1200)] == ["0 hold", "1 holds", "1,200 hold"]


def test_duration_is_the_books_duration():
    assert formats.format_value(805, "duration") == "13 min 25 s"
    assert formats.format_value(5310, "duration") == "1 h 28 min"


def test_interval():
    assert formats.interval(0.6312, 0.6587) == "63.1%–65.9%"
    assert formats.interval(-0.012, 0.03, "points") == f"{MINUS}1.2 to +3.0"
    assert formats.format_value((0.2, 0.3), ".2f") == "0.20–0.30"


def test_missing_says_why():
    assert str(Missing("no correct image of this class")) == "— (no correct image of this class)"
    assert formats.format_value(Missing("not run")) == "— (not run)"


@pytest.mark.parametrize("value", [float("nan"), np.float64("nan"), None, pd.NA])
def test_a_missing_value_without_reason_is_an_error(value):
    with pytest.raises(ValueError, match="Missing"):
        formats.format_value(value, "percent")


def test_format_value_kinds():
    assert formats.format_value(7178) == "7,178"
    assert formats.format_value("happy") == "happy"
    assert formats.format_value(0.25, "percent") == "25.0%"
    assert formats.format_value(0.5071, ".3f") == "0.507"
    with pytest.raises(ValueError, match="say how to write it"):
        formats.format_value(0.5)
    with pytest.raises(ValueError, match="cannot be written as 'percentage'"):
        formats.format_value(0.5, "percentage")


def test_format_table():
    table = pd.DataFrame(
        {"recall": [0.5, float("nan")], "images": [958, 111], "gain": [0.012, -0.0001]},
        index=pd.Index(["angry", "disgust"], name="class"),
    )
    shown = formats.format_table(
        table, {"recall": "percent", "gain": "points"}, missing={"recall": "no correct image of this class"}
    )
    assert shown.to_dict() == {
        "recall": {"angry": "50.0%", "disgust": "— (no correct image of this class)"},
        "images": {"angry": "958", "disgust": "111"},
        "gain": {"angry": "+1.2", "disgust": "0.0"},
    }
    assert shown.index.name == "class"
    assert "nan" not in shown.to_html().lower()


def test_format_table_refuses_unexplained_gaps_and_unknown_columns():
    table = pd.DataFrame({"recall": [0.5, math.nan]})
    with pytest.raises(ValueError, match="column 'recall', row 1 is missing"):
        formats.format_table(table, {"recall": "percent"})
    with pytest.raises(ValueError, match="no column"):
        formats.format_table(table, {"precision": "percent"})
    with pytest.raises(ValueError, match="column 'recall', row 0"):
        formats.format_table(table.fillna(0.1))
    assert formats.format_table(table, {"recall": "percent"}, missing="not measured")["recall"][1] == "— (not measured)"
