"""FT1.2 link layer of the client: one frame out, one answer back, with retries.

Half duplex, unbalanced: we send one frame and wait for the one answer from our link
address. A timeout or a damaged answer sends the same frame again with the same FCB (so
the meter repeats its answer instead of acting twice); a new transaction toggles FCB.
Damaged means a bad checksum, or a frame whose checksum fits but whose structure does
not (a control byte no meter sends, or what the request's ``accept`` finds off in
the ASDU): two hits in one frame can cancel in an 8-bit sum. A meter that sends the
same bytes again is taken at its word, since noise does not repeat itself.
Frames for other link addresses, echoes and stale answers are ignored; an answer is
taken only where the request's ``accept`` expects it (an E5 is an ACK only to a
SEND/CONFIRM and "no data" only to a poll). When every try fails, the error says why:
silence (:class:`NoResponse`), damage (:class:`DamagedAnswers`), a busy meter
(:class:`MeterBusy`) or answers that never fit the request (:class:`ProtocolError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
import logging

from ..errors import DamagedAnswers, MeterBusy, NoResponse, ProtocolError
from ..frame_log import FrameLog, hex_dump
from ..timing import Timing
from ..transport import Transport
from .checks import control_damage
from .constants import (
    ASDU_HEADER_LENGTH,
    CORRUPT_FRAME_QUIET_S,
    PASSWORD_LENGTH,
    START_VARIABLE,
    VARIABLE_FRAME_OVERHEAD,
    VARIABLE_MAX_LENGTH,
    PrimaryFunction,
    SecondaryFunction,
    TypeId,
)
from .frames import FixedFrame, Frame, SingleCharFrame, VariableFrame, primary_control
from .parser import DamagedFrame, FrameParser, ParsedItem

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "Accept",
    "Damage",
    "FrameLog",
    "LinkLayer",
    "Outcome",
    "iec102_frame_log",
    "mask_password",
]

#: Bytes of the longest frame: L = 255 plus 68 L L 68 ... CS 16.
_LONGEST_FRAME = VARIABLE_MAX_LENGTH + VARIABLE_FRAME_OVERHEAD
#: Offset of the ASDU inside a variable frame (68 L L 68 C A A).
_ASDU_OFFSET = 7
_PASSWORD_OFFSET = _ASDU_OFFSET + ASDU_HEADER_LENGTH


def mask_password(raw: bytes) -> str:
    """Hex dump of a frame with the login password (and its checksum) replaced by ``**``."""
    text = hex_dump(raw).split(" ")
    if (
        len(raw) >= _PASSWORD_OFFSET + PASSWORD_LENGTH
        and raw[0] == START_VARIABLE
        and raw[_ASDU_OFFSET] == TypeId.C_AC_NA_2
    ):
        for index in range(_PASSWORD_OFFSET, _PASSWORD_OFFSET + PASSWORD_LENGTH):
            text[index] = "**"
        text[-2] = "**"  # the checksum would give away the sum of the password bytes
    return " ".join(text)


def iec102_frame_log() -> FrameLog:
    """A frame log that masks the login password."""
    return FrameLog(mask=mask_password)


@dataclass(frozen=True, slots=True)
class Damage:
    """An answer of the kind the request expects whose structure is off (see checks.py)."""

    reason: str


#: Takes an answer (True), leaves it (False: not an answer to this request) or finds
#: it damaged although its checksum is right (ask again with the same FCB).
Accept = Callable[[Frame], bool | Damage]


class Outcome(Enum):
    """Why one try of an exchange brought no accepted answer."""

    SILENCE = "no answer"
    DAMAGED = "damaged answer"
    BUSY = "meter busy"
    UNEXPECTED = "unexpected answer"


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
        self.frame_log = frame_log if frame_log is not None else iec102_frame_log()
        self._parser = FrameParser()
        self._next_fcb = True
        #: Answers of this exchange found damaged despite their checksum.
        self._suspects: set[bytes] = set()
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
        outcomes: list[Outcome] = []
        self._suspects.clear()
        for attempt in range(timing.attempts):
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
            if not isinstance(answer, Outcome):
                return answer
            outcomes.append(answer)
            if answer is Outcome.BUSY:
                # Give a busy meter a moment before asking again.
                await asyncio.sleep(min(timing.request_timeout, 1.0))
            _LOGGER.debug(
                "link %d: %s, try %d of %d",
                self.address,
                answer.value,
                attempt + 1,
                timing.attempts,
            )
        raise self._failure(outcomes)

    def _failure(self, outcomes: list[Outcome]) -> Exception:
        """The error that says best why every try failed."""
        tries = len(outcomes)
        where = f"link address {self.address}"
        if outcomes[-1] is Outcome.BUSY:
            return MeterBusy(f"{where}: meter busy (not accepted)")
        damaged = outcomes.count(Outcome.DAMAGED)
        if damaged:
            return DamagedAnswers(
                f"{where}: answers arrived damaged (checksum / framing) "
                f"in {damaged} of {tries} tries"
            )
        if Outcome.SILENCE not in outcomes:
            return ProtocolError(
                f"{where}: the meter answered {tries} times, never as the request expects"
            )
        return NoResponse(
            f"{where}: no answer after {tries} tries of {self.timing.request_timeout:g} s"
        )

    async def _wait_answer(self, accept: Accept) -> Frame | Outcome:
        """The accepted answer, or why there was none.

        Every frame of every read is looked at: a stray E5 in front of the real answer
        (one TCP segment, or noise that happens to be 0xE5 where a frame may start)
        must not hide it. An accepted E5 is held until the bytes after it are known:
        a frame from the meter wins over it, and next to damage or another answer it
        is not trusted at all (``DAMAGED``: asked again with the same FCB, so the
        meter repeats whatever it really sent).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timing.request_timeout
        outcome = Outcome.SILENCE
        single: SingleCharFrame | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                data = await self.transport.receive(remaining)
            except TimeoutError:
                break
            for item in self._parser.feed(data):
                verdict = self._judge(item, accept)
                if isinstance(verdict, Outcome):
                    if verdict is Outcome.BUSY:
                        return verdict
                    outcome = _worse(outcome, verdict)
                    if verdict is Outcome.DAMAGED:
                        deadline = min(deadline, loop.time() + CORRUPT_FRAME_QUIET_S)
                elif isinstance(verdict, SingleCharFrame):
                    single = verdict
                elif verdict is not None:
                    return verdict
            if single is not None and outcome is Outcome.SILENCE:
                if not self._parser.pending:
                    return single
                # Bytes after the E5 may be the start of the real answer: wait for the
                # rest of it, as long as the longest frame takes, not the whole timeout.
                deadline = min(deadline, loop.time() + self._longest_frame_s())
        if single is not None:
            # An E5 with damage or another answer around it: which one was the meter's?
            return single if outcome is Outcome.SILENCE else Outcome.DAMAGED
        return outcome

    def _longest_frame_s(self) -> float:
        """Seconds the longest frame takes on the line, plus the quiet time after damage."""
        line = self.transport.settings
        wire = _LONGEST_FRAME * line.bits_per_byte / self.transport.baudrate
        return wire + CORRUPT_FRAME_QUIET_S

    def _judge(self, item: ParsedItem, accept: Accept) -> Frame | Outcome | None:
        """One parsed item: an answer, why it is none, or None (not for us: ignored)."""
        if isinstance(item, DamagedFrame):
            self.frame_log.add("rx-damaged", item.raw)
            _LOGGER.debug("link %d: damaged frame %s", self.address, item.raw.hex(" "))
            return Outcome.DAMAGED
        raw = item.encode()
        if isinstance(item, SingleCharFrame):
            dump = self.frame_log.add("rx", raw)
            if accept(item) is True:
                _LOGGER.debug("link %d RX %s", self.address, dump)
                return item
            _LOGGER.debug("link %d: unexpected single character ignored", self.address)
            return Outcome.UNEXPECTED
        if item.from_primary or item.address != self.address:
            _LOGGER.debug("link %d: ignored frame %s", self.address, self.frame_log.add("rx", raw))
            return None
        control = control_damage(item)
        if control is None and item.function == SecondaryFunction.NACK_BUSY:
            self.frame_log.add("rx", raw)
            return Outcome.BUSY
        verdict = accept(item)
        if control is None and verdict is False:
            dump = self.frame_log.add("rx", raw)
            _LOGGER.debug("link %d: unexpected answer ignored %s", self.address, dump)
            return Outcome.UNEXPECTED
        damage = control or (verdict.reason if isinstance(verdict, Damage) else None)
        if damage is not None:
            if raw not in self._suspects:
                # It passed the checksum but not the frame's structure: ask again.
                self._suspects.add(raw)
                dump = self.frame_log.add("rx-damaged", raw)
                _LOGGER.debug("link %d: damaged answer (%s) %s", self.address, damage, dump)
                return Outcome.DAMAGED
            # The same bytes twice: no line does that, the meter means them.
            _LOGGER.debug("link %d: the meter repeats it (%s): taken", self.address, damage)
            if verdict is False:
                self.frame_log.add("rx", raw)
                return Outcome.UNEXPECTED
        _LOGGER.debug("link %d RX %s", self.address, self.frame_log.add("rx", raw))
        return item


def _worse(current: Outcome, new: Outcome) -> Outcome:
    """Keep "damaged" over "unexpected": damage is what the user must fix first."""
    return current if current is Outcome.DAMAGED else new
