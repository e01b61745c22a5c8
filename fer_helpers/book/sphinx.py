"""The book's Sphinx extension (`_config.yml`: `sphinx.extra_extensions: fer_helpers.book.sphinx`).

- draws the pipeline diagram (graphviz) into `book/_generated/pipeline.svg` before the pages are read;
- offers the directive ```` ```{reproduce} runs|store|status|profiles|packages|data ``` ````, which renders
  one table of the "Reproduce this book" page (`fer_helpers.book.reproduce`);
- keeps MyST's configuration dump out of the build log (`ConfigDump`);
- copies MathJax from the pinned `django-static-mathjax` package into `_static/mathjax/`, so math
  renders from disk without a network (`mathjax_path` in `_config.yml` points there).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

from .. import config
from .diagrams import write_pipeline_diagram
from .reproduce import reproduce_markdown

BOOK = config.ROOT / "book"
GENERATED = BOOK / "_generated"
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")


# ---------------------------------------------------------------------------------------------
# Sphinx extension
# ---------------------------------------------------------------------------------------------


def _mathjax_dir() -> Path | None:
    try:
        import mathjax  # the django-static-mathjax package: MathJax 3 as static files
    except ImportError:
        return None
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    return folder if folder.is_dir() else None


def _generate(app) -> None:
    write_pipeline_diagram(Path(app.srcdir) / GENERATED.relative_to(config.ROOT) / "pipeline.svg")


def _copy_mathjax(app, exception) -> None:
    from sphinx.util import logging

    if exception is not None or app.builder.format != "html":
        return
    source = _mathjax_dir()
    if source is None:
        logging.getLogger(__name__).warning(
            "MathJax not installed (pip package django-static-mathjax): math will not render offline"
        )
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    license_file = source.parent / "LICENSE"
    if license_file.exists():
        shutil.copy2(license_file, target / "LICENSE")


def _write_glued_images(app, exception) -> None:
    """Write the images of glued outputs into _images/, where cross-document {glue} references point.

    myst-nb resolves ```{glue} key``` with `:doc:` to `_images/<sha256>.png`, but writes that file
    only when the notebook page itself shows the image; a figure glued with `display=False` would
    otherwise be a broken image on the page that pastes it.
    """
    from base64 import b64decode
    from mimetypes import guess_extension

    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.env.mystnb_config.output_folder)
    images = Path(app.outdir) / app.builder.imagedir
    for glue_file in folder.rglob("*.glue.json"):
        for output in json.loads(glue_file.read_text()).values():
            for mime, content in output.get("data", {}).items():
                if mime not in ("image/png", "image/jpeg", "image/gif"):
                    continue
                data = b64decode(content)
                extension = guess_extension(mime) or "." + mime.rsplit("/")[-1]
                target = images / f"{hashlib.sha256(data).hexdigest()}{'.jpeg' if extension == '.jpe' else extension}"
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts: sphinx-thebe and sphinx-togglebutton register theirs twice under
    Jupyter Book 1 with Sphinx 7, and a second `const THEBE_JS_URL` is a console error on every page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (
            str(getattr(script, "filename", script) or ""),
            tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"] = unique


def _reproduce_directive():
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class Reproduce(SphinxDirective):
        """```{reproduce} runs|status|profiles|packages|data``` renders that table from the project's files."""

        required_arguments = 1

        def run(self):
            root = Path(self.env.srcdir)
            try:
                lines = reproduce_markdown(self.arguments[0], root)
            except (ValueError, KeyError, json.JSONDecodeError) as error:
                raise self.error(f"reproduce: {error}") from None
            container = nodes.container(classes=["reproduce", f"reproduce-{self.arguments[0]}"])
            self.state.nested_parse(StringList(lines, source="reproduce"), self.content_offset, container)
            return [container]

    return Reproduce


class ConfigDump(logging.Filter):
    """Drops MyST's and MyST-NB's start-up dump of their whole parser configuration (one line of hundreds of
    characters); the rest of Sphinx's output stays at its normal verbosity."""

    LOGGERS = ("sphinx.myst_parser.sphinx_ext.main", "sphinx.myst_nb.sphinx_ext")

    def filter(self, record: logging.LogRecord) -> bool:
        return not re.search(r"myst(-nb)? v%s:", str(record.msg))


def setup(app):
    for name in ConfigDump.LOGGERS:
        logging.getLogger(name).addFilter(ConfigDump())
    app.connect("builder-inited", _generate)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _write_glued_images)
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after the handlers that add scripts
    app.add_directive("reproduce", _reproduce_directive())
    # the generated tables depend on files outside the sources: always re-read the reproduce page
    app.connect(
        "env-get-outdated",
        lambda app, env, added, changed, removed: ["book/reproduce"] if "book/reproduce" in env.all_docs else [],
    )
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
