"""The comparison records (fer_helpers.analysis.comparisons) written for a page: a table of claims, and the values a
chapter's prose glues about one claim, each number formatted by its kind (fer_helpers.book.formats)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import comparisons
from .formats import Missing, Written, format_table, format_value

SMALLEST_P = 1e-6  # a p-value below this is written "< 1e-6", never rounded to 0


def p_text(p) -> str | Missing:
    """A p-value as a page writes it: two significant digits, "< 1e-6" below that, why when there is none."""
    if p is None or np.isnan(p):
        return Missing("no spread over seeds")
    return f"< {SMALLEST_P:.0e}" if p < SMALLEST_P else f"{p:.2g}"


class Folded:
    """A compact table with its detail folded below it (an HTML <details>), so that the page's column holds it."""

    def __init__(self, table: pd.DataFrame, detail: pd.DataFrame, summary: str = "every number of these claims"):
        self.table, self.detail, self.summary = table, detail, summary

    def _repr_html_(self) -> str:
        return (
            self.table.to_html(escape=False)
            + f"<details><summary>{self.summary}</summary>{self.detail.to_html()}</details>"
        )

    def __repr__(self) -> str:
        return f"{self.table.to_string()}\n\n{self.summary}:\n{self.detail.to_string()}"


def page_table(records) -> Folded:
    """The claims of a page (`comparisons.table`'s records): one short row per claim (its whole text, what was
    measured with its 95 % interval, the verdict in bold), and every number folded below it (`detail_table`)."""
    records = list(records.values()) if isinstance(records, dict) else list(records)
    compact = pd.DataFrame(
        {
            "measured here (95 % interval)": [measured(r) for r in records],
            "verdict": [f"<b>{r['verdict']}</b>" for r in records],
        },
        index=pd.Index([r["claim"] for r in records], name="claim"),
    )
    return Folded(compact, detail_table(records))


def detail_table(records) -> pd.DataFrame:
    """`comparisons.table` written for a page (fer_helpers.book.formats): per claim its arms, seeds, mean accuracy
    per arm, the difference (B − A, or the arm − the level) with its 95 % interval in points, p, the verdict, and
    the same on the leak-free test images where computed. No `nan` can appear: what does not apply says why."""
    raw = comparisons.table(records).set_index("claim")
    shown = pd.DataFrame(
        {
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
    """Per claim ({claim_id: record} or a list): what it measured at its epoch budget with the word there, and, where
    that word was one more training could change, what one seed per arm measured at twice the epochs with its word;
    then the verdict that follows."""
    rows = {}
    for r in records.values() if isinstance(records, dict) else records:
        at_budget = r.get("verdict_at_budget", r.get("verdict_as_measured", r["verdict"]))
        doubled = r.get("doubled_budget")
        if "at_doubled" in r:  # the record as its doubled runs measured it
            twice = f"{doubled} epochs: {measured(r, 'doubled')}, {r['verdict_at_doubled']}"
        else:
            twice = f"{doubled} epochs: {r['verdict_at_doubled']}" if doubled else None
        rows[r["claim"]] = {
            "at the budget": f"{r['budget']} epochs: {measured(r)}, {at_budget}",
            "at twice the epochs, one seed per arm": twice,
            "verdict": r["verdict"],
        }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("claim")
    return format_table(table, {}, missing={"at twice the epochs, one seed per arm": "not needed"})


def prose_values(record: dict, prefix: str) -> dict:
    """What a chapter's prose says about a record, each number with its kind (`formats.Written`), for
    `glue_values(verdicts.prose_values(record, "ch4_outliers"))`:

    <prefix>_verdict; <prefix>_claimed (the claimed size in points, or the level in percent; absent when only a
    direction is claimed); <prefix>_mean_a and _mean_b (each arm's mean accuracy; _mean for a level claim);
    _difference and _ci (B − A, or accuracy − level, in points); _p; for a level claim also _accuracy_ci (the
    interval of the accuracy itself, in percent). The same on the leak-free test images as <prefix>_lf_..., and on
    the test images with a copy in training as <prefix>_copied_..., and what the doubled-budget runs measured as
    <prefix>_doubled_... (without _p: one seed per arm), where the record has them.
    """
    claimed = record["claimed"]
    values = {f"{prefix}_verdict": record["verdict"]}
    if claimed["level"] is not None:
        values[f"{prefix}_claimed"] = Written(claimed["level"], "percent")
    elif claimed["size"]:
        values[f"{prefix}_claimed"] = Written(claimed["direction"] * claimed["size"], "points")

    def part(stats: dict, key: str) -> None:
        arms = record["arms"]
        means = (
            {f"{key}_mean": stats["mean"][arms[0]]}
            if len(arms) == 1
            else {f"{key}_mean_a": stats["mean"][arms[0]], f"{key}_mean_b": stats["mean"][arms[1]]}
        )
        values.update(
            {
                **{name: Written(mean, "percent") for name, mean in means.items()},
                f"{key}_verdict": stats["verdict"],
                f"{key}_difference": Written(stats["mean_difference"], "points"),
                f"{key}_ci": Written(tuple(stats["ci95"]), "points"),
            }
        )
        if "ci90" in stats:  # an equivalence claim's verdict reads its 90 % interval
            values[f"{key}_ci90"] = Written(tuple(stats["ci90"]), "points")
        if "p_value" in stats:  # the doubled runs' interval is the test images' noise alone: no test over seeds
            values[f"{key}_p"] = p_text(stats["p_value"])
        if claimed["level"] is not None:
            values[f"{key}_accuracy_ci"] = Written(tuple(np.asarray(stats["ci95"]) + claimed["level"]), "percent")

    part(record, prefix)
    if "leak_free" in record:
        part(record["leak_free"], f"{prefix}_lf")
    if "copied" in record:
        part(record["copied"], f"{prefix}_copied")
    if "at_doubled" in record:
        part(record["at_doubled"], f"{prefix}_doubled")
    return values


def chapter_values(records: dict, prefix: str) -> dict:
    """`prose_values` of every record ({claim id: record}), each under <prefix>_<claim id>."""
    return {
        k: v for record in records.values() for k, v in prose_values(record, f"{prefix}_{record['claim_id']}").items()
    }


def written(value) -> str:
    """A value of `prose_values` as the page writes it."""
    return format_value(value.value, value.kind) if isinstance(value, Written) else format_value(value)


def measured(record: dict, part: str = "") -> str:
    """What a record measured, as one phrase: "54.9% (54.4%–55.4%) against 52.0%" for a level claim,
    "+3.2 points (+2.4 to +4.1)" (the second arm minus the first) for a claim between two arms, and "+0.5 points
    (90 %: −0.3 to +1.3) within ±2.0" for a claim of equivalence; with `part` "doubled", what its doubled-budget
    runs measured (`prose_values`)."""
    values = prose_values(record, "x")
    key = f"x_{part}" if part else "x"
    if record["claimed"]["level"] is not None:
        phrase = f"{written(values[key + '_mean'])} ({written(values[key + '_accuracy_ci'])})"
        return phrase + f" against {written(values['x_claimed'])}"
    if record["claimed"].get("margin"):
        within = format_value(record["claimed"]["margin"] * 100, ".1f")
        return (
            f"{written(values[key + '_difference'])} points (90 %: {written(values[key + '_ci90'])}) within ±{within}"
        )
    return f"{written(values[key + '_difference'])} points ({written(values[key + '_ci'])})"
