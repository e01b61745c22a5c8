"""Execute the book's notebooks in order with papermill, then record what ran.

    python -m fer_helpers.runbook [--profile full] [--force] [NOTEBOOK ...]

A notebook whose code and profile match what its committed outputs were made from is skipped
(`--force` re-runs it). Each run executes into _build/executed/ and replaces notebooks/<name>
only on success, so a failure leaves the executed copy for inspection; the run's wall time,
profile and git commit go to results/runs.json (read by the "Reproduce this book" page).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from . import config
from .results import git_commit

NOTEBOOKS = config.ROOT / "notebooks"
EXECUTED = config.ROOT / "_build" / "executed"
KERNEL = "fer2013-book"


def code_hash(path: Path, profile: str) -> str:
    """Hash of a notebook's own code cells (not papermill's injected parameters) and the profile."""
    notebook = nbformat.read(path, as_version=4)
    cells = [c.source for c in notebook.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    return hashlib.sha256(json.dumps([profile, cells]).encode()).hexdigest()[:16]


def run_record(profile: config.Profile) -> Path:
    return profile.results_dir / "runs.json"


def execute(path: Path, profile: config.Profile, records: dict) -> None:
    import papermill

    EXECUTED.mkdir(parents=True, exist_ok=True)
    target = EXECUTED / path.name
    print(f"==> {path.name} (profile {profile.name})", flush=True)
    start = time.time()
    try:
        papermill.execute_notebook(
            str(path), str(target), parameters={"profile": profile.name}, kernel_name=KERNEL,
            cwd=str(NOTEBOOKS), log_output=True, progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        print(f"\nFAILED: {path.name}, cell {error.exec_count}: {error.ename}: {error.evalue}\n"
              f"The executed copy is kept at {target.relative_to(config.ROOT)}", file=sys.stderr)
        raise SystemExit(1) from None
    seconds = time.time() - start
    notebook = nbformat.read(target, as_version=4)
    notebook.metadata["fer_run"] = {"profile": profile.name, "code_hash": code_hash(target, profile.name)}
    if profile.name == "full":
        nbformat.write(notebook, path)
    records[path.stem] = {
        "profile": profile.name, "wall_seconds": round(seconds, 1), "git_commit": git_commit(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    print(f"<== {path.name}: {seconds:.0f} s", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.runbook", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--force", action="store_true", help="re-run notebooks that are up to date")
    args = parser.parse_args(argv)
    profile = config.PROFILES[args.profile]
    paths = [NOTEBOOKS / p.name for p in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    record_path = run_record(profile)
    records = json.loads(record_path.read_text()) if record_path.exists() else {}
    for path in paths:
        stored = nbformat.read(path, as_version=4).metadata.get("fer_run", {})
        if not args.force and profile.name == "full" and stored.get("code_hash") == code_hash(path, profile.name):
            print(f"--- {path.name}: up to date, skipped (--force to re-run)")
            continue
        execute(path, profile, records)
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
