"""How long each chapter took in its last full-profile run, from results/runs.json, as a markdown
table: the "Reproduce" page shows it, and `make notebooks` writes it into the README after each run
(between `README_START` and `README_END`)."""

from __future__ import annotations

from pathlib import Path

from .. import config
from ..results import format_seconds
from .provenance import chapter_notebooks, load_runs, runs_path

README_START = "<!-- chapter times: written by `make notebooks` from results/runs.json; do not edit -->"
README_END = "<!-- end of chapter times -->"


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
            format_seconds(record["wall_seconds"]),
            record.get("finished", "?")[:16].replace("T", " "),
            f"`{record.get('git_commit', '?')}`",
            record.get("machine", ""),
            load_text(record.get("load")),
        ]
        for stem, record in sorted(records.items())
    ]
    total = sum(record["wall_seconds"] for record in records.values())
    rows.append(["**total**", f"**{format_seconds(total)}**", "", "", "", ""])
    lines = markdown_table(
        ["notebook", "wall time", "finished (UTC)", "commit", "machine", "load (1 min): start → end"], rows
    )
    missing = sorted(set(present) - set(records))
    if missing:
        lines += ["", "Not yet run in the full profile: " + ", ".join(f"`{m}`" for m in missing) + "."]
    return lines


def readme_with_times(readme: str, root: Path = config.ROOT) -> str:
    """`readme` with the text between its markers replaced by the chapter times of `root`'s runs.json."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md: the markers {README_START!r} and {README_END!r} are missing or out of order")
    table = runs_markdown(load_runs(runs_path(root)), root, link="notebooks/{}.ipynb")
    return readme[: start + len(README_START)] + "\n" + "\n".join(table) + "\n" + readme[end:]


def update_readme(root: Path = config.ROOT) -> None:
    """Write the chapter times into `root`/README.md."""
    path = Path(root) / "README.md"
    path.write_text(readme_with_times(path.read_text(), root))
