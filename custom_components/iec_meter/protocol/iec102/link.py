"""FT1.2 link layer of the client: one frame out, one answer back, with retries.

Half duplex, unbalanced: we send one frame and wait for the one answer from our link
address. A timeout or a damaged answer sends the same frame again with the same FCB (so
the meter repeats its answer instead of acting twice); a new transaction toggles FCB.
Frames for other link addresses, echoes and stale answers are ignored.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import logging
import time

from ..errors import MeterBusy, NoResponse
from ..transport import Transport
from .constants import (
    ASDU_HEADER_LENGTH,
    CORRUPT_FRAME_QUIET_S,
    PASSWORD_LENGTH,
    START_VARIABLE,
    PrimaryFunction,
    SecondaryFunction,
    TypeId,
)
from .frames import FixedFrame, Frame, SingleCharFrame, VariableFrame, primary_control
from .parser import DamagedFrame, FrameParser
from .timing import Timing

_LOGGER = logging.getLogger(__name__)

#: Offset of the ASDU inside a variable frame (68 L L 68 C A A).
_ASDU_OFFSET = 7
_PASSWORD_OFFSET = _ASDU_OFFSET + ASDU_HEADER_LENGTH
FRAME_LOG_SIZE = 50


def mask_password(raw: bytes) -> str:
    """Hex dump of a frame with the login password (and its checksum) replaced by ``**``."""
    text = raw.hex(" ").upper().split(" ")
    if (
        len(raw) >= _PASSWORD_OFFSET + PASSWORD_LENGTH
        and raw[0] == START_VARIABLE
        and raw[_ASDU_OFFSET] == TypeId.C_AC_NA_2
    ):
        for index in range(_PASSWORD_OFFSET, _PASSWORD_OFFSET + PASSWORD_LENGTH):
            text[index] = "**"
        text[-2] = "**"  # the checksum would give away the sum of the password bytes
    return " ".join(text)


@dataclass(frozen=True, slots=True)
class LoggedFrame:
    """One frame as it crossed the line (password masked), for diagnostics."""

    at: float
    direction: str
    hex: str


class FrameLog:
    """The last frames exchanged, oldest first."""

    def __init__(self, size: int = FRAME_LOG_SIZE) -> None:
        """Keep at most ``size`` frames."""
        self._frames: deque[LoggedFrame] = deque(maxlen=size)

    def add(self, direction: str, raw: bytes) -> str:
        """Record a frame; return its masked dump."""
        dump = mask_password(raw)
        self._frames.append(LoggedFrame(time.time(), direction, dump))
        return dump

    def frames(self) -> list[LoggedFrame]:
        """Copy of the recorded frames."""
        return list(self._frames)


Accept = Callable[[Frame], bool]


class LinkLayer:
    """Talks to one link address over a (possibly shared) transport."""

    def __init__(
        self,
        transport: Transport,
        address: int,
        timing: Timing,
        frame_log: FrameLog | None = None,
    ) -> None:
        """Prepare the link; the FCB starts as after a reset of the remote link."""
        self.transport = transport
        self.address = address
        self.timing = timing
        self.frame_log = frame_log if frame_log is not None else FrameLog()
        self._parser = FrameParser()
        self._next_fcb = True
        #: Requests sent again because of silence, damage or a busy meter.
        self.retransmissions = 0

    def reset_fcb(self) -> None:
        """After "reset of remote link" the first FCV frame carries FCB = 1."""
        self._next_fcb = True

    async def send_fixed(self, function: PrimaryFunction, accept: Accept) -> Frame:
        """Send a fixed frame and return the first answer that ``accept`` takes."""
        fcb = self._take_fcb(function)
        frame = FixedFrame(primary_control(function, fcb), self.address)
        return await self._exchange(frame.encode(), accept)

    async def send_user_data(self, asdu: bytes, accept: Accept) -> Frame:
        """Send an ASDU (SEND/CONFIRM) and return the meter's confirmation."""
        fcb = self._take_fcb(PrimaryFunction.USER_DATA)
        frame = VariableFrame(primary_control(PrimaryFunction.USER_DATA, fcb), self.address, asdu)
        return await self._exchange(frame.encode(), accept)

    def _take_fcb(self, function: PrimaryFunction) -> bool:
        if function in (PrimaryFunction.RESET_REMOTE_LINK, PrimaryFunction.REQUEST_LINK_STATUS):
            return False
        fcb = self._next_fcb
        self._next_fcb = not fcb
        return fcb

    async def _exchange(self, raw: bytes, accept: Accept) -> Frame:
        timing = self.timing
        busy = False
        for attempt in range(timing.retries + 1):
            if attempt:
                self.retransmissions += 1
            if timing.inter_request_delay:
                await asyncio.sleep(timing.inter_request_delay)
            stale = self.transport.discard_input()
            if stale or self._parser.pending:
                _LOGGER.debug("link %d: dropped %d stale bytes", self.address, len(stale))
            self._parser.clear()
            dump = self.frame_log.add("tx", raw)
            _LOGGER.debug("link %d TX %s", self.address, dump)
            self.transport.write(raw)
            answer = await self._wait_answer(accept)
            if isinstance(answer, (FixedFrame, VariableFrame, SingleCharFrame)):
                return answer
            busy = answer == "busy"
            if busy:
                # Give a busy meter a moment before asking again.
                await asyncio.sleep(min(timing.request_timeout, 1.0))
            _LOGGER.debug(
                "link %d: %s, try %d of %d", self.address, answer, attempt + 1, timing.retries + 1
            )
        if busy:
            raise MeterBusy(f"link address {self.address}: meter busy (not accepted)")
        raise NoResponse(
            f"link address {self.address}: no answer after {timing.retries + 1} tries "
            f"of {timing.request_timeout:g} s"
        )

    async def _wait_answer(self, accept: Accept) -> Frame | str:
        """The accepted answer, or why there was none ("silence", "damaged", "busy")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.request_timeout
        outcome = "silence"
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return outcome
            try:
                data = await self.transport.receive(remaining)
            except TimeoutError:
                return outcome
            for item in self._parser.feed(data):
                if isinstance(item, DamagedFrame):
                    self.frame_log.add("rx-damaged", item.raw)
                    _LOGGER.debug("link %d: damaged frame %s", self.address, item.raw.hex(" "))
                    outcome = "damaged answer"
                    deadline = min(deadline, loop.time() + CORRUPT_FRAME_QUIET_S)
                    continue
                dump = self.frame_log.add("rx", item.encode())
                if isinstance(item, SingleCharFrame):
                    if accept(item):
                        _LOGGER.debug("link %d RX %s", self.address, dump)
                        return item
                    continue
                if item.from_primary or item.address != self.address:
                    _LOGGER.debug("link %d: ignored frame %s", self.address, dump)
                    continue
                _LOGGER.debug("link %d RX %s", self.address, dump)
                if item.function == SecondaryFunction.NACK_BUSY:
                    return "busy"
                if accept(item):
                    return item
                _LOGGER.debug("link %d: unexpected answer ignored", self.address)
