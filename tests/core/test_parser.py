"""The stream parser: chunking, garbage, damage, and that it never raises."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    SingleCharFrame,
    VariableFrame,
)
from custom_components.iec_meter.core.iec102.parser import DamagedFrame, FrameParser

ROOT = Path(__file__).resolve().parents[2]
ACK = FixedFrame(0x00, 1)
DATA = VariableFrame(0x08, 1, bytes.fromhex("B7 01 07 01 00 00 01 00 00 00"))


def test_byte_by_byte() -> None:
    parser = FrameParser()
    stream = ACK.encode() + DATA.encode()
    items = []
    for byte in stream:
        items += parser.feed(bytes((byte,)))
    assert items == [ACK, DATA]
    assert parser.pending == 0


def test_stray_ff_and_noise_before_frames_are_skipped() -> None:
    parser = FrameParser()
    items = parser.feed(b"\xff\xff\x00\x42" + ACK.encode() + b"\xff" + DATA.encode())
    assert items == [ACK, DATA]
    assert parser.discarded == 5


def test_false_start_bytes_resynchronise() -> None:
    parser = FrameParser()
    # A stray 0x10 and a stray 0x68 right before real frames.
    assert parser.feed(b"\x10" + ACK.encode()) == [ACK]
    assert parser.feed(b"\x68\x05" + DATA.encode()) == [DATA]


def test_partial_frame_waits_for_the_rest() -> None:
    parser = FrameParser()
    raw = DATA.encode()
    assert parser.feed(raw[:7]) == []
    assert parser.pending == 7
    assert parser.feed(raw[7:]) == [DATA]


def test_damaged_frames_are_reported_and_skipped_whole() -> None:
    parser = FrameParser()
    bad_fixed = bytearray(ACK.encode())
    bad_fixed[4] ^= 0x01
    bad_variable = bytearray(DATA.encode())
    bad_variable[-2] ^= 0x01
    items = parser.feed(bytes(bad_fixed) + bytes(bad_variable) + ACK.encode())
    assert items == [DamagedFrame(bytes(bad_fixed)), DamagedFrame(bytes(bad_variable)), ACK]


def test_wrong_end_byte_after_a_sound_header_is_damage() -> None:
    parser = FrameParser()
    raw = bytearray(DATA.encode())
    raw[-1] = 0x17
    assert parser.feed(bytes(raw) + ACK.encode()) == [DamagedFrame(bytes(raw)), ACK]


def test_wrong_end_byte_of_a_fixed_frame_is_garbage() -> None:
    parser = FrameParser()
    raw = bytearray(ACK.encode())
    raw[-1] = 0x17
    assert parser.feed(bytes(raw) + ACK.encode()) == [ACK]


#: A class-2 answer holding 0xE5 whose first length byte was hit by noise (0x27 -> 0x26).
PHANTOM_ACK_STREAM = (
    bytes.fromhex("68 26 27 68 08 01 00 a3 01 05 01 00 00 c0 e5")
    + bytes(23)
    + bytes.fromhex("0a 0b 17 0b 1a a9 16")
)


def test_e5_inside_a_frame_with_a_damaged_header_is_no_ack() -> None:
    parser = FrameParser()
    items = parser.feed(PHANTOM_ACK_STREAM)
    assert items == [DamagedFrame(bytes.fromhex("68 26 27 68"))]
    assert parser.pending == 0


def test_e5_inside_a_damaged_frame_is_no_ack_byte_by_byte() -> None:
    parser = FrameParser()
    items = []
    for byte in PHANTOM_ACK_STREAM:
        items += parser.feed(bytes((byte,)))
    assert SingleCharFrame() not in items
    assert items == [DamagedFrame(bytes.fromhex("68 26 27 68"))]


@pytest.mark.parametrize("header", ["68 0d 0c 68", "68 0d 0d 67"])
def test_one_bad_header_byte_is_damage(header: str) -> None:
    parser = FrameParser()
    raw = bytes.fromhex(header) + DATA.encode()[4:]
    assert parser.feed(raw) == [DamagedFrame(bytes.fromhex(header))]


def test_e5_only_where_an_answer_can_start() -> None:
    parser = FrameParser()
    # After garbage: not a frame. After a complete frame, FF fill or clear(): a frame.
    assert parser.feed(b"\x42\xe5") == []
    assert parser.feed(ACK.encode() + b"\xe5") == [ACK, SingleCharFrame()]
    assert parser.feed(b"\xff\xff\xe5") == [SingleCharFrame()]
    assert parser.feed(b"\x00") == []
    parser.clear()
    assert parser.feed(b"\xe5") == [SingleCharFrame()]


def test_single_char_and_clear() -> None:
    parser = FrameParser()
    assert parser.feed(b"\xe5") == [SingleCharFrame()]
    parser.feed(DATA.encode()[:5])
    parser.clear()
    assert parser.pending == 0
    assert parser.feed(ACK.encode()) == [ACK]


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_never_raises_on_arbitrary_bytes(chunks: list[bytes]) -> None:
    parser = FrameParser()
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, FixedFrame | VariableFrame | SingleCharFrame | DamagedFrame)


@given(st.binary(max_size=300))
def test_decoders_raise_only_documented_errors(data: bytes) -> None:
    # The same check benchmarks/fuzz.py runs for as long as asked.
    fuzz = _load_fuzz()
    fuzz.check(data)


@functools.cache
def _load_fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fuzz_benchmark_runs_briefly(capsys: pytest.CaptureFixture[str]) -> None:
    assert _load_fuzz().main(["--seconds", "0.5", "--seed", "3"]) == 0
    assert "0 undocumented errors" in capsys.readouterr().out


_NOISE = st.binary(max_size=12).map(
    lambda raw: bytes(b for b in raw if b not in (0x10, 0x68, 0xE5))
)
_FRAMES = st.one_of(
    st.builds(FixedFrame, st.integers(0, 255), st.integers(0, 0xFFFF)),
    st.builds(VariableFrame, st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=40)),
)


@given(st.lists(st.tuples(_NOISE, _FRAMES), max_size=8), st.integers(1, 17))
def test_recovers_every_frame_between_noise(
    pieces: list[tuple[bytes, FixedFrame | VariableFrame]], chunk: int
) -> None:
    stream = b"".join(noise + frame.encode() for noise, frame in pieces)
    parser = FrameParser()
    items = []
    for start in range(0, len(stream), chunk):
        items += parser.feed(stream[start : start + chunk])
    assert items == [frame for _, frame in pieces]
