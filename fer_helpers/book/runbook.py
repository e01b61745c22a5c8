"""Execute the book's notebooks in order with papermill, then record what ran.

    python -m fer_helpers.book.runbook [--profile full] [--force] [NOTEBOOK ...]

A notebook whose code and profile match what its committed outputs were made from is skipped
(`--force` re-runs it). Each run executes into _build/executed/ and replaces notebooks/<name>
only on success, so a failure leaves the executed copy for inspection; the run's wall time,
profile, git commit, data checksum and package versions go to results/runs.json (read by the
"Reproduce this book" page). Progress is printed per cell, with the cell's output as it comes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import logging
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .. import config
from ..results import git_commit, machine
from . import provenance

NOTEBOOKS = config.ROOT / "notebooks"
EXECUTED = config.ROOT / "_build" / "executed"
KERNEL = "fer2013-book"
KERNELSPEC = {"name": KERNEL, "display_name": "Python (FER-2013 book)", "language": "python"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def code_hash(path: Path, profile: str) -> str:
    """Hash of a notebook's own code cells (not papermill's injected parameters) and the profile."""
    notebook = nbformat.read(path, as_version=4)
    cells = [c.source for c in notebook.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    return hashlib.sha256(json.dumps([profile, cells]).encode()).hexdigest()[:16]


def run_record(profile: config.Profile) -> Path:
    return profile.results_dir / "runs.json"


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
        if message.startswith(("Input Notebook:", "Output Notebook:", "Executing notebook with kernel",
                               "Working directory:")):
            return
        text = message if message.endswith("\n") else message + "\n"
        self.write("".join(f"      | {line}\n" for line in text.splitlines()))


def sanitize(notebook: nbformat.NotebookNode) -> None:
    """Keep this machine's paths out of the committed notebook: papermill's paths, output text."""
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
    return (f"\nFAILED: {relative(path)}, {where}: {first}\n"
            f"{error.ename}: {error.evalue}\n{tail}\n"
            f"The executed copy, with the outputs up to the failure, is at {relative(target)}")


def execute(path: Path, profile: config.Profile, records: dict, context: dict) -> float:
    """Run one notebook with papermill into _build/executed/; on success record it (and, in the
    full profile, write it back to notebooks/). Exits with status 1 on a failing cell."""
    import papermill

    EXECUTED.mkdir(parents=True, exist_ok=True)
    target = EXECUTED / path.name
    print(f"==> {relative(path)} (profile {profile.name})", flush=True)
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    parameters = {"profile": profile.name}
    # the notebook as papermill will run it (with its injected-parameters cell), for the progress lines
    handler = CellProgress(parameterize_notebook(load_notebook_node(str(path)), parameters, kernel_name=KERNEL))
    logger = logging.getLogger("papermill")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    propagate, logger.propagate = logger.propagate, False
    start = time.time()
    try:
        papermill.execute_notebook(
            str(path), str(target), parameters=parameters, kernel_name=KERNEL,
            cwd=str(path.parent), log_output=True, progress_bar=False,
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
    notebook.metadata["fer_run"] = {"profile": profile.name, "code_hash": code_hash(target, profile.name)}
    nbformat.write(notebook, target)
    if profile.name == "full":
        nbformat.write(notebook, path)
    records[path.stem] = {
        "profile": profile.name, "wall_seconds": round(seconds, 1), "git_commit": git_commit(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **context,
    }
    print(f"<== {relative(path)}: {provenance.format_seconds(seconds)}", flush=True)
    return seconds


def run_context(runs: dict) -> dict:
    """The data checksum and environment of this invocation, stored once in runs.json and
    referred to from each notebook's record."""
    from ..sources import DataNotFound, locate

    context = {"machine": machine()}
    try:
        data = provenance.data_record(locate())
        runs["data"][data["sha256"]] = data
        context["data"] = data["sha256"]
    except DataNotFound:
        pass
    environment = provenance.environment_record()
    runs["environments"][provenance.environment_id(environment)] = environment
    context["environment"] = provenance.environment_id(environment)
    return context


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.book.runbook", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--force", action="store_true", help="re-run notebooks that are up to date")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the kernels inherit it: no TensorFlow log lines in pages
    profile = config.PROFILES[args.profile]
    paths = [p if p.is_file() else NOTEBOOKS / p.name for p in args.notebooks] or \
        sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    record_path = run_record(profile)
    mine = {"notebooks": {}, "environments": {}, "data": {}}  # this invocation's records
    context = None
    timings = []
    for path in paths:
        stored = nbformat.read(path, as_version=4).metadata.get("fer_run", {})
        if not args.force and profile.name == "full" and stored.get("code_hash") == code_hash(path, profile.name):
            print(f"--- {relative(path)}: up to date, skipped (--force to re-run)")
            continue
        context = context or run_context(mine)
        timings.append((path, execute(path, profile, mine["notebooks"], context)))
        runs = provenance.load_runs(record_path)  # re-read: another run may have written since we started
        for section, records in mine.items():
            runs[section].update(records)
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n")
    if timings:
        print(f"\nRan {len(timings)} notebook(s) in profile {profile.name}:")
        for path, seconds in timings:
            print(f"  {provenance.format_seconds(seconds):>14}  {relative(path)}")
        print(f"  {provenance.format_seconds(sum(s for _, s in timings)):>14}  total; recorded in {relative(record_path)}")
    else:
        print("All notebooks up to date." if paths else "No notebooks to run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
