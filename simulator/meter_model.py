"""Plausible electrical values of a home or small business over the day.

Powers follow a daily load shape (night base load, morning and evening peaks) minus a
solar array that exports around midday; energy registers grow with the power drawn or
exported; voltages wander around 230 V. Everything is derived from the clock and a
seeded generator, so a run can be repeated.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        """Seed the generator."""
        self._random = random.Random(self.seed)

    def load_kw(self, when: datetime) -> float:
        """Household consumption at ``when`` (local time of day)."""
        hour = when.hour + when.minute / 60.0
        morning = math.exp(-(((hour - 8.0) / 1.2) ** 2))
        evening = math.exp(-(((hour - 20.5) / 1.8) ** 2))
        shape = 0.12 + 0.35 * morning + 0.8 * evening
        return self.peak_load_kw * shape * (0.9 + 0.2 * self._random.random())

    def solar_kw(self, when: datetime) -> float:
        """Solar production at ``when``: a sine between sunrise and sunset."""
        hour = when.hour + when.minute / 60.0
        start, end = _DAYLIGHT
        if not start < hour < end:
            return 0.0
        return self.peak_solar_kw * math.sin(math.pi * (hour - start) / (end - start))

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
        self._integrate(when, total_p, total_q)
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
