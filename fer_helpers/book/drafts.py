"""Draft chapters: notebooks whose committed outputs are not those of their code (not yet run in the full
profile, or code cells changed since). The book can be built without them while they wait for their run; a prose
page that glues from one keeps its place, each glued value of a draft replaced by a note that it waits:

    python -m fer_helpers.book.drafts SOURCE   # prints the folder to build: "." when there is no draft,
                                               # else SOURCE, a copy of the book without the drafts
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

from .. import config, results
from . import provenance


def has_outputs(notebook: nbformat.NotebookNode) -> bool:
    return any(cell.get("outputs") for cell in notebook.cells)


def is_draft(path: Path) -> bool:
    """Whether the chapter notebook at `path` has no full-profile outputs of its current code cells."""
    notebook = nbformat.read(path, as_version=4)
    run = notebook.metadata.get("fer_run", {})
    code = provenance.code_key(notebook)
    return run.get("profile") != "full" or run.get("keys", {}).get("code") != code or not has_outputs(notebook)


def drafts(root: Path = config.ROOT) -> list[Path]:
    """The draft chapters, and the chapters whose prose pastes a glued value of one (they would not build)."""
    chapters = sorted((Path(root) / "notebooks").glob("*.ipynb"))
    found = [path for path in chapters if is_draft(path)]
    prose = {path: prose_of(path) for path in chapters if path not in found} if found else {}
    while waiting := [path for path, text in prose.items() if path not in found and pastes_from(text, found)]:
        found += waiting
    return sorted(found)


def prose_of(page: Path) -> str:
    """The text of a markdown page, or a chapter's markdown cells."""
    if page.suffix == ".ipynb":
        cells = nbformat.read(page, as_version=4).cells
        return "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    return page.read_text()


def pastes_from(text: str, notebooks: list[Path]) -> bool:
    """Whether prose `text` pastes a glued value of one of `notebooks`."""
    return any(f"/notebooks/{notebook.name}::" in text for notebook in notebooks)


def placeholder(path: Path) -> str:
    """The page shown in place of a draft chapter: its title, and why its outputs are not shown."""
    notebook = nbformat.read(path, as_version=4)
    first = next((c.source for c in notebook.cells if c.cell_type == "markdown"), "")
    title = next((line for line in first.splitlines() if line.startswith("# ")), f"# {path.stem}")
    return (
        f"{title}\n\nThis chapter has not run in the full profile with its current code, so its results are not "
        f"shown yet. Most often it waits for runs the run store lacks: `make runs NB={path.stem}` trains them, then "
        f"`make notebooks NB={path.stem}` runs it (see the Reproduce page).\n"
    )


def chapter_name(stem: str) -> str:
    return f"chapter {int(stem[:2])}" if stem[:2].isdigit() else stem


def waiting_note(stem: str) -> str:
    return f"*(pending: {chapter_name(stem)})*"


def without_drafts(text: str, left_out: list[Path]) -> str:
    """Prose `text` with every value it glues from the notebooks `left_out` replaced by a note that it waits: an
    inline {glue:...} role by a short note, a {glue} block by a note block."""
    for path in left_out:
        name = re.escape(path.name)
        text = re.sub(rf"\{{glue(?::\w+)?\}}`/notebooks/{name}::[^`]*`", waiting_note(path.stem), text)
        block = rf"```\{{glue(?::\w+)?\}} [^\n]*\n:doc: /notebooks/{name}\n(?::[^\n]*\n)*```"
        note = f"This figure or table comes from {chapter_name(path.stem)}, which waits for its runs"
        note += " (see {doc}`/book/reproduce`)."
        text = re.sub(block, f"```{{note}}\n{note}\n```", text)
    return text


def copy_without(root: Path, target: Path, left_out: list[Path]) -> list[str]:
    """The book under `root` copied to `target` without the notebooks `left_out` (a placeholder page in each one's
    place), the prose pages' values glued from them replaced by notes (`without_drafts`); returns the names of
    the notebooks left out and of the pages that wait for them."""
    root, target = Path(root), results.fresh_folder(target)
    for name in ("_config.yml", "requirements.lock", "_toc.yml"):
        shutil.copy(root / name, target / name)
    shutil.copytree(root / "book", target / "book", ignore=shutil.ignore_patterns("_generated"))
    waiting = [page for page in sorted((target / "book").glob("*.md")) if pastes_from(page.read_text(), left_out)]
    for page in waiting:
        page.write_text(without_drafts(page.read_text(), left_out))
    names = [path.name for path in left_out]
    shutil.copytree(root / "notebooks", target / "notebooks", ignore=shutil.ignore_patterns(*names, ".*"))
    for path in left_out:  # a page in its place, so links to the chapter still lead somewhere
        (target / "notebooks" / f"{path.stem}.md").write_text(placeholder(path))
    if (root / "results").is_dir():
        shutil.copytree(root / "results", target / "results")
    return names + [f"book/{page.name} (waits in part)" for page in waiting]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print the folder to build the book from: '.' without drafts.")
    parser.add_argument("source", type=Path, help="where to copy the book without its drafts (e.g. _build/source)")
    args = parser.parse_args(argv)
    found = drafts()
    if not found:
        print(".")
        return 0
    try:
        left_out = copy_without(config.ROOT, args.source, found)
    except FileExistsError as error:
        parser.error(str(error))
    print(f"drafts, left out of this build until they run: {', '.join(left_out)}", file=sys.stderr)
    print(args.source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
