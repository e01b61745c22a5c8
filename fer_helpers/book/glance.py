"""The report's claims at a glance: one short row per record of results/comparisons.json (claim, what was
measured with its 95 % interval, the verdict, a link to the chapter), written from the values a chapter's prose
glues (:func:`fer_helpers.book.verdicts.prose_values`), and the same claims as one figure (`figure`); a claim whose
runs are not all in keeps its row and says that it waits."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..chapters import claims
from .formats import count, counted
from .verdicts import measured


def in_study_order(records: dict, waiting: dict | None = None) -> list[tuple[str, dict | None]]:
    """(claim id, record) of the judged claims ({claim id: record}) and (claim id, None) of the `waiting` ones
    ({claim id: claim text}), in the study's order (`fer_helpers.chapters.claims`)."""
    found = {**dict.fromkeys(waiting or {}), **records}
    book = [claim_id for claim_id in claims() if claim_id in found]
    return [(claim_id, found[claim_id]) for claim_id in book + [c for c in found if c not in book]]


def table(records: dict, chapters: dict[str, str], waiting: dict | None = None):
    """The report's compact verdict table, one row per claim ({claim_id: record}; `waiting`: {claim_id: text} of
    the claims whose runs are not all in), in the study's order: the claim's whole text, what was measured, the
    verdict in bold in its colour, and a link to the chapter (`chapters`: claim_id -> notebook stem) that measures
    it; no index of code ids. A pandas Styler, every cell text (the leak-free measures are in the chapters' own
    tables)."""
    rows = []
    for claim_id, record in in_study_order(records, waiting):
        word, stem = record["verdict"] if record else WAITS, chapters[claim_id]
        rows.append(
            {
                "claim": record["claim"] if record else waiting[claim_id],
                "measured here (95 % interval)": measured(record) if record else "— (its runs are not all in)",
                "verdict": f'<b style="color: {VERDICT_COLOURS[word]}">{word}</b>',
                "chapter": f'<a href="../notebooks/{stem}.html">chapter {int(stem[:2])}</a>',
            }
        )
    return pd.DataFrame(rows).style.hide(axis="index")


WAITS = "waits for its runs"  # what a page says of a claim whose runs are not all in, in place of a verdict

VERDICT_COLOURS = {
    "holds": "#1b7837",
    "refuted": "#b2182b",
    "inconclusive": "#7f7f7f",
    "budget-limited": "#e08214",
    "not tested": "#bdbdbd",
    WAITS: "#969696",
}


LABEL_WIDTH = 32  # characters per line of a claim's label in the figure, so that its axes keep their width


def figure(records: dict, waiting: dict | None = None):
    """The claims as one figure, one row per claim in the study's order (`table`'s arguments): what was measured
    with its 95 % interval, the claimed level or size marked (a diamond), and the verdict as a colour and a word; a
    claim of equivalence shows the 90 % interval its verdict reads and its margin (two bars). A claim whose runs
    are not all in has its row and says so. Level claims ("reaches 64 %") are drawn in accuracy on the left, claims
    between two arms in points (B − A) on the right."""
    import matplotlib.pyplot as plt

    rows = in_study_order(records, waiting)
    fig, (levels, sizes) = plt.subplots(
        1, 2, figsize=(7.2, 0.6 * len(rows) + 1.2), sharey=True, gridspec_kw={"width_ratios": [1, 1.3]}
    )
    for y, (_, record) in enumerate(rows):
        if record is None:
            sizes.annotate(
                WAITS, (1.01, y), xycoords=("axes fraction", "data"), color=VERDICT_COLOURS[WAITS], va="center"
            )
            continue
        level = record["claimed"]["level"]
        ax, scale, shift = (levels, 100, level) if level is not None else (sizes, 100, 0.0)
        colour = VERDICT_COLOURS.get(record["verdict"], "black")
        margin = record["claimed"].get("margin")
        low, high = (np.asarray(record["ci90" if margin else "ci95"]) + shift) * scale
        ax.plot([low, high], [y, y], color=colour, lw=3, solid_capstyle="butt")
        ax.plot((record["mean_difference"] + shift) * scale, y, "o", color=colour)
        if margin:
            ax.plot([-margin * scale, margin * scale], [y, y], "|", color="black", ms=14, mew=1.5)
        else:
            claimed = level if level is not None else record["claimed"]["direction"] * record["claimed"]["size"]
            ax.plot(claimed * scale, y, "D", mfc="none", mec="black", ms=7)
        sizes.annotate(record["verdict"], (1.01, y), xycoords=("axes fraction", "data"), color=colour, va="center")
    sizes.axvline(0, color="black", lw=0.6)
    texts = [textwrap.fill(record["claim"] if record else waiting[claim_id], LABEL_WIDTH) for claim_id, record in rows]
    levels.set(yticks=range(len(rows)), yticklabels=texts, xlabel="test accuracy (%)")
    sizes.set(xlabel="difference, B − A (points)")
    levels.invert_yaxis()
    for ax in (levels, sizes):
        ax.grid(axis="x", alpha=0.3)
    levels.set_title("claims of a level", fontsize=10)
    sizes.set_title("claims between two arms", fontsize=10)
    fig.tight_layout()
    return fig


def tally(records: dict, waiting: dict | None = None) -> dict:
    """What the intro says of the claims ({claim id: record} of the judged ones; `waiting`: {claim id: text} of those
    whose runs are not all in), as counted phrases that agree with their counts: how many claims there are, how
    many hold and are refuted and which (their texts, quoted, or "none"), how many stay open (inconclusive,
    budget-limited or not tested), and which wait for their runs, in the study's order."""
    waits = [f"“{waiting[claim_id]}”" for claim_id, _ in in_study_order({}, waiting)]
    said = {
        word: [f"“{r['claim']}”" for r in records.values() if r["verdict"] == word] for word in ("holds", "refuted")
    }
    n_open = len(records) - len(said["holds"]) - len(said["refuted"])
    waiting_clause = counted(len(waits), "waits for its runs", "wait for their runs") + f" ({'; '.join(waits)})"
    return {
        "intro_n_claims": count(len(records) + len(waits)),
        "intro_n_holds": counted(len(said["holds"]), "holds", "hold"),
        "intro_holds": "; ".join(said["holds"]) or "none",
        "intro_n_refuted": counted(len(said["refuted"]), "is refuted", "are refuted"),
        "intro_refuted": "; ".join(said["refuted"]) or "none",
        "intro_n_open": counted(n_open, "more is", "more are"),
        "intro_waiting": waiting_clause if waits else "every claim has its runs",
    }
