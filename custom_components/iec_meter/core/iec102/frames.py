"""FT1.2 frames of IEC 60870-5-102: fixed, variable and the single character E5.

Frames are immutable values; :func:`decode_frame` turns exactly one frame's bytes into
one, raising :class:`FrameError` (and nothing else) for anything that is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FrameError
from .constants import (
    CHECKSUM_MODULO,
    END_BYTE,
    FCV_FUNCTIONS,
    FIXED_FRAME_LENGTH,
    FUNCTION_CODE_MASK,
    LINK_ADDRESS_MAX,
    SINGLE_CHAR_ACK,
    START_FIXED,
    START_VARIABLE,
    VARIABLE_FRAME_OVERHEAD,
    VARIABLE_MAX_LENGTH,
    VARIABLE_MIN_LENGTH,
    PrimaryControlBit,
    PrimaryFunction,
    SecondaryControlBit,
    SecondaryFunction,
)


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Arithmetic sum modulo 256 of the bytes from C to the end of the ASDU."""
    return sum(data) % CHECKSUM_MODULO


def primary_control(function: PrimaryFunction, fcb: bool = False) -> int:
    """Control byte of a frame the client sends; FCV is set where the function needs it."""
    control = PrimaryControlBit.PRM | function
    if function in FCV_FUNCTIONS:
        control |= PrimaryControlBit.FCV
        if fcb:
            control |= PrimaryControlBit.FCB
    return int(control)


def secondary_control(function: SecondaryFunction, acd: bool = False, dfc: bool = False) -> int:
    """Control byte of a frame the meter sends."""
    control = int(function)
    if acd:
        control |= SecondaryControlBit.ACD
    if dfc:
        control |= SecondaryControlBit.DFC
    return control


@dataclass(frozen=True, slots=True)
class _Addressed:
    """Fields shared by fixed and variable frames."""

    control: int
    address: int

    def __post_init__(self) -> None:
        """Refuse values that cannot be put on the wire."""
        if not 0 <= self.control <= 0xFF:
            raise ValueError(f"control byte out of range: {self.control}")
        if not 0 <= self.address <= LINK_ADDRESS_MAX:
            raise ValueError(f"link address out of range: {self.address}")

    @property
    def function(self) -> int:
        """Function code (low nibble of C)."""
        return self.control & FUNCTION_CODE_MASK

    @property
    def from_primary(self) -> bool:
        """True for a frame sent by the client."""
        return bool(self.control & PrimaryControlBit.PRM)

    @property
    def fcb(self) -> bool:
        """Frame count bit (primary frames)."""
        return bool(self.control & PrimaryControlBit.FCB)

    @property
    def fcv(self) -> bool:
        """Frame count bit valid (primary frames)."""
        return bool(self.control & PrimaryControlBit.FCV)

    @property
    def acd(self) -> bool:
        """Access demand: the meter has class 1 data (secondary frames)."""
        return bool(self.control & SecondaryControlBit.ACD)

    @property
    def dfc(self) -> bool:
        """Data flow control: the meter cannot take more data now (secondary frames)."""
        return bool(self.control & SecondaryControlBit.DFC)

    def _head(self) -> bytes:
        return bytes((self.control, self.address & 0xFF, self.address >> 8))


@dataclass(frozen=True, slots=True)
class FixedFrame(_Addressed):
    """``10 C A_lo A_hi CS 16``: link commands, polls, ACK/NACK and status."""

    def encode(self) -> bytes:
        """Bytes on the wire."""
        head = self._head()
        return bytes((START_FIXED, *head, checksum(head), END_BYTE))


@dataclass(frozen=True, slots=True)
class VariableFrame(_Addressed):
    """``68 L L 68 C A_lo A_hi ASDU CS 16``: frames that carry an ASDU."""

    asdu: bytes = b""

    def __post_init__(self) -> None:
        """Refuse an ASDU that does not fit the one-byte length."""
        _Addressed.__post_init__(self)
        if len(self.asdu) + VARIABLE_MIN_LENGTH > VARIABLE_MAX_LENGTH:
            raise ValueError(f"ASDU too long for one frame: {len(self.asdu)} bytes")

    def encode(self) -> bytes:
        """Bytes on the wire."""
        body = self._head() + self.asdu
        length = len(body)
        return bytes(
            (START_VARIABLE, length, length, START_VARIABLE, *body, checksum(body), END_BYTE)
        )


@dataclass(frozen=True, slots=True)
class SingleCharFrame:
    """``E5``: short positive answer (ACK, or "no data" to a poll)."""

    def encode(self) -> bytes:
        """Bytes on the wire."""
        return bytes((SINGLE_CHAR_ACK,))


Frame = FixedFrame | VariableFrame | SingleCharFrame


def decode_frame(data: bytes | bytearray) -> Frame:
    """Decode exactly one frame, or raise :class:`FrameError` saying what is wrong."""
    if not data:
        raise FrameError("empty frame")
    start = data[0]
    if start == SINGLE_CHAR_ACK:
        if len(data) != 1:
            raise FrameError("trailing bytes after single character")
        return SingleCharFrame()
    if start == START_FIXED:
        if len(data) != FIXED_FRAME_LENGTH:
            raise FrameError(f"fixed frame of {len(data)} bytes, expected {FIXED_FRAME_LENGTH}")
        if data[5] != END_BYTE:
            raise FrameError("fixed frame without end byte")
        if checksum(data[1:4]) != data[4]:
            raise FrameError("fixed frame checksum mismatch")
        return FixedFrame(data[1], data[2] | data[3] << 8)
    if start == START_VARIABLE:
        if len(data) < VARIABLE_FRAME_OVERHEAD + VARIABLE_MIN_LENGTH:
            raise FrameError("variable frame too short")
        length = data[1]
        if data[2] != length or data[3] != START_VARIABLE:
            raise FrameError("variable frame header mismatch")
        if length < VARIABLE_MIN_LENGTH:
            raise FrameError(f"variable frame length {length} below {VARIABLE_MIN_LENGTH}")
        if len(data) != length + VARIABLE_FRAME_OVERHEAD:
            raise FrameError(f"variable frame of {len(data)} bytes, header says {length}")
        if data[-1] != END_BYTE:
            raise FrameError("variable frame without end byte")
        body = data[4 : 4 + length]
        if checksum(body) != data[-2]:
            raise FrameError("variable frame checksum mismatch")
        return VariableFrame(body[0], body[1] | body[2] << 8, bytes(body[3:]))
    raise FrameError(f"unknown start byte 0x{start:02X}")
