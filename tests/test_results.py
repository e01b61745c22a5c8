"""Result files and their run metadata: CPU model and flags, TensorFlow threads, load, wall time."""

import json

import pytest

from fer_helpers import config, results

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni
"""


def test_cpu_info_reads_the_model_and_onednn_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = results.cpu_info(path)
    assert info["model"] == "AMD EPYC 9654 96-Core Processor"
    assert info["flags"] == ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"]
    assert results.cpu_info(tmp_path / "absent")["flags"] == []


def test_run_metadata_records_machine_threads_load_and_wall_time():
    import tensorflow  # noqa: F401  (thread counts are recorded once TensorFlow is loaded)

    watch = results.Stopwatch()
    meta = results.run_metadata(config.PROFILES["smoke"], watch, seed=7, epochs=3)
    assert meta["profile"] == "smoke" and meta["seed"] == 7 and meta["epochs"] == 3
    assert meta["machine"].endswith(meta["cpu"]["model"]) and isinstance(meta["cpu"]["flags"], list)
    assert set(meta["tf_threads"]) == {"intra_op", "inter_op"}
    assert len(meta["load"]["start"]) == len(meta["load"]["end"]) == 3
    assert 0 <= meta["wall_seconds"] < 60


@pytest.mark.parametrize(
    "seconds, text", [(42.4, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min"), (59.6, "1 min 00 s")]
)
def test_format_seconds(seconds, text):
    assert results.format_seconds(seconds) == text


def test_stopwatch_reads_as_a_duration():
    assert str(results.Stopwatch()) == "0 s"


def test_results_round_trip_with_metadata(tmp_path):
    profile = config.Profile("smoke", None, {}, tmp_path)
    path = results.save_result("thing", {"accuracy": 0.5}, profile, results.Stopwatch(), epochs=2)
    saved = json.loads(path.read_text())
    assert saved["accuracy"] == 0.5 and saved["run"]["epochs"] == 2 and "load" in saved["run"]
    assert results.load_result("thing", profile) == saved
    with pytest.raises(FileNotFoundError, match="missing.json"):
        results.load_result("missing", profile)
