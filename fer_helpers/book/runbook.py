"""Execute the book's notebooks in order with papermill, then record what ran.

    python -m fer_helpers.book.runbook [--profile full] [--force] [NOTEBOOK ...]
    python -m fer_helpers.book.runbook --status
    python -m fer_helpers.book.runbook --install-kernel

NOTEBOOK is a path or a stem (`04_baseline`). In the full profile a notebook is re-run only when it
is stale: when its code cells, the `fer_helpers` modules it imports, requirements.lock or the data
changed since its committed run, or an earlier chapter whose outputs it reads ran after it
(`provenance.notebook_stale_reasons`; the reasons are printed; `--force`
re-runs it anyway); `--status` only prints each chapter's state; `--install-kernel` installs the project's kernel
into the running environment (`install_kernel`). Each run executes into
_build/executed/ and replaces notebooks/<name> only on success, so a failure leaves the executed copy
for inspection; the run's keys, wall time, machine, data checksum and package versions go to
results/runs.json (read by the "Reproduce this book" page). Progress is printed per cell.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat

from .. import config
from ..machine import duration, load_average
from ..results import run_metadata
from . import provenance, runtimes
from .tags import tag_cells

NOTEBOOKS = config.ROOT / "notebooks"
EXECUTED = config.ROOT / "_build" / "executed"
KERNEL = "fer2013-book"
KERNELSPEC = {"name": KERNEL, "display_name": "Python (FER-2013 book)", "language": "python"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def install_kernel(prefix: str = sys.prefix) -> Path:
    """Install the project's kernel under `prefix`: quiet by design, since its log lands in the chapters' logs. It
    logs errors only (no "running over TCP without encryption" line per chapter: it listens on localhost) and
    TensorFlow logs nothing."""
    import tempfile

    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as scratch:
        staged = write_kernel_spec(
            Path(scratch) / KERNEL,
            overrides={"display_name": KERNELSPEC["display_name"], "env": {"TF_CPP_MIN_LOG_LEVEL": "3"}},
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            python_arguments=["-Xfrozen_modules=off"],
        )
        return Path(KernelSpecManager().install_kernel_spec(staged, kernel_name=KERNEL, prefix=prefix))


def notebook_path(name: Path | str) -> Path:
    """A chapter named by its path or its stem (`04_baseline`, `04_baseline.ipynb`)."""
    path = Path(name)
    for candidate in (path, NOTEBOOKS / path.name, NOTEBOOKS / f"{path.name}.ipynb"):
        if candidate.is_file() and candidate.suffix == ".ipynb":
            return candidate
    raise SystemExit(
        f"no notebook {name}: give a path or a stem of one of "
        f"{', '.join(p.stem for p in provenance.chapter_notebooks())}"
    )


def relative(path: Path | str) -> str:
    """`path` relative to the project root when it lies inside it."""
    try:
        return Path(path).resolve().relative_to(config.ROOT).as_posix()
    except ValueError:
        return str(path)


class CellProgress(logging.Handler):
    """Turns papermill's log (`log_output=True`) into one line per code cell plus the cell's output."""

    def __init__(self, notebook: nbformat.NotebookNode, stream=None):
        super().__init__(logging.INFO)
        self.cells = notebook.cells
        self.code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        self.stream = stream
        self.started = {}

    def write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        start = re.fullmatch(r"Executing Cell (\d+)-*", message)
        end = re.fullmatch(r"Ending Cell (\d+)-*", message)
        if start or end:
            index = int((start or end).group(1)) - 1
            if index not in self.code_cells:
                return
            number = self.code_cells.index(index) + 1
            if start:
                self.started[index] = time.time()
                first = next((line for line in self.cells[index].source.splitlines() if line.strip()), "")
                self.write(f"  [{number}/{len(self.code_cells)}] {first[:90]}\n")
            else:
                seconds = time.time() - self.started.get(index, time.time())
                if seconds >= 1:
                    self.write(f"      ({seconds:.1f} s)\n")
            return
        if message.startswith(
            ("Input Notebook:", "Output Notebook:", "Executing notebook with kernel", "Working directory:")
        ):
            return
        text = message if message.endswith("\n") else message + "\n"
        self.write("".join(f"      | {line}\n" for line in text.splitlines()))


def sanitize(notebook: nbformat.NotebookNode) -> None:
    """Keep this machine's paths out of the committed notebook (papermill's paths, output text), and papermill's
    injected parameters: the notebook keeps its one `parameters` cell, so a later run (nbval under FER_PROFILE,
    JupyterLab) is not pinned to the profile of this one (recorded in the metadata `fer_run`)."""
    notebook.cells = [cell for cell in notebook.cells if "injected-parameters" not in cell.metadata.get("tags", [])]
    papermill = notebook.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if papermill.get(key):
            papermill[key] = relative(papermill[key])
    root = str(config.ROOT) + "/"

    def clean(text):
        return text.replace(root, "") if isinstance(text, str) else [t.replace(root, "") for t in text]

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            if "traceback" in output:
                output["traceback"] = clean(output["traceback"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    output["data"][mime] = clean(output["data"][mime])
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)


def failure_report(path: Path, target: Path, error) -> str:
    cell = error.cell_index + 1 if error.cell_index is not None else "?"
    first = next((line for line in (error.source or "").splitlines() if line.strip()), "")
    where = f"cell In [{error.exec_count}] (cell {cell} of the executed copy)"
    traceback = [ANSI.sub("", line) for line in (error.traceback or [])]
    tail = "\n".join("    " + line for block in traceback[-3:] for line in block.splitlines()[-12:])
    return (
        f"\nFAILED: {relative(path)}, {where}: {first}\n"
        f"{error.ename}: {error.evalue}\n{tail}\n"
        f"The executed copy, with the outputs up to the failure, is at {relative(target)}"
    )


@contextmanager
def kernel_profile(name: str):
    """The kernels started meanwhile see FER_PROFILE=`name`: the profile papermill passes is the one that runs."""
    before = os.environ.get(config.PROFILE_ENV)
    os.environ[config.PROFILE_ENV] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(config.PROFILE_ENV)
        else:
            os.environ[config.PROFILE_ENV] = before


def execute(path: Path, profile: config.Profile, records: dict, context: dict, into: Path | None = None) -> float:
    """Run one notebook with papermill into `into` (default _build/executed/); on success record it under
    `records` (and, in the full profile, write it back to notebooks/). Exits with status 1 on a failing cell."""
    import papermill
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    folder = into or EXECUTED
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    keys = provenance.run_keys(path, context.get("data"))
    print(f"==> {relative(path)} (profile {profile.name})", flush=True)
    parameters = {"profile": profile.name}
    # the notebook as papermill will run it (with its injected-parameters cell), for the progress lines
    handler = CellProgress(parameterize_notebook(load_notebook_node(str(path)), parameters, kernel_name=KERNEL))
    logger = logging.getLogger("papermill")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    propagate, logger.propagate = logger.propagate, False
    start, load_start = time.time(), load_average()
    try:
        with kernel_profile(profile.name):
            papermill.execute_notebook(
                str(path),
                str(target),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=str(path.parent),
                log_output=True,
                progress_bar=False,
            )
    except papermill.PapermillExecutionError as error:
        print(failure_report(path, target, error), file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    seconds = time.time() - start
    notebook = nbformat.read(target, as_version=4)
    sanitize(notebook)
    tag_cells(notebook)
    notebook.metadata["fer_run"] = {"profile": profile.name, "keys": keys}
    nbformat.write(notebook, target)
    if profile.name == "full":
        nbformat.write(notebook, path)
    records[path.stem] = {
        **run_metadata(profile),
        "notebook": relative(path),
        "wall_seconds": round(seconds, 1),
        "load": {"start": load_start, "end": load_average()},  # 1-, 5- and 15-minute load averages
        "keys": keys,
        **context,
    }
    print(f"<== {relative(path)}: {duration(seconds)}", flush=True)
    return seconds


@functools.cache
def loaded_split(profile: str):
    """The profile's split, loaded once per invocation (each waiting chapter's runs are looked up on it)."""
    from ..dataset import data

    return data.load_split(profile)


def waits_for(stem: str, waiting: dict, profile: config.Profile) -> str:
    """Why chapter `stem` cannot run yet ("" when it can): a chapter it reads waits (unless it runs on what is
    there, `specs.Chapter.partial`), or runs it reads are not in the run store (`make runs NB=<stem>` trains
    them)."""
    from .. import chapters

    chapter = chapters.CHAPTERS.get(stem)  # a notebook no declaration names reads and trains nothing
    upstream = [up for up in chapter.reads if waiting.get(up)] if chapter and not chapter.partial else []
    if upstream:
        return f"reads {', '.join(upstream)}, which wait(s)"
    if not chapter or not chapter.arms:
        return ""
    from ..quiet import quiet_tensorflow
    from ..runstore import plan, store

    quiet_tensorflow()  # the plan builds the models to count their FLOPs: no TensorFlow log lines
    split = loaded_split(profile.name)
    missing = [p for p in plan.plan([stem], split, profile) if not store.find(p.key, profile)]
    if not missing:
        return ""
    pflop = sum(p.flops for p in missing) / 1e15
    return f"{len(missing)} run(s) not in the store ({pflop:.2f} PFLOP): make runs NB={stem}"


def run_context(runs: dict) -> dict:
    """The data checksum and environment of this invocation, stored once in runs.json and
    referred to from each notebook's record."""
    from ..dataset.sources import DataNotFound, locate

    context = {}
    try:
        data = provenance.data_record(locate())
        runs["data"][data["fingerprint"]] = data
        context["data"] = data["fingerprint"]
    except DataNotFound:
        pass
    environment = provenance.environment_record()
    runs["environments"][provenance.environment_id(environment)] = environment
    context["environment"] = provenance.environment_id(environment)
    return context


def print_status(paths: list[Path]) -> None:
    """Each chapter: up to date, or stale and why (the full profile's committed outputs)."""
    data = provenance.current_data()
    if data is None:
        print("(no data set found: a change of data is not detected)")
    for path in paths:
        print(f"{path.stem:<24} {provenance.describe(provenance.notebook_stale_reasons(path, data))}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.book.runbook", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="by path or stem (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--force", action="store_true", help="re-run notebooks that are up to date")
    parser.add_argument("--status", action="store_true", help="print whether each chapter is up to date; run nothing")
    parser.add_argument("--install-kernel", action="store_true", help="install the project's kernel; run nothing")
    args = parser.parse_args(argv)
    if args.install_kernel:
        print(f"kernel {KERNEL!r} installed in {relative(install_kernel())}")
        return 0
    paths = [notebook_path(n) for n in args.notebooks] or provenance.chapter_notebooks()
    if args.status:
        print_status(paths)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the kernels inherit it: no TensorFlow log lines in pages
    profile = config.PROFILES[args.profile]
    record_path = provenance.runs_path(profile=profile)
    mine = {"notebooks": {}, "environments": {}, "data": {}}  # this invocation's records
    context = None
    timings, waiting = [], {}
    for path in paths:
        context = context or run_context(mine)
        if profile.name == "full":
            reasons = provenance.notebook_stale_reasons(path, context.get("data"))
            if not reasons and not args.force:
                print(f"--- {relative(path)}: up to date, skipped (--force to re-run)")
                continue
            waiting[path.stem] = waits_for(path.stem, waiting, profile)
            if waiting[path.stem]:
                print(f"--- {relative(path)}: {provenance.describe(reasons)}; waits: {waiting[path.stem]}")
                continue
            print(f"--- {relative(path)}: {provenance.describe(reasons)}{'' if reasons else ', --force'}")
        timings.append((path, execute(path, profile, mine["notebooks"], context)))
        runs = provenance.load_runs(record_path)  # re-read: another run may have written since we started
        for section, records in mine.items():
            runs[section].update(records)
        provenance.write_runs(record_path, runs)
        if profile.name == "full" and record_path.is_relative_to(config.ROOT):  # the project's own records
            runtimes.update_readme()  # the README's table of chapter times
    if timings:
        print(f"\nRan {len(timings)} notebook(s) in profile {profile.name}:")
        lines = [(relative(path), seconds) for path, seconds in timings]
        lines.append((f"total; recorded in {relative(record_path)}", sum(seconds for _, seconds in timings)))
        print("\n".join(f"  {duration(seconds):>14}  {what}" for what, seconds in lines))
    waits = [stem for stem, why in waiting.items() if why]
    if waits:
        print(f"{len(waits)} chapter(s) wait for their runs (make runs PLAN=1 lists them): {', '.join(waits)}")
    elif not timings:
        print("All notebooks up to date." if paths else "No notebooks to run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
