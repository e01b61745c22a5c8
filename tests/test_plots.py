"""fer_helpers.analysis.plots: every chart draws, panels without data are left out or say so, the Pareto front."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from helpers import texts

from fer_helpers import config
from fer_helpers.analysis import plots, regions
from fer_helpers.modelling import training


def test_plot_shares_marks_a_class_one_model_lacks_and_omits_one_no_model_has():
    rows = [
        ("baseline", "angry", 0.3, 0.2, 0.5),
        ("baseline", "happy", 0.2, 0.4, 0.4),
        ("U-Net", "happy", 0.25, 0.35, 0.4),
    ]
    table = pd.DataFrame(rows, columns=["model", "class", *regions.REGIONS])
    fig = plots.plot_shares(table)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["angry", "happy"]
    assert texts(fig).count("n/a") == 3  # U-Net has no angry bar, in each of the three panels
    assert sum(len(c) for c in fig.axes[0].containers) == 3


def test_pareto_front():
    accuracy = np.array([0.60, 0.65, 0.62, 0.65, 0.55])
    speed = np.array([2000, 400, 1500, 300, 1800])
    np.testing.assert_array_equal(
        plots.pareto_front(accuracy, speed, lower_cost_is_better=False), [True, True, True, False, False]
    )
    minutes = np.array([10, 60, 10, 60, 5])
    np.testing.assert_array_equal(
        plots.pareto_front(accuracy, minutes, lower_cost_is_better=True), [False, True, True, True, True]
    )  # equal points do not dominate each other
    assert plots.pareto_front([0.5], [1.0], True).tolist() == [True]


def test_accuracy_vs_cost_marks_the_front_against_training_and_inference_flops():
    table = pd.DataFrame(
        {
            "test accuracy": [0.54, 0.58, 0.65, 0.64],
            "training PFLOP": [0.06, 0.1, 0.7, None],
            "inference MFLOP": [45, 60, 280, 80],
        },
        index=["baseline", "augmented", "VGG", "peer"],
    )
    fig = plots.accuracy_vs_cost(table)
    training, inference = fig.axes
    assert training.get_xscale() == "log" and inference.get_xscale() == "log"
    assert list(training.lines[0].get_xdata()) == [0.06, 0.1, 0.7]  # the peer has no training cost: left out
    assert list(inference.lines[0].get_xdata()) == [45, 60, 80, 280]
    assert {t.get_text() for t in inference.texts} == set(table.index)
    assert {t.get_text() for t in training.texts} == {"baseline", "augmented", "VGG"}
    assert all(t.get_fontsize() >= 9 for t in inference.texts)
    fig.canvas.draw()
    assert not any(t.get_text() for t in inference.get_xticklabels(minor=True))


def test_plot_learning_curves_draws_train_and_val_per_run():
    import matplotlib

    matplotlib.use("Agg")
    history = {"accuracy": [0.2, 0.4, 0.5], "val_accuracy": [0.3, 0.35, 0.33], "loss": [2, 1.5, 1.2]}
    run = training.Run(None, history, 2, 7, config.PROTOCOL, [1.0, 1.0, 1.0], {})
    _, ax = plt.subplots()  # a fresh axis: pyplot's current one may hold another test's lines
    plots.plot_learning_curves({"a": run, "b": run}, ax=ax)
    lines = ax.get_lines()
    assert len(lines) == 6 and list(lines[0].get_ydata()) == history["val_accuracy"]
    assert list(lines[1].get_ydata()) == history["accuracy"] and lines[2].get_xydata().tolist() == [[2, 0.35]]
