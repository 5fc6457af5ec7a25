"""The stream parser: chunking, garbage, damage, and that it never raises."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    SingleCharFrame,
    VariableFrame,
)
from custom_components.iec_meter.core.iec102.parser import DamagedFrame, FrameParser

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


def test_wrong_end_byte_is_garbage_not_a_frame() -> None:
    parser = FrameParser()
    raw = bytearray(DATA.encode())
    raw[-1] = 0x17
    assert parser.feed(bytes(raw) + ACK.encode()) == [ACK]


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
