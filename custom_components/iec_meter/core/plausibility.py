"""The plausibility guard: line noise must never become a wrong value.

A frame damaged on the line usually fails its checksum, but two damaged bytes can cancel
out (an 8-bit sum or an XOR), and then a wrong number arrives looking right. One such
upward step in an energy register used to be permanent in Home Assistant (a spike in the
Energy statistics, and every correct value after it looked like a step backwards). The
guard screens every read of values, whatever the protocol, before anyone sees it.

Rules (``Limits`` holds the numbers, all configurable):

* A measurement is plausible within physical bounds: voltage 0 to 1000 V (low-voltage
  meters; a meter reading primary values of a higher-voltage point needs
  ``max_voltage_v`` raised), current 0 to 10 kA, frequency 40 to 70 Hz (50 and 60 Hz
  grids with room for any excursion a grid survives), power factor -1 to 1, active and
  reactive power and maximum demand within the meter's maximum power either way.
* A cumulative register (the ``total_increasing`` signals, energy and reactive energy) is
  plausible when it has not gone backwards since the last good reading and has not risen
  more than the maximum power allows in the time since: ``max_power_kw`` per hour (kWh or
  kvarh) plus ``register_slack`` (one whole unit: IEC 102 registers count whole kWh and
  can tick over between two reads a moment apart). The default maximum power, 1 MW, is
  far above any home or small business and still catches the wrong high-order bits
  that make a spike; a point above 1 MW needs ``max_power_kw`` raised, or its registers
  move only every few polls (each move confirmed as a replacement, see below).
* A register has no baseline after a start: its first reading is trusted only when a
  second read agrees (not backwards, not faster than allowed). A baseline restored from
  before a restart is weaker evidence than the meter's live readings: two consecutive
  agreeing reads that contradict it replace it.
* A live baseline that the meter contradicts consistently (``replacement_reads`` agreeing
  reads in a row, over at least two polls) is replaced too: a meter exchanged or reset,
  or a wrong baseline that slipped through. Without this, one accepted error would
  freeze the register for good. A zero never replaces a positive baseline: an all-zero
  answer is a classic glitch, and a new meter is accepted once it has counted.

A read with implausible values is read once more in the same poll (in a turn of the bus
of its own, see :class:`~.driver.MeterClient`); a value implausible in both is left out
of the reading (the caller publishes nothing for that signal this time) and the other
signals are published. A signal already left out in the last poll does not cause a
re-read by itself: a meter that keeps sending an implausible value would otherwise
double every poll's time on the line. The first poll after a start reads twice (the
registers' confirmation), unless restored baselines already agree with the meter.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import logging
import math
import time
from typing import Any, Final

from .errors import MeterError
from .model import SIGNALS, DeviceClass, Reading, Signal, Value

_LOGGER = logging.getLogger(__name__)

#: Keys of a meter's settings that set its limits (absent: the defaults).
MAX_POWER_KW: Final = "max_power_kw"
MAX_VOLTAGE_V: Final = "max_voltage_v"
MAX_CURRENT_A: Final = "max_current_a"

DEFAULT_MAX_POWER_KW: Final = 1000.0
DEFAULT_MAX_VOLTAGE_V: Final = 1000.0
DEFAULT_MAX_CURRENT_A: Final = 10_000.0
#: Reads needed to trust a register without a baseline, or against a restored one.
CONFIRMATION_READS: Final = 2
#: Agreeing reads in a row that replace a live baseline (two polls with their re-read,
#: or more polls when the re-read is skipped).
REPLACEMENT_READS: Final = 4
#: Rejections kept for a diagnostics download.
RECENT_REJECTIONS: Final = 10
_SECONDS_PER_HOUR = 3600.0


class Reason(StrEnum):
    """Why a value was not accepted."""

    OUT_OF_RANGE = "out_of_range"
    BACKWARDS = "backwards"
    TOO_FAST = "too_fast"
    #: No baseline yet: waiting for a second read that agrees.
    UNCONFIRMED = "unconfirmed"
    #: No baseline yet, and this read disagrees with the one before.
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a meter can plausibly report (see the module's rules)."""

    max_power_kw: float = DEFAULT_MAX_POWER_KW
    max_voltage_v: float = DEFAULT_MAX_VOLTAGE_V
    max_current_a: float = DEFAULT_MAX_CURRENT_A
    min_frequency_hz: float = 40.0
    max_frequency_hz: float = 70.0
    register_slack: float = 1.0

    def __post_init__(self) -> None:
        """Refuse limits that would reject everything, naming the field."""
        for name in ("max_power_kw", "max_voltage_v", "max_current_a"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")
        if not 0 < self.min_frequency_hz < self.max_frequency_hz:
            raise ValueError("the frequency range must be positive and not empty")
        if not (math.isfinite(self.register_slack) and self.register_slack >= 0):
            raise ValueError(f"register_slack must be 0 or more, not {self.register_slack}")

    def register_rise(self, seconds: float) -> float:
        """The most a register can rise in ``seconds`` (kWh or kvarh)."""
        return self.max_power_kw * max(seconds, 0.0) / _SECONDS_PER_HOUR + self.register_slack

    def bounds(self, signal: Signal) -> tuple[float, float] | None:
        """The range of a measurement; None for a signal not checked against one."""
        power = self.max_power_kw
        match signal.device_class:
            case DeviceClass.VOLTAGE:
                return (0.0, self.max_voltage_v)
            case DeviceClass.CURRENT:
                return (0.0, self.max_current_a)
            case DeviceClass.FREQUENCY:
                return (self.min_frequency_hz, self.max_frequency_hz)
            case DeviceClass.POWER_FACTOR:
                return (-1.0, 1.0)
            case DeviceClass.POWER | DeviceClass.REACTIVE_POWER:
                return (-power, power)
            case _:
                return None


def limits_from(settings: Mapping[str, Any]) -> Limits:
    """A meter's limits from its settings; ValueError names a bad one."""
    given: dict[str, float] = {}
    for key in (MAX_POWER_KW, MAX_VOLTAGE_V, MAX_CURRENT_A):
        raw = settings.get(key)
        if raw is None:
            continue
        try:
            given[key] = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number, not {raw!r}") from None
    return Limits(**given)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One value the guard did not accept, for a diagnostics download."""

    signal: str
    value: float
    reason: Reason
    #: The value it was compared with (the baseline, or the read before), if any.
    reference: float | None


@dataclass(slots=True)
class _Mark:
    """A register's value and when it was read (the guard's clock)."""

    value: float
    at: float


@dataclass(slots=True)
class _Register:
    """What the guard knows of one cumulative register."""

    baseline: _Mark | None = None
    #: The baseline came from before a restart and no live read has agreed yet.
    restored: bool = False
    #: The last read that was not accepted, and how many agreeing reads led to it.
    pending: _Mark | None = None
    streak: int = 0


@dataclass(frozen=True, slots=True)
class Screening:
    """One read judged: what passed, what is doubtful, whether to read again."""

    reading: Reading
    doubtful: Mapping[str, Reason]
    reread: bool


@dataclass
class PlausibilityGuard:
    """Screens one meter's reads (one guard per meter: it keeps the registers' history)."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    #: Signals left out of the last reading returned.
    withheld: frozenset[str] = frozenset()
    reads: int = 0
    rereads: int = 0
    failed_rereads: int = 0
    baselines_replaced: int = 0
    #: Values judged implausible, by signal (a first read waiting for its confirmation
    #: is not counted).
    rejections: Counter[str] = field(default_factory=Counter)
    #: Readings returned without a signal, by signal.
    withheld_counts: Counter[str] = field(default_factory=Counter)
    recent: deque[Rejection] = field(default_factory=lambda: deque(maxlen=RECENT_REJECTIONS))
    _registers: dict[str, _Register] = field(default_factory=dict, repr=False)

    # --- what callers use ------------------------------------------------------------
    async def screen(
        self, reading: Reading, read_again: Callable[[], Awaitable[Reading]]
    ) -> Reading:
        """``reading`` with implausible values left out, after one re-read if needed.

        A re-read that fails leaves the doubtful values out and keeps the rest: the
        meter did answer this poll.
        """
        screening = self.examine(reading)
        again: Reading | None = None
        if screening.reread:
            try:
                again = await read_again()
            except MeterError as err:
                self.failed_rereads += 1
                _LOGGER.debug("re-read failed: %s", err)
        return self.conclude(screening, again)

    def restore(self, key: str, value: float, age_s: float) -> bool:
        """A register's value from before a restart, ``age_s`` seconds old.

        Taken only as a weak baseline (see the module's rules), and only before the
        meter has been read: a live reading knows better. Returns whether it was taken.
        """
        signal = SIGNALS.get(key)
        if signal is None or not signal.is_register or not _number(value) or value < 0:
            return False
        register = self._registers.setdefault(key, _Register())
        if register.baseline is not None or register.pending is not None:
            return False
        register.baseline = _Mark(value, self.clock() - max(age_s, 0.0))
        register.restored = True
        return True

    def baseline(self, key: str) -> float | None:
        """The value a register's next reading is compared with, if any."""
        register = self._registers.get(key)
        return None if register is None or register.baseline is None else register.baseline.value

    def diagnostics(self) -> dict[str, Any]:
        """Limits, counters and the last rejections, for a diagnostics download."""
        return {
            "limits": {
                "max_power_kw": self.limits.max_power_kw,
                "max_voltage_v": self.limits.max_voltage_v,
                "max_current_a": self.limits.max_current_a,
                "frequency_hz": [self.limits.min_frequency_hz, self.limits.max_frequency_hz],
                "register_slack": self.limits.register_slack,
            },
            "reads": self.reads,
            "rereads": self.rereads,
            "failed_rereads": self.failed_rereads,
            "rejections": dict(sorted(self.rejections.items())),
            "withheld": dict(sorted(self.withheld_counts.items())),
            "baselines_replaced": self.baselines_replaced,
            "recent_rejections": [
                {
                    "signal": item.signal,
                    "value": item.value,
                    "reason": str(item.reason),
                    "reference": item.reference,
                }
                for item in self.recent
            ],
            "baselines": {
                key: {"value": register.baseline.value, "restored": register.restored}
                for key, register in sorted(self._registers.items())
                if register.baseline is not None
            },
        }

    # --- the two steps of a screening (synchronous, so the rules can be tested alone) --
    def examine(self, reading: Reading) -> Screening:
        """Judge a first read; registers that pass become their new baseline."""
        self.reads += 1
        at = self.clock()
        doubtful: dict[str, Reason] = {}
        for key, value in reading.values.items():
            reason = self._judge(key, value, at)
            if reason is not None:
                doubtful[key] = reason
        # A re-read is worth it unless every doubtful signal was doubtful last time too.
        reread = any(key not in self.withheld for key in doubtful)
        return Screening(reading, doubtful, reread)

    def conclude(self, screening: Screening, again: Reading | None) -> Reading:
        """The reading to hand on: a doubtful value takes the re-read's, if it passes."""
        passed: dict[str, Value] = {}
        if again is not None:
            self.rereads += 1
            self.reads += 1
            at = self.clock()
            for key in screening.doubtful:
                if key in again.values and self._judge(key, again.values[key], at) is None:
                    passed[key] = again.values[key]
        first = screening.reading
        values: dict[str, Value] = {}
        for key, value in first.values.items():
            if key not in screening.doubtful:
                values[key] = value
            elif key in passed:
                values[key] = passed[key]
        self.withheld = frozenset(screening.doubtful).difference(passed)
        self.withheld_counts.update(self.withheld)
        if self.withheld:
            _LOGGER.debug("left out as implausible: %s", ", ".join(sorted(self.withheld)))
        return Reading(values, first.timestamp, first.data)

    # --- the rules -------------------------------------------------------------------
    def _judge(self, key: str, value: Value, at: float) -> Reason | None:
        """Why ``value`` is not plausible now, or None when it is (or is not checked)."""
        signal = SIGNALS.get(key)
        if signal is None or value is None or not isinstance(value, int | float):
            return None  # invalid (unknown anyway), a time, or not ours to judge
        value = float(value)
        if signal.is_register:
            return self._judge_register(key, value, at)
        bounds = self.limits.bounds(signal)
        if bounds is None:
            return None
        low, high = bounds
        if _number(value) and low <= value <= high:
            return None
        self._reject(key, value, Reason.OUT_OF_RANGE, None)
        return Reason.OUT_OF_RANGE

    def _judge_register(self, key: str, value: float, at: float) -> Reason | None:
        register = self._registers.setdefault(key, _Register())
        if not _number(value) or value < 0:
            register.pending, register.streak = None, 0
            self._reject(key, value, Reason.OUT_OF_RANGE, None)
            return Reason.OUT_OF_RANGE
        baseline = register.baseline
        if baseline is not None and self._follows(baseline, value, at):
            self._accept(register, value, at)
            return None
        pending = register.pending
        register.streak = (
            register.streak + 1 if pending and self._follows(pending, value, at) else 1
        )
        register.pending = _Mark(value, at)
        weak = baseline is None or register.restored
        needed = CONFIRMATION_READS if weak else REPLACEMENT_READS
        zero_for_positive = value == 0 and baseline is not None and baseline.value > 0
        if register.streak >= needed and not zero_for_positive:
            if baseline is not None:
                self.baselines_replaced += 1
                _LOGGER.info(
                    "%s: %s replaces %s (%s agreeing reads)",
                    key,
                    value,
                    baseline.value,
                    register.streak,
                )
            self._accept(register, value, at)
            return None
        if baseline is not None:
            reason = Reason.BACKWARDS if value < baseline.value else Reason.TOO_FAST
            self._reject(key, value, reason, baseline.value)
        elif register.streak == 1 and pending is not None:
            reason = Reason.INCONSISTENT
            self._reject(key, value, reason, pending.value)
        else:
            reason = Reason.UNCONFIRMED
        return reason

    def _follows(self, mark: _Mark, value: float, at: float) -> bool:
        """Whether ``value`` can come after ``mark``: not lower, not faster than allowed."""
        return mark.value <= value <= mark.value + self.limits.register_rise(at - mark.at)

    @staticmethod
    def _accept(register: _Register, value: float, at: float) -> None:
        register.baseline = _Mark(value, at)
        register.restored = False
        register.pending, register.streak = None, 0

    def _reject(self, key: str, value: float, reason: Reason, reference: float | None) -> None:
        self.rejections[key] += 1
        self.recent.append(Rejection(key, value, reason, reference))
        _LOGGER.debug("%s: %s rejected (%s, reference %s)", key, value, reason, reference)


def _number(value: float) -> bool:
    return math.isfinite(value)
