"""The book's Sphinx extension (`_config.yml`: `sphinx.extra_extensions: fer_helpers.book.sphinx`).

- draws the pipeline diagram (graphviz) into `book/_generated/pipeline.svg` before the pages are read;
- offers the directive ```` ```{reproduce} runs|status|profiles|packages|data ``` ````, which renders
  `results/runs.json` (written by `fer_helpers.book.runbook`), each chapter's staleness, the profiles in
  `fer_helpers.config` and `requirements.lock` as tables, so the "Reproduce this book" page types no
  number itself;
- copies MathJax from the pinned `django-static-mathjax` package into `_static/mathjax/`, so math
  renders from disk without a network (`mathjax_path` in `_config.yml` points there).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
from pathlib import Path

from .. import config
from .diagrams import write_pipeline_diagram
from .provenance import (
    DATA_SOURCE,
    LOCK,
    chapter_status,
    current_data,
    describe,
    load_runs,
    locked_packages,
    runs_path,
)
from .runtimes import markdown_table, runs_markdown, store_markdown

BOOK = config.ROOT / "book"
GENERATED = BOOK / "_generated"
DATA_URL = "https://www.kaggle.com/datasets/msambare/fer2013"
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")
# the packages the book's numbers depend on most, shown first on the reproduce page
KEY_PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "opencv-python-headless",
    "scikit-learn",
    "scikit-image",
    "pandas",
    "matplotlib",
    "seaborn",
    "tf-keras-vis",
    "papermill",
    "jupyter-book",
    "myst-nb",
)


# ---------------------------------------------------------------------------------------------
# Markdown for the "Reproduce this book" page (rendered by the {reproduce} directive)
# ---------------------------------------------------------------------------------------------


def status_markdown(root: Path = config.ROOT) -> list[str]:
    """Each chapter's committed outputs: up to date, or stale and why (`make book` re-runs the stale ones)."""
    data = current_data()
    status = chapter_status(root, data)
    if not status:
        return ["No chapter notebooks."]
    rows = [
        [f"[{stem}](/notebooks/{stem}.ipynb)", describe([re.sub(r"(\S+\.py)", r"`\1`", r) for r in reasons])]
        for stem, reasons in status.items()
    ]
    lines = markdown_table(["chapter", "committed outputs"], rows)
    if data is None:
        lines += ["", "No data set was found when this page was built, so a change of the data is not detected."]
    return lines


def profiles_markdown() -> list[str]:
    """What each profile runs, from fer_helpers.config.PROFILES (one column per profile)."""
    profiles = config.PROFILES
    chapters = sorted({chapter for p in profiles.values() for chapter in p.epochs})

    def data(profile):
        if profile.subset_fraction is None:
            return "all images"
        return f"{profile.subset_fraction:.0%} stratified subset of every split"

    def outputs(profile):
        where = profile.output_root.relative_to(config.ROOT).as_posix()
        return "`results/`, `models/`, `artifacts/`" if where == "." else f"`{where}/`"

    rows = [
        ["data"] + [data(p) for p in profiles.values()],
        ["outputs go to"] + [outputs(p) for p in profiles.values()],
    ]
    rows += [[f"epochs: {c}"] + [str(p.epochs.get(c, "–")) for p in profiles.values()] for c in chapters]
    return markdown_table([""] + [f"`{name}`" for name in profiles], rows)


def packages_markdown(runs: dict, lock: Path = LOCK) -> list[str]:
    """Package versions: pinned in requirements.lock, and those the recorded runs used."""
    pins = locked_packages(lock)
    used_ids = {r.get("environment") for r in runs["notebooks"].values() if r.get("environment")}
    used = [runs["environments"][i] for i in sorted(used_ids) if i in runs["environments"]]
    lines = []
    if used:
        pythons = sorted({u["python"] for u in used})
        lines += [
            f"The recorded runs used Python {', '.join(pythons)} on {', '.join(sorted({u['platform'] for u in used}))}."
        ]
    else:
        lines += [
            f"No run recorded yet; the versions below are the pins in `requirements.lock` "
            f"(this build ran on Python {platform.python_version()})."
        ]

    def used_versions(name):
        versions = sorted({str(u["packages"].get(name)) for u in used if name in u["packages"]})
        return ", ".join(versions) if versions else "–"

    def rows(names):
        out = []
        for name in names:
            versions = used_versions(name)
            mark = "" if not used or versions == pins[name] else " ⚠"
            out.append([name, pins[name], versions + mark])
        return out

    normal = {re.sub(r"[-_.]+", "-", n).lower(): n for n in pins}
    key = [normal[n] for n in KEY_PACKAGES if n in normal]
    header = ["package", "pinned (requirements.lock)", "used by the runs"]
    lines += [""] + markdown_table(header, rows(key))
    rest = sorted((n for n in pins if n not in key), key=str.lower)
    lines += ["", f":::{{dropdown}} All {len(pins)} pinned packages", ""] + markdown_table(header, rows(rest)) + [":::"]
    return lines


def data_markdown(runs: dict) -> list[str]:
    """The data set's source and the checksum (`sources.fingerprint`) of the copy the recorded runs read."""
    lines = [
        f"Source: the {DATA_SOURCE} (<{DATA_URL}>), grayscale 48×48 JPEGs in the folder layout "
        "`train/<class>/*.jpg`, `test/<class>/*.jpg`; `make data` downloads it with the Kaggle CLI."
    ]
    used = {r["data"] for r in runs["notebooks"].values() if r.get("data")}
    records = [runs["data"][h] for h in sorted(used) if h in runs["data"]]
    if not records:
        return lines + ["", "No run recorded yet, so no data checksum either."]
    for r in records:
        agrees = {
            True: f"agrees with the `{r['name']}.sha256` file beside it",
            False: f"**differs from** the `{r['name']}.sha256` file beside it",
        }.get(r.get("sha256_file_agrees"), "no `.sha256` file beside it to compare with")
        lines += [
            "",
            f"- read by the runs: `{r['name']}` ({r['form']})",
            f"- checksum, computed by `make notebooks`: `{r['fingerprint']}`",
            f"- {agrees}",
        ]
    lines += [
        "",
        "For a zip or csv file the checksum is the start of its SHA-256 (`sha256sum fer2013.zip`); for a "
        'folder it covers file names, sizes and times. Any copy: `python -c "from fer_helpers.sources import '
        'fingerprint, locate; print(fingerprint(locate()))"`.',
    ]
    if len(records) > 1:
        lines += ["", "⚠ The recorded runs read different copies of the data."]
    return lines


def reproduce_markdown(what: str, root: Path = config.ROOT) -> list[str]:
    """The markdown lines of one table of the reproduce page, from the files under `root`."""
    runs = load_runs(runs_path(root))
    lock = Path(root) / "requirements.lock"
    makers = {
        "runs": lambda: runs_markdown(runs, root),
        "store": store_markdown,
        "status": lambda: status_markdown(root),
        "profiles": profiles_markdown,
        "packages": lambda: packages_markdown(runs, lock if lock.exists() else LOCK),
        "data": lambda: data_markdown(runs),
    }
    if what not in makers:
        raise ValueError(f"unknown reproduce table {what!r}; choose one of {sorted(makers)}")
    return makers[what]()


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


def setup(app):
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
