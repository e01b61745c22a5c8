"""`make verify` (fer_helpers.book.verify): counts, ids and data statistics compared exactly, metrics within the
tolerance, run metadata and timings not at all; the re-run writes only into its scratch folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest
from helpers import glue_output, kernel_installed

from fer_helpers import config
from fer_helpers.book import provenance, runbook, verify


def checks_by_name(checks) -> dict:
    return {c.name: c.ok for c in checks}


@pytest.mark.parametrize(
    "name, kind",
    [
        ("run/git_commit", "ignored"),
        ("training/train_seconds", "ignored"),
        ("speed/latency_ms_batch1", "ignored"),
        ("ch6_train_min", "ignored"),
        ("ch2_rate", "ignored"),
        ("confusion/3/4", "ignored"),
        ("ch4_wall", "ignored"),
        ("val_mse", "loss"),
        ("accuracy", "metric"),
        ("parts/PrivateTest/accuracy", "metric"),
        ("macro-F1 sd", "metric"),
        ("ch4_ci", "metric"),
        ("ch4_gain", "metric"),
        ("n", "exact"),
        ("table1/train/min", "exact"),
        ("class_counts/test/angry", "exact"),
        ("ch1_train_mean", "exact"),
        ("audit/double_filed/0/id", "exact"),
        ("evaluation/2/psnr", "exact"),
        ("sanity_table/baseline CNN / GradCAM: trained vs random weights/median", "metric"),
        ("activation_maximization/attention U-Net/fear/probability", "ignored"),
        ("ch7_am_prob_attention_unet", "ignored"),
    ],
)
def test_rule_by_name(name, kind):
    assert verify.rule(name) == kind


def test_exact_floats_allow_only_the_rounding_that_differs_between_cpus():
    # chapter 2's PSNR on an AMD EPYC and on an AVX-512 Xeon
    assert verify.compare("evaluation/2/psnr", 35.89696037366477, 35.896959772523545).ok
    assert verify.compare("evaluation/12/ssim_se", 0.0024102102501743178, 0.002410214680439626).ok
    assert not verify.compare("table1/train/mean", 0.5073, 0.50731).ok


def test_integers_are_exact_whatever_their_name():
    assert verify.rule("sizes/val") == "metric"
    assert not verify.compare("sizes/val", 5741, 5742).ok
    assert not verify.compare("ch1_n_val", "5,741", "5,742").ok
    assert verify.compare("ch8_val", "64.7%", "64.9%").ok


def test_results_fields_exact_within_tolerance_or_ignored():
    committed = {
        "n": 7178,
        "accuracy": 0.544,
        "parts": {"PrivateTest": {"accuracy": 0.550, "n": 3589}},
        "macro_f1": 0.504,
        "val_mse": 0.000200,
        "table1": {"train": {"mean": 0.5073}},
        "param": math.nan,
        "source": "FER-2013 (fer2013.zip)",
        "ids": ["Training_1", "Training_2"],
        "confusion": [[1, 2], [3, 4]],
        "training": {"train_seconds": 193.5, "best_epoch": 5},
        "run": {"git_commit": "abc", "machine": "x"},
    }
    changes = {  # the re-run, by flattened field: what it changes and adds
        "n": 7177,
        "accuracy": 0.540,
        "parts/PrivateTest/accuracy": 0.556,
        "macro_f1": 0.501,
        "val_mse": 0.000209,
        "table1/train/mean": 0.50731,
        "ids/1": "Training_3",
        "confusion/0/0": 2,
        "confusion/0/1": 1,
        "training/train_seconds": 250.0,
        "run/git_commit": "def",
        "run/machine": "y",
        "extra": 1,
    }
    flat = verify.flatten(committed)
    ok = checks_by_name(verify.compare_fields(flat, flat | changes, label="r.json "))
    assert ok == {
        "r.json n": False,
        "r.json accuracy": True,
        "r.json parts/PrivateTest/accuracy": False,
        "r.json parts/PrivateTest/n": True,
        "r.json macro_f1": True,
        "r.json val_mse": True,
        "r.json table1/train/mean": False,
        "r.json param": True,
        "r.json source": True,
        "r.json ids/0": True,
        "r.json ids/1": False,
        "r.json confusion/0/0": None,
        "r.json confusion/0/1": None,
        "r.json confusion/1/0": None,
        "r.json confusion/1/1": None,
        "r.json training/train_seconds": None,
        "r.json training/best_epoch": True,
        "r.json run/git_commit": None,
        "r.json run/machine": None,
        "r.json extra": False,
    }
    loose = verify.compare_fields({"accuracy": 0.550}, {"accuracy": 0.556}, tolerance=1.0)
    assert loose[0].ok


def glued_notebook(path: Path, values: dict) -> Path:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue(...)")
    cell.outputs = [glue_output(name, {"text/plain": repr(value)}) for name, value in values.items()]
    notebook.cells = [cell]
    nbformat.write(notebook, path)
    return path


def test_glued_values_compared_as_the_book_shows_them(tmp_path):
    committed = {
        "ch4_acc": "54.4%",
        "ch4_private": "55.0%",
        "ch4_ci": "53.3%–55.6%",
        "ch4_gain": "-0.0",
        "ch4_plain_f1": "0.504",
        "ch4_verdict": "does not hold",
        "ch1_n_train": "22,968",
        "ch1_train_mean": "0.507",
        "ch4_epochs": 5,
        "ch4_wall": "29 min 54 s",
        "ch4_dropped": "gone",
    }
    rerun = {
        "ch4_acc": "54.0%",
        "ch4_private": "54.4%",
        "ch4_ci": "52.9%–55.2%",
        "ch4_gain": "-0.8",
        "ch4_plain_f1": "0.501",
        "ch4_verdict": "holds",
        "ch1_n_train": "22,969",
        "ch1_train_mean": "0.508",
        "ch4_epochs": 5,
        "ch4_wall": "13 min 56 s",
    }
    before = glued_notebook(tmp_path / "a.ipynb", committed)
    assert verify.glued_values(nbformat.read(before, as_version=4)) == committed
    checks = verify.compare_glue(before, glued_notebook(tmp_path / "b.ipynb", rerun))
    assert checks_by_name(checks) == {
        "glue ch4_acc": True,
        "glue ch4_private": False,
        "glue ch4_ci": True,
        "glue ch4_gain": False,
        "glue ch4_plain_f1": True,
        "glue ch4_verdict": False,
        "glue ch1_n_train": False,
        "glue ch1_train_mean": False,
        "glue ch4_epochs": True,
        "glue ch4_wall": None,
        "glue ch4_dropped": False,
    }
    assert next(c for c in checks if c.name == "glue ch4_dropped").rerun == verify.MISSING


def test_table_lines_up_name_committed_rerun_ok():
    lines = verify.table(
        [
            verify.Check("glue ch4_acc", "54.4%", "54.0%", True),
            verify.Check("r.json n", 7178, 7177, False),
            verify.Check("r.json run/machine", "x", "y", None),
        ]
    ).splitlines()
    assert lines[0].split(" | ") == ["name              ", "committed", "re-run", "ok"]
    assert lines[2].split(" | ")[-1] == "MISMATCH" and lines[3].endswith("ignored")
    assert len({line.index(" | ") for line in lines}) == 1


def test_scratch_must_not_hold_the_committed_outputs(tmp_path):
    committed = config.Profile("full", None, {}, tmp_path)
    for scratch_root in (tmp_path, tmp_path.parent):
        with pytest.raises(FileExistsError, match="holds the committed outputs"):
            verify.seed_scratch(committed, config.Profile("verify", None, {}, scratch_root))


def test_cheap_chapters_from_the_run_records(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_quick", "02_slow", "03_never_run"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    runs = {
        "notebooks": {
            "01_quick": {"wall_seconds": 86.9},
            "02_slow": {"wall_seconds": 1802.4},
            "00_renamed": {"wall_seconds": 5.0},
        }
    }
    path = provenance.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(runs))
    assert [p.stem for p in verify.cheap_chapters(tmp_path)] == ["01_quick"]


def test_artifacts_compared_by_the_ids_of_their_rows(tmp_path):
    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    committed.mkdir(), rerun.mkdir()
    (committed / "outliers.csv").write_text("key,id,error\na-0,T_1,0.5\nb-0,T_2,0.4\nc-0,T_3,0.3\n")
    (rerun / "outliers.csv").write_text("key,id,error\na-0,T_1,0.5001\nb-0,T_2,0.4\nc-0,T_3,0.3\n")
    (committed / "split.csv").write_text("key,split\na-0,train\nb-0,val\n")
    (rerun / "split.csv").write_text("key,split\na-0,train\nd-0,val\n")
    (rerun / "new.csv").write_text("key\na-0\n")
    written = [rerun / name for name in ("outliers.csv", "split.csv", "new.csv")]
    checks = verify.compare_artifacts(committed, written)
    # errors may move in the last digits; the rows flagged may not
    assert checks_by_name(checks) == {"outliers.csv rows": True, "split.csv rows": False, "new.csv rows": False}
    assert checks[1].rerun == "2 (1 differ)"


def test_instruction_sets_named_only_when_they_differ(tmp_path, monkeypatch):
    here = {"model": "Intel Xeon", "flags": ["avx", "avx2", "avx512f"]}
    monkeypatch.setattr(verify, "cpu_info", lambda: here)
    runs = {"notebooks": {"03_same": {"cpu": here}, "04_other": {"cpu": {"model": "AMD EPYC", "flags": ["avx2"]}}}}
    path = provenance.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(runs))
    assert verify.instruction_sets("03_same", tmp_path) is None
    assert verify.instruction_sets("05_never_run", tmp_path) is None
    note = verify.instruction_sets("04_other", tmp_path)
    assert "AMD EPYC (avx2)" in note and "Intel Xeon (avx, avx2, avx512f)" in note


TINY_CHAPTER = """from fer_helpers import config, results
from fer_helpers.book.notebook import glue

profile = config.get_profile(profile)
assert (profile.models_dir / "model.keras").read_bytes() == b"weights"  # the committed models, copied
results.save_result("tiny", {"n": 4, "accuracy": 0.503}, profile)
glue("tiny_acc", f"{0.503:.1%}")
glue("tiny_n", 4)"""


def snapshot(root: Path) -> dict:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def test_verify_reruns_into_scratch_and_leaves_committed_files(tmp_path, monkeypatch, capsys):
    if not kernel_installed():
        pytest.skip(f"kernel {runbook.KERNEL!r} not installed (make env installs it)")
    committed, scratch = tmp_path / "committed", tmp_path / "scratch"
    full = config.PROFILES["full"]
    monkeypatch.setitem(config.PROFILES, "full", config.Profile("full", None, full.epochs, committed))
    monkeypatch.setitem(config.PROFILES, "verify", config.Profile("verify", None, full.epochs, scratch))
    monkeypatch.setenv(config.VERIFY_ROOT_ENV, str(scratch))  # the kernel's config
    monkeypatch.setattr(provenance, "current_data", lambda: "d" * 16)
    for name, text in {
        "results/tiny.json": {"n": 3, "accuracy": 0.500, "run": {"machine": "elsewhere"}},
        "results/other.json": {"n": 1},
        "results/runs.json": {"notebooks": {}},
    }.items():
        (committed / name).parent.mkdir(parents=True, exist_ok=True)
        (committed / name).write_text(json.dumps(text))
    (committed / "models").mkdir()
    (committed / "models" / "model.keras").write_bytes(b"weights")
    (committed / "notebooks").mkdir()
    path = committed / "notebooks" / "01_tiny.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = dict(runbook.KERNELSPEC)
    parameters = nbformat.v4.new_code_cell('profile = "full"')
    parameters.metadata.tags = ["parameters"]
    chapter = nbformat.v4.new_code_cell(TINY_CHAPTER)
    chapter.outputs = [glue_output("tiny_acc", {"text/plain": "'50.0%'"}), glue_output("tiny_n", {"text/plain": "4"})]
    notebook.cells = [parameters, chapter]
    nbformat.write(notebook, path)
    before = snapshot(committed)

    def rows(out: str) -> dict:
        return {
            line.split(" | ")[0].strip(): line.split(" | ")[-1].strip() for line in out.splitlines() if " | " in line
        }

    assert verify.main(["-v", str(path)]) == 1
    assert snapshot(committed) == before
    written = json.loads((scratch / "results" / "tiny.json").read_text())
    assert written["run"]["profile"] == "verify" and written["n"] == 4
    out = capsys.readouterr().out
    every = rows(out)
    assert every["glue tiny_acc"] == "ok" and every["glue tiny_n"] == "ok"
    assert every["tiny.json n"] == "MISMATCH" and every["tiny.json accuracy"] == "ok"
    assert every["tiny.json run/machine"] == "ignored" and not any(name.startswith("other.json") for name in every)
    assert "1 differ: tiny.json n" in out and "0 of 1 chapter(s) match; differ: 01_tiny" in out
    assert verify.main([str(path)]) == 1  # without -v: the mismatches and the summary only
    out = capsys.readouterr().out
    assert set(rows(out)) == {"name", "tiny.json n"} and "1 differ: tiny.json n" in out


def test_scratch_never_replaces_a_folder_the_project_did_not_make(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "mine.txt").write_text("keep me")
    committed = config.Profile("full", None, {}, tmp_path / "committed")
    with pytest.raises(FileExistsError, match="elsewhere"):
        verify.seed_scratch(committed, config.Profile("verify", None, {}, tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere" / "mine.txt").read_text() == "keep me"
    verify.seed_scratch(committed, config.Profile("verify", None, {}, tmp_path / "scratch"))
    (tmp_path / "scratch" / "left over").write_text("")
    verify.seed_scratch(committed, config.Profile("verify", None, {}, tmp_path / "scratch"))  # its own: replaced
    assert not (tmp_path / "scratch" / "left over").exists()


def test_a_refused_scratch_folder_is_a_usage_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "mine.txt").write_text("keep me")
    monkeypatch.setitem(config.PROFILES, "verify", config.Profile("verify", None, {}, tmp_path / "elsewhere"))
    monkeypatch.setattr(provenance, "current_data", lambda: "d" * 16)
    with pytest.raises(SystemExit) as exit_:
        verify.main([str(runbook.notebook_path("01_data_overview"))])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "elsewhere" in error and config.VERIFY_ROOT_ENV in error and "Traceback" not in error
    assert (tmp_path / "elsewhere" / "mine.txt").read_text() == "keep me"
