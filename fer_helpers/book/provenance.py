"""Run records: what ran, how long, on which data and with which packages (results/runs.json)."""
from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

from .. import config

LOCK = config.ROOT / "requirements.lock"
DATA_SOURCE = "Kaggle data set msambare/fer2013"



def sha256(path: Path) -> str:
    """SHA-256 of a file; for a folder, of its files' relative paths and contents in sorted order."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def data_record(path: Path) -> dict:
    """Name, form and SHA-256 of the data set at `path`, and whether a `<path>.sha256` file beside it agrees."""
    path = Path(path)
    form = "folder" if path.is_dir() else path.suffix.lstrip(".").lower()
    record = {"source": DATA_SOURCE, "name": path.name, "form": form, "sha256": sha256(path)}
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file():
        expected = sidecar.read_text().split()[0].lower() if sidecar.read_text().split() else ""
        record["sha256_file_agrees"] = expected == record["sha256"]
    return record


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
    return {"python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
            "packages": packages}


def environment_id(environment: dict) -> str:
    return hashlib.sha256(json.dumps(environment, sort_keys=True).encode()).hexdigest()[:12]


def load_runs(path: Path) -> dict:
    """results/runs.json as {"notebooks": {stem: record}, "environments": {id: env}, "data": {sha256: record}}."""
    runs = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    if runs and "notebooks" not in runs:  # the first, flat format: {stem: record}
        runs = {"notebooks": runs}
    for key in ("notebooks", "environments", "data"):
        runs.setdefault(key, {})
    return runs


def format_seconds(seconds: float) -> str:
    seconds = round(float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def chapter_notebooks(root: Path = config.ROOT) -> list[Path]:
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def runs_path(root: Path = config.ROOT) -> Path:
    """results/runs.json of the full profile (the book's numbers) under `root`."""
    return Path(root) / (config.PROFILES["full"].results_dir / "runs.json").relative_to(config.ROOT)
