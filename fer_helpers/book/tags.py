"""The cell tags that shape a chapter's rendered page, set by the runbook on every executed notebook: code folded,
training logs folded, parameter, setup and glue-only cells removed; nbval's source markers become tags. JupyterLab
still shows every cell."""

from __future__ import annotations

import ast
import re

PARAMETER_TAGS = {"parameters", "injected-parameters"}
# tags by which an author already decided how a cell shows
DECIDING_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input", "hide-output"}
NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*(NBVAL_(?:IGNORE_OUTPUT|CHECK_OUTPUT|SKIP|RAISES_EXCEPTION))[ \t]*\n?", re.M)
TRAINING_LOG = re.compile(r"^Epoch \d+/\d+$", re.M)
SETUP_CALLS = {"glue", "glue_values"}
AUTO = "fer_book"  # cell metadata where tag_cells keeps the tags it added, to recompute them next time


def markers_to_tags(notebook) -> None:
    """`# NBVAL_IGNORE_OUTPUT`-style markers move from the source to the cell tags nbval 0.11 reads
    (`nbval-ignore-output`, `nbval-check-output`, `nbval-skip`, `nbval-raises-exception`)."""
    for cell in notebook.cells:
        markers = NBVAL_MARKER.findall(cell.source) if cell.cell_type == "code" else []
        if markers:
            cell.source = NBVAL_MARKER.sub("", cell.source)
            tags = cell.metadata.setdefault("tags", [])
            tags += [m.lower().replace("_", "-") for m in markers if m.lower().replace("_", "-") not in tags]


def only_sets_up(source: str) -> bool:
    """A cell that starts with `# setup`, or whose statements are all imports and glue calls."""
    if source.lstrip().lower().startswith("# setup"):
        return True
    try:
        statements = ast.parse(source).body
    except SyntaxError:  # IPython magics and the like: a cell of its own
        return False

    def sets_up(node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        call = node.value if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) else None
        name = call and (call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None))
        return name in SETUP_CALLS

    return all(sets_up(node) for node in statements)


def page_tags(cell, tags: list[str]) -> list[str]:
    """The tags a code cell needs for the page, given the tags its author set."""
    if PARAMETER_TAGS & set(tags):
        return ["remove-cell"]
    if DECIDING_TAGS & set(tags):
        return []
    if only_sets_up(cell.source):
        return ["remove-cell"]
    logs = any(
        output.get("name") == "stdout" and TRAINING_LOG.search(output.get("text", ""))
        for output in cell.get("outputs", [])
    )
    return ["hide-input", "hide-output"] if logs else ["hide-input"]


def tag_cells(notebook):
    """Tag every code cell for the rendered page (in place; returns the notebook): code folded
    (`hide-input`), a Keras training log folded too (`hide-output`), parameter, setup and glue-only
    cells removed (`remove-cell`), unless the author's tags decide. Converts nbval markers to tags
    first. Idempotent: the tags it added last time are recomputed, the author's are kept."""
    markers_to_tags(notebook)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        added_before = cell.metadata.pop(AUTO, {}).get("added_tags", [])
        tags = [tag for tag in cell.metadata.get("tags", []) if tag not in added_before]
        added = [tag for tag in page_tags(cell, tags) if tag not in tags]
        cell.metadata["tags"] = tags + added
        if added:
            cell.metadata[AUTO] = {"added_tags": added}
    return notebook
