"""What a chapter notebook calls besides the science: its setup, and gluing values into the pages.

A chapter's first cell after the parameters, before any cell imports TensorFlow:

    # setup
    from fer_helpers.book.notebook import setup

    profile, split, watch = setup(profile)

Its numbers go to the prose with `glue_values({key: value or Written(value, kind)})`, each written by its kind
(fer_helpers.book.formats). How its cells show on the page is `fer_helpers.book.tags`' business.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import config, machine
from ..dataset import data
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


def glue_values(values: dict, kind: str | None = None) -> None:
    """Glue every value under its key, written as text by formats.format_value: a `Written(value, kind)` by its
    kind, any other by `kind` (one kind for all) or, for integers and text, by its type. Figures and tables are
    glued as they are. Pages show the text as it is: {glue:text}`key` here,
    {glue:text}`/notebooks/NN_x.ipynb::key:s` from another page."""
    for key, value in values.items():
        value, written_as = (value.value, value.kind) if isinstance(value, Written) else (value, kind)
        if is_written(value):
            try:
                value = format_value(value.item() if hasattr(value, "item") else value, written_as)
            except ValueError as error:
                raise ValueError(f"glue_values: {key!r}: {error}") from None
        glue(key, value)
