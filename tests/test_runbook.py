"""`make notebooks` (fer_helpers.book.runbook): one chapter by stem or path, only the stale ones and why,
progress per cell, a failing cell named, clean run records; the committed notebooks are clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from helpers import ALLOW_DRAFTS, kernel_installed

from fer_helpers import config, results
from fer_helpers.book import drafts, provenance, runbook

ROOT = config.ROOT
MACHINE_PATHS = ("/work/", "/root/", "/tmp/", "/home/")

# --- committed notebooks ---------------------------------------------------------------------------

COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_notebook_is_clean(path):
    """Run by `make notebooks` in the full profile, kernel "fer2013-book", no error outputs, no paths
    of the machine it ran on."""
    if ALLOW_DRAFTS and drafts.is_draft(path):
        pytest.skip(f"{path.name} is a draft, not yet run in the full profile (FER_BOOK_ALLOW_DRAFTS=1)")
    notebook = nbformat.read(path, as_version=4)
    assert not drafts.is_draft(path), (
        f"{path.name}: not run in the full profile; the book shows committed outputs: run "
        f"`make notebooks` (python -m fer_helpers.book.runbook notebooks/{path.name}) and commit the result"
    )
    assert notebook.metadata.get("kernelspec", {}).get("name") == runbook.KERNEL, (
        f"{path.name}: kernelspec is not {runbook.KERNEL!r} (run it with `make notebooks` or pick the kernel "
        "in `make lab`)"
    )
    errors = [
        i
        for i, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    texts = {"metadata": json.dumps(notebook.metadata)}
    for i, cell in enumerate(notebook.cells):
        texts[f"cell {i} metadata"] = json.dumps(cell.metadata)
        texts[f"cell {i} outputs"] = json.dumps(cell.get("outputs", []))
    leaks = [
        f"{where}: {m}"
        for where, text in texts.items()
        for m in re.findall(r"(?:{})[^\s\"'\\]*".format("|".join(map(re.escape, MACHINE_PATHS))), text)
    ]
    assert not leaks, f"{path.name}: machine paths in the notebook:\n" + "\n".join(leaks[:10])


def test_notebook_cleaning_removes_machine_paths():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.papermill = {
        "input_path": str(ROOT / "notebooks" / "x.ipynb"),
        "output_path": str(ROOT / "_build" / "executed" / "x.ipynb"),
    }
    cell = nbformat.v4.new_code_cell("import warnings")
    warning = f"{ROOT}/.venv/lib/python3.11/site-packages/keras/x.py:1: UserWarning\n"
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=warning)]
    notebook.cells = [cell]
    runbook.sanitize(notebook)
    text = json.dumps(notebook)
    assert str(ROOT) not in text
    assert notebook.metadata.papermill["input_path"] == "notebooks/x.ipynb"
    assert notebook.metadata.kernelspec["name"] == runbook.KERNEL


def test_notebook_cleaning_keeps_one_parameters_cell():
    """papermill's injected cell (profile = "full") would pin a later nbval run under FER_PROFILE to full."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell('profile = "full"', metadata={"tags": ["injected-parameters"]})
    notebook.cells = [parameters, injected, nbformat.v4.new_code_cell("print(profile)")]
    runbook.sanitize(notebook)
    assert [c.source for c in notebook.cells] == ["profile = None", "print(profile)"]


# --- make notebooks (fer_helpers.book.runbook) ----------------------------------------------------


def make_notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = dict(runbook.KERNELSPEC)
    parameters = nbformat.v4.new_code_cell('profile = "full"')
    parameters.metadata.tags = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), parameters] + [
        nbformat.v4.new_code_cell(s) for s in sources
    ]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def run_area(tmp_path, monkeypatch):
    """runbook writing its executed copies and records under tmp_path (profile smoke)."""
    if not kernel_installed():
        pytest.skip(f"kernel {runbook.KERNEL!r} not installed (make env installs it)")
    monkeypatch.setattr(runbook, "EXECUTED", tmp_path / "executed")
    smoke = config.PROFILES["smoke"]
    monkeypatch.setitem(
        config.PROFILES, "smoke", config.Profile("smoke", smoke.subset_fraction, smoke.epochs, tmp_path / "out")
    )
    return tmp_path


def test_runbook_prints_progress_and_records_the_run(run_area, capsys):
    path = make_notebook(
        run_area / "01_ok.ipynb",
        "for epoch in range(2):\n    print(f'epoch {epoch + 1}/2', flush=True)",
        "print(profile)",
    )
    assert runbook.main(["--profile", "smoke", str(path)]) == 0
    out = capsys.readouterr().out
    assert "==> " in out and "01_ok.ipynb" in out
    assert "[3/4] for epoch in range(2):" in out and "| epoch 2/2" in out and "| smoke" in out
    assert re.search(r"<== .*01_ok\.ipynb: \d+ s", out) and "total" in out
    runs = provenance.load_runs(run_area / "out" / "results" / "runs.json")
    record = runs["notebooks"]["01_ok"]
    assert record["profile"] == "smoke" and record["wall_seconds"] > 0
    assert runs["environments"][record["environment"]]["packages"]["nbformat"] == nbformat.__version__
    executed = nbformat.read(run_area / "executed" / "01_ok.ipynb", as_version=4)
    assert executed.metadata.kernelspec.name == runbook.KERNEL
    assert str(ROOT) not in json.dumps(executed.metadata)


def test_runbook_stops_on_a_failing_cell(run_area, capsys):
    ok = make_notebook(run_area / "01_ok.ipynb", "x = 1")
    failing = make_notebook(run_area / "02_fails.ipynb", "y = 2", "raise ValueError('deliberate')", "z = 3")
    later = make_notebook(run_area / "03_later.ipynb", "w = 4")
    with pytest.raises(SystemExit) as stop:
        runbook.main(["--profile", "smoke", str(ok), str(failing), str(later)])
    assert stop.value.code == 1
    captured = capsys.readouterr()
    assert "FAILED: " in captured.err and "02_fails.ipynb" in captured.err
    assert "cell In [4]" in captured.err and "raise ValueError('deliberate')" in captured.err
    assert "ValueError: deliberate" in captured.err
    assert "03_later" not in captured.out  # the build stopped
    executed = nbformat.read(run_area / "executed" / "02_fails.ipynb", as_version=4)
    assert any(o.output_type == "error" for c in executed.cells for o in c.get("outputs", []))
    runs = provenance.load_runs(run_area / "out" / "results" / "runs.json")
    assert set(runs["notebooks"]) == {"01_ok"}


def test_notebook_named_by_stem_or_path():
    chapter = provenance.chapter_notebooks()[0]
    assert runbook.notebook_path(chapter.stem) == runbook.notebook_path(chapter.name) == chapter
    assert runbook.notebook_path(str(chapter)) == chapter
    with pytest.raises(SystemExit, match="no notebook 99_missing: give a path or a stem of one of .*" + chapter.stem):
        runbook.notebook_path("99_missing")


def test_a_chapter_waits_for_the_chapters_it_reads_unless_it_runs_on_what_is_there(monkeypatch):
    from fer_helpers import chapters, specs

    monkeypatch.setattr(
        chapters,
        "CHAPTERS",
        {
            "06_x": specs.Chapter("06_x"),
            "07_reader": specs.Chapter("07_reader", ("06_x",)),
            "11_collector": specs.Chapter("11_collector", ("06_x",), partial=True),
        },
    )
    waiting = {"06_x": "3 run(s) not in the store (3.04 PFLOP): make runs NB=06_x"}
    assert runbook.waits_for("07_reader", waiting, config.PROFILES["full"]) == "reads 06_x, which wait(s)"
    assert runbook.waits_for("11_collector", waiting, config.PROFILES["full"]) == ""  # it says what waits


@pytest.fixture
def full_area(run_area, monkeypatch):
    """runbook in the full profile with its outputs (results/runs.json) under tmp_path/full."""
    full = config.PROFILES["full"]
    monkeypatch.setitem(config.PROFILES, "full", config.Profile("full", None, full.epochs, run_area / "full"))
    return run_area


def test_only_stale_notebooks_run_and_say_why(full_area, capsys):
    path = make_notebook(full_area / "01_chapter.ipynb", "x = 1")
    assert runbook.main([str(path)]) == 0
    assert "01_chapter.ipynb: stale: not run in the full profile" in capsys.readouterr().out
    stored = nbformat.read(path, as_version=4).metadata.fer_run  # written back: the full profile's outputs
    assert stored["profile"] == "full" and set(stored["keys"]) == {"code", "modules", "lock", "data"}
    assert runbook.main([str(path)]) == 0
    assert "01_chapter.ipynb: up to date, skipped" in capsys.readouterr().out
    runbook.main(["--status", str(path)])
    assert re.search(r"01_chapter +up to date", capsys.readouterr().out)

    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].source = "x = 2"
    nbformat.write(notebook, path)
    runbook.main(["--status", str(path)])
    assert re.search(r"01_chapter +stale: code cells changed", capsys.readouterr().out)
    assert runbook.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "01_chapter.ipynb: stale: code cells changed" in out and "==> " in out


def test_run_records_keep_existing_notebooks_and_the_machine(full_area):
    record_path = full_area / "full" / "results" / "runs.json"
    gone = {"wall_seconds": 5.0, "notebook": str(full_area / "99_renamed.ipynb"), "environment": "old"}
    record_path.parent.mkdir(parents=True)
    record_path.write_text(json.dumps({"notebooks": {"99_renamed": gone}, "environments": {"old": {}}, "data": {}}))
    path = make_notebook(full_area / "01_chapter.ipynb", "x = 1")
    runbook.main(["--force", str(path)])
    runs = provenance.load_runs(record_path)
    assert set(runs["notebooks"]) == {"01_chapter"} and "old" not in runs["environments"]
    record = runs["notebooks"]["01_chapter"]
    assert record["machine"] == results.run_metadata(config.PROFILES["full"])["machine"]
    assert record["keys"] == nbformat.read(path, as_version=4).metadata.fer_run["keys"]
    assert record["environment"] in runs["environments"] and record["wall_seconds"] > 0


def test_gpu_workflow():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book-gpu.yml").read_text())
    jobs = workflow["jobs"]
    build_job = jobs["build"]
    assert "gpu" in build_job["runs-on"] and "self-hosted" in build_job["runs-on"]
    steps = " ".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in build_job["steps"])
    assert "make book PROFILE=full FORCE=1" in steps and "upload-pages-artifact" in steps
    assert "deploy-pages" in str(jobs["deploy"]["steps"])


def test_the_project_kernel_logs_errors_only():
    """`make env` installs the kernel so that it prints no start-up warning into a chapter's log."""
    from jupyter_client.kernelspec import KernelSpecManager

    if not kernel_installed():
        pytest.skip(f"kernel {runbook.KERNEL!r} not installed (make env installs it)")

    spec = KernelSpecManager().get_kernel_spec(runbook.KERNEL)
    assert "--IPKernelApp.log_level=ERROR" in spec.argv and spec.env["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_install_kernel_writes_a_quiet_kernel(tmp_path):
    """The kernel `make env` installs logs errors only and starts TensorFlow without log lines."""
    installed = runbook.install_kernel(prefix=str(tmp_path))
    spec = json.loads((installed / "kernel.json").read_text())
    assert installed == tmp_path / "share" / "jupyter" / "kernels" / runbook.KERNEL
    assert spec["display_name"] == runbook.KERNELSPEC["display_name"]
    assert "--IPKernelApp.log_level=ERROR" in spec["argv"] and "{connection_file}" in spec["argv"]
    assert spec["env"] == {"TF_CPP_MIN_LOG_LEVEL": "3"}
