"""Incremental FT1.2 stream parser that resynchronises after garbage.

Bytes arrive in arbitrary chunks (a serial port hands over whatever the UART had, TCP
whatever the converter sent). :meth:`FrameParser.feed` never raises: it returns the
good frames it could cut, and a :class:`DamagedFrame` for a frame whose shape was
right but whose checksum was not, so the link layer can ask again at once. Anything
else (stray 0xFF, line noise, the tail of a frame cut off) is skipped one byte at a
time until a start byte that leads to a well-formed frame is found.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import (
    END_BYTE,
    FIXED_FRAME_LENGTH,
    SINGLE_CHAR_ACK,
    START_FIXED,
    START_VARIABLE,
    VARIABLE_FRAME_OVERHEAD,
    VARIABLE_MIN_LENGTH,
)
from .frames import FixedFrame, Frame, SingleCharFrame, VariableFrame, checksum

#: Bytes of a variable frame header (68 L L 68) needed to know its length.
_VARIABLE_HEADER = 4


@dataclass(frozen=True, slots=True)
class DamagedFrame:
    """A frame whose start, length and end were right but whose checksum was not."""

    raw: bytes


ParsedItem = Frame | DamagedFrame


class FrameParser:
    """Cut frames out of a byte stream."""

    __slots__ = ("_buffer", "discarded")

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()
        #: Garbage bytes skipped since creation (for diagnostics).
        self.discarded = 0

    @property
    def pending(self) -> int:
        """Bytes held back because they may be the start of a frame still arriving."""
        return len(self._buffer)

    def clear(self) -> None:
        """Forget buffered bytes (before a new request, stale bytes mean nothing)."""
        self.discarded += len(self._buffer)
        self._buffer.clear()

    def feed(self, data: bytes | bytearray) -> list[ParsedItem]:
        """Add received bytes; return every complete frame now in the buffer."""
        buf = self._buffer
        buf.extend(data)
        items: list[ParsedItem] = []
        pos = 0
        size = len(buf)
        while pos < size:
            start = buf[pos]
            if start == SINGLE_CHAR_ACK:
                items.append(SingleCharFrame())
                pos += 1
                continue
            if start == START_FIXED:
                if size - pos < FIXED_FRAME_LENGTH:
                    break
                if buf[pos + 5] != END_BYTE:
                    pos = self._skip(pos)
                    continue
                if checksum(buf[pos + 1 : pos + 4]) != buf[pos + 4]:
                    items.append(DamagedFrame(bytes(buf[pos : pos + FIXED_FRAME_LENGTH])))
                else:
                    items.append(FixedFrame(buf[pos + 1], buf[pos + 2] | buf[pos + 3] << 8))
                pos += FIXED_FRAME_LENGTH
                continue
            if start == START_VARIABLE:
                if size - pos < _VARIABLE_HEADER:
                    break
                length = buf[pos + 1]
                if (
                    buf[pos + 2] != length
                    or buf[pos + 3] != START_VARIABLE
                    or length < VARIABLE_MIN_LENGTH
                ):
                    pos = self._skip(pos)
                    continue
                total = length + VARIABLE_FRAME_OVERHEAD
                if size - pos < total:
                    break
                if buf[pos + total - 1] != END_BYTE:
                    pos = self._skip(pos)
                    continue
                body_start = pos + _VARIABLE_HEADER
                body = buf[body_start : body_start + length]
                if checksum(body) != buf[pos + total - 2]:
                    items.append(DamagedFrame(bytes(buf[pos : pos + total])))
                else:
                    items.append(VariableFrame(body[0], body[1] | body[2] << 8, bytes(body[3:])))
                pos += total
                continue
            pos = self._skip(pos)
        del buf[:pos]
        return items

    def _skip(self, pos: int) -> int:
        self.discarded += 1
        return pos + 1
