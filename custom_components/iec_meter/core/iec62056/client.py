"""Read an IEC 62056-21 meter (modes A, B, C and D): one data readout per read.

A read is a whole conversation: sign-on at the start speed, identification, the mode's
speed change, the data message (NAK asks for a damaged block again, ACK for the next
partial block), and the line back at the start speed. Identity and values come from
the same readout, so a snapshot costs one readout.

Every read is bounded three ways: the request timeout for the first character of an
answer, an inter-character timeout after it, and an overall deadline for the whole
message, derived from the largest size it may have and the speed:

    deadline = request timeout + reaction time + 2 * size * bits per character / baud

with size 128 bytes for the identification and the ``max_readout_bytes`` setting for
the data message (each partial block and each repeat asked with NAK adds its pauses and
its wire time). Buffers are capped at the same sizes. What was heard (nothing, only
our echo, noise, a slow or endless answer) decides the error and its hint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import tzinfo
import logging
import math
from typing import Any, ClassVar

from ..bus import Bus
from ..driver import MeterClient
from ..errors import (
    ConnectionLost,
    DamagedAnswers,
    FrameError,
    NoResponse,
    NotSupported,
    ProtocolError,
)
from ..frame_log import FrameLog
from ..model import Identity, Reading
from ..timing import Timing
from ..transport import Transport
from .constants import (
    ACK,
    BAUDRATES,
    DEFAULT_MAX_READOUT_BYTES,
    DEFAULT_POLL_DELAY_MS,
    DEFAULT_T2_MS,
    EOT,
    ETX,
    INTER_CHARACTER_TIMEOUT_S,
    LF,
    MAX_BLOCKS,
    MAX_IDENTIFICATION_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_POLL_DELAY_MS,
    MAX_T2_MS,
    MIN_READOUT_BYTES,
    MIN_T2_MS,
    MODE_C_CHARS,
    MODE_D_BAUDRATE,
    NAK,
    REQUEST_CHAR,
    START_CHAR,
    STX,
    WAKE_UP_NUL_S,
    WAKE_UP_PAUSE_S,
    WIRE_TIME_SLACK,
    Mode,
    manufacturer_name,
)
from .datasets import DataSet, ParsedBlock, parse_data_block
from .errors import EchoOnly, EndlessAnswer, ReadoutTooLarge, SlowAnswer, Unreadable
from .messages import (
    Identification,
    add_even_parity,
    check_address,
    check_parity,
    check_readout_end,
    decode_block,
    option_select,
    parity_errors,
    parse_identification,
    sign_on_request,
)
from .obis import labelled_data, serial_number, signals

_LOGGER = logging.getLogger(__name__)

_MS = 1000.0
#: An inter-character timeout never shorter than this many characters' wire time.
_INTER_CHARACTER_MIN_CHARS = 16
#: Bytes of what was sent and heard kept per try to recognise an echo.
_ECHO_WINDOW = 256
#: A sign-on line (ours echoed, or another master's) is never an identification.
_SIGN_ON_START = START_CHAR + REQUEST_CHAR
#: Bytes of a refused, oversized message kept in the frame log (its start tells why).
_LOGGED_HEAD = 128

# Keys of the identity fields (stored with a configured meter: keep them).
FIELD_MANUFACTURER = "manufacturer_id"
FIELD_IDENTIFICATION = "identification"
FIELD_BAUD_CHAR = "baud_char"
FIELD_ENHANCED = "enhanced"
FIELD_SERIAL_ADDRESS = "serial_address"
FIELD_DEVICE_ADDRESS = "device_address"


@dataclass(frozen=True, slots=True)
class Iec62056Settings:
    """One meter on an IEC 62056-21 line."""

    #: Device address of the sign-on; empty reaches the only meter on the line.
    device_address: str = ""
    mode: Mode = Mode.C
    #: Speed of the sign-on; 0 (the default): the line's configured speed, which is
    #: the standard's 300 baud unless the user set the connection otherwise.
    initial_baudrate: int = 0
    #: Highest speed to switch to (0: what the meter announces). Set it to the initial
    #: speed for a meter that announces a speed it never uses: then nothing switches.
    max_baudrate: int = 0
    #: Wait between the identification and the acknowledgement, ms (200-1500).
    t2_ms: int = DEFAULT_T2_MS
    #: Battery meter: send NUL characters for ~2.2 s and pause ~1.5 s before the sign-on.
    wake_up: bool = False
    #: The optical head echoes what it sends: read the echo back and drop it.
    echo: bool = False
    #: A 7E1 meter behind an 8N1 converter: check the even parity in bit 7 of what
    #: arrives (a byte with bad parity damages its message), set it on what is sent.
    strip_parity: bool = False
    #: Minimum quiet time on the line before anything is sent, ms.
    poll_delay_ms: int = DEFAULT_POLL_DELAY_MS
    #: Largest data message accepted, bytes; it also sets the data message's deadline.
    max_readout_bytes: int = DEFAULT_MAX_READOUT_BYTES

    def __post_init__(self) -> None:
        """Refuse values the protocol cannot use, naming the field."""
        check_address(self.device_address)
        object.__setattr__(self, "mode", Mode(self.mode))
        if self.initial_baudrate and self.initial_baudrate not in BAUDRATES:
            raise ValueError(
                f"initial baud rate {self.initial_baudrate} not 0 or one of {BAUDRATES}"
            )
        if self.max_baudrate and self.max_baudrate not in BAUDRATES:
            raise ValueError(f"max baud rate {self.max_baudrate} not 0 or one of {BAUDRATES}")
        if not MIN_T2_MS <= self.t2_ms <= MAX_T2_MS:
            raise ValueError(f"t2 {self.t2_ms} ms out of range ({MIN_T2_MS}-{MAX_T2_MS})")
        if not 0 <= self.poll_delay_ms <= MAX_POLL_DELAY_MS:
            raise ValueError(
                f"poll delay {self.poll_delay_ms} ms out of range (0-{MAX_POLL_DELAY_MS})"
            )
        if not MIN_READOUT_BYTES <= self.max_readout_bytes <= MAX_MESSAGE_BYTES:
            raise ValueError(
                f"max readout size {self.max_readout_bytes} bytes out of range "
                f"({MIN_READOUT_BYTES}-{MAX_MESSAGE_BYTES})"
            )


@dataclass(slots=True)
class _Heard:
    """What one try sent and received: tells silence, an echo, noise and lateness apart."""

    sent: bytearray = field(default_factory=bytearray)
    sent_total: int = 0
    #: Length of the first thing sent (a sign-on, or a wake-up train).
    first_sent: int = 0
    head: bytearray = field(default_factory=bytearray)
    received: int = 0
    #: Received bytes dropped as the head's echo (echo setting on).
    echoed: int = 0
    #: Bytes dropped at the start of the try: late answers to the try before.
    stale: int = 0

    def on_send(self, data: bytes) -> None:
        self.first_sent = self.first_sent or len(data)
        self.sent += data[: _ECHO_WINDOW - len(self.sent)]
        self.sent_total += len(data)

    def on_receive(self, data: bytes) -> None:
        self.head += data[: _ECHO_WINDOW - len(self.head)]
        self.received += len(data)

    @property
    def answered(self) -> int:
        """Bytes received that are not a dropped echo."""
        return self.received - self.echoed

    @property
    def only_echo(self) -> bool:
        """At least the first request came back, and nothing else than what was sent.

        (One ``/`` alone is the start of an identification as much as of an echo.)
        """
        enough = 0 < min(self.first_sent, _ECHO_WINDOW) <= self.received
        return enough and self.received <= self.sent_total and self.sent.startswith(self.head)


@dataclass(slots=True)
class _Budget:
    """The time and bytes one data message may take (extended per block exchange)."""

    started: float
    deadline: float
    #: Bytes allowed in all (noise and repeats included), and the count at the start.
    limit: int
    base: int


@dataclass(frozen=True, slots=True)
class Readout:
    """One data readout as received."""

    identification: Identification
    data_sets: tuple[DataSet, ...]
    #: Lines of the data block that did not parse.
    skipped: int
    #: Speed the data message came at (the protocol's speed, also over a TCP converter).
    baudrate: int


def identity_of(readout: Readout, settings: Iec62056Settings) -> Identity:
    """Who the meter is: its identification, and its serial number if a data set has it."""
    ident = readout.identification
    fields: dict[str, str | int] = {
        FIELD_MANUFACTURER: ident.manufacturer,
        FIELD_IDENTIFICATION: ident.ident,
        FIELD_BAUD_CHAR: ident.baud_char,
    }
    if ident.enhanced:
        fields[FIELD_ENHANCED] = ident.enhanced
    if settings.device_address:
        fields[FIELD_DEVICE_ADDRESS] = settings.device_address
    found = serial_number(readout.data_sets)
    if found is not None:
        fields[FIELD_SERIAL_ADDRESS] = found[1]
    serial = found[0] if found else settings.device_address or ident.ident
    return Identity(
        manufacturer=ident.manufacturer,
        serial=serial,
        model=ident.ident or None,
        fields=fields,
        manufacturer_name=manufacturer_name(ident.manufacturer),
    )


def reading_of(readout: Readout, tz: tzinfo) -> Reading:
    """Signals and labelled data of a readout."""
    values, timestamp = signals(readout.data_sets, tz)
    return Reading(values=values, timestamp=timestamp, data=labelled_data(readout.data_sets))


class Iec62056Client(MeterClient[Iec62056Settings]):
    """Reads one IEC 62056-21 meter with a data readout."""

    has_clock = False
    identity_in_values = True
    #: NUL train and pause of the battery wake-up (s); tests shorten them.
    wake_up_timing: ClassVar[tuple[float, float]] = (WAKE_UP_NUL_S, WAKE_UP_PAUSE_S)

    def __init__(
        self,
        bus: Bus,
        settings: Iec62056Settings,
        tz: tzinfo,
        frame_log: FrameLog | None = None,
    ) -> None:
        """Join the bus; nothing is sent until the first read."""
        super().__init__(bus, settings, tz, frame_log)
        self._buffer = bytearray()
        self._last_readout: Readout | None = None
        self._turn_readout: Readout | None = None
        self._last_activity: float | None = None
        self._heard = _Heard()
        #: Counters for diagnostics.
        self.readouts = 0
        self.naks_sent = 0
        self.skipped_lines = 0
        self.failed_readouts = 0
        #: Bytes with bad parity (a 7E1 meter behind an 8N1 link, strip_parity set).
        self.parity_errors = 0

    # --- properties ------------------------------------------------------------------
    @property
    def transport(self) -> Transport:
        """The line's transport (shared with the bus's other meters)."""
        return self.bus.transport

    @property
    def timing(self) -> Timing:
        """The line's request timing."""
        return self.bus.timing

    @property
    def last_readout(self) -> Readout | None:
        """The most recent successful readout."""
        return self._last_readout

    def diagnostics(self) -> dict[str, Any]:
        """Counters and the last readout's speed."""
        last = self._last_readout
        return {
            "readouts": self.readouts,
            "failed_readouts": self.failed_readouts,
            "naks_sent": self.naks_sent,
            "skipped_lines": self.skipped_lines,
            # Damaged bytes on an 8N1 link: a noisy line (or a wrong strip_parity).
            "parity_errors": self.parity_errors,
            "data_baudrate": last.baudrate if last else None,
            "data_sets": len(last.data_sets) if last else None,
        }

    # --- MeterClient -----------------------------------------------------------------
    async def _attempt[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """One turn: a lost connection is reopened (within the retries) and tried again."""
        self._turn_readout = None
        reconnects = self.timing.attempts - 1
        while True:
            await self.bus.ensure_open()
            try:
                return await operation()
            except ConnectionLost as err:
                await self.bus.drop_line()
                self._buffer.clear()
                if reconnects <= 0:
                    raise
                reconnects -= 1
                _LOGGER.debug("%s: %s; reconnecting", self._name, err)

    async def _read_identity(self) -> Identity:
        """The identity of the last readout (a readout first if there is none)."""
        readout = self._last_readout or await self._readout_once_per_turn()
        return identity_of(readout, self.settings)

    async def _read_values(self) -> Reading:
        """A data readout (reusing one made in this turn for the identity)."""
        readout = self._turn_readout or await self._readout_once_per_turn()
        return reading_of(readout, self.tz)

    async def _readout_once_per_turn(self) -> Readout:
        readout = await self.readout()
        self._turn_readout = readout
        return readout

    # --- the readout -----------------------------------------------------------------
    @property
    def _name(self) -> str:
        address = self.settings.device_address
        return f"{self.bus.line.url}[{address}]" if address else self.bus.line.url

    async def readout(self) -> Readout:
        """A whole data readout; call within a turn with the line open.

        No identification, a refused one, or a data message that never comes or stops
        is tried again within the retries; a damaged block is asked for again with NAK
        inside the readout, and a message that does not end by its deadline is not
        tried again (another try would hold the line as long).
        """
        attempts = self.timing.attempts
        last_error: NoResponse | None = None
        heard = 0
        for attempt in range(attempts):
            self._heard = _Heard()
            try:
                readout = await self._readout_once()
            except (EndlessAnswer, ProtocolError):
                self.failed_readouts += 1
                raise
            except DamagedAnswers as err:
                self.failed_readouts += 1
                if not isinstance(err, Unreadable):
                    raise  # already asked again with NAK, within the retries
                last_error = err
            except NoResponse as err:
                self.failed_readouts += 1
                last_error = err
            except ValueError as err:  # pragma: no cover - settings are checked up front
                raise ProtocolError(str(err)) from err
            else:
                self.readouts += 1
                self.skipped_lines += readout.skipped
                self._last_readout = readout
                return readout
            finally:
                await self._restore_speed()
                heard += self._heard.answered + (self._heard.stale if attempt else 0)
            _LOGGER.debug("%s: try %d of %d: %s", self._name, attempt + 1, attempts, last_error)
        assert last_error is not None
        if type(last_error) is NoResponse and heard:
            # The last try heard nothing, but earlier ones did: too late, or cut short.
            raise SlowAnswer(
                f"{self._name}: no complete answer in {attempts} tries of "
                f"{self.timing.request_timeout:g} s, although {_count(heard)} came: too "
                "late (after the timeout) or incomplete"
            ) from last_error
        raise last_error

    @property
    def _initial_baudrate(self) -> int:
        return self.settings.initial_baudrate or self.bus.line.baudrate

    async def _readout_once(self) -> Readout:
        settings = self.settings
        timeout = self.timing.request_timeout
        if settings.mode is Mode.D:
            await self.bus.set_speed(MODE_D_BAUDRATE)
            self._discard()
            ident = await self._read_identification(timeout)
            return await self._read_data(ident, MODE_D_BAUDRATE)
        await self.bus.set_speed(self._initial_baudrate)
        await self._quiet()
        if settings.wake_up:
            await self._wake_up()
        self._heard.stale += self._discard()
        request = sign_on_request(settings.device_address)
        await self._send(request)
        ident = await self._read_identification(timeout + self._wire_time(len(request)))
        speed = await self._change_speed(ident)
        return await self._read_data(ident, speed)

    async def _change_speed(self, ident: Identification) -> int:
        """The mode's speed change after the identification; returns the data's speed."""
        settings = self.settings
        mode = settings.mode
        current = self.transport.baudrate
        if mode is Mode.A:
            return self._initial_baudrate
        if mode is Mode.B:
            announced = ident.baudrate(Mode.B)
            if announced is None or (settings.max_baudrate and announced > settings.max_baudrate):
                return self._initial_baudrate
            if not self.bus.line.can_change_speed:
                # The meter switches without being asked; the converter cannot follow.
                raise NotSupported(
                    f"{self._name}: mode B switches to {announced} baud unasked, and a raw "
                    "TCP converter keeps its speed: use mode C, or an RFC 2217 converter"
                )
            await self.bus.set_speed(announced)
            return announced
        # Mode C: acknowledge with the chosen speed at the old speed, then switch.
        target = self._mode_c_target(ident, current)
        heard = self._last_activity if self._last_activity is not None else self._now()
        pause = heard + settings.t2_ms / _MS - self._now()
        if pause > 0:
            await asyncio.sleep(pause)
        request = option_select(target)
        await self._send(request)
        await self.transport.drain()
        # The port may report "drained" while the last characters are still on the wire.
        await asyncio.sleep(self._wire_time(len(request)))
        if self.bus.line.can_change_speed:
            await self.bus.set_speed(target)
        return target

    def _mode_c_target(self, ident: Identification, current: int) -> int:
        settings = self.settings
        if not self.bus.line.can_change_speed:
            # A raw TCP converter keeps its speed: ask the meter to stay at it.
            return current if current in MODE_C_CHARS else self._initial_baudrate
        announced = ident.baudrate(Mode.C)
        if announced is None:
            return self._initial_baudrate
        limit = settings.max_baudrate or announced
        allowed = [baud for baud in BAUDRATES if baud <= min(announced, limit)]
        return max(allowed, default=self._initial_baudrate)

    async def _restore_speed(self) -> None:
        if self.transport.is_open:
            try:
                await self.bus.set_speed(self._initial_baudrate)
            except ConnectionLost as err:
                _LOGGER.debug("%s: restoring the speed: %s", self._name, err)

    # --- receiving -------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _wire_time(self, length: int) -> float:
        return length * self.bus.line.bits_per_byte / self.transport.baudrate

    def _inter_character_timeout(self) -> float:
        floor = self._wire_time(_INTER_CHARACTER_MIN_CHARS)
        return max(min(INTER_CHARACTER_TIMEOUT_S, self.timing.request_timeout), floor)

    def _discard(self) -> int:
        """Drop what arrived unread; returns how many bytes came meanwhile."""
        stale = self.transport.discard_input()
        if stale or self._buffer:
            _LOGGER.debug("%s: dropped %d stale bytes", self._name, len(stale) + len(self._buffer))
        self._buffer.clear()
        return len(stale)

    async def _fill(self, wait: float) -> None:
        """Append what arrives within ``wait`` s; TimeoutError if nothing does."""
        data = await self.transport.receive(wait)
        if self.settings.strip_parity:
            data = check_parity(data)
            self.parity_errors += parity_errors(data)
        self._heard.on_receive(data)
        self._buffer += data
        self._last_activity = self._now()

    async def _quiet(self) -> None:
        """Leave the line quiet for the poll delay since our last activity."""
        pause = max(self.settings.poll_delay_ms / _MS, self.timing.inter_request_delay)
        if self._last_activity is None or not pause:
            return
        wait = self._last_activity + pause - self._now()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _wake_up(self) -> None:
        """NULs for the wake-up duration at the current speed, then the pause."""
        nuls, pause = self.wake_up_timing
        count = max(1, math.ceil(nuls / self._wire_time(1)))
        started = self._now()
        await self._send(bytes(count), echo=False)
        await self.transport.drain()
        await asyncio.sleep(max(0.0, started + nuls - self._now()) + pause)

    async def _send(self, data: bytes, echo: bool = True) -> None:
        dump = self.frame_log.add("tx", data)
        _LOGGER.debug("%s: -> %s", self._name, dump)
        self.transport.write(add_even_parity(data) if self.settings.strip_parity else data)
        self._heard.on_send(data)
        self._last_activity = self._now()
        if echo and self.settings.echo:
            await self._drop_echo(data)

    async def _drop_echo(self, sent: bytes) -> None:
        """Read back and drop the head's echo of ``sent`` (bytes that differ are kept)."""
        deadline = self._now() + self.timing.request_timeout + self._wire_time(len(sent))
        while len(self._buffer) < len(sent) and sent.startswith(self._buffer):
            try:
                await self._fill(deadline - self._now())
            except TimeoutError:
                break
        if self._buffer.startswith(sent):
            del self._buffer[: len(sent)]
            self._heard.echoed += len(sent)
        else:
            _LOGGER.debug("%s: no echo of %d bytes", self._name, len(sent))

    # --- the identification --------------------------------------------------------
    async def _read_identification(self, first_wait: float) -> Identification:
        """The identification line: noise before it is dropped, a damaged one refused.

        Its first byte must come within ``first_wait``; once a line has started, it must
        end within the deadline of a line of the largest size, and no line may be
        longer than that (the buffer holds at most one line being received).
        """
        started = self._now()
        first_deadline = started + first_wait
        size = MAX_IDENTIFICATION_BYTES
        deadline = first_deadline + WIRE_TIME_SLACK * self._wire_time(size)
        while True:
            ident = self._take_identification(started)
            if ident is not None:
                return ident
            line_started = bool(self._buffer)  # what is left starts with "/"
            limit = deadline if line_started else first_deadline
            now = self._now()
            wait = limit - now
            gap = self._inter_character_timeout()
            if line_started:
                wait = min(wait, gap)
            if now >= limit:
                raise self._no_identification(started, line_started, None)
            try:
                await self._fill(wait)
            except TimeoutError as err:
                at_gap = line_started and wait >= gap
                raise self._no_identification(
                    started, line_started, wait if at_gap else None
                ) from err

    def _take_identification(self, started: float) -> Identification | None:
        """The identification in the buffer if a whole line of it came; None if not yet.

        Lines without ``/`` are noise and dropped, a sign-on (an echo) is skipped, and
        any other line that starts with ``/`` must be a valid identification: a refused
        one ends the try (Unreadable), so that the meter is asked again.
        """
        buffer = self._buffer
        while (end := buffer.find(LF)) >= 0:
            line = bytes(buffer[: end + 1])
            del buffer[: end + 1]
            start = line.rfind(START_CHAR)
            if start < 0 or line.startswith(_SIGN_ON_START, start):
                continue
            candidate = line[start:]
            if len(candidate) > MAX_IDENTIFICATION_BYTES:
                raise self._too_long(started, candidate)
            dump = self.frame_log.add("rx", candidate)
            _LOGGER.debug("%s: <- %s", self._name, dump)
            try:
                return parse_identification(candidate, self.settings.mode)
            except FrameError as err:
                raise Unreadable(f"{self._name}: {err} {self._so_far(started)}") from err
        start = buffer.rfind(START_CHAR)
        del buffer[: start if start >= 0 else len(buffer)]
        if len(buffer) > MAX_IDENTIFICATION_BYTES:
            raise self._too_long(started, bytes(buffer))
        return None

    def _too_long(self, started: float, line: bytes) -> Unreadable:
        """The error for a line too long to be an identification (its start is logged)."""
        dump = self.frame_log.add("rx", line[:MAX_IDENTIFICATION_BYTES])
        _LOGGER.debug("%s: <- %s...", self._name, dump)
        self._buffer.clear()  # capped at one line's size also when it came in one piece
        return Unreadable(
            f"{self._name}: identification line longer than {MAX_IDENTIFICATION_BYTES} bytes "
            f"{self._so_far(started)}"
        )

    def _so_far(self, started: float) -> str:
        """``(after 1.2 s, 300 bytes came)``: what the messages say was heard."""
        came = _count(self._heard.answered)
        return f"(after {self._now() - started:.1f} s, {came} came)"

    def _no_identification(
        self, started: float, line_started: bool, gap: float | None
    ) -> NoResponse:
        """The error for a try without identification, by what was heard."""
        heard = self._heard
        elapsed = self._now() - started
        if not heard.received:
            return NoResponse(
                f"{self._name}: no identification from the meter within {elapsed:.1f} s "
                "(check the device address, mode, speed, 7E1 framing and the optical head "
                "or wiring)"
            )
        if heard.only_echo:
            if self.settings.echo:  # the echo was expected and dropped: a silent meter
                return NoResponse(
                    f"{self._name}: no identification within {elapsed:.1f} s, only the "
                    "head's echo of the sign-on came back (check the device address, mode, "
                    "speed and the optical head's position)"
                )
            return EchoOnly(
                f"{self._name}: only the echo of what was sent came back within "
                f"{elapsed:.1f} s, no identification"
            )
        so_far = self._so_far(started)
        if line_started and gap is not None:
            return SlowAnswer(
                f"{self._name}: identification incomplete, nothing more for {gap:.1f} s {so_far}"
            )
        if line_started:
            return SlowAnswer(
                f"{self._name}: identification incomplete at its deadline at "
                f"{self.transport.baudrate} baud {so_far}"
            )
        return Unreadable(f"{self._name}: no identification line among the bytes {so_far}")

    # --- the data message ------------------------------------------------------------
    async def _read_data(self, ident: Identification, baudrate: int) -> Readout:
        """The data message, block by block: NAK a damaged block, ACK a partial one.

        A block is damaged if its BCC, parity or characters are wrong, and the message
        if it does not end with its ``!`` line or holds no data set: a random block has
        a right 7-bit BCC once in 128 times, and must not become an empty reading.
        """
        naks = 0
        texts: list[str] = []
        kept = 0
        first_wait = self.timing.request_timeout + ident.reaction_time
        size = self.settings.max_readout_bytes
        now = self._now()
        budget = _Budget(
            started=now,
            deadline=now + first_wait + WIRE_TIME_SLACK * self._wire_time(size),
            limit=WIRE_TIME_SLACK * size,
            base=self._heard.received,
        )
        while True:
            raw = await self._read_block(first_wait, budget, kept)
            try:
                block = decode_block(raw)
                if block.final:
                    parsed = self._parse_readout("".join(texts) + block.text)
            except FrameError as err:
                if naks >= self.timing.attempts - 1:
                    raise DamagedAnswers(
                        f"{self._name}: the meter's answers arrived damaged "
                        f"{naks + 1} times ({err})"
                    ) from err
                naks += 1
                self.naks_sent += 1
                _LOGGER.debug("%s: %s; asking again", self._name, err)
                # The repeat costs the block's wire time again, and both reaction times.
                budget.deadline += 2 * ident.reaction_time + self._wire_time(len(raw))
                budget.limit += len(raw)
                await self._answer(NAK, ident)
                continue
            naks = 0
            if block.final:
                break
            texts.append(block.text)
            kept += len(raw)
            if len(texts) >= MAX_BLOCKS:
                raise ProtocolError(f"{self._name}: more than {MAX_BLOCKS} partial blocks")
            budget.deadline += 2 * ident.reaction_time
            await self._answer(ACK, ident)
        if parsed.skipped:
            _LOGGER.debug("%s: %d lines of the readout skipped", self._name, parsed.skipped)
        return Readout(ident, parsed.data_sets, parsed.skipped, baudrate)

    @staticmethod
    def _parse_readout(text: str) -> ParsedBlock:
        """The data sets of a whole data message; FrameError if it is not a readout."""
        check_readout_end(text)
        parsed = parse_data_block(text)
        if not parsed.data_sets:
            raise FrameError("the data message holds no data set")
        return parsed

    async def _answer(self, control: int, ident: Identification) -> None:
        """Send ACK or NAK after the meter's reaction time (stale bytes dropped)."""
        await asyncio.sleep(ident.reaction_time)
        self._heard.received += self._discard()
        await self._send(bytes((control,)))

    async def _read_block(self, first_wait: float, budget: _Budget, kept: int) -> bytes:
        """``STX ... ETX|EOT BCC``; bytes before STX are noise and dropped.

        STX must come within ``first_wait`` (and the budget's deadline); once it has, the
        block must end within the deadline, the message (``kept`` bytes before) within
        the readout size, and everything heard within the budget's bytes; each whether
        the bytes came one by one or a whole block in one receive.
        """
        started = self._now()
        first_deadline = min(started + first_wait, budget.deadline)
        heard_before = self._heard.answered
        size = self.settings.max_readout_bytes
        scanned = 1
        while True:
            start = self._buffer.find(STX)
            if start < 0:
                self._buffer.clear()
            elif start > 0:
                del self._buffer[:start]
                scanned = 1
            # The caps hold however the bytes came: a whole block in one receive too.
            end = _block_end(self._buffer, scanned) if self._buffer else None
            if self._buffer and kept + (len(self._buffer) if end is None else end) > size:
                raise self._too_large(kept, end)
            if self._heard.received - budget.base > budget.limit:
                self._buffer.clear()
                raise ProtocolError(
                    f"{self._name}: answer longer than {budget.limit} bytes without a "
                    "complete data message"
                )
            if end is not None:
                raw = bytes(self._buffer[:end])
                del self._buffer[:end]
                dump = self.frame_log.add("rx", raw)
                _LOGGER.debug("%s: <- %s", self._name, dump)
                return raw
            scanned = max(1, len(self._buffer) - 1)
            now = self._now()
            to_limit = (budget.deadline if self._buffer else first_deadline) - now
            if to_limit <= 0:
                raise self._no_block(started, budget, heard_before, None)
            # Within a block, a gap longer than the inter-character timeout ends it early.
            gap = self._inter_character_timeout() if self._buffer else None
            if gap is not None and gap >= to_limit:
                gap = None  # the deadline comes first
            try:
                await self._fill(to_limit if gap is None else gap)
            except TimeoutError as err:
                raise self._no_block(started, budget, heard_before, gap) from err

    def _too_large(self, kept: int, end: int | None) -> ReadoutTooLarge:
        """The error for a data message over the readout size (its start is logged)."""
        size = self.settings.max_readout_bytes
        if end is None:
            what = f"{_count(kept + len(self._buffer))} came and no end yet"
        else:
            what = f"a block of {_count(end)} came whole"
            if kept:
                what += f" after {_count(kept)} of blocks before it"
        dump = self.frame_log.add("rx", bytes(self._buffer[:_LOGGED_HEAD]))
        _LOGGER.debug("%s: <- %s...", self._name, dump)
        self._buffer.clear()
        # "data message longer than N bytes (the readout size limit)": the CLI's hint
        # names its option when it finds these words.
        return ReadoutTooLarge(
            f"{self._name}: readout larger than {size} bytes: data message longer than "
            f"{size} bytes (the readout size limit); {what}"
        )

    def _no_block(
        self, started: float, budget: _Budget, heard_before: int, gap: float | None
    ) -> NoResponse:
        """The error for a block that did not come, stopped, or did not end in time."""
        now = self._now()
        came = self._heard.answered - heard_before
        if self._buffer and gap is not None:
            return SlowAnswer(
                f"{self._name}: the data message stopped after {_count(len(self._buffer))}: "
                f"nothing more for {gap:.1f} s (incomplete)"
            )
        if self._buffer:
            size = self.settings.max_readout_bytes
            allowed = budget.deadline - budget.started
            return EndlessAnswer(
                f"{self._name}: no end of data block after {now - budget.started:.1f} s at "
                f"{self.transport.baudrate} baud ({_count(self._heard.received - budget.base)} "
                f"came; a readout of up to {size} bytes ends within {allowed:.1f} s)"
            )
        if came:
            return Unreadable(
                f"{self._name}: no data block among the bytes (after {now - started:.1f} s, "
                f"{_count(came)} came, none of them STX)"
            )
        # The identification came, so the line works: the meter is slow, or not at the
        # speed we switched to.
        return SlowAnswer(
            f"{self._name}: the data message never came within {now - started:.1f} s "
            "(the identification did)"
        )


def _count(count: int) -> str:
    return f"{count} byte" if count == 1 else f"{count} bytes"


def _block_end(buffer: bytearray, scanned: int) -> int | None:
    """Index after the BCC of the block at the buffer's start, if it has arrived."""
    ends = [index for index in (buffer.find(ETX, scanned), buffer.find(EOT, scanned)) if index >= 0]
    if not ends:
        return None
    end = min(ends)
    return end + 2 if end + 1 < len(buffer) else None
