"""notebook: a chapter's setup and glue_values."""

import ast
import os

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.book import notebook
from fer_helpers.book.formats import MINUS, Missing, Written

# --- glue ---------------------------------------------------------------------------------------------


@pytest.fixture
def glued(monkeypatch):
    """What myst_nb.glue hands to IPython's display: {key: text/plain}."""
    import myst_nb.ext.glue as myst_glue

    store = {}

    def display(bundle, raw, metadata):
        name = metadata["scrapbook"]["name"]
        store[name] = bundle[metadata["scrapbook"]["mime_prefix"] + "text/plain"]

    monkeypatch.setattr(myst_glue, "ipy_display", display)
    return store


def test_glue_values_writes_each_value_by_its_kind(glued):
    notebook.glue_values(
        {
            "acc": Written(np.float64(0.6543), "percent"),
            "gain": Written(-0.0004, "points"),
            "n": np.int64(7178),
            "best": "happy",
            "ci": Written((0.6312, 0.6587), "percent"),
            "recall": Missing("no correct image of this class"),
        }
    )
    assert {key: ast.literal_eval(text) for key, text in glued.items()} == {  # what {glue:text} reads back
        "acc": "65.4%",
        "gain": "0.0",
        "n": "7,178",
        "best": "happy",
        "ci": "63.1%–65.9%",
        "recall": "— (no correct image of this class)",
    }


def test_glue_values_one_kind_for_all(glued):
    notebook.glue_values({"a": 0.5, "b": -0.25}, "points")
    assert {key: ast.literal_eval(text) for key, text in glued.items()} == {"a": "+50.0", "b": f"{MINUS}25.0"}


def test_glue_values_names_the_key_that_fails(glued):
    with pytest.raises(ValueError, match="'acc'.*say how to write it"):
        notebook.glue_values({"acc": 0.65})
    with pytest.raises(ValueError, match="'recall'.*Missing"):
        notebook.glue_values({"recall": Written(float("nan"), "percent")})
    with pytest.raises(ValueError, match="'acc'.*cannot be written as 'typo'"):
        notebook.glue_values({"acc": Written(0.65, "typo")})
    assert not glued


def test_glue_values_glues_figures_as_they_are(glued):
    import matplotlib.figure

    figure = matplotlib.figure.Figure()
    notebook.glue_values({"curve": figure})
    assert glued["curve"].startswith("<Figure")


# --- setup -----------------------------------------------------------------


def test_setup_returns_profile_split_and_stopwatch(isolated, monkeypatch, capsys):
    smoke = config.PROFILES["smoke"]
    monkeypatch.setitem(
        config.PROFILES, "smoke", config.Profile("smoke", smoke.subset_fraction, smoke.epochs, isolated / "out")
    )
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    profile, split, watch = notebook.setup("smoke")
    assert profile.name == "smoke" and split.synthetic and len(split.train) > 0
    assert watch.seconds >= 0
    assert "synthetic, profile smoke:" in capsys.readouterr().out
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == onednn  # changes the numbers: left alone
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    chapter = notebook.setup("smoke", load_data=False)
    assert chapter.split is None and chapter.profile is profile
