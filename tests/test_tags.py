"""The cell tags of the rendered page, and nbval's source markers as tags."""

from collections import defaultdict

import nbformat

from fer_helpers.book import tags as page


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
    page.markers_to_tags(book)
    assert [cell.source for cell in book.cells] == ["x = 1", "y = 2\ny", "raise"]
    assert tags(book) == [["nbval-ignore-output"], ["nbval-check-output"], ["nbval-skip", "nbval-raises-exception"]]
    assert [dict(find_metadata_tags(cell.metadata)) for cell in book.cells] == expected
    assert defaultdict(bool, find_metadata_tags(book.cells[0].metadata))["check"] is False


def test_tag_cells_folds_code_and_removes_setup():
    book = page.tag_cells(chapter())
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
    book = page.tag_cells(chapter())
    first = tags(book)
    assert tags(page.tag_cells(book)) == first
    book.cells[6].source = "acc = 0.5\nglue_values({'acc': acc}, 'percent')"  # no longer glue-only
    book.cells[8].metadata.tags = ["hide-output"]  # the author changed their mind
    page.tag_cells(book)
    assert tags(book)[5] == ["hide-input"]
    assert tags(book)[7] == ["hide-output"]
    nbformat.validate(book)
