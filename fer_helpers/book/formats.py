"""One way to write each kind of number in the book's prose and tables.

    percent(0.6543)            -> "65.4%"      (the book's convention: one decimal, no space)
    points(0.012), points(-0.008), points(-0.0004) -> "+1.2", "−0.8", "0.0"  (differences of proportions)
    count(7178)                -> "7,178"
    duration(805)              -> "13 min 25 s"
    number(0.5071, ".3f")      -> "0.507"      (any Python format spec)
    interval(0.63, 0.66)       -> "63.0%–66.0%"
    Missing("no correct image of this class") -> "— (no correct image of this class)"

Negative numbers take the typographic minus (U+2212); a value that rounds to zero is written without a
sign, so "-0.0" never appears. A missing value (None, NaN) is an error unless it comes as `Missing(why)`:
no "nan" or "nan%" reaches a page. `format_value(value, kind)` dispatches on a kind name (a value may carry its
kind: `Written(value, kind)`), and `format_table(df, kinds)` formats a DataFrame for display with the same rules.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

import pandas as pd

from ..machine import duration

MINUS = "\u2212"
EN_DASH = "\u2013"
EM_DASH = "\u2014"


@dataclass(frozen=True)
class Missing:
    """A value that does not exist, and why: written as "— (why)"."""

    why: str

    def __str__(self) -> str:
        return f"{EM_DASH} ({self.why})"


@dataclass(frozen=True)
class Written:
    """A value with the kind `format_value` writes it as, given once where the value is: `Written(0.61, "percent")`."""

    value: object
    kind: str


def number(value: float, spec: str) -> str:
    """`format(value, spec)` with a typographic minus and no sign on a value that rounds to zero."""
    text = format(value, spec)
    if not re.search(r"[1-9]", text.split("e")[0]):
        text = format(abs(value), spec).lstrip("+")
    return MINUS + text[1:] if text.startswith("-") else text


def percent(fraction: float, decimals: int = 1) -> str:
    """A proportion as a percentage: 0.6543 -> "65.4%"."""
    return number(fraction, f".{decimals}%")


def points(difference: float, decimals: int = 1) -> str:
    """A difference of two proportions in percentage points, always signed: 0.012 -> "+1.2"."""
    return number(difference * 100, f"+.{decimals}f")


def count(n: float) -> str:
    """A count with thousands separators; an estimated (fractional) count is rounded: 7178 -> "7,178"."""
    return number(round(float(n)), ",d")


def counted(n: int, one: str, many: str) -> str:
    """A count and the words that agree with it: (1, "holds", "hold") -> "1 holds", (5, ...) -> "5 hold"."""
    return f"{count(n)} {one if n == 1 else many}"


def interval(low: float, high: float, kind: str = "percent") -> str:
    """Both ends written as `kind` and joined by an en dash, or by "to" when an end carries a sign."""
    ends = [format_value(low, kind), format_value(high, kind)]
    signed = any(end[0] in f"+{MINUS}" for end in ends)
    return (" to " if signed else EN_DASH).join(ends)


KINDS = {"percent": percent, "points": points, "count": count, "duration": duration, "text": str}


def is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, numbers.Real) and math.isnan(value))


def kind_of(value) -> str:
    """The kind a value is written as when none is given: counts for integers, text for text; a
    fraction is ambiguous (percent? points? a correlation?), so floats must name theirs."""
    if isinstance(value, (str, bool)):
        return "text"
    if isinstance(value, numbers.Integral):
        return "count"
    raise ValueError(f"{value!r}: say how to write it, as one of {sorted(KINDS)} or a format spec like '.2f'")


def format_value(value, kind: str | None = None) -> str:
    """`value` written as `kind` (a name in KINDS, or a Python format spec such as ".3f"); a pair
    (low, high) is written as an interval of that kind."""
    if isinstance(value, Missing):
        return str(value)
    if is_missing(value):
        raise ValueError("a missing value (None or NaN): pass formats.Missing('why it is missing') instead")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return interval(*value, kind=kind or "percent")
    kind = kind or kind_of(value)
    if kind in KINDS:
        return KINDS[kind](value)
    try:
        return number(value, kind)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{value!r} cannot be written as {kind!r} (a kind is one of {sorted(KINDS)} "
            f"or a format spec like '.2f'): {error}"
        ) from None


def format_table(df: pd.DataFrame, kinds: dict | None = None, missing: str | dict | None = None) -> pd.DataFrame:
    """`df` with every cell written as text: column `c` as `kinds[c]` (inferred for integer and text
    columns). Missing cells read "— (why)", `why` given by `missing` (one reason, or one per column);
    a column with missing cells and no reason is an error."""
    kinds, reasons = kinds or {}, missing if isinstance(missing, dict) else {}
    unknown = set(kinds) - set(df.columns)
    if unknown:
        raise ValueError(f"format_table: no column {sorted(unknown)} in the table (columns: {list(df.columns)})")
    formatted = {}
    for column in df.columns:
        why = reasons.get(column, missing if isinstance(missing, str) else None)
        cells = []
        for row, value in df[column].items():
            if is_missing(value):
                if why is None:
                    raise ValueError(
                        f"format_table: column {column!r}, row {row!r} is missing; say why with "
                        f"missing={{{column!r}: '...'}}"
                    )
                value = Missing(why)
            try:
                cells.append(format_value(value.item() if hasattr(value, "item") else value, kinds.get(column)))
            except ValueError as error:
                raise ValueError(f"format_table: column {column!r}, row {row!r}: {error}") from None
        formatted[column] = cells
    return pd.DataFrame(formatted, index=df.index)
