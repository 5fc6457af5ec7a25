"""The protocol side of simulated IEC 62056-21 meters (modes A, B, C and D).

:class:`SimulatedIec62056Meter` is one meter: its identification and its data sets
(from a file, or live values of a :class:`~.meter_model.MeterModel`). :class:`MeterBus`
is the conversation on one line: it reads the client's bytes, picks the addressed meter,
and says what goes back, at which speed and after which pause. It does no I/O; the line
(:mod:`.iec62056_line`) paces, injects faults and checks the client's speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from enum import Enum, auto
import logging
import math
from pathlib import Path
import random

from custom_components.iec_meter.core.iec62056.constants import (
    ACK,
    CRLF,
    ETX,
    INITIAL_BAUDRATE,
    MODE_A_CHAR,
    MODE_B_BAUDRATES,
    MODE_C_CHARS,
    MODE_CONTROL_READOUT,
    MODE_D_BAUDRATE,
    NAK,
    NUL,
    REACTION_TIME_S,
    SOH,
    START_CHAR,
    Mode,
)
from custom_components.iec_meter.core.iec62056.messages import (
    OPTION_SELECT_LENGTH,
    Identification,
    data_message,
    parse_option_select,
    parse_sign_on,
)

from .meter_model import MeterModel

_LOGGER = logging.getLogger(__name__)

_MODE_B_CHARS = {baud: char for char, baud in MODE_B_BAUDRATES.items()}
#: Longest request kept while waiting for its end (a sign-on with a 32-char address).
_MAX_REQUEST = 64
_TARIFF_SHARES = (0.6, 0.4)
_NOMINAL_HZ = 50.0
_HISTORY_SHARE = 0.9


@dataclass
class Iec62056MeterConfig:
    """What one simulated meter is and does."""

    #: Device address it answers to ("" = it answers ``/?!`` when alone on the line).
    address: str = ""
    #: Manufacturer id; a lowercase third letter means a 20 ms reaction time.
    manufacturer: str = "ISk"
    ident: str = "5MT174-SIM"
    mode: Mode = Mode.C
    #: Speed announced in the identification (modes B and C).
    baudrate: int = 9600
    serial: str = "12345678"
    #: Announces ``baudrate`` but never leaves the start speed (a real firmware bug).
    fake_switch: bool = False
    #: Battery meter: answers only after a wake-up train of NUL characters.
    sleepy: bool = False
    #: Send the data in partial blocks of this many lines (0: one message).
    block_lines: int = 0
    #: Fixed data lines (a file's); None: live values of the meter model.
    data_lines: tuple[str, ...] | None = None
    three_phase: bool = True


def load_data_file(path: Path) -> tuple[str, ...]:
    """One data line per non-empty line of a text file."""
    text = path.read_text(encoding="ascii")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class SimulatedIec62056Meter:
    """One meter: identification and data sets."""

    def __init__(
        self,
        config: Iec62056MeterConfig,
        tz: tzinfo,
        clock: Callable[[], datetime],
        model: MeterModel | None = None,
    ) -> None:
        """Prepare the meter; values move with ``clock``."""
        self.config = config
        self.tz = tz
        self.clock = clock
        self.model = model or MeterModel(three_phase=config.three_phase)
        self._random = random.Random(self.model.seed)
        self._max_demand: tuple[float, datetime] | None = None
        self.readouts = 0

    @property
    def reaction_time(self) -> float:
        """How long the meter takes before it answers (tr)."""
        return self.identification().reaction_time

    def identification(self) -> Identification:
        """The identification with the baud character of the meter's mode."""
        config = self.config
        if config.mode is Mode.B:
            char = _MODE_B_CHARS[config.baudrate]
        elif config.mode is Mode.C:
            char = MODE_C_CHARS[config.baudrate]
        elif config.mode is Mode.D:
            char = MODE_C_CHARS[MODE_D_BAUDRATE]
        else:
            char = MODE_A_CHAR
        return Identification(config.manufacturer, char, config.ident)

    def lines(self) -> list[str]:
        """The data lines of a readout now."""
        self.readouts += 1
        if self.config.data_lines is not None:
            return list(self.config.data_lines)
        return self._live_lines(self.clock())

    def blocks(self) -> list[bytes]:
        """The data message, split into partial blocks if configured."""
        lines = self.lines()
        size = self.config.block_lines
        if size <= 0 or len(lines) <= size:
            return [data_message(lines)]
        chunks = [lines[start : start + size] for start in range(0, len(lines), size)]
        return [
            data_message(chunk, final=index == len(chunks) - 1)
            for index, chunk in enumerate(chunks)
        ]

    def _live_lines(self, when: datetime) -> list[str]:
        model = self.model
        values = model.sample(when)
        phases = values.phases or ()
        powers = (values.powers or ())[1:]
        phase_p: list[float] = []
        phase_q: list[float] = []
        lines: list[str] = [
            f"C.1.0({self.config.serial})",
            f"0.0.0({self.config.address or self.config.serial})",
            "F.F(00000000)",
            f"0.9.1({when:%H%M%S})",
            f"0.9.2({when:%y%m%d})",
        ]
        for number, (phase, power) in enumerate(zip(phases, powers, strict=False), start=1):
            if phase.invalid:
                continue
            volts = phase.voltage_decivolts / 10
            amps = phase.current_deciamps / 10
            factor = power.power_factor_milli / 1000
            apparent = volts * amps / 1000
            active = apparent * factor * (-1 if power.exporting else 1)
            reactive = apparent * math.sin(math.acos(min(factor, 1.0)))
            reactive *= -1 if power.reactive_negative else 1
            phase_p.append(active)
            phase_q.append(reactive)
            code = 20 * number
            lines += [
                f"{code + 1}.7.0({max(active, 0):07.3f}*kW)",
                f"{code + 2}.7.0({max(-active, 0):07.3f}*kW)",
                f"{code + 11}.7.0({amps:06.2f}*A)",
                f"{code + 12}.7.0({volts:05.1f}*V)",
                f"{code + 13}.7.0({factor:05.3f})",
            ]
        total_p, total_q = sum(phase_p), sum(phase_q)
        apparent = math.hypot(total_p, total_q)
        self._track_demand(total_p, when)
        demand, demand_at = self._max_demand or (0.0, when)
        imported, exported = model.energy_import_kwh, model.energy_export_kwh
        lines += [
            f"1.8.0({imported:011.3f}*kWh)",
            *(
                f"1.8.{tariff}({imported * share:011.3f}*kWh)"
                for tariff, share in enumerate(_TARIFF_SHARES, start=1)
            ),
            f"2.8.0({exported:011.3f}*kWh)",
            *(
                f"2.8.{tariff}({exported * share:011.3f}*kWh)"
                for tariff, share in enumerate(_TARIFF_SHARES, start=1)
            ),
            *(
                f"{quadrant}.8.0({register:011.3f}*kvarh)"
                for quadrant, register in enumerate(model.reactive_kvarh, start=5)
            ),
            f"1.7.0({max(total_p, 0):07.3f}*kW)",
            f"2.7.0({max(-total_p, 0) * 1000:08.1f}*W)",
            f"3.7.0({max(total_q, 0):07.3f}*kvar)",
            f"4.7.0({max(-total_q, 0):07.3f}*kvar)",
            f"13.7.0({abs(total_p) / apparent if apparent else 1.0:05.3f})",
            f"14.7.0({_NOMINAL_HZ + self._random.uniform(-0.05, 0.05):05.2f}*Hz)",
            f"1.6.0({demand:07.3f}*kW)({demand_at:%y%m%d%H%M})",
            f"1.8.0*24({imported * _HISTORY_SHARE:011.3f}*kWh)",
            "0.2.0(SIM-1.0)",
        ]
        return lines

    def _track_demand(self, power: float, when: datetime) -> None:
        if self._max_demand is None or power > self._max_demand[0]:
            self._max_demand = (max(power, 0.0), when.replace(second=0, microsecond=0))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes the meter sends, at which speed, after which pause."""

    data: bytes
    baudrate: int
    #: Pause before sending (after the request has fully arrived, or the previous send).
    delay: float
    #: Length of the request this answers (its wire time comes first); 0 for follow-ups.
    after_request: int = 0
    kind: str = "data"
    #: Speed the request came at (for its wire time).
    request_baudrate: int = INITIAL_BAUDRATE
    #: The speed the meter announced (mode B) or was asked for (mode C) before this
    #: first data block: where a client that follows the protocol is by now.
    switched_to: int | None = None


class _State(Enum):
    IDLE = auto()
    OPTION = auto()  # mode C: identification sent, waiting for ACK V Z Y
    BLOCKS = auto()  # partial block sent, waiting for ACK
    DONE = auto()  # data message sent; a NAK repeats it


class MeterBus:
    """The conversation on one line: which meter talks, in which state, at which speed."""

    def __init__(
        self,
        meters: list[SimulatedIec62056Meter],
        initial_baudrate: int = INITIAL_BAUDRATE,
        silent_every: int = 0,
    ) -> None:
        """The meters on the line; all listen at ``initial_baudrate``."""
        self.meters = meters
        self.initial_baudrate = initial_baudrate
        self.silent_every = silent_every
        self.speed = initial_baudrate
        self.sign_ons = 0
        self.messages = 0
        self.awake = False
        self._buffer = bytearray()
        self._state = _State.IDLE
        self._active: SimulatedIec62056Meter | None = None
        self._blocks: list[bytes] = []
        self._last: Outgoing | None = None

    def reset(self) -> None:
        """A new connection: every meter idle at the start speed."""
        self._buffer.clear()
        self._state = _State.IDLE
        self._active = None
        self.speed = self.initial_baudrate
        self.awake = False

    def listening_speeds(self) -> frozenset[int]:
        """Speeds at which the meters understand what arrives now."""
        if self._state in (_State.IDLE, _State.DONE):
            return frozenset({self.speed, self.initial_baudrate})
        return frozenset({self.speed})

    def push(self) -> list[Outgoing]:
        """What the mode D meters send by themselves (identification and data)."""
        out: list[Outgoing] = []
        for meter in self.meters:
            if meter.config.mode is not Mode.D:
                continue
            self._active = meter
            out.append(
                Outgoing(meter.identification().encode(), MODE_D_BAUDRATE, 0.0, 0, "identification")
            )
            out += self._data(meter, MODE_D_BAUDRATE)
        return out

    def feed(self, data: bytes) -> list[Outgoing]:
        """Take received bytes; return what the meters answer."""
        self._buffer += data
        out: list[Outgoing] = []
        while self._buffer:
            first = self._buffer[0]
            if first == NUL:
                self.awake = True
                del self._buffer[:1]
            elif first == START_CHAR[0]:
                end = self._buffer.find(CRLF)
                if end < 0:
                    if len(self._buffer) > _MAX_REQUEST:
                        del self._buffer[:1]
                        continue
                    break
                request = bytes(self._buffer[: end + len(CRLF)])
                del self._buffer[: end + len(CRLF)]
                out += self._sign_on(request)
            elif first == ACK and self._state is _State.OPTION:
                if len(self._buffer) < OPTION_SELECT_LENGTH:
                    break
                request = bytes(self._buffer[:OPTION_SELECT_LENGTH])
                del self._buffer[:OPTION_SELECT_LENGTH]
                out += self._option(request)
            elif first == ACK and self._state is _State.BLOCKS:
                del self._buffer[:1]
                self.messages += 1
                out += self._next_block(1, self.speed)
            elif first == NAK:
                del self._buffer[:1]
                self.messages += 1
                if self._last is not None and self._state is not _State.IDLE:
                    last = self._last
                    repeat = Outgoing(
                        last.data, last.baudrate, self._reaction(), 1, last.kind, self.speed
                    )
                    out.append(repeat)
            elif first == SOH:
                end = self._buffer.find(bytes((ETX,)))
                if end < 0 or end + 1 >= len(self._buffer):
                    break
                del self._buffer[: end + 2]
                self.messages += 1
                _LOGGER.debug("break: back to idle")
                self._state = _State.IDLE
                self.speed = self.initial_baudrate
            else:
                del self._buffer[:1]
        return out

    def _reaction(self) -> float:
        return self._active.reaction_time if self._active else REACTION_TIME_S

    def _sign_on(self, request: bytes) -> list[Outgoing]:
        address = parse_sign_on(request)
        if address is None:
            return []
        self.messages += 1
        self._state = _State.IDLE
        self.speed = self.initial_baudrate
        candidates = [meter for meter in self.meters if meter.config.mode is not Mode.D]
        if address:
            candidates = [meter for meter in candidates if meter.config.address == address]
        elif len(self.meters) > 1:
            candidates = []  # several meters would answer at once: nobody is understood
        if len(candidates) != 1:
            return []
        meter = candidates[0]
        if meter.config.sleepy and not self.awake:
            _LOGGER.debug("sleepy meter ignores the sign-on")
            return []
        self.sign_ons += 1
        if self.silent_every and self.sign_ons % self.silent_every == 0:
            _LOGGER.debug("fault: silent to sign-on %d", self.sign_ons)
            return []
        self._active = meter
        ident = Outgoing(
            meter.identification().encode(),
            self.speed,
            meter.reaction_time,
            len(request),
            "identification",
            self.speed,
        )
        self._last = ident
        mode = meter.config.mode
        if mode is Mode.C:
            self._state = _State.OPTION
            return [ident]
        if mode is Mode.B:
            speed = self.initial_baudrate if meter.config.fake_switch else meter.config.baudrate
            # Both sides switch after the identification: give the client time to.
            pause = max(meter.reaction_time, REACTION_TIME_S)
            announced = meter.config.baudrate
            return [ident, *self._data(meter, speed, pause, switched_to=announced)]
        return [ident, *self._data(meter, self.speed)]

    def _option(self, request: bytes) -> list[Outgoing]:
        option = parse_option_select(request)
        meter = self._active
        self.messages += 1
        asked = option.baudrate
        if (
            meter is None
            or option.mode_control != MODE_CONTROL_READOUT
            or asked is None
            or asked > meter.config.baudrate
        ):
            _LOGGER.debug("option select %r refused", request)
            self._state = _State.IDLE
            return []
        speed = self.initial_baudrate if meter.config.fake_switch else asked
        return self._data(
            meter, speed, after_request=len(request), request_baudrate=self.speed, switched_to=asked
        )

    def _data(
        self,
        meter: SimulatedIec62056Meter,
        speed: int,
        pause: float | None = None,
        after_request: int = 0,
        request_baudrate: int = INITIAL_BAUDRATE,
        switched_to: int | None = None,
    ) -> list[Outgoing]:
        self.speed = speed
        self._blocks = meter.blocks()
        sent = self._next_block(after_request, request_baudrate, pause)
        return [replace(item, switched_to=switched_to) for item in sent]

    def _next_block(
        self, after_request: int, request_baudrate: int, pause: float | None = None
    ) -> list[Outgoing]:
        if not self._blocks:
            return []
        block = self._blocks.pop(0)
        self._state = _State.BLOCKS if self._blocks else _State.DONE
        delay = self._reaction() if pause is None else pause
        self._last = Outgoing(block, self.speed, delay, after_request, "data", request_baudrate)
        return [self._last]
