"""notebook: a chapter's setup, glue_values, the cell tags of the rendered page and the nbval markers as tags."""

import ast
import os
from collections import defaultdict

import nbformat
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
    out = notebook.glue_values(
        {
            "acc": Written(np.float64(0.6543), "percent"),
            "gain": Written(-0.0004, "points"),
            "n": np.int64(7178),
            "best": "happy",
            "ci": Written((0.6312, 0.6587), "percent"),
            "recall": Missing("no correct image of this class"),
        }
    )
    assert out == {
        "acc": "65.4%",
        "gain": "0.0",
        "n": "7,178",
        "best": "happy",
        "ci": "63.1%–65.9%",
        "recall": "— (no correct image of this class)",
    }
    assert {key: ast.literal_eval(text) for key, text in glued.items()} == out  # what {glue:text} reads back


def test_glue_values_one_kind_for_all(glued):
    assert notebook.glue_values({"a": 0.5, "b": -0.25}, "points") == {"a": "+50.0", "b": f"{MINUS}25.0"}


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
    assert notebook.glue_values({"curve": figure})["curve"] is figure
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


# --- nbval markers and page tags -------------------------------------------------------------------------


def code(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata.tags = list(tags)
    cell.outputs = list(outputs)
    return cell


def epoch_log():
    return nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/2\n359/359 - 35s - loss: 0.01\n")


def chapter():
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_markdown_cell("# A chapter"),
        code('profile = "full"', ["parameters"]),
        code('# Parameters\nprofile = "full"\n', ["injected-parameters"]),
        code("# setup\nfrom fer_helpers.book.notebook import setup\n\nprofile, split, watch = setup(profile)"),
        code("import pandas as pd\nfrom fer_helpers import models"),
        code("# NBVAL_IGNORE_OUTPUT\nrun = train(split)", outputs=[epoch_log()]),
        code("glue_values({'acc': acc}, 'percent')\nnotebook.glue('n', 3)"),
        code("acc = evaluate(run)\nglue_values({'acc': acc}, 'percent')\nacc"),
        code("table", ["remove-output"]),
        code("%timeit f()"),
    ]
    return book


def tags(book):
    return [cell.metadata.get("tags") for cell in book.cells if cell.cell_type == "code"]


def test_markers_move_to_tags_that_nbval_reads():
    from nbval.plugin import find_comment_markers, find_metadata_tags

    book = nbformat.v4.new_notebook()
    book.cells = [
        code("# NBVAL_IGNORE_OUTPUT\nx = 1"),
        code("y = 2\n  #  NBVAL_CHECK_OUTPUT\ny"),
        code("# NBVAL_SKIP\n# NBVAL_RAISES_EXCEPTION\nraise", ["nbval-skip"]),
    ]
    expected = [dict(find_comment_markers(cell.source)) for cell in book.cells]
    notebook.markers_to_tags(book)
    assert [cell.source for cell in book.cells] == ["x = 1", "y = 2\ny", "raise"]
    assert tags(book) == [["nbval-ignore-output"], ["nbval-check-output"], ["nbval-skip", "nbval-raises-exception"]]
    assert [dict(find_metadata_tags(cell.metadata)) for cell in book.cells] == expected
    assert defaultdict(bool, find_metadata_tags(book.cells[0].metadata))["check"] is False


def test_tag_cells_folds_code_and_removes_setup():
    book = notebook.tag_cells(chapter())
    assert tags(book) == [
        ["parameters", "remove-cell"],
        ["injected-parameters", "remove-cell"],
        ["remove-cell"],  # "# setup"
        ["remove-cell"],  # imports only
        ["nbval-ignore-output", "hide-input", "hide-output"],  # a training log is folded too
        ["remove-cell"],  # glue calls only
        ["hide-input"],  # computes, then glues
        ["remove-output"],  # the author decided
        ["hide-input"],  # a magic: not parsed, shown folded
    ]
    assert "NBVAL" not in book.cells[5].source
    assert book.cells[0].metadata.get("tags") is None  # markdown untouched


def test_tag_cells_is_idempotent_and_follows_changed_cells():
    book = notebook.tag_cells(chapter())
    first = tags(book)
    assert tags(notebook.tag_cells(book)) == first
    book.cells[6].source = "acc = 0.5\nglue_values({'acc': acc}, 'percent')"  # no longer glue-only
    book.cells[8].metadata.tags = ["hide-output"]  # the author changed their mind
    notebook.tag_cells(book)
    assert tags(book)[5] == ["hide-input"]
    assert tags(book)[7] == ["hide-output"]
    nbformat.validate(book)
