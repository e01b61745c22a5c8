"""The report's claims at a glance: one short row per record of results/comparisons.json (claim, what was
measured with its 95 % interval, the same on the leak-free test images, the verdict, the chapter), written
from the values a chapter's prose glues (:func:`fer_helpers.book.verdicts.prose_values`)."""

from __future__ import annotations

import pandas as pd

from .formats import format_value
from .verdicts import prose_values

NOT_COMPUTED = "— (not computed for this claim)"


def measured(record: dict, free: bool = False) -> str:
    """What a record measured, as one phrase: "54.9% (54.4%–55.4%) against 52.0%" for a level claim, or
    "+3.2 points (+2.4 to +4.1)" (the second arm minus the first) for a claim between two arms; with `free`,
    the same on the leak-free test images followed by their verdict."""
    if free and "leak_free" not in record:
        return NOT_COMPUTED
    values, kinds = prose_values(record, "x")
    key = "x_lf" if free else "x"

    def text(name: str) -> str:
        return format_value(values[f"{key}_{name}"], kinds.get(f"{key}_{name}"))

    if record["claimed"]["level"] is not None:
        claimed = format_value(values["x_claimed"], kinds["x_claimed"])
        phrase = f"{text('mean')} ({text('accuracy_ci')}) against {claimed}"
    else:
        phrase = f"{text('difference')} points ({text('ci')})"
    return f"{phrase}, {values[f'{key}_verdict']}" if free else phrase


def table(records: dict, chapters: dict[str, str]) -> pd.DataFrame:
    """One row per claim ({claim_id: record}): the claim, what was measured, the leak-free measure, the
    verdict and the chapter (`chapters`: claim_id -> notebook stem) that measured it. Every cell is text."""
    rows = {
        claim_id: {
            "claim": record["claim"],
            "measured here (95 % interval)": measured(record),
            "leak-free test images": measured(record, free=True),
            "verdict": record["verdict"],
            "chapter": chapters[claim_id],
        }
        for claim_id, record in records.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim_id")
