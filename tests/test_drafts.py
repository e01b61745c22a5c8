"""Draft chapters: which notebooks have no full-profile outputs of their code, and the copy of the book
built without them."""

import nbformat
import pytest

from fer_helpers import config
from fer_helpers.book import drafts


def test_a_copy_without_drafts_keeps_the_prose_pages_with_notes_where_they_glue_from_one(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    report = (
        "Seen {glue:text}`/notebooks/01_a.ipynb::y:s`, waiting {glue:text}`/notebooks/02_b.ipynb::x:s`.\n\n"
        "```{glue} fig\n:doc: /notebooks/02_b.ipynb\n```\n"
    )
    for name, text in {"intro.md": "# Intro", "report.md": report}.items():
        (tmp_path / "book" / name).write_text(text)
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "requirements.lock").write_text("")
    toc = "format: jb-book\nroot: book/intro\nparts:\n  - caption: Report\n    chapters:\n      - file: book/report\n"
    (tmp_path / "_toc.yml").write_text(toc + "  - caption: Chapters\n    chapters:\n      - glob: notebooks/*\n")
    for stem in ("01_a", "02_b"):
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / "notebooks" / f"{stem}.ipynb")
    left_out = drafts.copy_without(tmp_path, tmp_path / "copy", [tmp_path / "notebooks" / "02_b.ipynb"])
    assert left_out == ["02_b.ipynb", "book/report.md (waits in part)"]
    assert sorted(p.name for p in (tmp_path / "copy" / "notebooks").iterdir()) == ["01_a.ipynb", "02_b.md"]
    assert "make notebooks NB=02_b" in (tmp_path / "copy" / "notebooks" / "02_b.md").read_text()
    assert (tmp_path / "copy" / "_toc.yml").read_text() == (tmp_path / "_toc.yml").read_text()  # every page stays
    copied = (tmp_path / "copy" / "book" / "report.md").read_text()
    assert "{glue:text}`/notebooks/01_a.ipynb::y:s`" in copied and "02_b.ipynb" not in copied
    assert (
        "waiting *(pending: chapter 2)*." in copied and "```{note}\nThis figure or table comes from chapter 2" in copied
    )
    assert all(drafts.is_draft(p) for p in (tmp_path / "notebooks").iterdir())  # never run in the full profile


def test_committed_chapters_are_not_drafts_until_their_code_changes(tmp_path):
    chapter = config.ROOT / "notebooks" / "10_architectures.ipynb"
    assert not drafts.is_draft(chapter)
    notebook = nbformat.read(chapter, as_version=4)
    code = next(cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip())
    code.source += "\n# edited"
    nbformat.write(notebook, tmp_path / chapter.name)
    assert drafts.is_draft(tmp_path / chapter.name)


def test_main_prints_the_folder_to_build(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(drafts, "drafts", lambda: [])
    assert drafts.main([str(tmp_path / "copy")]) == 0 and capsys.readouterr().out == ".\n"
    for argv, code in (([], 2), (["--help"], 0)):  # --help is never taken for a folder to write
        with pytest.raises(SystemExit) as done:
            drafts.main(argv)
        assert done.value.code == code and "usage:" in "".join(capsys.readouterr())
    assert not (config.ROOT / "--help").exists()


def test_a_chapter_that_glues_from_a_draft_waits_with_it(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    cited = nbformat.v4.new_markdown_cell("{glue:text}`/notebooks/01_a.ipynb::n:s` images")
    for stem, cells in {"01_a": [], "02_b": [cited], "03_c": []}.items():
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "notebooks" / f"{stem}.ipynb")
    monkeypatch.setattr(drafts, "is_draft", lambda path: path.stem == "01_a")
    assert [path.name for path in drafts.drafts(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]


def test_the_copy_never_replaces_a_folder_that_is_not_an_earlier_copy(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="notes: a folder with files this project did not put there"):
        drafts.copy_without(tmp_path, tmp_path / "notes", [])
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"
    for folder in ("book", "notebooks"):
        (tmp_path / folder).mkdir()
    for name in ("_config.yml", "requirements.lock", "_toc.yml"):
        (tmp_path / name).write_text("")
    drafts.copy_without(tmp_path, tmp_path / "copy", [])
    (tmp_path / "copy" / "left over").write_text("")
    drafts.copy_without(tmp_path, tmp_path / "copy", [])  # an earlier copy is replaced whole
    assert not (tmp_path / "copy" / "left over").exists() and (tmp_path / "copy" / "_toc.yml").exists()
