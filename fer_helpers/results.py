"""Results are files: every finished run writes results/<name>.json with its run metadata."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import config


def git_commit() -> str:
    """The project's current commit (short hash), or 'unknown' outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def machine() -> str:
    """What a run ran on, e.g. 'x86_64, 2 CPUs'."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs"


def saved_models(profile: config.Profile) -> list[str]:
    """The book's classifiers (in `config.CLASSIFIERS` order) that have a saved models/<name>.keras."""
    return [name for name in config.CLASSIFIERS if (profile.models_dir / f"{name}.keras").exists()]


def run_metadata(profile: config.Profile, **extra) -> dict:
    """Profile, seed, git commit, time and machine of a run, plus `extra` (epochs, wall time, ...)."""
    return {
        "profile": profile.name, "seed": config.SEED, "git_commit": git_commit(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), **extra,
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


def save_result(name: str, result: dict, profile: config.Profile, **meta) -> Path:
    """Write results/<name>.json (under the profile's output root) with the run metadata beside it."""
    path = profile.results_dir / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**to_jsonable(result), "run": to_jsonable(run_metadata(profile, **meta))}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_result(name: str, profile: config.Profile) -> dict:
    path = profile.results_dir / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the notebook that produces '{name}' first")
    return json.loads(path.read_text())


class Stopwatch:
    """Wall time of a notebook or a run: `watch = Stopwatch(); ...; watch.seconds`."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)

    def __str__(self) -> str:
        minutes, seconds = divmod(self.seconds, 60)
        return f"{int(minutes)} min {seconds:.0f} s"
