"""The "Reproduce this book" page's tables, as markdown from the project's files: the recorded runs
(`results/runs.json`, written by `fer_helpers.book.runbook`), what the run store holds, each chapter's staleness, the
profiles in `fer_helpers.config`, the locked packages and the data read. The `{reproduce}` directive
(`fer_helpers.book.sphinx`) renders them, so the page types no number itself."""

from __future__ import annotations

import platform
import re
from pathlib import Path

from .. import config
from .provenance import DATA_SOURCE, LOCK, chapter_status, current_data, describe, load_runs, locked_packages, runs_path
from .runtimes import markdown_table, runs_markdown, store_markdown

DATA_URL = "https://www.kaggle.com/datasets/msambare/fer2013"
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
        'folder it covers file names, sizes and times. Any copy: `python -c "from fer_helpers.dataset.sources import '
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
