"""Charts: learning curves, arms side by side, confusion matrices, reliability diagrams, face-region shares, and
accuracy against cost (figures made of faces are in `grids`).

Every function returns the matplotlib Figure; notebooks show it by leaving it as the cell's value
or with `plt.show()`. A panel without data is left out or says so; it is never drawn empty.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, PercentFormatter

from .. import config
from ..modelling.metrics import N_BINS
from .regions import BANDS, SIZE, area_shares, band_masks


def plot_shares(table, bands: dict = BANDS):
    """Bars of the CAM mass share per class and model, one panel per region; dashed: a uniform map's share.

    `table` is long: columns model, class, one per region (e.g. `ShareTable.table`s concatenated,
    "all classes" dropped). Classes no model has are left out; a class one model lacks is marked "n/a".
    """
    regions = list(band_masks(SIZE, bands))
    uniform = area_shares(SIZE, bands)
    names = list(dict.fromkeys(table["model"]))
    classes = [c for c in config.CLASSES if c in set(table["class"])]
    fig, axes = plt.subplots(1, len(regions), figsize=(4.2 * len(regions), 3.4), sharey=True, squeeze=False)
    width = 0.8 / max(len(names), 1)
    for ax, region in zip(axes[0], regions, strict=False):
        for k, name in enumerate(names):
            values = table[table["model"] == name].set_index("class")[region].reindex(classes)
            where = np.arange(len(classes)) + (k - (len(names) - 1) / 2) * width
            ax.bar(where[values.notna()], values.dropna(), width, label=name)
            for x in where[values.isna()]:
                ax.text(x, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
        ax.axhline(uniform[region], color="k", ls="--", lw=1, label="uniform map")
        ax.set_xticks(np.arange(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{region}" + (f" (rows {bands[region][0]}-{bands[region][1] - 1})" if region in bands else ""))
    axes[0, 0].set_ylabel("share of CAM mass")
    axes[0, -1].legend(fontsize="small")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Accuracy against CPU cost
# ---------------------------------------------------------------------------------------------

COST_AXES = {"training PFLOP": "training cost (PFLOP)", "inference MFLOP": "inference cost per image (MFLOP)"}


def pareto_front(accuracy, cost, lower_cost_is_better: bool) -> np.ndarray:
    """True for every point that no other point matches or beats on both axes while beating it on one."""
    a = np.asarray(accuracy, float)
    b = -np.asarray(cost, float) if lower_cost_is_better else np.asarray(cost, float)
    at_least = (a[None, :] >= a[:, None]) & (b[None, :] >= b[:, None])
    better = (a[None, :] > a[:, None]) | (b[None, :] > b[:, None])
    return ~(at_least & better).any(axis=1)


def accuracy_vs_cost(table, accuracy: str = "test accuracy"):
    """Test accuracy against training cost and against inference cost, one point per model (the index of `table`,
    columns `accuracy` and `COST_AXES`; a model without a cost is left out of that panel, as the page says); the
    Pareto front of each panel is joined and ringed. Cost axes are logarithmic; labels alternate above and below
    their points so that neighbours do not overlap."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, (column, title) in zip(axes, COST_AXES.items(), strict=False):
        rows = table[[accuracy, column]].dropna().astype(float).sort_values(column)
        front = pareto_front(rows[accuracy], rows[column], lower_cost_is_better=True)
        ax.scatter(rows[column], rows[accuracy], color="tab:blue", zorder=3)
        on_front = rows[front]
        ax.plot(on_front[column], on_front[accuracy], color="tab:orange", lw=1, zorder=2, label="Pareto front")
        ax.scatter(on_front[column], on_front[accuracy], s=140, facecolors="none", edgecolors="tab:orange", zorder=4)
        for k, (name, row) in enumerate(rows.iterrows()):
            below = k % 2 == 1
            ax.annotate(
                str(name),
                (row[column], row[accuracy]),
                textcoords="offset points",
                xytext=(6, -12 if below else 6),
                fontsize=9,
            )
        ax.set(xscale="log", xlabel=title)
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize="small", loc="lower right")
    axes[0].set_ylabel(accuracy)
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.tight_layout()
    return fig


def plot_learning_curves(runs: dict, ax=None, metric: str = "accuracy"):
    """Train (dashed) and validation (solid) `metric` per epoch of several runs ({label: Run}, or any run with
    `history`, `epochs` and `best_epoch`, such as outliers.OutlierRun with metric="loss"); dot: best epoch."""
    ax = ax or plt.gca()
    for label, run in runs.items():
        epochs = np.arange(1, run.epochs + 1)
        (line,) = ax.plot(epochs, run.history[f"val_{metric}"], label=f"{label}: validation")
        ax.plot(epochs, run.history[metric], "--", color=line.get_color(), label=f"{label}: train")
        ax.plot(run.best_epoch, run.history[f"val_{metric}"][run.best_epoch - 1], "o", color=line.get_color())
    ax.set(xlabel="epoch", ylabel=metric)
    ax.legend(fontsize="small")
    return ax


def plot_arms(arms: dict[str, list], columns: int | None = None, width: float = 4.2, height: float = 3.6):
    """Learning curves of several arms ({arm: `experiments.Trial`s}): one panel per arm (`columns` per row; all in
    one row by default), its seeds overlaid (`plot_learning_curves`), a shared accuracy axis, whole epochs, and one
    legend (a seed keeps its colour in every panel)."""
    columns = columns or len(arms)
    rows = -(-len(arms) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), sharey=True, squeeze=False)
    for i, (ax, (arm, trials)) in enumerate(zip(axes.flat, arms.items(), strict=False)):
        plot_learning_curves({f"seed {trial.run.seed}": trial.run for trial in trials}, ax=ax)
        ax.set_title(arm)
        ax.set_xlim(0.5, max(trial.run.epochs for trial in trials) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if i:
            ax.get_legend().remove()
        if i % columns:
            ax.set_ylabel("")
    for ax in axes.flat[len(arms) :]:
        ax.remove()
    fig.tight_layout()
    return fig


def plot_confusion(result: dict, ax=None, title=None):
    """Heatmap of the row-normalised confusion matrix (rows: true class)."""
    import seaborn as sns

    ax = ax or plt.gca()
    sns.heatmap(
        np.array(result["confusion"]),
        annot=True,
        fmt=".2f",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=False,
        xticklabels=config.CLASSES,
        yticklabels=config.CLASSES,
        ax=ax,
    )
    ax.set(xlabel="predicted", ylabel="true", title=title or "")
    return ax


def plot_reliability(result: dict, ax=None, title=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration."""
    ax = ax or plt.gca()
    bins = result["calibration"]["bins"]
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.bar([b["confidence"] for b in bins], [b["accuracy"] for b in bins], width=1 / N_BINS, alpha=0.6, edgecolor="k")
    ax.set(
        xlabel="confidence",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=title or f"ECE = {result['calibration']['ece']:.3f}",
    )
    return ax
