"""Run records: what a chapter's outputs depend on, and what ran, how long, on which data and packages.

A chapter's *keys* name everything its committed outputs depend on: its own code cells, the
`fer_helpers` modules it imports (transitively, found with `ast`), `requirements.lock` and the data
checksum. They are stored per component (notebook metadata `fer_run`, and results/runs.json), so
:func:`stale_reasons` can say what changed: "fer_helpers/modelling/training.py changed", "lock changed". A chapter
that reads an earlier chapter's outputs (`READS`) is stale too when that chapter ran after it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import platform
import re
from importlib import metadata
from importlib.util import resolve_name
from pathlib import Path

import nbformat

from .. import chapters, config
from ..results import write_atomic

LOCK = config.ROOT / "requirements.lock"
DATA_SOURCE = "Kaggle data set msambare/fer2013"
PACKAGE = "fer_helpers"
MODULE_NAME = re.compile(rf"{PACKAGE}(\.\w+)*")
RUN_SECTIONS = ("notebooks", "environments", "data")


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:16]


# --- data ---------------------------------------------------------------------------------------


def current_data() -> str | None:
    """`sources.fingerprint` of the located data set, or None when there is none."""
    from ..dataset.sources import DataNotFound, fingerprint, locate

    try:
        return fingerprint(locate())
    except DataNotFound:
        return None


def data_record(path: Path) -> dict:
    """Name, form and checksum (`sources.fingerprint`) of the data set at `path`; for a zip or csv
    file, whether a `<path>.sha256` file beside it agrees (the fingerprint is its SHA-256's start)."""
    from ..dataset.sources import fingerprint

    path = Path(path)
    form = "folder" if path.is_dir() else path.suffix.lstrip(".").lower()
    record = {"source": DATA_SOURCE, "name": path.name, "form": form, "fingerprint": fingerprint(path)}
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file() and not path.is_dir():
        words = sidecar.read_text().split()
        record["sha256_file_agrees"] = bool(words) and words[0].lower().startswith(record["fingerprint"])
    return record


# --- dependency keys ----------------------------------------------------------------------------


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """A notebook's own code cells (not papermill's injected parameters)."""
    return [
        c.source
        for c in notebook.cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]


def code_key(notebook: nbformat.NotebookNode) -> str:
    """The digest of a notebook's own code cells: its `code` key."""
    return digest(json.dumps(code_cells(notebook)))


def imported_names(source: str, package: str | None, where: str) -> set[str]:
    """Dotted names `source` imports (relative ones resolved in `package`), and string constants that
    name a module of the project (`python -m fer_helpers.predict` run from a cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ValueError(f"{where}: cannot parse Python (line {error.lineno}): {error.msg}") from None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from package import module`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value):
            names.add(node.value)
    return names


def module_file(name: str, root: Path) -> Path | None:
    """The project file of module `name` under `root` (a module or a package's __init__), if any."""
    if not MODULE_NAME.fullmatch(name):
        return None
    base = Path(root, *name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_closure(names: set[str], root: Path) -> list[Path]:
    """The project modules `names` import, transitively, with the packages that hold them."""
    found, todo = set(), list(names)
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            path = module_file(".".join(parts[:i]), root)
            if path is None or path in found:
                continue
            found.add(path)
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            package = module.removesuffix(".__init__") if path.name == "__init__.py" else module.rpartition(".")[0]
            todo.extend(imported_names(path.read_text(), package, str(path)))
    return sorted(found)


def notebook_modules(path: Path, root: Path = config.ROOT, notebook: nbformat.NotebookNode | None = None) -> dict:
    """{relative path: hash} of every project module the notebook at `path` (read unless given) imports,
    transitively."""
    from IPython.core.inputtransformer2 import TransformerManager  # turns %magics and !shell into Python

    transform = TransformerManager().transform_cell
    names = set()
    notebook = nbformat.read(path, as_version=4) if notebook is None else notebook
    for i, source in enumerate(code_cells(notebook)):
        names |= imported_names(transform(source), None, f"{path}, code cell {i + 1}")
    return {p.relative_to(root).as_posix(): digest(p.read_bytes()) for p in module_closure(names, Path(root))}


def run_keys(
    path: Path, data: str | None, root: Path = config.ROOT, notebook: nbformat.NotebookNode | None = None
) -> dict:
    """What the outputs of the notebook at `path` (read unless given) depend on, per component."""
    notebook = nbformat.read(path, as_version=4) if notebook is None else notebook
    lock = Path(root) / "requirements.lock"
    return {
        "code": code_key(notebook),
        "modules": notebook_modules(path, root, notebook),
        "lock": digest(lock.read_bytes()) if lock.exists() else None,
        "data": data,
    }


def stale_reasons(stored: dict, current: dict) -> list[str]:
    """Why a notebook's committed outputs (`stored`: its metadata `fer_run`) no longer match `current`
    keys; empty when up to date. A `current` data key of None (no data found) is not compared."""
    if stored.get("profile") != "full":
        return ["not run in the full profile"]
    keys = stored.get("keys")
    if not keys:
        return ["no dependency record (run before modules, lock and data were recorded)"]
    reasons = ["code cells changed"] if keys.get("code") != current["code"] else []
    before, now = keys.get("modules", {}), current["modules"]
    for module in sorted(set(before) | set(now)):
        if module not in now:
            reasons.append(f"{module} no longer imported")
        elif module not in before:
            reasons.append(f"{module} newly imported")
        elif before[module] != now[module]:
            reasons.append(f"{module} changed")
    if keys.get("lock") != current["lock"]:
        reasons.append("lock changed")
    if current["data"] is not None and keys.get("data") != current["data"]:
        reasons.append("data changed")
    return reasons


# the earlier chapters whose committed outputs (results, outlier list, saved models, runs) a chapter reads
READS = chapters.reads()


def upstream_reasons(stem: str, finished: dict[str, str]) -> list[str]:
    """The chapters `stem` reads (`READS`) that ran after it (`finished`: {stem: ISO time of its last run})."""
    ran = finished.get(stem)
    return [f"reads {up}, which ran after it" for up in READS.get(stem, ()) if ran and finished.get(up, "") > ran]


def notebook_stale_reasons(path: Path, data: str | None, root: Path = config.ROOT) -> list[str]:
    """:func:`stale_reasons` of the notebook at `path` (its metadata `fer_run` against its keys now), then
    :func:`upstream_reasons` from results/runs.json."""
    notebook = nbformat.read(path, as_version=4)
    reasons = stale_reasons(notebook.metadata.get("fer_run", {}), run_keys(path, data, root, notebook))
    if reasons or path.stem not in READS:
        return reasons
    finished = {stem: r.get("finished", "") for stem, r in load_runs(runs_path(root))["notebooks"].items()}
    return upstream_reasons(path.stem, finished)


def describe(reasons: list[str], most: int = 4) -> str:
    """One line: "up to date", or "stale: " and the first `most` reasons (code, data and lock before modules), with
    how many more: a refactor that touches twenty modules stays one readable line."""
    if not reasons:
        return "up to date"
    ordered = sorted(reasons, key=lambda reason: reason.startswith(f"{PACKAGE}/"))
    more = f"; {len(ordered) - most} more" if len(ordered) > most else ""
    return "stale: " + "; ".join(ordered[:most]) + more


def chapter_status(root: Path = config.ROOT, data: str | None = None) -> dict[str, list[str]]:
    """{chapter stem: stale reasons (empty: up to date)} for every chapter notebook under `root`."""
    return {path.stem: notebook_stale_reasons(path, data, root) for path in chapter_notebooks(root)}


# --- environment --------------------------------------------------------------------------------


def locked_packages(lock: Path = LOCK) -> dict[str, str]:
    """`requirements.lock` as {name: version}."""
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment_record(lock: Path = LOCK) -> dict:
    """Python, machine and the installed version of every package pinned in requirements.lock."""
    packages = {name: installed_version(name) for name in locked_packages(lock)}
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": packages,
    }


def environment_id(environment: dict) -> str:
    return digest(json.dumps(environment, sort_keys=True))[:12]


# --- results/runs.json --------------------------------------------------------------------------


def load_runs(path: Path) -> dict:
    """results/runs.json as {"notebooks": {stem: record}, "environments": {id: env}, "data": {checksum: record}};
    records of the earlier formats (flat; data keyed by a full SHA-256) are read into this one."""
    runs = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    if runs and "notebooks" not in runs:  # the first, flat format: {stem: record}
        runs = {"notebooks": runs}
    for key in RUN_SECTIONS:
        runs.setdefault(key, {})
    renamed = {}  # a zip's or csv's fingerprint is the start of the full SHA-256 the earlier records keyed on
    for checksum, record in list(runs["data"].items()):
        if "sha256" in record and record.get("form") != "folder":
            record = runs["data"].pop(checksum)
            record["fingerprint"] = renamed[checksum] = record.pop("sha256")[:16]
            runs["data"][record["fingerprint"]] = record
    for record in runs["notebooks"].values():
        if record.get("data") in renamed:
            record["data"] = renamed[record["data"]]
    return runs


def notebook_of(stem: str, record: dict, root: Path = config.ROOT) -> Path:
    """The notebook a run record belongs to (its `notebook` path, else notebooks/<stem>.ipynb)."""
    return Path(root) / record.get("notebook", f"notebooks/{stem}.ipynb")


def prune(runs: dict, root: Path = config.ROOT) -> dict:
    """`runs` without the records of notebooks that no longer exist, nor environments and data sets
    no remaining record refers to."""
    notebooks = {s: r for s, r in runs["notebooks"].items() if notebook_of(s, r, root).is_file()}
    used = {key: {r.get(key) for r in notebooks.values()} for key in ("environment", "data")}
    return {
        "notebooks": notebooks,
        "environments": {k: v for k, v in runs["environments"].items() if k in used["environment"]},
        "data": {k: v for k, v in runs["data"].items() if k in used["data"]},
    }


def write_runs(path: Path, runs: dict, root: Path = config.ROOT) -> None:
    write_atomic(path, json.dumps(prune(runs, root), indent=2, sort_keys=True) + "\n")


def chapter_notebooks(root: Path = config.ROOT) -> list[Path]:
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def runs_path(root: Path = config.ROOT, profile: config.Profile | None = None) -> Path:
    """results/runs.json of `profile` (by default the full one: the book's numbers) under `root` (where the profile
    writes outside the project, as in tests: there)."""
    results = (profile or config.PROFILES["full"]).results_dir
    inside = results.is_relative_to(config.ROOT)
    return (Path(root) / results.relative_to(config.ROOT) if inside else results) / "runs.json"
