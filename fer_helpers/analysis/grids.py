"""Figures made of faces: grids of 48x48 images, pairs side by side, per-class panels, the mean face with its
bands, and heat maps over faces.

Every function returns the matplotlib Figure. Grey images are drawn with the full 0..255 range (no per-image
stretching) unless `stretch=True`. A panel without data is left out or says so; it is never drawn empty.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import config
from ..dataset.sampling import choose
from .regions import BANDS, SIZE

TILE = 1.3  # inches per image


def _show(ax, image, title=None, stretch=False, fontsize=8):
    kwargs = {} if stretch else {"vmin": 0, "vmax": 255}
    ax.imshow(image, cmap="gray", interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)


def empty_figure(title: str | None = None, note: str = "none in this data"):
    """A small figure that says there is nothing to show (e.g. no duplicates in a tiny synthetic set)."""
    fig, ax = plt.subplots(figsize=(4, 0.8))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{title + ': ' if title else ''}{note}", ha="center", va="center")
    return fig


def image_grid(
    images,
    titles=None,
    ncols: int = 8,
    suptitle: str | None = None,
    stretch: bool = False,
    tile: float = TILE,
    fontsize: int = 8,
):
    """Images in rows of `ncols`, each with an optional title; a note when there are none."""
    images = list(images)
    if not images:
        return empty_figure(suptitle)
    n = max(len(images), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(tile * ncols, tile * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for k, ax in enumerate(axes.ravel()):
        if k < len(images):
            _show(ax, images[k], None if titles is None else titles[k], stretch, fontsize)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def samples_per_class(
    images, labels, per_class: int = 8, seed: int = config.SEED, class_names=config.CLASSES, tile: float = TILE
):
    """A row of `per_class` random images for every class, the class name (and count) on the left."""
    labels = np.asarray(labels)
    chosen_all = choose(labels, per_class, seed=seed)
    fig, axes = plt.subplots(
        len(class_names), per_class, figsize=(tile * per_class, tile * len(class_names)), squeeze=False
    )
    for c, name in enumerate(class_names):
        chosen = chosen_all[labels[chosen_all] == c]
        for k, ax in enumerate(axes[c]):
            if k < len(chosen):
                _show(ax, images[chosen[k]])
            else:
                ax.axis("off")
        axes[c, 0].set_ylabel(
            f"{name}\n({int((labels == c).sum()):,})", rotation=0, ha="right", va="center", fontsize=10
        )
        axes[c, 0].axis("on")
        axes[c, 0].set_xticks([])
        axes[c, 0].set_yticks([])
    fig.tight_layout()
    return fig


def pair_grid(
    left, right, captions=None, ncols: int = 4, tile: float = TILE, fontsize: int = 7, suptitle: str | None = None
):
    """Pairs of images side by side (left[k] next to right[k]), `ncols` pairs per row, a caption over each pair;
    a note when there are none."""
    if len(left) == 0:
        return empty_figure(suptitle)
    n = max(len(left), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, 2 * ncols, figsize=(tile * 2 * ncols, (tile + 0.25) * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for k in range(nrows * ncols):
        a, b = axes[k // ncols, 2 * (k % ncols)], axes[k // ncols, 2 * (k % ncols) + 1]
        if k < len(left):
            _show(a, left[k])
            _show(b, right[k])
            if captions is not None:
                a.set_title(captions[k], fontsize=fontsize, loc="left", x=0.0)
        else:
            a.axis("off")
            b.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_panels(images, titles=None, stretch: bool = True, tile: float = 1.8, suptitle: str | None = None):
    """One panel per class (e.g. mean faces), titled by class name."""
    titles = list(config.CLASSES) if titles is None else titles
    return image_grid(images, titles, ncols=len(images), stretch=stretch, tile=tile, fontsize=10, suptitle=suptitle)


def rows_of_images(rows: dict, tile: float = TILE, fontsize: int = 8, col_titles=None):
    """A grid whose rows are named image lists: {row name: [images]} (e.g. noisy / filtered versions)."""
    names = list(rows)
    ncols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(names), ncols, figsize=(tile * ncols + 0.8, tile * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, ax in enumerate(axes[r]):
            if c < len(rows[name]):
                _show(ax, rows[name][c], None if (col_titles is None or r) else col_titles[c], fontsize=fontsize)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=fontsize + 1)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Heat maps over faces
# ---------------------------------------------------------------------------------------------


def plot_bands(check: dict, bands: dict = BANDS):
    """The mean face with the bands drawn on it, and its row profile with the bands shaded
    (`check` from `regions.mean_face_check`)."""
    colours = {"eyes": "tab:blue", "mouth": "tab:orange"}
    fig, (face, rows) = plt.subplots(1, 2, figsize=(7, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
    face.imshow(check["mean_face"], cmap="gray")
    for name, (start, stop) in bands.items():
        face.axhspan(start - 0.5, stop - 0.5, color=colours.get(name, "tab:green"), alpha=0.25, label=name)
        rows.axvspan(start - 0.5, stop - 0.5, color=colours.get(name, "tab:green"), alpha=0.25, label=name)
    face.set(xticks=[], yticks=[0, 12, 24, 36, 47], ylabel="row", title="mean face")
    rows.plot(np.arange(SIZE), check["row_profile"], color="k")
    rows.set(xlabel="row", ylabel="mean grey level (central columns)", title="row profile")
    rows.legend(fontsize="small")
    fig.tight_layout()
    return fig


def overlay_grid(cells, row_labels=None, col_titles=None, tile: float = TILE, fontsize: int = 8, empty: str = ""):
    """A grid of faces with maps over them: `cells[r][c]` is (face, map or None), or None for a panel
    without data, which shows the text `empty` (or nothing). No cells at all: a figure saying so.

    Faces are drawn in grey (each stretched to its own range), maps in "jet" at 45 % opacity, 0..1.
    """
    if not cells:
        return empty_figure(note="no images to show")
    nrows, ncols = len(cells), max(len(row) for row in cells)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(tile * ncols + (1.0 if row_labels else 0), tile * nrows + 0.3), squeeze=False
    )
    for r, row in enumerate(cells):
        for c in range(ncols):
            ax, cell = axes[r, c], row[c] if c < len(row) else None
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():  # no frame: the style's axis lines would cut through the faces
                spine.set_visible(False)
            if cell is None:
                ax.text(
                    0.5,
                    0.5,
                    empty,
                    ha="center",
                    va="center",
                    fontsize=fontsize - 1,
                    color="0.4",
                    transform=ax.transAxes,
                )
            else:
                face, heat = cell
                ax.imshow(face, cmap="gray", interpolation="nearest")
                if heat is not None:
                    ax.imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
            if col_titles is not None and r == 0:
                ax.set_title(col_titles[c], fontsize=fontsize)
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=fontsize + 1)
    fig.tight_layout()
    return fig


def plot_maps(faces, columns: dict, row_labels=None, tile: float = TILE, fontsize: int = 8, empty: str = ""):
    """One row per face: the face, then one overlay per column ({title: maps}); a map that is None
    gives a panel with the text `empty`."""
    cells = [
        [(face, None)] + [(face, maps[r]) if maps[r] is not None else None for maps in columns.values()]
        for r, face in enumerate(faces)
    ]
    return overlay_grid(cells, row_labels, ["face"] + list(columns), tile=tile, fontsize=fontsize, empty=empty)
