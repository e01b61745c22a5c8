"""Run records (fer_helpers.book.provenance): a chapter's keys cover its code cells, the project modules it
imports (transitively), the lock and the data, and say what changed; run records stay clean."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from fer_helpers.book import provenance


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """A tiny project: fer_helpers with a subpackage, relative and lazy imports, and a module run with -m."""
    package = tmp_path / "fer_helpers"
    write(package / "__init__.py", "")
    write(package / "config.py", "SEED = 42\n")
    write(package / "training.py", "from . import config\n\ndef train():\n    from .models import build\n")
    write(package / "models.py", "import numpy\n")
    write(package / "predict.py", "from .config import SEED\n")
    write(package / "unused.py", "")
    write(package / "book" / "__init__.py", "")
    write(package / "book" / "notebook.py", "from ..results import save\n")
    write(package / "results.py", "")
    write(tmp_path / "requirements.lock", "numpy==2.4.0\n")
    return tmp_path


def chapter(root: Path, *sources: str, stem: str = "01_chapter") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A chapter")] + [nbformat.v4.new_code_cell(s) for s in sources]
    path = root / "notebooks" / f"{stem}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def test_modules_are_found_transitively(project):
    path = chapter(
        project,
        "%matplotlib inline\nfrom fer_helpers import training, config",
        "from fer_helpers.book.notebook import glue\n!ls",
        "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'fer_helpers.predict'])",
    )
    modules = provenance.notebook_modules(path, project)
    assert sorted(modules) == [
        "fer_helpers/__init__.py",
        "fer_helpers/book/__init__.py",
        "fer_helpers/book/notebook.py",
        "fer_helpers/config.py",
        "fer_helpers/models.py",
        "fer_helpers/predict.py",
        "fer_helpers/results.py",
        "fer_helpers/training.py",
    ]
    expected = hashlib.sha256((project / "fer_helpers" / "models.py").read_bytes()).hexdigest()[:16]
    assert modules["fer_helpers/models.py"] == expected


def test_unparsable_module_names_the_file(project):
    write(project / "fer_helpers" / "models.py", "def broken(:\n")
    path = chapter(project, "from fer_helpers import training")
    with pytest.raises(ValueError, match=r"fer_helpers/models\.py: cannot parse Python \(line 1\)"):
        provenance.notebook_modules(path, project)


def test_stale_reasons_name_what_changed(project):
    path = chapter(project, "from fer_helpers import training")
    stored = {"profile": "full", "keys": provenance.run_keys(path, "a" * 16, project)}
    assert provenance.stale_reasons(stored, provenance.run_keys(path, "a" * 16, project)) == []
    assert provenance.stale_reasons(stored, provenance.run_keys(path, None, project)) == []  # no data: not compared

    write(project / "fer_helpers" / "models.py", "import numpy as np\n")
    write(project / "requirements.lock", "numpy==2.4.1\n")
    chapter(project, "from fer_helpers import training, predict")
    reasons = provenance.stale_reasons(stored, provenance.run_keys(path, "b" * 16, project))
    assert reasons == [
        "code cells changed",
        "fer_helpers/models.py changed",
        "fer_helpers/predict.py newly imported",
        "lock changed",
        "data changed",
    ]
    chapter(project, "from fer_helpers import config")
    reasons = provenance.stale_reasons(stored, provenance.run_keys(path, "a" * 16, project))
    assert "fer_helpers/training.py no longer imported" in reasons


def test_records_without_keys_are_stale(project):
    path = chapter(project, "x = 1")
    current = provenance.run_keys(path, None, project)
    assert provenance.stale_reasons({}, current) == ["not run in the full profile"]
    assert provenance.stale_reasons({"profile": "smoke", "keys": current}, current) == ["not run in the full profile"]
    assert provenance.stale_reasons({"profile": "full", "code_hash": "0" * 16}, current)[0].startswith(
        "no dependency record"
    )


def test_chapter_status(project):
    fresh = chapter(project, "from fer_helpers import config", stem="01_fresh")
    notebook = nbformat.read(fresh, as_version=4)
    notebook.metadata.fer_run = {"profile": "full", "keys": provenance.run_keys(fresh, None, project)}
    nbformat.write(notebook, fresh)
    chapter(project, "x = 1", stem="02_draft")
    assert provenance.chapter_status(project) == {"01_fresh": [], "02_draft": ["not run in the full profile"]}
    write(project / "fer_helpers" / "config.py", "SEED = 43\n")
    assert provenance.chapter_status(project)["01_fresh"] == ["fer_helpers/config.py changed"]


def test_data_record_checks_its_sha256_file(tmp_path):
    data = write(tmp_path / "fer2013.csv", "emotion,pixels,Usage\n")
    full = hashlib.sha256(data.read_bytes()).hexdigest()
    record = provenance.data_record(data)
    assert record["fingerprint"] == full[:16] and record["form"] == "csv" and "sha256_file_agrees" not in record
    write(tmp_path / "fer2013.csv.sha256", f"{full}  fer2013.csv\n")
    assert provenance.data_record(data)["sha256_file_agrees"] is True
    write(tmp_path / "fer2013.csv.sha256", f"{'0' * 64}  fer2013.csv\n")
    assert provenance.data_record(data)["sha256_file_agrees"] is False


def test_data_checksum_matches_its_sha256_file(real_data_path):
    record = provenance.data_record(real_data_path)
    assert re.fullmatch(r"[0-9a-f]{16}", record["fingerprint"])
    if not real_data_path.with_name(real_data_path.name + ".sha256").exists():
        pytest.skip(f"no {real_data_path.name}.sha256 beside the data to compare with")
    assert record["sha256_file_agrees"], f"{real_data_path} does not match its .sha256 file"


def test_earlier_run_records_are_read(tmp_path):
    sha = "4383" + "e" * 60
    old = {
        "notebooks": {"01_a": {"data": sha, "wall_seconds": 1.0}},
        "data": {sha: {"name": "fer2013.zip", "form": "zip", "sha256": sha, "sha256_file_agrees": True}},
    }
    runs = provenance.load_runs(write(tmp_path / "runs.json", json.dumps(old)))
    assert runs["data"] == {
        sha[:16]: {"name": "fer2013.zip", "form": "zip", "fingerprint": sha[:16], "sha256_file_agrees": True}
    }
    assert runs["notebooks"]["01_a"]["data"] == sha[:16] and runs["environments"] == {}
    flat = provenance.load_runs(write(tmp_path / "flat.json", json.dumps({"01_a": {"wall_seconds": 1.0}})))
    assert flat["notebooks"] == {"01_a": {"wall_seconds": 1.0}}


def test_written_records_drop_notebooks_that_are_gone(tmp_path):
    chapter(tmp_path, "x = 1", stem="01_kept")
    runs = {
        "notebooks": {
            "01_kept": {"environment": "e1", "data": "d1"},
            "02_renamed": {"environment": "e2", "data": "d2"},
            "03_elsewhere": {"notebook": str(chapter(tmp_path / "other", "y = 1")), "environment": "e1"},
        },
        "environments": {"e1": {}, "e2": {}},
        "data": {"d1": {}, "d2": {}},
    }
    provenance.write_runs(tmp_path / "results" / "runs.json", runs, tmp_path)
    written = json.loads((tmp_path / "results" / "runs.json").read_text())
    assert set(written["notebooks"]) == {"01_kept", "03_elsewhere"}
    assert set(written["environments"]) == {"e1"} and set(written["data"]) == {"d1"}


def test_a_chapter_is_stale_when_a_chapter_it_reads_ran_after_it():
    finished = {
        "03_outliers": "2026-12-02T07:00:00+00:00",
        "04_baseline": "2026-12-02T06:00:00+00:00",
        "10_architectures": "2026-12-02T06:00:00+00:00",
    }
    assert provenance.upstream_reasons("04_baseline", finished) == ["reads 03_outliers, which ran after it"]
    assert provenance.upstream_reasons("10_architectures", finished) == []  # reads no chapter
    assert provenance.upstream_reasons("05_augmentation", finished) == []  # never ran: its own keys say so
    finished["04_baseline"] = "2026-12-02T08:00:00+00:00"
    assert provenance.upstream_reasons("04_baseline", finished) == []


def test_reads_names_only_earlier_chapters_that_exist():
    stems = [path.stem for path in provenance.chapter_notebooks()]
    for chapter, upstream in provenance.READS.items():
        assert chapter in stems and all(up in stems and up < chapter for up in upstream)


def test_describe_puts_code_data_and_lock_first_and_counts_the_rest():
    modules = [f"fer_helpers/m{i}.py changed" for i in range(6)]
    line = provenance.describe([*modules, "lock changed"], most=3)
    assert line == "stale: lock changed; fer_helpers/m0.py changed; fer_helpers/m1.py changed; 4 more"
    assert provenance.describe(["code cells changed"]) == "stale: code cells changed"
    assert provenance.describe([]) == "up to date"
