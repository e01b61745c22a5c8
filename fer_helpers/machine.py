"""The machine and the clock: what a run ran on (CPU model, the instruction sets that decide TensorFlow's kernels,
its threads, the load, the commit) and how long it took, written the book's one way (`duration`)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

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


def cpu_label(cpu: dict) -> str:
    """A CPU as runs are compared and reported by: its model and widest vector instructions (`cpu_info`), e.g.
    'AMD EPYC, AVX2'; one model name covers chips with and without AVX-512, whose rates differ several-fold."""
    return f"{cpu['model']}, {'AVX-512' if 'avx512f' in cpu['flags'] else 'AVX2'}"


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


def describe() -> str:
    """What a run ran on, in one line, e.g. 'x86_64, 2 CPUs, AMD EPYC, AVX2' (details in `run_metadata`)."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {cpu_label(cpu_info())}"


def duration(seconds: float) -> str:
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
        return duration(self.seconds)
