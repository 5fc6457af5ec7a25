"""The meter's own past: the energy of every quarter hour since its history began.

The live values come from a stateful generator, but what a meter stored must not
depend on the order it is asked in: each quarter hour's energy here is a pure function
of the seed and the quarter's start (noise from a hash, never from a shared generator),
drawn with the live model's load and solar shapes. The registers are running sums from
the history's origin, where they equal the model's starting registers; the live totals
are the register at the last complete hour plus the energy since, so records and live
values agree. Days are computed on demand and cached per process, shared by every
meter with the same load parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import functools
import math
from typing import Final

from .meter_model import LOAD_NOISE_SPREAD, MeterModel, hour_of_day, load_shape, solar_shape
from .tariff import BASE_SHARES, PERIODS, tariff_period

QUARTER: Final = timedelta(minutes=15)
HOUR: Final = timedelta(hours=1)
DAY: Final = timedelta(days=1)
_QUARTER_HOURS: Final = QUARTER / HOUR
_QUARTERS_PER_HOUR: Final = HOUR // QUARTER

#: Energy series of a register tuple, in the order of the integrated totals 1..6.
SERIES: Final = 6
IMPORT, EXPORT, Q1, Q2, Q3, Q4 = range(SERIES)
#: Series a tariff period books: active import, inductive (R1) and capacitive (R4).
TARIFF_SERIES: Final = (IMPORT, Q1, Q4)
#: Accounts kept per quarter: the six series, then TARIFF_SERIES for each tariff period.
_ACCOUNTS: Final = SERIES + len(PERIODS) * len(TARIFF_SERIES)

#: Appliances (oven, washing machine) that switch on now and then in waking hours.
_APPLIANCE_KW: Final = 2.0
_APPLIANCE_CHANCE: Final = 0.04
_WAKING_HOURS: Final = (7.0, 23.0)
#: Reactive power per kW of net active power (as the live model), and the capacitive
#: draw of electronics that shows as R4 when the net import is small.
_REACTIVE_PER_KW: Final = math.tan(math.acos(0.95)) * 0.8
_CAPACITIVE_KVAR: Final = 0.15
#: On the cloudiest day the solar output is this share of a clear day's.
_CLOUDIEST: Final = 0.35
#: Days whose quarters stay cached (a served range walks days in order).
_DETAIL_CACHE_DAYS: Final = 64
#: Days whose totals and peaks stay cached (a few years for a few meters).
_SUMMARY_CACHE_DAYS: Final = 16_384
#: The integer mix behind the noise (see :func:`_units`).
_MASK: Final = (1 << 64) - 1
_HALF_BITS: Final = 32
_HALF_MASK: Final = (1 << _HALF_BITS) - 1
_UNIT: Final = 2.0**-_HALF_BITS
_MIX_SEED: Final = 0x9E3779B97F4A7C15
_MIX_KIND: Final = 0xD1B54A32D192ED03
_MIX_MULTIPLIERS: Final = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_MIX_SHIFTS: Final = (30, 27, 31)
#: What the noise is for (the ``kind`` of :func:`_units`).
_LOAD_NOISE: Final = 1
_CLOUD_NOISE: Final = 2
_ZERO: Final = (0.0,) * _ACCOUNTS
_HOURS_PER_DAY: Final = 24
_WEEKDAYS: Final = 7
#: Tariff period of each local hour, for each weekday (0 = Monday).
_TARIFF_HOURS: Final = tuple(
    tuple(tariff_period(weekday, hour) for hour in range(_HOURS_PER_DAY))
    for weekday in range(_WEEKDAYS)
)
#: First account of each tariff period, among the tariff accounts and among all.
_SPLIT_COLUMNS: Final = {period: index * len(TARIFF_SERIES) for index, period in enumerate(PERIODS)}
_COLUMNS: Final = {period: SERIES + column for period, column in _SPLIT_COLUMNS.items()}


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The instant (in UTC) a local day starts."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def floor_to(when: datetime, step: timedelta) -> datetime:
    """``when`` in UTC, rounded down to a multiple of ``step`` since the epoch."""
    utc = when.astimezone(UTC)
    return utc - (utc - datetime(1970, 1, 1, tzinfo=UTC)) % step


def _units(seed: int, kind: int, key: int) -> tuple[float, float]:
    """Two numbers in [0, 1) fixed by (seed, kind, key): noise that needs no state.

    The keys are spread over a 64-bit word and put through the SplitMix64 finaliser
    (xor-shifts and odd multipliers, Steele, Lea and Flood, OOPSLA 2014): cheap enough
    for every quarter hour of a year, and the same on every platform and Python.
    """
    mixed = (seed * _MIX_SEED + kind * _MIX_KIND + key) & _MASK
    mixed = ((mixed ^ (mixed >> _MIX_SHIFTS[0])) * _MIX_MULTIPLIERS[0]) & _MASK
    mixed = ((mixed ^ (mixed >> _MIX_SHIFTS[1])) * _MIX_MULTIPLIERS[1]) & _MASK
    mixed ^= mixed >> _MIX_SHIFTS[2]
    return (mixed >> _HALF_BITS) * _UNIT, (mixed & _HALF_MASK) * _UNIT


@dataclass(frozen=True, slots=True)
class LoadParams:
    """What a history's energies depend on (the key of the day caches)."""

    seed: int
    peak_load_kw: float
    peak_solar_kw: float
    tz: tzinfo

    @classmethod
    def of(cls, model: MeterModel, tz: tzinfo) -> LoadParams:
        """The parameters of a live model."""
        return cls(model.seed, model.peak_load_kw, model.peak_solar_kw, tz)


def _shapes(middle: float) -> tuple[float, float, bool]:
    """Load and solar shares, and whether the household is awake, at a time of day."""
    awake = _WAKING_HOURS[0] <= middle < _WAKING_HOURS[1]
    return load_shape(middle), solar_shape(middle), awake


#: The shapes at the middle of each quarter of a day without a clock change.
_QUARTER_SHAPES: Final = tuple(
    _shapes((index + 0.5) * _QUARTER_HOURS) for index in range(round(DAY / QUARTER))
)


def _quarter(
    params: LoadParams, start: int, shapes: tuple[float, float, bool], cloud: float
) -> tuple[float, ...]:
    """Energies (kWh, kvarh) of A+, A-, R1, R3 and R4 in the quarter starting at ``start``.

    ``start`` is the quarter's start in seconds since the epoch, ``shapes`` the load
    and solar shares at its middle. R2 stays empty: this household never exports with
    the reactive power positive.
    """
    noise, appliance = _units(params.seed, _LOAD_NOISE, start)
    load_share, solar_share, awake = shapes
    factor = 1.0 - LOAD_NOISE_SPREAD + 2 * LOAD_NOISE_SPREAD * noise
    load = params.peak_load_kw * load_share * factor
    if awake and appliance < _APPLIANCE_CHANCE:
        load += _APPLIANCE_KW
    net = (load - params.peak_solar_kw * solar_share * cloud) * _QUARTER_HOURS
    reactive = net * _REACTIVE_PER_KW - _CAPACITIVE_KVAR * _QUARTER_HOURS
    if net < 0:
        # Exporting with the reactive power negative: quadrant 3, as the live model.
        return 0.0, -net, 0.0, -reactive, 0.0
    if reactive >= 0:
        return net, 0.0, reactive, 0.0, 0.0
    return net, 0.0, 0.0, 0.0, -reactive


@dataclass(frozen=True, slots=True)
class Day:
    """The quarters of one local day: tariff period and running sums of every account."""

    start: datetime
    tariffs: tuple[int, ...]
    #: ``running[k]``: the accounts summed over the quarters before quarter ``k``.
    running: tuple[tuple[float, ...], ...]

    @property
    def end(self) -> datetime:
        """The instant the next local day starts."""
        return self.start + QUARTER * len(self.tariffs)

    def import_kw(self, index: int) -> float:
        """Average active import power (kW) of quarter ``index``."""
        energy = self.running[index + 1][IMPORT] - self.running[index][IMPORT]
        return energy / _QUARTER_HOURS

    def quarter_end(self, index: int) -> datetime:
        """The end of quarter ``index``."""
        return self.start + QUARTER * (index + 1)


@functools.lru_cache(maxsize=_DETAIL_CACHE_DAYS)
def day_detail(params: LoadParams, day: date) -> Day:
    """Every quarter of the local day ``day`` (92, 96 or 100 of them)."""
    tz = params.tz
    start = local_midnight(day, tz)
    count = (local_midnight(day + DAY, tz) - start) // QUARTER
    steady = count * QUARTER == DAY
    cloud = _CLOUDIEST + (1.0 - _CLOUDIEST) * _units(params.seed, _CLOUD_NOISE, day.toordinal())[0]
    hours = _TARIFF_HOURS[day.weekday()]
    first = int(start.timestamp())
    quarter_seconds = int(QUARTER.total_seconds())
    tariffs: list[int] = []
    running = [_ZERO]
    totals = [0.0] * SERIES
    split = [0.0] * (_ACCOUNTS - SERIES)
    for index in range(count):
        if steady:
            hour, shapes = index // _QUARTERS_PER_HOUR, _QUARTER_SHAPES[index]
        else:
            # On the two days the clocks change, the wall time is read from the zone.
            wall = hour_of_day((start + QUARTER * index).astimezone(tz))
            hour, shapes = int(wall), _shapes(wall + _QUARTER_HOURS / 2)
        period = hours[hour]
        imported, exported, q1, q3, q4 = _quarter(
            params, first + index * quarter_seconds, shapes, cloud
        )
        totals[IMPORT] += imported
        totals[EXPORT] += exported
        totals[Q1] += q1
        totals[Q3] += q3
        totals[Q4] += q4
        column = _SPLIT_COLUMNS[period]  # TARIFF_SERIES: A+, R1, R4
        split[column] += imported
        split[column + 1] += q1
        split[column + 2] += q4
        tariffs.append(period)
        running.append((*totals, *split))
    return Day(start, tuple(tariffs), tuple(running))


@dataclass(frozen=True, slots=True)
class Peak:
    """The highest quarter-hour average import power and the end of its quarter."""

    kw: float = 0.0
    end: datetime | None = None

    def higher(self, kw: float, end: datetime) -> Peak:
        """This peak, or a strictly higher one (the earliest of equal peaks stays)."""
        return Peak(kw, end) if kw > self.kw else self


@dataclass(frozen=True, slots=True)
class DaySummary:
    """What a day adds to the registers, and its peak in each tariff period."""

    total: tuple[float, ...]
    peaks: dict[int, Peak]


@functools.lru_cache(maxsize=_SUMMARY_CACHE_DAYS)
def day_summary(params: LoadParams, day: date) -> DaySummary:
    """The totals and peaks of one local day."""
    detail = day_detail(params, day)
    return DaySummary(detail.running[-1], _peaks(detail, 0, len(detail.tariffs)))


def _peaks(detail: Day, first: int, stop: int) -> dict[int, Peak]:
    """The peak of each tariff period over quarters ``first`` to ``stop`` (excluded)."""
    best: dict[int, tuple[float, int]] = {}
    for index in range(first, stop):
        period = detail.tariffs[index]
        power = detail.import_kw(index)
        if period not in best or power > best[period][0]:
            best[period] = (power, index)
    peaks = {period: Peak() for period in PERIODS}
    for period, (power, index) in best.items():
        peaks[period] = Peak(power, detail.quarter_end(index))
    return peaks


def _split(base: Sequence[float]) -> dict[int, tuple[int, ...]]:
    """The starting registers of TARIFF_SERIES shared out over the tariff periods.

    Whole numbers that add up to the rounded starting register; the last period
    takes what the others leave.
    """
    split: dict[int, tuple[int, ...]] = {}
    for period in PERIODS:
        if period in BASE_SHARES:
            split[period] = tuple(
                round(base[series] * BASE_SHARES[period]) for series in TARIFF_SERIES
            )
        else:
            split[period] = tuple(
                round(base[series]) - sum(split[other][index] for other in split)
                for index, series in enumerate(TARIFF_SERIES)
            )
    return split


class EnergyHistory:
    """Registers, tariff sums and peaks of one meter from its origin on."""

    def __init__(self, params: LoadParams, base: Sequence[float], origin: date, days: int) -> None:
        """A history whose registers equal ``base`` at local midnight of ``origin``."""
        self.params = params
        self.base = tuple(base)
        self._tariff_base = _split(self.base)
        self.origin_day = origin
        #: The history's first instant (UTC): nothing before it is kept or served.
        self.origin = local_midnight(origin, params.tz)
        #: How many days back from the clock the meter keeps its records.
        self.days = days
        self._prefix: list[tuple[float, ...]] = [_ZERO]

    @classmethod
    def for_model(cls, model: MeterModel, tz: tzinfo, now: datetime, days: int) -> EnergyHistory:
        """The history of ``model``, ``days`` days back from ``now``'s local day."""
        base = (model.energy_import_kwh, model.energy_export_kwh, *model.reactive_kvarh)
        today = now.astimezone(tz).date()
        return cls(LoadParams.of(model, tz), base, today - timedelta(days=days), days)

    @property
    def tz(self) -> tzinfo:
        """The meter's zone."""
        return self.params.tz

    def start(self, now: datetime) -> datetime:
        """The first instant whose records the meter still keeps at ``now`` (UTC)."""
        today = now.astimezone(self.tz).date()
        return max(self.origin, local_midnight(today - timedelta(days=self.days), self.tz))

    def accounts(self, when: datetime) -> tuple[float, ...]:
        """Every account summed from the origin to ``when`` (a part quarter pro rata)."""
        if when <= self.origin:
            return _ZERO
        day = when.astimezone(self.tz).date()
        before = self._prefix_until(day)
        detail = day_detail(self.params, day)
        whole, rest = divmod(when - detail.start, QUARTER)
        sums = detail.running[whole]
        if rest:
            share = rest / QUARTER
            after = detail.running[whole + 1]
            sums = tuple(s + (a - s) * share for s, a in zip(sums, after, strict=True))
        return tuple(b + s for b, s in zip(before, sums, strict=True))

    def register(self, when: datetime) -> tuple[int, ...]:
        """The six integer registers (kWh, kvarh) at ``when``.

        A+, R1 and R4 are the sums of their tariff registers, so a bill's total is
        the profile's register exactly.
        """
        sums = self.accounts(when)
        registers = [round(base + sums[series]) for series, base in enumerate(self.base)]
        by_period = self._tariff_registers(sums)
        for index, series in enumerate(TARIFF_SERIES):
            registers[series] = sum(values[index] for values in by_period.values())
        return tuple(registers)

    def tariff_registers(self, when: datetime) -> dict[int, tuple[int, ...]]:
        """The registers of TARIFF_SERIES (A+, R1, R4) of each tariff period at ``when``."""
        return self._tariff_registers(self.accounts(when))

    def _tariff_registers(self, sums: tuple[float, ...]) -> dict[int, tuple[int, ...]]:
        # Each rounded on its own: every tariff register grows, never steps back.
        return {
            period: tuple(
                round(base + sums[_COLUMNS[period] + index])
                for index, base in enumerate(self._tariff_base[period])
            )
            for period in PERIODS
        }

    def live(self, when: datetime) -> tuple[float, ...]:
        """Live totals: the register at the last complete hour plus the energy since."""
        hour = max(floor_to(when, HOUR), self.origin)
        then, now = self.accounts(hour), self.accounts(when)
        return tuple(
            register + (now[series] - then[series])
            for series, register in enumerate(self.register(hour))
        )

    def peaks(self, start: datetime, end: datetime) -> dict[int, Peak]:
        """The peak of each tariff period over the quarters within [start, end)."""
        start = max(start, self.origin)
        peaks = {period: Peak() for period in PERIODS}
        day = start.astimezone(self.tz).date()
        while (day_start := local_midnight(day, self.tz)) < end:
            detail = day_detail(self.params, day)
            if start <= day_start and detail.end <= end:
                found = day_summary(self.params, day).peaks
            else:
                first = max(0, -((day_start - start) // QUARTER))
                stop = min(len(detail.tariffs), (end - day_start) // QUARTER)
                found = _peaks(detail, first, stop)
            for period, peak in found.items():
                if peak.end is not None:
                    peaks[period] = peaks[period].higher(peak.kw, peak.end)
            day += DAY
        return peaks

    def _prefix_until(self, day: date) -> tuple[float, ...]:
        """The accounts summed over the days from the origin up to ``day`` (excluded)."""
        index = (day - self.origin_day).days
        while len(self._prefix) <= index:
            summary = day_summary(self.params, self.origin_day + DAY * (len(self._prefix) - 1))
            self._prefix.append(
                tuple(a + b for a, b in zip(self._prefix[-1], summary.total, strict=True))
            )
        return self._prefix[index]
