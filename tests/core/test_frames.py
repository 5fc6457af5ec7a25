"""FT1.2 frames: encoding, decoding and the published vectors."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.errors import FrameError
from custom_components.iec_meter.core.iec102.constants import (
    PrimaryControlBit,
    PrimaryFunction,
    SecondaryControlBit,
    SecondaryFunction,
)
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    SingleCharFrame,
    VariableFrame,
    decode_frame,
    primary_control,
    secondary_control,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("raw", "control", "address"),
    [
        ("10 49 0C 87 DC 16", 0x49, 34572),  # request link status (gisce test)
        ("10 00 0C 87 93 16", 0x00, 34572),  # ACK
        ("10 0B 95 D1 71 16", 0x0B, 53653),  # link status reply
        ("10 40 01 00 41 16", 0x40, 1),  # reset of remote link
        ("10 7B 01 00 7C 16", 0x7B, 1),  # class 2 poll, FCB 1
        ("10 5B 01 00 5C 16", 0x5B, 1),  # class 2 poll, FCB 0
    ],
)
def test_fixed_frame_vectors(raw: str, control: int, address: int) -> None:
    frame = decode_frame(h(raw))
    assert frame == FixedFrame(control, address)
    assert frame.encode() == h(raw)


def test_variable_frame_vector_login_gisce() -> None:
    raw = h("68 0D 0D 68 73 0C 87 B7 01 06 01 00 00 07 00 00 00 CC 16")
    frame = decode_frame(raw)
    assert isinstance(frame, VariableFrame)
    assert frame.address == 34572
    assert frame.function == PrimaryFunction.USER_DATA
    assert frame.from_primary and frame.fcb and frame.fcv
    assert frame.asdu == h("B7 01 06 01 00 00 07 00 00 00")
    assert frame.encode() == raw


@pytest.mark.parametrize(
    "raw",
    [
        "68 0D 0D 68 73 01 00 B7 01 06 01 00 00 01 00 00 00 34 16",
        "68 0D 0D 68 08 01 00 B7 01 07 01 00 00 01 00 00 00 CA 16",
        "68 09 09 68 73 01 00 BB 00 06 01 00 00 36 16",
        "68 09 09 68 08 01 00 BB 00 07 01 00 00 CC 16",
        "68 09 09 68 73 01 00 67 00 05 01 00 00 E1 16",
        "68 09 09 68 73 01 00 64 00 05 01 00 00 DE 16",
        "68 0C 0C 68 73 01 00 A2 03 05 01 00 00 C0 C1 C2 62 16",
        "68 0d 0d 68 08 95 d1 b7 01 07 01 00 00 01 00 00 00 2f 16",
        "68 0f 0f 68 08 01 00 47 01 05 01 00 00 24 42 c6 12 e1 02 78 16",
    ],
)
def test_variable_frames_round_trip(raw: str) -> None:
    data = h(raw)
    assert decode_frame(data).encode() == data


def test_single_char() -> None:
    assert decode_frame(b"\xe5") == SingleCharFrame()
    assert SingleCharFrame().encode() == b"\xe5"


def test_control_bytes() -> None:
    assert primary_control(PrimaryFunction.REQUEST_LINK_STATUS, fcb=True) == 0x49
    assert primary_control(PrimaryFunction.RESET_REMOTE_LINK) == 0x40
    assert primary_control(PrimaryFunction.USER_DATA, fcb=True) == 0x73
    assert primary_control(PrimaryFunction.USER_DATA, fcb=False) == 0x53
    assert primary_control(PrimaryFunction.REQUEST_CLASS_2, fcb=True) == 0x7B
    assert secondary_control(SecondaryFunction.ACK, acd=True) == 0x20
    assert secondary_control(SecondaryFunction.USER_DATA, dfc=True) == 0x18
    frame = FixedFrame(0x30, 1)
    assert frame.acd and frame.dfc and not frame.from_primary


def test_control_bits_print_their_own_names() -> None:
    # One IntFlag with aliases printed ACD as FCB; each direction has its own names now.
    assert PrimaryControlBit(0x20).name == "FCB"
    assert PrimaryControlBit(0x10).name == "FCV"
    assert SecondaryControlBit(0x20).name == "ACD"
    assert SecondaryControlBit(0x10).name == "DFC"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("E5 E5", "trailing"),
        ("10 49 0C 87 DC", "fixed frame of 5"),
        ("10 49 0C 87 DC 17", "without end byte"),
        ("10 49 0C 87 DD 16", "checksum"),
        ("68 03 03", "too short"),
        ("68 03 04 68 08 01 00 09 16", "header mismatch"),
        ("68 02 02 68 08 01 00 09 16", "below"),
        ("68 03 03 68 08 01 00 09 00 16", "header says"),
        ("68 03 03 68 08 01 00 09 17", "without end byte"),
        ("68 03 03 68 08 01 00 0A 16", "checksum"),
        ("FF", "unknown start byte 0xFF"),
    ],
)
def test_decode_errors(raw: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_frame(h(raw))


def test_refuses_unencodable_values() -> None:
    with pytest.raises(ValueError, match="link address"):
        FixedFrame(0x49, 70000)
    with pytest.raises(ValueError, match="control"):
        FixedFrame(300, 1)
    with pytest.raises(ValueError, match="too long"):
        VariableFrame(0x08, 1, bytes(253))


@given(st.binary(max_size=300))
def test_decode_raises_only_frame_error(data: bytes) -> None:
    try:
        frame = decode_frame(data)
    except FrameError:
        return
    assert frame.encode() == data


frames = st.one_of(
    st.builds(FixedFrame, st.integers(0, 255), st.integers(0, 0xFFFF)),
    st.builds(VariableFrame, st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=252)),
    st.just(SingleCharFrame()),
)


@given(frames)
def test_every_valid_frame_round_trips(frame: FixedFrame | VariableFrame | SingleCharFrame) -> None:
    assert decode_frame(frame.encode()) == frame
