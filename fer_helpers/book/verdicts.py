"""The comparison records (fer_helpers.comparisons) written for a page: a table of claims, and the values a
chapter's prose glues about one claim, each number formatted by its kind (fer_helpers.book.formats)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import comparisons
from .formats import Missing, format_table

SMALLEST_P = 1e-6  # a p-value below this is written "< 1e-6", never rounded to 0


def p_text(p) -> str | Missing:
    """A p-value as a page writes it: two significant digits, "< 1e-6" below that, why when there is none."""
    if p is None or np.isnan(p):
        return Missing("no spread over seeds")
    return f"< {SMALLEST_P:.0e}" if p < SMALLEST_P else f"{p:.2g}"


def page_table(records) -> pd.DataFrame:
    """`table` written for a page (fer_helpers.book.formats): per claim its arms, seeds, mean accuracy per arm,
    the difference (B − A, or the arm − the level) with its 95 % interval in points, p, the verdict, and the same on
    the leak-free test images where computed. No `nan` can appear: what does not apply says why."""
    raw = comparisons.table(records)
    shown = pd.DataFrame(
        {
            "claim": raw["claim"],
            "arm A": raw["arm A"],
            "arm B": raw["arm B"],
            "level": raw["level"],
            "seeds": raw["seeds"],
            "mean A": raw["mean A"],
            "mean B": raw["mean B"],
            "difference": raw["difference"],
            "95% interval": list(zip(raw["ci low"], raw["ci high"], strict=True)),
            "p": [p_text(p) for p in raw["p"]],
            "test": raw["test"],
            "verdict": raw["verdict"],
        },
        index=raw.index,
    )
    kinds = {"level": "percent", "mean A": "percent", "mean B": "percent", "difference": "points"}
    kinds |= {"95% interval": "points", "p": "text"}
    if "leak-free verdict" in raw:
        free = raw["leak-free verdict"].notna()
        shown["leak-free difference"] = raw["leak-free difference"]
        shown["leak-free interval"] = [
            (lo, hi) if known else None
            for lo, hi, known in zip(raw["leak-free ci low"], raw["leak-free ci high"], free, strict=True)
        ]
        shown["leak-free verdict"] = raw["leak-free verdict"]
        kinds |= {"leak-free difference": "points", "leak-free interval": "points"}
    one_arm, not_computed = "a claim about one arm", "not computed for this claim"
    missing = {"arm B": one_arm, "mean B": one_arm, "level": "a claim between two arms", "p": "no spread over seeds"}
    missing |= dict.fromkeys(["leak-free difference", "leak-free interval", "leak-free verdict"], not_computed)
    return format_table(shown, kinds, missing={k: v for k, v in missing.items() if k in shown})


def budget_table(records) -> pd.DataFrame:
    """Per claim ({claim_id: record} or a list): its epoch budget and the word at it, and, where the word was one
    more training could change, the word at twice the epochs (one seed per arm) and the verdict that follows."""
    rows = {
        r["claim_id"]: {
            "claim": r["claim"],
            "epochs": r["budget"],
            "word at the budget": r.get("verdict_at_budget", r.get("verdict_as_measured", r["verdict"])),
            "epochs, doubled": r.get("doubled_budget"),
            "word at twice the epochs": r.get("verdict_at_doubled"),
            "verdict": r["verdict"],
        }
        for r in (records.values() if isinstance(records, dict) else records)
    }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim_id")
    no_check = "not needed: more training would not change the word"
    return format_table(
        table.astype({"epochs": int}),
        {"epochs, doubled": "count"},
        missing={"epochs, doubled": no_check, "word at twice the epochs": no_check},
    )


def prose_values(record: dict, prefix: str) -> tuple[dict, dict]:
    """What a chapter's prose says about a record, as (values, kinds) for
    `glue_values(*verdicts.prose_values(record, "ch4_outliers"))`:

    <prefix>_verdict; <prefix>_claimed (the claimed size in points, or the level in percent; absent when only a
    direction is claimed); <prefix>_mean_a and _mean_b (each arm's mean accuracy; _mean for a level claim);
    _difference and _ci (B − A, or accuracy − level, in points); _p; for a level claim also _accuracy_ci (the
    interval of the accuracy itself, in percent). The same on the leak-free test images as <prefix>_lf_..., where
    the record has them.
    """
    claimed = record["claimed"]
    values, kinds = {f"{prefix}_verdict": record["verdict"]}, {}
    if claimed["level"] is not None:
        values[f"{prefix}_claimed"], kinds[f"{prefix}_claimed"] = claimed["level"], "percent"
    elif claimed["size"]:
        values[f"{prefix}_claimed"], kinds[f"{prefix}_claimed"] = claimed["direction"] * claimed["size"], "points"

    def part(stats: dict, key: str) -> None:
        arms = record["arms"]
        means = (
            {f"{key}_mean": stats["mean"][arms[0]]}
            if len(arms) == 1
            else {f"{key}_mean_a": stats["mean"][arms[0]], f"{key}_mean_b": stats["mean"][arms[1]]}
        )
        values.update(
            {
                **means,
                f"{key}_verdict": stats["verdict"],
                f"{key}_difference": stats["mean_difference"],
                f"{key}_ci": tuple(stats["ci95"]),
                f"{key}_p": p_text(stats["p_value"]),
            }
        )
        kinds.update({**dict.fromkeys(means, "percent"), f"{key}_difference": "points", f"{key}_ci": "points"})
        if claimed["level"] is not None:
            values[f"{key}_accuracy_ci"] = tuple(np.asarray(stats["ci95"]) + claimed["level"])
            kinds[f"{key}_accuracy_ci"] = "percent"

    part(record, prefix)
    if "leak_free" in record:
        part(record["leak_free"], f"{prefix}_lf")
    if "copied" in record:
        part(record["copied"], f"{prefix}_copied")
    return values, kinds
