"""How long each chapter took in its last full-profile run, from results/runs.json, and what the run store holds
and cost, per chapter, as markdown tables: the "Reproduce" page shows them, and `make notebooks` and `make runs`
write them into the README (between `README_START` and `README_END`, `STORE_START` and `STORE_END`)."""

from __future__ import annotations

from pathlib import Path

from .. import config
from ..machine import duration
from ..results import write_atomic
from .provenance import chapter_notebooks, load_runs, runs_path

README_START = "<!-- chapter times: written by `make notebooks` from results/runs.json; do not edit -->"
README_END = "<!-- end of chapter times -->"
STORE_START = "<!-- run store: written by `make runs` from runs/; do not edit -->"
STORE_END = "<!-- end of run store -->"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def load_text(load: dict | None) -> str:
    """A run's 1-minute load average at its start and end, or why there is none."""
    if not load:
        return "not recorded (an earlier run)"
    return f"{load['start'][0]:.2f} → {load['end'][0]:.2f}"


def runs_markdown(runs: dict, root: Path = config.ROOT, link: str = "/notebooks/{}.ipynb") -> list[str]:
    """Wall time per notebook (full profile) and in total; `link` makes a notebook's stem a link target."""
    present = {p.stem: p for p in chapter_notebooks(root)}
    records = {stem: r for stem, r in runs["notebooks"].items() if stem in present}
    if not records:
        return [
            "No chapter notebook has run in the full profile yet (`make book` records each run in `results/runs.json`)."
        ]
    rows = [
        [
            f"[{stem}]({link.format(stem)})",
            duration(record["wall_seconds"]),
            record.get("finished", "?")[:16].replace("T", " "),
            f"`{record.get('git_commit', '?')}`",
            record.get("machine", ""),
            load_text(record.get("load")),
        ]
        for stem, record in sorted(records.items())
    ]
    total = sum(record["wall_seconds"] for record in records.values())
    rows.append(["**total**", f"**{duration(total)}**", "", "", "", ""])
    lines = markdown_table(
        ["notebook", "wall time", "finished (UTC)", "commit", "machine", "load (1 min): start → end"], rows
    )
    missing = sorted(set(present) - set(records))
    if missing:
        lines += ["", "Not yet run in the full profile: " + ", ".join(f"`{m}`" for m in missing) + "."]
    return lines


def store_markdown(profile: config.Profile = config.PROFILES["full"]) -> list[str]:
    """Per chapter and in all: the stored runs of its arms, their size, training PFLOP and the wall hours it took."""
    from .. import chapters, specs
    from ..runstore import store

    runs = store.stored(profile)
    by_arm = {}
    for run in runs:
        by_arm.setdefault(run.record["arm"].removesuffix(specs.DOUBLED), []).append(run)
    rows = []
    for stem, chapter in chapters.CHAPTERS.items():
        mine = [run for arm in chapter.arms for run in by_arm.get(arm.name, [])]
        if chapter.arms:
            rows.append([f"`{stem}`", *store_cells(store.summary(mine))])
    rows.append(["**the store** (a run two chapters share counted once)", *store_cells(store.summary(runs))])
    return markdown_table(["chapter", "runs", "with weights", "size", "training PFLOP", "wall hours"], rows)


def store_cells(summary: dict) -> list[str]:
    return [
        str(summary["runs"]),
        str(summary["with_weights"]),
        f"{summary['bytes'] / 2**20:.1f} MiB",
        f"{summary['training_flops'] / 1e15:.2f}",
        f"{summary['train_seconds'] / 3600:.1f}",
    ]


def between(text: str, start: str, end: str, lines: list[str]) -> str:
    """`text` with what stands between the markers `start` and `end` replaced by `lines`."""
    first, last = text.find(start), text.find(end)
    if first < 0 or last < first:
        raise ValueError(f"README.md: the markers {start!r} and {end!r} are missing or out of order")
    return text[: first + len(start)] + "\n" + "\n".join(lines) + "\n" + text[last:]


def readme_with_times(readme: str, root: Path = config.ROOT) -> str:
    """`readme` with the chapter times of `root`'s runs.json between its markers."""
    table = runs_markdown(load_runs(runs_path(root)), root, link="notebooks/{}.ipynb")
    return between(readme, README_START, README_END, table)


def update_readme(root: Path = config.ROOT, store: bool = False) -> None:
    """Write the chapter times (with `store`: what the run store holds) into `root`/README.md."""
    path = Path(root) / "README.md"
    text = readme_with_times(path.read_text(), root)
    write_atomic(path, between(text, STORE_START, STORE_END, store_markdown()) if store else text)
