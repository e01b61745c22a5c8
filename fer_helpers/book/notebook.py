"""What a chapter notebook calls besides the science: its setup, gluing values into the pages, and the
cell tags that shape the rendered page.

A chapter's first cell after the parameters, before any cell imports TensorFlow:

    # setup
    from fer_helpers.book.notebook import setup

    profile, split, watch = setup(profile)

Its numbers go to the prose with `glue_values({key: value or Written(value, kind)})`, each written by its kind
(fer_helpers.book.formats). `tag_cells(notebook)` (run by the runbook on every executed notebook) folds
code on the page and removes parameter, setup and glue-only cells; JupyterLab still shows them all.
"""

from __future__ import annotations

import ast
import re
from typing import NamedTuple

from .. import config, data, machine
from ..quiet import quiet_tensorflow
from .formats import Missing, Written, format_value

PLOT_STYLE = {"axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100}


class Chapter(NamedTuple):
    profile: config.Profile
    split: data.Split | None
    watch: machine.Stopwatch


def setup(profile: str | None = None, load_data: bool = True) -> Chapter:
    """A chapter's setup: TensorFlow silenced, the plotting style set, the profile resolved
    (config.get_profile), the split loaded (unless `load_data=False`) and a stopwatch started."""
    import seaborn as sns

    watch = machine.Stopwatch()
    quiet_tensorflow()
    sns.set_theme(context="notebook", style="ticks", rc=PLOT_STYLE)
    profile = config.get_profile(profile)
    split = data.load_split(profile) if load_data else None
    if split is not None:
        sizes = ", ".join(f"{len(getattr(split, name)):,} {name}" for name in config.SPLITS)
        print(f"{split.source}, profile {profile.name}: {sizes}")
    return Chapter(profile, split, watch)


# --- glue --------------------------------------------------------------------------------------------


def glue(name: str, value, display: bool = False):
    """`myst_nb.glue` for the book's numbers: numpy scalars become Python numbers first.

    With numpy 2 a glued `np.float64(0.5)` is stored as the text `np.float64(0.5)`, which
    `{glue:text}` cannot format (`:.1%`); `float(...)` is stored as `0.5`. Not shown by default.
    """
    from myst_nb import glue as myst_glue

    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    return myst_glue(name, value, display=display)


def is_written(value) -> bool:
    """Values glued as text (numbers, text, intervals, Missing); figures and tables are glued as they are."""
    return (
        value is None
        or isinstance(value, (str, int, float, tuple, list, Missing))
        or (hasattr(value, "item") and getattr(value, "ndim", None) == 0)
    )


def glue_values(values: dict, kind: str | None = None) -> dict:
    """Glue every value under its key, written as text by formats.format_value: a `Written(value, kind)` by its
    kind, any other by `kind` (one kind for all) or, for integers and text, by its type. Figures and tables are
    glued as they are. Returns what was glued. Pages show the text as it is: {glue:text}`key` here,
    {glue:text}`/notebooks/NN_x.ipynb::key:s` from another page."""
    glued = {}
    for key, value in values.items():
        value, written_as = (value.value, value.kind) if isinstance(value, Written) else (value, kind)
        if is_written(value):
            try:
                value = format_value(value.item() if hasattr(value, "item") else value, written_as)
            except ValueError as error:
                raise ValueError(f"glue_values: {key!r}: {error}") from None
        glue(key, value)
        glued[key] = value
    return glued


# --- cell tags for the rendered page ----------------------------------------------------------------

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
