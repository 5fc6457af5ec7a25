"""The meter's own records, whatever the protocol: load profile and billing periods.

A live reading says what the meter shows now; records say what it stored: the energy
of each integration period (the load profile, "curva de carga") and the closures of
each billing period per tariff period (what a bill is made of). Times are aware
datetimes; energies are kWh or kvarh, powers kW, as the meter stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Final


class ProfileKind(StrEnum):
    """Integration periods a meter may keep a profile of."""

    HOURLY = "hourly"
    QUARTER_HOURLY = "quarter-hourly"
    DAILY = "daily"

    @property
    def period(self) -> timedelta:
        """Length of one integration period."""
        return _PERIODS[self]

    def advance(self, when: datetime, tz: tzinfo, periods: int = 1) -> datetime:
        """The period end ``periods`` integration periods after ``when``, in ``tz``.

        Hours and quarters are counted in elapsed time: the wall clock repeats an hour
        in October, and wall-clock arithmetic on an aware datetime (what Python does
        when both sides share a zone) would skip the second one. Days are counted in
        calendar days of the meter's zone, as a daily period ends at local midnight
        and lasts 23 or 25 hours when the time changes.
        """
        if self is ProfileKind.DAILY:
            local = when.astimezone(tz).replace(tzinfo=None) + timedelta(days=periods)
            # Through UTC so that a wall time in the spring gap becomes a real instant.
            return local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
        return (when.astimezone(UTC) + self.period * periods).astimezone(tz)


_PERIODS: Final = {
    ProfileKind.HOURLY: timedelta(hours=1),
    ProfileKind.QUARTER_HOURLY: timedelta(minutes=15),
    ProfileKind.DAILY: timedelta(days=1),
}


class PeriodFlag(StrEnum):
    """What the meter says about the quality of a stored value."""

    INVALID = "invalid"
    ADJUSTED = "adjusted"
    OVERFLOW = "overflow"
    TIME_SYNC = "time_sync"
    PARAMETER_CHANGE = "parameter_change"
    INTRUSION = "intrusion"
    INCOMPLETE = "incomplete"


#: Flags that make a period's value unfit for statistics (never written, never zeroed).
UNUSABLE_FLAGS: Final = frozenset({PeriodFlag.INVALID, PeriodFlag.INCOMPLETE})

#: The energy series of a profile, in the order the meters store them (kWh, kvarh).
PROFILE_SERIES: Final = (
    "active_energy_import",
    "active_energy_export",
    "reactive_energy_q1",
    "reactive_energy_q2",
    "reactive_energy_q3",
    "reactive_energy_q4",
)
#: Unit of each profile series.
SERIES_UNITS: Final = {
    key: "kWh" if key.startswith("active") else "kvarh" for key in PROFILE_SERIES
}


@dataclass(frozen=True, slots=True)
class ProfilePeriod:
    """One integration period of a load profile.

    ``values`` maps a series of :data:`PROFILE_SERIES` to its energy; a series the meter
    flags invalid maps to None, one it did not send is absent. ``flags`` holds each
    series' flags (a series without flags may be absent).
    """

    end: datetime
    values: Mapping[str, float | None]
    flags: Mapping[str, frozenset[PeriodFlag]] = field(default_factory=dict)

    @property
    def all_flags(self) -> frozenset[PeriodFlag]:
        """Every flag set on any series of the period."""
        return frozenset().union(*self.flags.values())

    def usable(self, series: str) -> float | None:
        """The series' energy if it is fit for statistics, else None."""
        value = self.values.get(series)
        if value is None or self.flags.get(series, frozenset()) & UNUSABLE_FLAGS:
            return None
        return value


#: ``period`` of the totals over every tariff period.
BILLING_TOTAL: Final = 0
#: Highest tariff period (P6).
MAX_TARIFF_PERIOD: Final = 6
#: Contracts a meter may bill (I, II, III).
CONTRACTS: Final = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """One tariff period (or the total, period 0) of one billing period of a contract.

    Energies are the register at the period's end (absolute) and the energy within the
    billing period (increment). None is a value the meter flags invalid, or a date it
    leaves empty.
    """

    contract: int
    period: int
    start: datetime | None
    end: datetime | None
    active_energy: float | None
    active_energy_increment: float | None
    reactive_inductive_energy: float | None
    reactive_inductive_energy_increment: float | None
    reactive_capacitive_energy: float | None
    reactive_capacitive_energy_increment: float | None
    max_demand: float | None
    max_demand_time: datetime | None
    excess_power: float | None

    @property
    def in_use(self) -> bool:
        """The tariff period holds something (a tariff's unused periods are all zero)."""
        return any(
            value
            for value in (
                self.active_energy,
                self.active_energy_increment,
                self.reactive_inductive_energy,
                self.reactive_capacitive_energy,
                self.max_demand,
            )
        )


#: Keys of a :class:`BillingPeriod` as the ``read --billing --json`` contract spells them.
BILLING_FIELDS: Final = (
    "contract",
    "period",
    "start",
    "end",
    "active_energy",
    "active_energy_increment",
    "reactive_inductive_energy",
    "reactive_inductive_energy_increment",
    "reactive_capacitive_energy",
    "reactive_capacitive_energy_increment",
    "max_demand",
    "max_demand_time",
    "excess_power",
)
