"""The machine and the clock: CPU model and oneDNN flags, TensorFlow threads, load; durations and the stopwatch."""

import pytest

from fer_helpers import machine

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9654 96-Core Processor
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni
"""


def test_cpu_info_reads_the_model_and_onednn_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = machine.cpu_info(path)
    assert info["model"] == "AMD EPYC 9654 96-Core Processor"
    assert info["flags"] == ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"]
    assert machine.cpu_info(tmp_path / "absent")["flags"] == []


@pytest.mark.parametrize(
    "seconds, text",
    [(42.4, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min"), (59.6, "1 min 00 s"), (805, "13 min 25 s")],
)
def test_duration_is_the_books_one_way_to_write_seconds(seconds, text):
    assert machine.duration(seconds) == text


def test_stopwatch_reads_as_a_duration():
    assert str(machine.Stopwatch()) == "0 s"
