"""The book builds (slow): with warnings as errors, every page of the table of contents, with its citations,
diagram, local MathJax, links and cross-document glue; the reproduce page's tables come from the run records
and the chapters' state (fer_helpers.book.reproduce)."""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
import yaml
from helpers import build, glue_output, toc_pages, warnings_in

from fer_helpers import config
from fer_helpers.book import diagrams, drafts, provenance, reproduce, runbook, sphinx

ROOT = config.ROOT
slow = pytest.mark.slow


# --- the built book ------------------------------------------------------------------------------


@slow
def test_every_toc_page_and_notebook_is_built(built_book, book_source):
    pages = toc_pages(book_source)
    for page in pages:
        assert (built_book / f"{page}.html").is_file(), f"{page} is in _toc.yml but was not built"
    for notebook in (book_source / "notebooks").glob("*.ipynb"):
        assert f"notebooks/{notebook.stem}" in pages, f"{notebook.name} is not in the table of contents"
    assert (built_book / "index.html").is_file()


@slow
def test_no_unresolved_glue_or_references(built_book, book_source):
    """A glue role that did not resolve leaves its source text, a problematic node or nothing; the
    build's warnings catch the last case (-W), the HTML the others."""
    for page in toc_pages(book_source):
        text = (built_book / f"{page}.html").read_text()
        body = text.split('<article class="bd-article"', 1)[-1]
        assert not re.search(r"\{glue(:\w+)?\}|\{(paste|cite|doc|ref|numref)[^}]*\}`", body), (
            f"{page}: raw role text left in the page"
        )
        assert 'class="problematic"' not in body, f"{page}: an unresolved reference"
        assert "::" not in re.sub(r"<(pre|code|script)[\s\S]*?</\1>", "", body).replace("::after", ""), (
            f"{page}: a `doc::key` glue reference left as text"
        )


@slow
def test_bibliography_and_citations(built_book):
    references = (built_book / "book" / "references.html").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), flags=re.M)
    assert len(keys) >= 11
    assert references.count('class="citation"') == len(keys), "not every reference is listed"
    for surname in (
        "Goodfellow",
        "Oktay",
        "Selvaraju",
        "Buades",
        "Dosovitskiy",
        "Adebayo",
        "Khaireddin",
        "Zhang",
        "DeVries",
        "Guo",
    ):
        assert surname in references
    intro = (built_book / "book" / "intro.html").read_text()
    assert "Goodfellow" in intro and "references.html#" in intro


@slow
def test_pipeline_diagram_in_intro(built_book):
    intro = (built_book / "book" / "intro.html").read_text()
    assert "pipeline.svg" in intro
    svg = html.unescape((built_book / "_images" / "pipeline.svg").read_text())
    for _, label, _ in diagrams.PIPELINE_NODES:
        assert label.splitlines()[0] in svg


@slow
def test_math_served_locally(built_book, book_source):
    assert (built_book / "_static" / "mathjax" / "tex-chtml-full.js").stat().st_size > 100_000
    assert list((built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    for page in toc_pages(book_source):
        text = (built_book / f"{page}.html").read_text()
        assert not re.search(r"<script[^>]+src=\"https?://[^\"]*mathjax", text, flags=re.I), page


def internal_links(html_file: Path) -> list[tuple[str, Path, str]]:
    """(href, target file, fragment) for each link of a page that stays inside the book."""
    text = html_file.read_text()
    links = []
    for href in re.findall(r'<a\s[^>]*href="([^"]*)"', text):
        url = urlparse(href)
        if url.scheme or href.startswith(("#", "mailto:", "javascript:")) or not url.path:
            continue
        target = (html_file.parent / unquote(url.path)).resolve()
        links.append((href, target, url.fragment))
    return links


@slow
def test_internal_links_resolve(built_book, book_source):
    anchors = {}
    for page in toc_pages(book_source):
        for href, target, fragment in internal_links(built_book / f"{page}.html"):
            assert target.exists(), f"{page}: link {href} points to a missing file"
            if fragment and target.suffix == ".html":
                ids = anchors.setdefault(target, set(re.findall(r'id="([^"]+)"', target.read_text())))
                assert fragment in ids, f"{page}: link {href} points to a missing anchor"


# --- cross-document glue, in a throwaway copy of the book ------------------------------------------


def png_base64() -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (32, 24), 128).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def book_copy(tmp_path) -> Path:
    """The book's configuration and pages, every real chapter a placeholder and the values glued from them notes
    (`drafts.copy_without`), with one synthetic chapter notebook that glues values."""
    drafts.copy_without(ROOT, tmp_path, sorted((ROOT / "notebooks").glob("*.ipynb")))
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = dict(runbook.KERNELSPEC)
    cell = nbformat.v4.new_code_cell(
        "glue('accuracy', 0.6789); glue('n_test', 7178); glue('curve', fig)", execution_count=1
    )
    cell.outputs = [
        glue_output("accuracy", {"text/plain": "0.6789"}),
        glue_output("n_test", {"text/plain": "7178"}),
        glue_output("curve", {"image/png": png_base64(), "text/plain": "<Figure size 2x2 with 1 Axes>"}),
    ]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A chapter\n\nMath: $a^2 + b^2 = c^2$."), cell]
    nbformat.write(notebook, tmp_path / "notebooks" / "01_chapter.ipynb")
    return tmp_path


def add_page(root: Path, name: str, text: str) -> None:
    (root / "book" / f"{name}.md").write_text(text)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    toc["parts"][-1]["chapters"].insert(0, {"file": f"book/{name}"})
    (root / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))


@slow
def test_cross_document_glue(book_copy):
    add_page(
        book_copy,
        "findings",
        "# Findings\n\n"
        "Accuracy {glue:text}`/notebooks/01_chapter.ipynb::accuracy:.1%` on "
        "{glue:text}`../notebooks/01_chapter.ipynb::n_test:,d` images.\n\n"
        "```{glue} curve\n:doc: /notebooks/01_chapter.ipynb\n```\n",
    )
    result = build(book_copy)
    assert result.returncode == 0, "\n".join(warnings_in(result.stdout + result.stderr))
    text = (book_copy / "_build" / "html" / "book" / "findings.html").read_text()
    assert "67.9%" in text and "7,178" in text
    image = re.search(r'<img[^>]+src="\.\./(_images/[0-9a-f]+\.png)"', text)
    assert image and (book_copy / "_build" / "html" / image.group(1)).is_file(), "glued figure not written"
    chapter = (book_copy / "_build" / "html" / "notebooks" / "01_chapter.html").read_text()
    assert "tex-chtml-full.js" in chapter  # the page with math loads the local MathJax


@slow
def test_unresolved_glue_fails_the_build(book_copy):
    add_page(
        book_copy,
        "findings",
        "# Findings\n\n"
        "Missing key {glue:text}`/notebooks/01_chapter.ipynb::no_such_key:.1f`; missing format "
        "spec {glue:text}`/notebooks/01_chapter.ipynb::accuracy`.\n",
    )
    result = build(book_copy)
    warnings = "\n".join(warnings_in(result.stdout + result.stderr))
    assert result.returncode != 0
    assert "no_such_key" in warnings and "glue" in warnings


@slow
def test_book_builds_without_notebooks(book_copy):
    for notebook in (book_copy / "notebooks").glob("*.ipynb"):
        notebook.unlink()
    result = build(book_copy)
    assert result.returncode == 0, "\n".join(warnings_in(result.stdout + result.stderr))


# --- the reproduce page's tables ------------------------------------------------------------------


def test_reproduce_tables_come_from_the_run_records(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_data", "02_model", "03_new"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    shutil.copy(ROOT / "requirements.lock", tmp_path / "requirements.lock")
    environment = provenance.environment_record()
    environment["packages"]["numpy"] = "0.0.1"
    env_id = provenance.environment_id(environment)
    record = {
        "profile": "full",
        "git_commit": "abc1234",
        "finished": "2026-11-28T10:00:00+00:00",
        "machine": "x86_64, 2 CPUs",
        "environment": env_id,
        "data": "f" * 16,
    }
    runs = {
        "notebooks": {
            "01_data": {**record, "wall_seconds": 61.0, "load": {"start": [0.5, 0.4, 0.3], "end": [2.04, 1.5, 1.0]}},
            "02_model": {**record, "wall_seconds": 3600.4},
            "99_removed": {**record, "wall_seconds": 5.0},
        },
        "environments": {env_id: environment},
        "data": {
            "f" * 16: {
                "source": provenance.DATA_SOURCE,
                "name": "fer2013.zip",
                "form": "zip",
                "fingerprint": "f" * 16,
                "sha256_file_agrees": True,
            }
        },
    }
    path = provenance.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(runs))
    table = "\n".join(reproduce.reproduce_markdown("runs", tmp_path))
    assert "1 min 01 s" in table and "1 h 00 min" in table and "**1 h 01 min**" in table
    assert "99_removed" not in table and "Not yet run in the full profile: `03_new`" in table
    assert "0.50 → 2.04" in table and "not recorded (an earlier run)" in table
    data = "\n".join(reproduce.reproduce_markdown("data", tmp_path))
    assert "`" + "f" * 16 + "`" in data and "msambare/fer2013" in data
    assert "agrees with the `fer2013.zip.sha256`" in data
    packages = "\n".join(reproduce.reproduce_markdown("packages", tmp_path))
    assert re.search(r"\| numpy \| [\d.]+ \| 0\.0\.1 ⚠ \|", packages)
    profiles = "\n".join(reproduce.reproduce_markdown("profiles", tmp_path))
    assert "`full`" in profiles and "`smoke`" in profiles and "`.smoke/`" in profiles


def test_reproduce_page_without_runs(tmp_path):
    assert "No chapter notebook has run" in "\n".join(reproduce.reproduce_markdown("runs", tmp_path))
    assert "No run recorded yet" in "\n".join(reproduce.reproduce_markdown("data", tmp_path))


def test_status_table_names_what_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "current_data", lambda: "d" * 16)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "requirements.lock").write_text("numpy==2.4.0\n")
    (tmp_path / "fer_helpers").mkdir()
    (tmp_path / "fer_helpers" / "__init__.py").write_text("")
    (tmp_path / "fer_helpers" / "training.py").write_text("EPOCHS = 5\n")
    for stem in ("01_fresh", "02_trains", "03_draft"):
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell("from fer_helpers import training")]
        nbformat.write(notebook, tmp_path / "notebooks" / f"{stem}.ipynb")
        if stem != "03_draft":
            keys = provenance.run_keys(tmp_path / "notebooks" / f"{stem}.ipynb", "d" * 16, tmp_path)
            notebook.metadata.fer_run = {"profile": "full", "keys": keys}
            nbformat.write(notebook, tmp_path / "notebooks" / f"{stem}.ipynb")
        if stem == "01_fresh":
            (tmp_path / "fer_helpers" / "training.py").write_text("EPOCHS = 6\n")
    table = "\n".join(reproduce.reproduce_markdown("status", tmp_path))
    assert "| [01_fresh](/notebooks/01_fresh.ipynb) | stale: `fer_helpers/training.py` changed |" in table
    assert "| [02_trains](/notebooks/02_trains.ipynb) | up to date |" in table
    assert "| [03_draft](/notebooks/03_draft.ipynb) | stale: not run in the full profile |" in table
    assert "No data set was found" not in table
    monkeypatch.setattr(reproduce, "current_data", lambda: None)
    assert "No data set was found" in "\n".join(reproduce.status_markdown(tmp_path))


def test_the_build_log_leaves_out_mysts_configuration_dump():
    def record(message, *args):
        return logging.LogRecord("sphinx.myst_nb.sphinx_ext", logging.INFO, "", 0, message, args, None)

    dump = sphinx.ConfigDump()
    assert not dump.filter(record("\x1b[01mmyst-nb v%s:\x1b[39;49;00m %s", "1.1.2", "NbParserConfig(...)"))
    assert not dump.filter(record("myst v%s: %s", "2.0.0", "MdParserConfig(...)"))
    assert dump.filter(record("building [html]: all source files"))
