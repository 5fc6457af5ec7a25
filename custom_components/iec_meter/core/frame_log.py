"""The last frames exchanged with one meter, for diagnostics (secrets masked)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Final

#: Frames kept per meter.
FRAME_LOG_SIZE: Final = 40


def hex_dump(raw: bytes) -> str:
    """Bytes as upper-case hex pairs."""
    return raw.hex(" ").upper()


@dataclass(frozen=True, slots=True)
class LoggedFrame:
    """One frame as it crossed the line (secrets masked)."""

    at: float
    direction: str
    hex: str


class FrameLog:
    """The last frames exchanged, oldest first; each protocol says how to mask its secrets."""

    def __init__(self, size: int = FRAME_LOG_SIZE, mask: Callable[[bytes], str] = hex_dump) -> None:
        """Keep at most ``size`` frames, dumped by ``mask``."""
        self._frames: deque[LoggedFrame] = deque(maxlen=size)
        self.mask = mask

    def add(self, direction: str, raw: bytes) -> str:
        """Record a frame; return its masked dump."""
        dump = self.mask(raw)
        self._frames.append(LoggedFrame(time.time(), direction, dump))
        return dump

    def frames(self) -> list[LoggedFrame]:
        """Copy of the recorded frames."""
        return list(self._frames)
