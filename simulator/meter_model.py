"""Plausible electrical values of a home or small business over the day.

Powers follow a daily load shape (night base load, morning and evening peaks) minus a
solar array that exports around midday; energy registers grow with the power drawn or
exported; voltages wander around 230 V. Everything is derived from the clock and a
seeded generator, so a run can be repeated.

The shapes are pure functions of the time of day, so the meter's stored history
(:mod:`.history`) draws the same curves with noise of its own. A meter with a history
hands the model its ``registers``: the energy totals are then the history's registers
plus the energy since, instead of the model's own integration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import math
import random

from custom_components.iec_meter.core.iec102.asdu import InstantValues, PhaseBlock, PowerBlock

_HOURS_PER_DAY = 24.0
_NOMINAL_VOLTAGE = 230.0
_PHASE_SHARE = (0.42, 0.33, 0.25)
_DAYLIGHT = (7.5, 19.5)
_POWER_FACTOR_LOAD = 0.95
_DECI = 10
_MILLI = 1000
_MINUTES_PER_HOUR = 60.0
#: Energy registers a meter keeps: A+, A-, R1..R4.
_REGISTERS = 6
#: Share of the load that runs around the clock (fridge, standby).
_BASE_SHARE = 0.12
#: Morning and evening peaks: (share of the peak load, hour, width in hours).
_MORNING = (0.35, 8.0, 1.2)
_EVENING = (0.8, 20.5, 1.8)
#: The live noise: the load is scaled by a factor in [1 - spread, 1 + spread].
LOAD_NOISE_SPREAD = 0.1


def hour_of_day(when: datetime) -> float:
    """Local wall time as hours since midnight (``when`` in the meter's zone)."""
    return when.hour + when.minute / _MINUTES_PER_HOUR


def load_shape(hour: float) -> float:
    """Household load at ``hour`` of the day, as a share of the peak load (no noise)."""
    shape = _BASE_SHARE
    for share, centre, width in (_MORNING, _EVENING):
        shape += share * math.exp(-(((hour - centre) / width) ** 2))
    return shape


def solar_shape(hour: float) -> float:
    """Solar output at ``hour`` as a share of the peak: a sine from sunrise to sunset."""
    start, end = _DAYLIGHT
    if not start < hour < end:
        return 0.0
    return math.sin(math.pi * (hour - start) / (end - start))


@dataclass
class MeterModel:
    """State of one simulated meter's measurements."""

    #: Peak household load (kW) and peak solar output (kW); 0 disables solar.
    peak_load_kw: float = 6.0
    peak_solar_kw: float = 4.0
    three_phase: bool = True
    seed: int = 1
    energy_import_kwh: float = 12_345.0
    energy_export_kwh: float = 2_345.0
    reactive_kvarh: list[float] = field(default_factory=lambda: [3_456.0, 120.0, 80.0, 900.0])
    _random: random.Random = field(init=False, repr=False)
    _last: datetime | None = field(default=None, init=False, repr=False)
    _voltage: list[float] = field(default_factory=lambda: [230.0, 231.0, 229.0], repr=False)
    #: The energy registers (A+, A-, R1..R4) at a time, when a history keeps them.
    registers: Callable[[datetime], Sequence[float]] | None = field(default=None, repr=False)
    #: What the history's registers last gave, and the hand adjustments made since.
    _taken: tuple[float, ...] | None = field(default=None, init=False, repr=False)
    _adjustments: list[float] = field(
        default_factory=lambda: [0.0] * _REGISTERS, init=False, repr=False
    )

    def __post_init__(self) -> None:
        """Seed the generator."""
        self._random = random.Random(self.seed)

    def load_kw(self, when: datetime) -> float:
        """Household consumption at ``when`` (local time of day), with live noise."""
        noise = 1.0 - LOAD_NOISE_SPREAD + 2 * LOAD_NOISE_SPREAD * self._random.random()
        return self.peak_load_kw * load_shape(hour_of_day(when)) * noise

    def solar_kw(self, when: datetime) -> float:
        """Solar production at ``when``: a sine between sunrise and sunset."""
        return self.peak_solar_kw * solar_shape(hour_of_day(when))

    def sample(self, when: datetime) -> InstantValues:
        """Advance the registers to ``when`` and return the instantaneous objects."""
        load = self.load_kw(when)
        solar = self.solar_kw(when)
        shares = _PHASE_SHARE if self.three_phase else (1.0, 0.0, 0.0)
        # Solar feeds L1 (a single-phase inverter, the usual home case).
        phase_p = [load * share for share in shares]
        phase_p[0] -= solar
        phase_q = [abs(p) * math.tan(math.acos(_POWER_FACTOR_LOAD)) * 0.8 for p in phase_p]
        phase_q = [q if p >= 0 else -q for p, q in zip(phase_p, phase_q, strict=True)]
        total_p = sum(phase_p)
        total_q = sum(phase_q)
        if self.registers is None:
            self._integrate(when, total_p, total_q)
        else:
            self._take_registers(self.registers(when))
        for index in range(3):
            self._voltage[index] += self._random.uniform(-0.6, 0.6)
            self._voltage[index] += (_NOMINAL_VOLTAGE - self._voltage[index]) * 0.1
        powers = [_power_block(total_p, total_q)]
        phases = []
        for index in range(3):
            present = self.three_phase or index == 0
            powers.append(_power_block(phase_p[index], phase_q[index], invalid=not present))
            apparent = math.hypot(phase_p[index], phase_q[index])
            volts = self._voltage[index]
            amps = apparent * 1000.0 / volts
            phases.append(
                PhaseBlock(
                    current_deciamps=round(amps * _DECI),
                    voltage_decivolts=round(volts * _DECI),
                    invalid=not present,
                )
            )
        energy = (
            int(self.energy_import_kwh),
            int(self.energy_export_kwh),
            *(int(value) for value in self.reactive_kvarh),
        )
        return InstantValues(
            energy=energy, powers=tuple(powers), phases=tuple(phases), timestamp=when
        )

    def _take_registers(self, registers: Sequence[float]) -> None:
        """Energy totals from the history (which counts every quarter hour itself).

        A register set by hand since the last sample (a test's glitch, a counter
        adjusted) moves by that much and keeps counting from there.
        """
        current = (self.energy_import_kwh, self.energy_export_kwh, *self.reactive_kvarh)
        if self._taken is not None:
            for index, (now, before) in enumerate(zip(current, self._taken, strict=True)):
                self._adjustments[index] += now - before
        self._taken = tuple(
            value + adjustment
            for value, adjustment in zip(registers, self._adjustments, strict=True)
        )
        imported, exported, *reactive = self._taken
        self.energy_import_kwh = imported
        self.energy_export_kwh = exported
        self.reactive_kvarh = list(reactive)

    def _integrate(self, when: datetime, power: float, reactive: float) -> None:
        last, self._last = self._last, when
        if last is None or when <= last:
            return
        hours = min((when - last) / timedelta(hours=1), _HOURS_PER_DAY)
        if power >= 0:
            self.energy_import_kwh += power * hours
        else:
            self.energy_export_kwh += -power * hours
        quadrant = (0 if reactive >= 0 else 3) if power >= 0 else (1 if reactive >= 0 else 2)
        self.reactive_kvarh[quadrant] += abs(reactive) * hours


def _power_block(power: float, reactive: float, invalid: bool = False) -> PowerBlock:
    apparent = math.hypot(power, reactive)
    factor = abs(power) / apparent if apparent else 1.0
    return PowerBlock(
        active=round(abs(power)),
        reactive=round(abs(reactive)),
        power_factor_milli=round(factor * _MILLI),
        exporting=power < 0,
        reactive_negative=reactive < 0,
        invalid=invalid,
    )
