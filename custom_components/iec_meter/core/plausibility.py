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

* A measurement far from its last good value (``_JUMPS``: 4 % of a voltage, half a
  current or a power plus a floor, 0.2 of a power factor, 0.5 Hz) is a jump: published
  only when a second read confirms it (lands near it). Rule: a true change, a load
  switched on (3 A to 30 A), is published at most one poll late: in the same poll when
  its re-read confirms it, else at the next poll's read. A frequency is also within
  ``frequency_band_hz`` of 50 or 60 Hz.
* The values of one read fit each other (:mod:`.consistency`: power against volts times
  amps and the power factor, totals against phases and tariffs). A relation that a read
  and its re-read both break is the meter's own (noise does not repeat) and is dropped.
* A read with any value implausible by itself is damaged: two hits that cancel in a
  checksum make two wrong values, and only one may show. Every value of that read is
  doubtful (what its values moved is undone) and the re-read's are taken instead; a
  re-read damaged in turn gives nothing. The same doubt in both reads (a value stuck
  out of range, one that keeps jumping) is the meter's, not noise: only that value is
  left out, and it damages no later read.

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
from dataclasses import dataclass, field, replace
from enum import StrEnum
import logging
import math
import time
from typing import Any, Final

from .consistency import failing_relations, half_step
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
    #: Does not fit the other values of the same read (see :mod:`.consistency`).
    MISMATCH = "mismatch"
    #: A measurement far from its last good value, waiting for a read that confirms it.
    JUMP = "jump"
    #: Plausible alone, but another value of the same read was not: the read is damaged.
    DAMAGED = "damaged"


#: Per device class, how far a measurement may move from its last good value without a
#: second read that confirms it: a share of that value plus a floor (in its unit), plus
#: two steps of the digits the values carry. Line noise flips the high bits that make a
#: value jump; a true jump (a load switched on) is in the next read too.
_JUMPS: Final[Mapping[DeviceClass, tuple[float, float]]] = {
    DeviceClass.VOLTAGE: (0.04, 1.0),
    DeviceClass.CURRENT: (0.5, 1.0),
    DeviceClass.POWER: (0.5, 1.0),
    DeviceClass.REACTIVE_POWER: (0.5, 1.0),
    DeviceClass.POWER_FACTOR: (0.0, 0.2),
    DeviceClass.FREQUENCY: (0.0, 0.5),
}
#: Grid frequencies: a frequency is within ``frequency_band_hz`` of one of them.
NOMINAL_FREQUENCIES_HZ: Final = (50.0, 60.0)


@dataclass(frozen=True, slots=True)
class Limits:
    """What a meter can plausibly report (see the module's rules)."""

    max_power_kw: float = DEFAULT_MAX_POWER_KW
    max_voltage_v: float = DEFAULT_MAX_VOLTAGE_V
    max_current_a: float = DEFAULT_MAX_CURRENT_A
    min_frequency_hz: float = 40.0
    max_frequency_hz: float = 70.0
    register_slack: float = 1.0
    #: Share by which values of one read may miss the relations of :mod:`.consistency`.
    tolerance: float = 0.1
    frequency_band_hz: float = 3.0

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
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be from 0 to less than 1, not {self.tolerance}")
        if not (math.isfinite(self.frequency_band_hz) and self.frequency_band_hz > 0):
            raise ValueError(f"frequency_band_hz must be positive, not {self.frequency_band_hz}")

    def near_nominal(self, hertz: float) -> bool:
        """Whether ``hertz`` is close to 50 or 60 Hz (a grid, not a flipped bit)."""
        return any(low <= hertz <= high for low, high in self.frequency_ranges())

    def frequency_ranges(self) -> tuple[tuple[float, float], ...]:
        """The frequencies accepted: each grid's band, within the frequency bounds.

        One source for the check and for what a message says about it.
        """
        band, low, high = self.frequency_band_hz, self.min_frequency_hz, self.max_frequency_hz
        clipped = (
            (max(grid - band, low), min(grid + band, high)) for grid in NOMINAL_FREQUENCIES_HZ
        )
        return tuple((start, end) for start, end in clipped if start <= end)

    def accepted(self, signal: Signal) -> tuple[tuple[float, float], ...] | None:
        """The ranges a measurement may take by itself; None for a signal without any."""
        if signal.device_class is DeviceClass.FREQUENCY:
            return self.frequency_ranges()
        bounds = self.bounds(signal)
        return None if bounds is None else (bounds,)

    def jump(self, signal: Signal, good: float, value: float) -> bool:
        """Whether ``value`` is too far from the last good one to publish unconfirmed."""
        rule = _JUMPS.get(signal.device_class)
        if rule is None:
            return False
        share, floor = rule
        steps = 2 * min(half_step(good), half_step(value))
        return abs(value - good) > share * abs(good) + floor + steps

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


@dataclass(slots=True)
class _Measurement:
    """What the guard knows of one measurement: its last good value, a jump seen."""

    good: float | None = None
    #: A value far from ``good`` that a later read may confirm.
    jump: float | None = None


@dataclass(frozen=True, slots=True)
class Screening:
    """One read judged: what passed, what is doubtful, whether to read again."""

    reading: Reading
    doubtful: Mapping[str, Reason]
    reread: bool
    #: Something in the read was implausible by itself: every value of it is doubtful.
    damaged: bool = False
    #: The relations of :mod:`.consistency` the read broke.
    relations: frozenset[str] = frozenset()


#: Reasons that blame the read, not the value by itself (not counted as its rejections).
_NOT_ALONE: Final = frozenset({Reason.MISMATCH, Reason.DAMAGED})
#: Reasons that say nothing against the read as a whole.
_NOT_DAMAGE: Final = frozenset({Reason.UNCONFIRMED, Reason.DAMAGED})


@dataclass
class PlausibilityGuard:
    """Screens one meter's reads (one guard per meter: it keeps the registers' history)."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    #: One read with no history (the ``read`` command): a register without a baseline
    #: is taken from that read alone instead of waiting for a second one that agrees.
    single_read: bool = field(default=False, kw_only=True)
    #: Signals left out of the last reading returned.
    withheld: frozenset[str] = frozenset()
    reads: int = 0
    rereads: int = 0
    failed_rereads: int = 0
    baselines_replaced: int = 0
    #: Values judged implausible by themselves, by signal (not a first read waiting for
    #: its confirmation, nor a value of a damaged read that only sat beside the culprit).
    rejections: Counter[str] = field(default_factory=Counter)
    #: Readings returned without a signal, by signal.
    withheld_counts: Counter[str] = field(default_factory=Counter)
    recent: deque[Rejection] = field(default_factory=lambda: deque(maxlen=RECENT_REJECTIONS))
    #: The last value rejected, by signal (``recent`` keeps only the last few): what a
    #: caller names when it says why a signal was left out.
    last_rejections: dict[str, Rejection] = field(default_factory=dict)
    #: Relations this meter broke in a read and its re-read alike: its own way, not
    #: noise (noise does not repeat), so they are not checked any more.
    relations_off: set[str] = field(default_factory=set)
    _registers: dict[str, _Register] = field(default_factory=dict, repr=False)
    _measurements: dict[str, _Measurement] = field(default_factory=dict, repr=False)
    #: Signals left out last time for what they were themselves (not for a damaged read).
    _stuck: frozenset[str] = field(default=frozenset(), repr=False)

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
        """Judge a first read; what passes becomes the new baseline.

        A read with a value implausible by itself (not one stuck so since the last
        poll) is damaged: all its values become doubtful, and what they moved is undone.
        """
        self.reads += 1
        at = self.clock()
        failing = failing_relations(reading.values, self.limits.tolerance, self._off())
        mismatched = frozenset().union(*failing.values())
        saved = self._save()
        doubtful = self._judge_all(reading, mismatched, at)
        damaged = any(
            reason not in _NOT_DAMAGE and key not in self._stuck for key, reason in doubtful.items()
        )
        if damaged:
            self._undo(saved, set(reading.values).difference(doubtful))
            for key, value in reading.values.items():
                if key not in doubtful and key in SIGNALS and _plain(value):
                    doubtful[key] = Reason.DAMAGED
        # A re-read is worth it unless every doubtful signal was doubtful last time too.
        reread = damaged or any(key not in self.withheld for key in doubtful)
        return Screening(reading, doubtful, reread, damaged, frozenset(failing))

    def conclude(self, screening: Screening, again: Reading | None) -> Reading:
        """The reading to hand on: a doubtful value takes the re-read's, if it passes.

        The re-read is damaged (and nothing taken from it) when a value in it is
        implausible otherwise than in the first read, or it breaks a relation the first
        read kept; a relation both reads break is the meter's own, and is dropped. The
        same doubt twice (a value stuck out of range, one that keeps jumping) is the
        meter's, not noise: that value is left out, the re-read's others are taken.
        """
        passed: dict[str, Value] = {}
        own = {key for key, reason in screening.doubtful.items() if reason is not Reason.DAMAGED}
        if again is not None:
            self.rereads += 1
            self.reads += 1
            at = self.clock()
            failing = failing_relations(again.values, self.limits.tolerance, self._off())
            repeated = screening.relations.intersection(failing)
            if repeated:
                _LOGGER.debug("relations broken twice, not checked any more: %s", repeated)
                self.relations_off.update(repeated)
            fresh = {name: keys for name, keys in failing.items() if name not in repeated}
            mismatched = frozenset().union(*fresh.values())
            wanted = Reading({k: v for k, v in again.values.items() if k in screening.doubtful})
            saved = self._save()
            reasons = self._judge_all(wanted, mismatched.intersection(wanted.values), at)
            damaged = bool(fresh) or any(
                reason not in _NOT_DAMAGE
                and key not in self._stuck
                and reason is not screening.doubtful[key]
                for key, reason in reasons.items()
            )
            if damaged:
                self._undo(saved, set(wanted.values).difference(reasons))
            else:
                passed = {k: v for k, v in wanted.values.items() if k not in reasons}
        first = screening.reading
        values: dict[str, Value] = {}
        for key, value in first.values.items():
            if key not in screening.doubtful:
                values[key] = value
            elif key in passed:
                values[key] = passed[key]
        self.withheld = frozenset(screening.doubtful).difference(passed)
        for key in sorted(self.withheld):
            reason = screening.doubtful[key]
            if reason in _NOT_ALONE:  # told only now: the re-read may have had it right
                self._reject(key, float(first.values[key]), reason, None)  # type: ignore[arg-type]
        self._stuck = self.withheld.intersection(
            key for key in own if screening.doubtful[key] is not Reason.UNCONFIRMED
        )
        self.withheld_counts.update(self.withheld)
        if self.withheld:
            _LOGGER.debug("left out as implausible: %s", ", ".join(sorted(self.withheld)))
        return Reading(values, first.timestamp, first.data)

    # --- judging a whole read, and taking it back -------------------------------------
    def _off(self) -> frozenset[str]:
        return frozenset(self.relations_off)

    def _judge_all(
        self, reading: Reading, mismatched: frozenset[str], at: float
    ) -> dict[str, Reason]:
        doubtful: dict[str, Reason] = {}
        for key, value in reading.values.items():
            saved = self._save() if key in mismatched else None
            reason = self._judge(key, value, at)
            if reason is None and saved is not None and _plain(value):
                # Plausible alone, not beside the others: what it moved is taken back.
                self._undo(saved, {key})
                reason = Reason.MISMATCH
            if reason is not None:
                doubtful[key] = reason
        return doubtful

    def _save(self) -> tuple[dict[str, _Register], dict[str, _Measurement]]:
        registers = {key: replace(item) for key, item in self._registers.items()}
        return registers, {key: replace(item) for key, item in self._measurements.items()}

    def _undo(
        self, saved: tuple[dict[str, _Register], dict[str, _Measurement]], accepted: set[str]
    ) -> None:
        """Take back what values of a damaged read moved (a jump seen stays seen)."""
        registers, measurements = saved
        for key in accepted:
            if key in self._registers:
                if key in registers:
                    self._registers[key] = registers[key]
                else:
                    del self._registers[key]
            if key in self._measurements:
                old = measurements.get(key, _Measurement())
                self._measurements[key] = old

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
        if not (_number(value) and low <= value <= high) or (
            signal.device_class is DeviceClass.FREQUENCY and not self.limits.near_nominal(value)
        ):
            self._reject(key, value, Reason.OUT_OF_RANGE, None)
            return Reason.OUT_OF_RANGE
        return self._judge_measurement(signal, value)

    def _judge_measurement(self, signal: Signal, value: float) -> Reason | None:
        """Within bounds: a value far from the last good one waits for a second read.

        The second read is the re-read of the same poll, or the next poll's read: a
        true change (a load switched on, 3 A to 30 A) is published at most one poll late.
        """
        state = self._measurements.setdefault(signal.key, _Measurement())
        good, jump = state.good, state.jump
        limits = self.limits
        if good is None or not limits.jump(signal, good, value):
            state.good, state.jump = value, None
            return None
        if jump is not None and not limits.jump(signal, jump, value):
            state.good, state.jump = value, None
            return None
        state.jump = value
        self._reject(signal.key, value, Reason.JUMP, good)
        return Reason.JUMP

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
        elif self.single_read:
            return None  # one read is all there is: a finite, positive register passes
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
        if reason not in _NOT_ALONE:  # the read was implausible, not this value alone
            self.rejections[key] += 1
        rejection = Rejection(key, value, reason, reference)
        self.recent.append(rejection)
        self.last_rejections[key] = rejection
        _LOGGER.debug("%s: %s rejected (%s, reference %s)", key, value, reason, reference)


def _number(value: float) -> bool:
    return math.isfinite(value)


def _plain(value: Value) -> bool:
    """A number (what the guard can reject), not a time nor an invalid value."""
    return isinstance(value, int | float)
