"""What a chapter notebook calls besides the science: gluing values into the book's pages."""
from __future__ import annotations


def glue(name: str, value, display: bool = False):
    """`myst_nb.glue` for the book's numbers: numpy scalars become Python numbers first.

    With numpy 2 a glued `np.float64(0.5)` is stored as the text `np.float64(0.5)`, which
    `{glue:text}` cannot format (`:.1%`); `float(...)` is stored as `0.5`. Not shown by default.
    """
    from myst_nb import glue as myst_glue

    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    return myst_glue(name, value, display=display)
