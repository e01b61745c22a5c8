"""Results are files: every finished run writes results/<name>.json with its run metadata, safely (`write_atomic`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import config
from .machine import Stopwatch, cpu_info, describe, git_commit, load_average, tensorflow_threads


def run_metadata(profile: config.Profile, watch: Stopwatch | None = None, **extra) -> dict:
    """Profile, seed, git commit, time, machine (CPU model, oneDNN flags, TensorFlow threads) and load of a
    run, plus `extra` (epochs, seed, ...).

    With `watch` (started with the run): its wall time and the load average at its start and now.
    """
    timing = (
        {"wall_seconds": watch.seconds, "load": {"start": watch.load_start, "end": load_average()}} if watch else {}
    )
    return {
        "profile": profile.name,
        "seed": config.SEED,
        "git_commit": git_commit(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "cpu": cpu_info(),
        "tf_threads": tensorflow_threads(),
        **timing,
        **extra,
    }


def to_jsonable(value):
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def save_result(name: str, result: dict, profile: config.Profile, watch: Stopwatch | None = None, **meta) -> Path:
    """Write results/<name>.json (under the profile's output root) with the run metadata beside it."""
    path = profile.results_dir / f"{name}.json"
    payload = {**to_jsonable(result), "run": to_jsonable(run_metadata(profile, watch, **meta))}
    return write_atomic(path, json.dumps(payload, indent=2) + "\n")


def load_result(name: str, profile: config.Profile, required: bool = True) -> dict | None:
    """results/<name>.json; a missing file raises (or, unless `required`, gives None), an unreadable one raises
    ValueError naming the file."""
    path = profile.results_dir / f"{name}.json"
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"{path} not found: run the notebook that produces '{name}' first")
        return None
    try:
        found = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(found, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(found).__name__}")
    return found


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A scratch file beside `path` to write to, renamed over `path` when the block ends: a reader never sees half a
    file, and an interrupted write leaves the old one. The scratch name keeps the suffix (numpy and Keras add or
    demand one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name("partial-" + path.name)
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` safely (`atomic`)."""
    with atomic(path) as partial:
        partial.write_text(text)
    return Path(path)


OURS = ".made-by-fer-helpers"  # in every folder the project replaces whole: one without it holds someone's files


def fresh_folder(path: Path) -> Path:
    """`path` as a new, empty folder. An earlier one is removed only if the project made it (it holds `OURS`, or it
    lies under the project's _build/); any other folder with files in it is never touched."""
    path = Path(path)
    ours = (path / OURS).exists() or path.resolve().is_relative_to((config.ROOT / "_build").resolve())
    if path.is_dir() and any(path.iterdir()) and not ours:
        raise FileExistsError(f"{path}: a folder with files this project did not put there; it is not replaced")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / OURS).touch()
    return path
