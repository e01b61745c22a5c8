"""Re-run a chapter in the full profile, apart from the committed outputs, and compare its numbers with them.

    python -m fer_helpers.book.verify [NOTEBOOK ...] [--tolerance POINTS]

NOTEBOOK is a path or a stem (`04_baseline`); without one, the chapters whose recorded run (results/runs.json)
took under 5 minutes. The chapter runs in the `verify` profile: the full profile's work with its outputs under
_build/verify/ (`config.PROFILES["verify"]`), seeded with a copy of the committed results, models and artifacts
that later chapters read; the committed notebook, results, models, artifacts and runs.json are not written.
Then every glued value of the executed notebook and every field of the results/*.json files the run wrote are
compared with the committed ones: counts, ids, names and data statistics exactly; accuracies and other metrics
within a tolerance; run metadata, timings and chapter 7's activation maximisation (an illustration that
other CPUs round into other images) not at all. The artifacts/*.csv files it wrote (the split, the
outlier ids, the audit) are compared by the ids of their rows, exactly. A table (name | committed | re-run | ok)
is printed; the exit status is 1 when anything differs. When the committed run used other instruction sets than
this machine, that is said first: oneDNN then picks other kernels, and on chapter 3 that moved 30 of the 460
outlier ids, all at the threshold (AVX2 against AVX-512, 2026-12-02), while same-machine re-runs are identical.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import pandas as pd

from .. import config, results
from ..machine import cpu_info
from . import provenance, runbook

# Accuracy-like metrics (accuracy, F1, precision, recall, shares, their CIs and differences), in percentage
# points. Chapter 4 re-run on another machine moved merged test accuracy 54.4 → 54.0 % (measured 2026-11-29);
# one standard error of an accuracy on the 7,178 test images is ±0.55 points.
ACCURACY_TOLERANCE = 0.5
# Losses and reconstruction errors, relative: they have no fixed scale.
LOSS_TOLERANCE = 0.05
# "Exact" floats (data statistics) may differ in their last digits between CPUs, nothing more: chapter 2's PSNR
# and SSIM of OpenCV's filters moved by up to 3e-7 (relative) between an AMD EPYC run and an AVX-512 Xeon one,
# and their standard errors, computed from differences, by up to 2e-6.
FLOAT_DIGITS = 1e-5
CHEAP_SECONDS = 5 * 60  # `make verify` without NB: chapters whose recorded run took less

# Field and glue names (lower case, words separated by spaces), first match wins. Not compared: run metadata and
# timings (glued names ending in `_min` are minutes), and the predictions' details that metrics summarise.
IGNORED = re.compile(
    r"^run |^ch\d+ .*\bmin $|\b(seconds?|wall|finished|git commit|machine|speed|latency|ms|minutes|"
    r"s per epoch|rate|speedup|cpu|cores)\b"
)
PREDICTION_DETAIL = re.compile(r"\b(confusion|bins)\b")  # per-class recall and precision, ECE summarise them
# Activation maximisation (chapter 7) is a gradient ascent that amplifies the CPU's rounding: re-run on another CPU
# it ends at other images (class probabilities moved by up to 0.25 and 4 of the 14 nearest mean faces changed), so the
# chapter shows it as an illustration and it is not compared.
ILLUSTRATION = re.compile(r"\b(activation maximization|am)\b")
LOSS = re.compile(r"\b(loss|mse)\b")
METRIC = re.compile(
    r"\b(acc|accuracy|val|f1|precision|recall|privatetest|publictest|private|public|ci|ci95|gain|"
    r"delta|gap|diff|sd|rho|spearman|corr|correlation|prob|probability|share|shares|jaccard|ece|"
    r"confidence|sanity)\b"
)
POINTS = re.compile(r"\b(gain|delta|gap|diff)\b")  # differences glued in percentage points, not fractions
NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")


@dataclass(frozen=True)
class Check:
    """One compared value: `ok` is None when the value is not compared (run metadata, timings)."""

    name: str
    committed: object
    rerun: object
    ok: bool | None


def words(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip() + " "


def rule(name: str) -> str:
    """How a value called `name` is compared: 'ignored', 'loss', 'metric' or 'exact'."""
    text = words(name)
    if IGNORED.search(text) or PREDICTION_DETAIL.search(text) or ILLUSTRATION.search(text):
        return "ignored"
    if LOSS.search(text):
        return "loss"
    return "metric" if METRIC.search(text) else "exact"


def same_number(name: str, committed: float, rerun: float, kind: str, percent: bool, tolerance: float) -> bool:
    if math.isnan(committed) or math.isnan(rerun):
        return math.isnan(committed) and math.isnan(rerun)
    if kind == "loss":
        return abs(committed - rerun) <= LOSS_TOLERANCE * max(abs(committed), abs(rerun))
    if kind == "metric":
        fraction = not percent and not POINTS.search(words(name)) and max(abs(committed), abs(rerun)) <= 1
        return abs(committed - rerun) * (100 if fraction else 1) <= tolerance + 1e-9
    return math.isclose(committed, rerun, rel_tol=FLOAT_DIGITS)


def same_text(name: str, committed: str, rerun: str, kind: str, tolerance: float) -> bool:
    """Glued text such as '54.4%' or '41.7%–43.9%': the words exactly, each number by `kind`; integers exactly."""
    numbers = [NUMBER.findall(text) for text in (committed, rerun)]
    if NUMBER.sub("#", committed) != NUMBER.sub("#", rerun) or len(numbers[0]) != len(numbers[1]):
        return False
    for a, b in zip(*numbers, strict=False):
        integer = "." not in a + b and "%" not in a + b and "e" not in a + b
        if integer or kind == "exact":
            if a != b:
                return False
        elif not same_number(name, *(float(n.replace(",", "").rstrip("%")) for n in (a, b)), kind, "%" in a, tolerance):
            return False
    return True


def compare(name: str, committed, rerun, tolerance: float = ACCURACY_TOLERANCE) -> Check:
    """One value, by the rule its name gives (:func:`rule`); ints, strings and None exactly."""
    kind = rule(name)
    if kind == "ignored":
        return Check(name, committed, rerun, None)
    values = (committed, rerun)
    if all(isinstance(v, str) for v in values):
        ok = same_text(name, committed, rerun, kind, tolerance)
    elif any(isinstance(v, float) for v in values) and all(type(v) in (int, float) for v in values):
        ok = same_number(name, float(committed), float(rerun), kind, False, tolerance)
    else:  # ints, booleans, None, or values of different kinds
        ok = committed == rerun
    return Check(name, committed, rerun, ok)


MISSING = "(missing)"


def flatten(value, prefix: str = "") -> dict[str, object]:
    """A JSON value as {'a/b/0': leaf}."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}/{key}" if prefix else str(key)))
    return flat


def compare_fields(
    committed: dict,
    rerun: dict,
    label: str = "",
    tolerance: float = ACCURACY_TOLERANCE,
) -> list[Check]:
    """Every field of two flat dicts, in the committed order; a field on one side only is a mismatch
    (unless it is ignored)."""
    checks = []
    for key in list(committed) + [k for k in rerun if k not in committed]:
        if key in committed and key in rerun:
            check = compare(key, committed[key], rerun[key], tolerance)
        else:
            check = Check(
                key, committed.get(key, MISSING), rerun.get(key, MISSING), None if rule(key) == "ignored" else False
            )
        checks.append(replace(check, name=f"{label}{key}"))
    return checks


def glued_values(notebook: nbformat.NotebookNode) -> dict[str, object]:
    """{name: value} of the values a notebook glued (myst_nb.glue; the text form, read as a Python literal)."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            text = output.get("data", {}).get(scrapbook.get("mime_prefix", "") + "text/plain")
            try:
                values[scrapbook["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError):
                values[scrapbook["name"]] = text
    return values


def compare_glue(committed: Path, rerun: Path, tolerance: float = ACCURACY_TOLERANCE) -> list[Check]:
    values = [glued_values(nbformat.read(path, as_version=4)) for path in (committed, rerun)]
    return compare_fields(*values, label="glue ", tolerance=tolerance)


def written_since(folder: Path, pattern: str, started: float) -> list[Path]:
    """The files matching `pattern` in `folder` that a run started at `started` wrote (runs.json aside)."""
    return sorted(p for p in folder.glob(pattern) if p.name != "runs.json" and p.stat().st_mtime >= started)


def compare_results(committed_dir: Path, written: list[Path], tolerance: float = ACCURACY_TOLERANCE) -> list[Check]:
    """The results files a run wrote, field by field, against those of the same name in `committed_dir`."""
    checks = []
    for path in written:
        committed = committed_dir / path.name
        if not committed.exists():
            checks.append(Check(path.name, MISSING, "written", False))
            continue
        checks += compare_fields(
            flatten(json.loads(committed.read_text())),
            flatten(json.loads(path.read_text())),
            label=f"{path.name} ",
            tolerance=tolerance,
        )
    return checks


ROW_IDS = ("key", "id", "i", "j", "related_id")  # the columns that name a row of an artifact, where present


def compare_artifacts(committed_dir: Path, written: list[Path]) -> list[Check]:
    """The artifact tables a run wrote, against those of the same name in `committed_dir`: one check per file,
    its rows named by their ids (`ROW_IDS`); ok when both name the same rows."""
    checks = []
    for path in written:
        committed = committed_dir / path.name
        if not committed.exists():
            checks.append(Check(f"{path.name} rows", MISSING, "written", False))
            continue
        rows = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in (committed, path)]
        ids = [c for c in ROW_IDS if c in rows[0].columns and c in rows[1].columns] or list(rows[0].columns)
        before, after = (set(map(tuple, table[ids].to_numpy())) for table in rows)
        differ = max(len(before - after), len(after - before))
        rerun = f"{len(rows[1])}" + (f" ({differ} differ)" if differ else "")
        checks.append(Check(f"{path.name} rows", len(rows[0]), rerun, not differ))
    return checks


def instruction_sets(stem: str, root: Path = config.ROOT) -> str | None:
    """A line when the chapter's committed run used other instruction sets than this machine has; else None."""
    record = provenance.load_runs(provenance.runs_path(root))["notebooks"].get(stem, {}).get("cpu")
    here = cpu_info()
    if not record or set(record["flags"]) == set(here["flags"]):
        return None
    return (
        f"note: the committed run used {record['model']} ({', '.join(record['flags'])}); this machine is "
        f"{here['model']} ({', '.join(here['flags'])}). Other kernels round differently: ids at a threshold "
        "and accuracies may move."
    )


def seed_scratch(committed: config.Profile, scratch: config.Profile) -> None:
    """An empty scratch output root holding a copy of the committed results, models and artifacts. A root that holds
    the committed outputs, or a folder the project did not make, is refused with FileExistsError."""
    root = scratch.output_root.resolve()
    if root in (committed.output_root.resolve(), *committed.output_root.resolve().parents):
        raise FileExistsError(f"the verify profile writes to {root}, which holds the committed outputs")
    results.fresh_folder(root)
    for name in ("results_dir", "models_dir", "artifacts_dir"):
        source = getattr(committed, name)
        if source.is_dir():
            shutil.copytree(source, getattr(scratch, name), ignore=shutil.ignore_patterns("runs.json"))


def verify(path: Path, tolerance: float = ACCURACY_TOLERANCE) -> list[Check]:
    """Re-run the chapter at `path` in the verify profile and compare it with its committed outputs."""
    committed, scratch = config.PROFILES["full"], config.PROFILES["verify"]
    seed_scratch(committed, scratch)
    started = time.time()
    runbook.execute(path, scratch, {}, {"data": provenance.current_data()}, into=scratch.output_root / "notebooks")
    return (
        compare_glue(path, scratch.output_root / "notebooks" / path.name, tolerance)
        + compare_results(committed.results_dir, written_since(scratch.results_dir, "*.json", started), tolerance)
        + compare_artifacts(committed.artifacts_dir, written_since(scratch.artifacts_dir, "*.csv", started))
    )


def shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def table(checks: list[Check]) -> str:
    """name | committed | re-run | ok, in aligned columns."""
    rows = [("name", "committed", "re-run", "ok")] + [
        (c.name, shown(c.committed), shown(c.rerun), {True: "ok", False: "MISMATCH", None: "ignored"}[c.ok])
        for c in checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows)


def cheap_chapters(root: Path = config.ROOT) -> list[Path]:
    """The chapters whose recorded full-profile run took less than CHEAP_SECONDS."""
    runs = provenance.load_runs(provenance.runs_path(root))["notebooks"]
    return [
        p
        for p in provenance.chapter_notebooks(root)
        if p.stem in runs and runs[p.stem].get("wall_seconds", math.inf) < CHEAP_SECONDS
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.book.verify", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="chapters, by path or stem (default: those under 5 minutes)")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=ACCURACY_TOLERANCE,
        help=f"for accuracies and other metrics, in percentage points (default {ACCURACY_TOLERANCE})",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every value compared, not only those that differ"
    )
    args = parser.parse_args(argv)
    if provenance.current_data() is None:
        raise SystemExit("verify re-runs chapters on the real data: no FER-2013 found (set FER2013_PATH)")
    paths = [runbook.notebook_path(n) for n in args.notebooks] or cheap_chapters()
    failed = []
    for path in paths:
        if note := instruction_sets(path.stem):
            print(note)
        try:
            checks = verify(path, args.tolerance)
        except FileExistsError as refused:  # the scratch folder: nothing was written
            parser.error(f"{refused} (set {config.VERIFY_ROOT_ENV} to a scratch folder of its own)")
        listed = checks if args.verbose else [c for c in checks if c.ok is False]
        print(f"\n{runbook.relative(path)}:" + (f"\n{table(listed)}" if listed else ""))
        mismatches = [c.name for c in checks if c.ok is False]
        compared = sum(c.ok is not None for c in checks)
        print(
            f"{compared} values compared, {len(checks) - compared} ignored, {len(mismatches)} differ"
            + (f": {', '.join(mismatches)}" if mismatches else "")
        )
        failed += [path.stem] * bool(mismatches)
    print(
        f"\nverify: {len(paths) - len(failed)} of {len(paths)} chapter(s) match"
        + (f"; differ: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
