"""The profile against the meter's own billing closures, per month and period.

A meter's monthly closure holds the energy per tariff period that the utility bills.
Summing the load profile's hours of that month per period (by the tariff calendar)
should give the same figures; a difference means hours the meter never filled, hours it
flagged and we left out, or a clock change that moved hours across a period boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from .calendar import TariffCalendar
from .model import Period

#: A period whose profile sum is this far (%) from its closure is worth a repair.
ALERT_PERCENT: Final = 1.0


@dataclass(frozen=True, slots=True)
class PeriodDifference:
    """One period of one closed month: what the profile sums to, what the meter billed."""

    month: date
    period: Period
    profile_kwh: float
    billed_kwh: float

    @property
    def difference_kwh(self) -> float:
        """Profile minus closure: negative when the profile misses energy."""
        return self.profile_kwh - self.billed_kwh

    @property
    def percent(self) -> float | None:
        """The difference as a share of the billed energy (None when nothing was billed)."""
        if self.billed_kwh == 0:
            return None
        return 100.0 * self.difference_kwh / self.billed_kwh

    @property
    def alarming(self) -> bool:
        """Above :data:`ALERT_PERCENT`, or energy in the profile where none was billed."""
        percent = self.percent
        if percent is None:
            return self.profile_kwh > 0
        return abs(percent) > ALERT_PERCENT


def profile_by_period(
    calendar: TariffCalendar, hours: Iterable[tuple[datetime, float]]
) -> dict[tuple[date, Period], float]:
    """Energy per (local month, energy period) of hourly (start, kWh) rows."""
    sums: dict[tuple[date, Period], float] = {}
    for start, kwh in hours:
        local = calendar.local(start)
        key = (date(local.year, local.month, 1), calendar.energy_period(start))
        sums[key] = sums.get(key, 0.0) + kwh
    return sums


def reconcile(
    calendar: TariffCalendar,
    hours: Iterable[tuple[datetime, float]],
    closures: Mapping[tuple[date, Period], float],
) -> list[PeriodDifference]:
    """Each closed (month, period) against the profile's sum, in time and period order.

    Only the months and periods the closures name are compared: a month still open has
    no closure yet.
    """
    sums = profile_by_period(calendar, hours)
    return [
        PeriodDifference(month, period, sums.get((month, period), 0.0), billed)
        for (month, period), billed in sorted(closures.items())
    ]
