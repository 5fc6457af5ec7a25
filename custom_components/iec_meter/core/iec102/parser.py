"""Incremental FT1.2 stream parser that resynchronises after garbage.

Bytes arrive in arbitrary chunks (a serial port hands over whatever the UART had, TCP
whatever the converter sent). :meth:`FrameParser.feed` never raises: it returns the
good frames it could cut, and a :class:`DamagedFrame` for a frame that was clearly
meant as one but arrived damaged (wrong checksum, one copy of the length byte hit by
noise, wrong end byte after a sound header), so the link layer can ask again at once.
Anything else (stray 0xFF, line noise, the tail of a frame cut off) is skipped one
byte at a time until a start byte that leads to a well-formed frame is found.

The single character E5 has no redundancy at all, and 0xE5 is a common data byte
(a register of 229 kWh). So E5 counts as a frame only where an answer can start: in a
quiet buffer (after :meth:`FrameParser.clear`, which the link calls before each
request) or right after a complete frame. While the parser skips garbage, for example
the rest of a frame whose header was damaged, an E5 is garbage too; otherwise a damaged
answer would turn into a phantom ACK / "no data".
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import (
    END_BYTE,
    FIXED_FRAME_LENGTH,
    IDLE_FILL,
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
    """A frame that arrived damaged: bad checksum, end byte or length copy.

    ``raw`` is the frame as far as it could be delimited (for a damaged header: the
    four header bytes).
    """

    raw: bytes


ParsedItem = Frame | DamagedFrame


class FrameParser:
    """Cut frames out of a byte stream."""

    __slots__ = ("_buffer", "_in_sync", "discarded")

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()
        #: True where a new frame may start (quiet buffer or right after a frame).
        self._in_sync = True
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
        self._in_sync = True

    def feed(self, data: bytes | bytearray) -> list[ParsedItem]:
        """Add received bytes; return every complete frame now in the buffer."""
        buf = self._buffer
        buf.extend(data)
        items: list[ParsedItem] = []
        pos = 0
        size = len(buf)
        while pos < size:
            start = buf[pos]
            if start == SINGLE_CHAR_ACK and self._in_sync:
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
                self._in_sync = True
                continue
            if start == START_VARIABLE:
                if size - pos < _VARIABLE_HEADER:
                    break
                length = buf[pos + 1]
                same_length = buf[pos + 2] == length
                second_start = buf[pos + 3] == START_VARIABLE
                if not (same_length and second_start and length >= VARIABLE_MIN_LENGTH):
                    if same_length != second_start:
                        # Three of the four header bytes fit: a frame whose header was
                        # hit by noise. Its length is unknown, so what follows is
                        # skipped as garbage (E5 included) until the next good frame.
                        items.append(DamagedFrame(bytes(buf[pos : pos + _VARIABLE_HEADER])))
                    pos = self._skip(pos)
                    continue
                total = length + VARIABLE_FRAME_OVERHEAD
                if size - pos < total:
                    break
                if buf[pos + total - 1] != END_BYTE:
                    # A sound header but no end byte where it says: damaged (or not a
                    # frame at all); either way resynchronise from the next byte.
                    items.append(DamagedFrame(bytes(buf[pos : pos + total])))
                    pos = self._skip(pos)
                    continue
                body_start = pos + _VARIABLE_HEADER
                body = buf[body_start : body_start + length]
                if checksum(body) != buf[pos + total - 2]:
                    items.append(DamagedFrame(bytes(buf[pos : pos + total])))
                else:
                    items.append(VariableFrame(body[0], body[1] | body[2] << 8, bytes(body[3:])))
                pos += total
                self._in_sync = True
                continue
            pos = self._skip(pos)
        del buf[:pos]
        return items

    def _skip(self, pos: int) -> int:
        """Drop one garbage byte; only a stray idle fill (0xFF) keeps the sync."""
        if self._buffer[pos] != IDLE_FILL:
            self._in_sync = False
        self.discarded += 1
        return pos + 1
