"""Results are files: every finished run writes results/<name>.json with its run metadata."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
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


# instruction-set extensions that decide which oneDNN kernels TensorFlow runs on a CPU
ONEDNN_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> dict:
    """CPU model name and its oneDNN-relevant instruction-set flags (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {"model": platform.processor() or "unknown", "flags": []}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    present = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", "unknown"), "flags": [f for f in ONEDNN_FLAGS if f in present]}


def tensorflow_threads() -> dict | None:
    """TensorFlow's intra- and inter-op thread counts (0: TF's default), if TensorFlow is loaded."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def load_average() -> list[float]:
    """The machine's 1-, 5- and 15-minute load averages."""
    return [round(load, 2) for load in os.getloadavg()]


def machine() -> str:
    """What a run ran on, in one line, e.g. 'x86_64, 2 CPUs, AMD EPYC' (details in `run_metadata`)."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {cpu_info()['model']}"


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
        "machine": machine(),
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
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**to_jsonable(result), "run": to_jsonable(run_metadata(profile, watch, **meta))}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_result(name: str, profile: config.Profile) -> dict:
    path = profile.results_dir / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the notebook that produces '{name}' first")
    return json.loads(path.read_text())


def format_seconds(seconds: float) -> str:
    """A duration as people read it: '42 s', '3 min 05 s', '1 h 02 min' (the project's one formatter)."""
    seconds = round(float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class Stopwatch:
    """Wall time of a notebook or a run, and the machine's load when it started: `watch.seconds`, `str(watch)`."""

    def __init__(self):
        self.start = time.perf_counter()
        self.load_start = load_average()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)

    def __str__(self) -> str:
        return format_seconds(self.seconds)
