"""fer_helpers.analysis.grids: every figure of faces draws, and panels without data are left out or say so."""

import numpy as np
from helpers import texts

from fer_helpers import config
from fer_helpers.analysis import grids, regions

FACES = np.random.default_rng(0).integers(0, 256, (3, 48, 48)).astype(np.uint8)


def test_samples_per_class_shows_what_each_class_has():
    labels = np.array([0] * 5 + [3] * 2)
    images = np.zeros((7, 48, 48), np.uint8)
    fig = grids.samples_per_class(images, labels, per_class=3)
    axes = np.array(fig.axes).reshape(len(config.CLASSES), 3)
    assert [sum(bool(ax.images) for ax in row) for row in axes] == [3, 0, 0, 2, 0, 0, 0]
    assert axes[0, 0].get_ylabel() == "angry\n(5)"


def test_plot_maps_labels_panels_without_a_map():
    cams = np.random.default_rng(1).random((3, 48, 48))
    fig = grids.plot_maps(
        FACES, {"GradCAM": cams, "true class": [None, cams[1], None]}, ["a", "b", "c"], empty="same as predicted"
    )
    axes = np.array(fig.axes).reshape(3, 3)
    assert [len(ax.images) for ax in axes[:, 2]] == [0, 2, 0]
    assert texts(fig).count("same as predicted") == 2
    assert [ax.get_title() for ax in axes[0]] == ["face", "GradCAM", "true class"]
    assert not any(spine.get_visible() for ax in fig.axes for spine in ax.spines.values())
    assert "no images to show" in texts(grids.overlay_grid([]))


def test_plot_bands_draws_the_mean_face_and_profile():
    check = regions.mean_face_check(FACES)
    fig = grids.plot_bands(check)
    assert len(fig.axes) == 2 and fig.axes[1].lines[0].get_ydata().shape == (48,)
