"""Result files, written safely, and their run metadata: machine, TensorFlow threads, load, wall time."""

import json

import numpy as np
import pytest

from fer_helpers import config, machine, results

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni
"""


def test_run_metadata_records_machine_threads_load_and_wall_time():
    import tensorflow  # noqa: F401  (thread counts are recorded once TensorFlow is loaded)

    watch = machine.Stopwatch()
    meta = results.run_metadata(config.PROFILES["smoke"], watch, seed=7, epochs=3)
    assert meta["profile"] == "smoke" and meta["seed"] == 7 and meta["epochs"] == 3
    assert meta["machine"].endswith(machine.cpu_label(meta["cpu"])) and isinstance(meta["cpu"]["flags"], list)
    assert set(meta["tf_threads"]) == {"intra_op", "inter_op"}
    assert len(meta["load"]["start"]) == len(meta["load"]["end"]) == 3
    assert 0 <= meta["wall_seconds"] < 60


def test_results_round_trip_with_metadata(tmp_path):
    profile = config.Profile("smoke", None, {}, tmp_path)
    path = results.save_result("thing", {"accuracy": 0.5}, profile, machine.Stopwatch(), epochs=2)
    saved = json.loads(path.read_text())
    assert saved["accuracy"] == 0.5 and saved["run"]["epochs"] == 2 and "load" in saved["run"]
    assert results.load_result("thing", profile) == saved
    with pytest.raises(FileNotFoundError, match="missing.json"):
        results.load_result("missing", profile)
    assert results.load_result("missing", profile, required=False) is None
    (profile.results_dir / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: not readable JSON"):
        results.load_result("broken", profile)
    assert not list(profile.results_dir.glob("partial-*"))  # the safe write leaves no scratch file


def test_write_atomic_replaces_a_file_whole(tmp_path):
    path = tmp_path / "deep" / "record.json"
    assert results.write_atomic(path, "old\n") == path
    results.write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and sorted(p.name for p in path.parent.iterdir()) == ["record.json"]


def test_an_interrupted_atomic_write_keeps_the_old_file_and_no_scratch(tmp_path):
    path = tmp_path / "cache.npz"
    np.savez(path, images=np.zeros(3))
    with pytest.raises(KeyboardInterrupt), results.atomic(path) as partial:
        np.savez(partial, images=np.ones(3))  # numpy keeps the name: it ends in .npz
        raise KeyboardInterrupt
    with np.load(path) as kept:
        assert kept["images"].sum() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npz"]
