"""Billing of the simulated meter's contract I: monthly closures and the current period.

A closure ends at local midnight of the 1st of each month and carries, for the total
(object 20) and every tariff period P1..P6 (21..26, P4..P6 empty), the registers at its
end, the energy within it, the highest quarter-hour demand with its time and the power
above the contracted one. Everything comes from the same history as the load profile:
the three periods' registers add up to the profile's A+, R1 and R4 registers exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from custom_components.iec_meter.core.iec102.asdu.billing import (
    BillingObject,
    ContractedPowers,
    Energy,
)
from custom_components.iec_meter.core.iec102.constants import BILLING_PERIODS, BILLING_TOTAL_OBJECT

from .history import HOUR, EnergyHistory, Peak, floor_to, local_midnight
from .tariff import CONTRACTED_SINCE, contracted_kw

_NO_ENERGY: Final = Energy(0, 0)
_MONTHS: Final = 12


def _next_month(day: date) -> date:
    """The 1st of the month after ``day``'s."""
    if day.month == _MONTHS:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def _previous_month(day: date) -> date:
    """The 1st of the month before ``day``'s."""
    if day.month == 1:
        return date(day.year - 1, _MONTHS, 1)
    return date(day.year, day.month - 1, 1)


class BillingBook:
    """The billing information of contract I, computed from the meter's history."""

    def __init__(self, history: EnergyHistory) -> None:
        """Bills drawn from ``history``."""
        self.history = history

    def contracted_powers(self) -> ContractedPowers:
        """Contracted power (kW) of P1..P3 and since when it applies."""
        since = datetime(*CONTRACTED_SINCE, tzinfo=self.history.tz)
        return ContractedPowers(self._contracted(), since)

    def _contracted(self) -> dict[int, int]:
        return contracted_kw(self.history.params.peak_load_kw)

    def closure_ends(self, start: datetime, end: datetime, now: datetime) -> list[datetime]:
        """Ends (UTC) of the kept closures that lie in [start, end], oldest first.

        A closure is kept when its whole billing period lies in the history.
        """
        tz = self.history.tz
        kept = self.history.start(now)
        day = kept.astimezone(tz).date()
        first = day if day.day == 1 and local_midnight(day, tz) == kept else _next_month(day)
        ends: list[datetime] = []
        month = _next_month(first)
        while (closing := local_midnight(month, tz)) <= now:
            if start <= closing <= end:
                ends.append(closing)
            month = _next_month(month)
        return ends

    def closure(self, end: datetime) -> list[BillingObject]:
        """The objects of the closure ending at ``end`` (a closure end)."""
        tz = self.history.tz
        opened = local_midnight(_previous_month(end.astimezone(tz).date()), tz)
        return self._objects(opened, end, end)

    def current(self, now: datetime) -> list[BillingObject]:
        """The objects of the open billing period: last closure to last complete hour."""
        tz = self.history.tz
        opened = local_midnight(now.astimezone(tz).date().replace(day=1), tz)
        start = max(opened, self.history.origin)
        until = max(floor_to(now, HOUR), start)
        return self._objects(start, until, None)

    def _objects(
        self, start: datetime, until: datetime, end: datetime | None
    ) -> list[BillingObject]:
        """Total and P1..P6 of [start, until); ``end`` is the date the objects show."""
        history = self.history
        at_start, at_end = history.tariff_registers(start), history.tariff_registers(until)
        peaks = history.peaks(start, until)
        contracted = self._contracted()
        objects: dict[int, BillingObject] = {}
        for period in range(1, BILLING_PERIODS + 1):
            if period not in at_end:
                objects[period] = _empty(period, start, end)
                continue
            before, after = at_start[period], at_end[period]
            active, inductive, capacitive = (
                Energy(a, a - b) for a, b in zip(after, before, strict=True)
            )
            demand, demand_time = _demand(peaks[period])
            objects[period] = BillingObject(
                address=BILLING_TOTAL_OBJECT + period,
                active=active,
                inductive=inductive,
                capacitive=capacitive,
                max_demand=demand,
                max_demand_time=demand_time,
                max_demand_qualifier=0,
                excess_power=max(0, demand - contracted[period]),
                excess_power_qualifier=0,
                start=start,
                end=end,
            )
        return [_total(list(objects.values()), peaks, start, end), *objects.values()]


def _demand(peak: Peak) -> tuple[int, datetime | None]:
    """Max demand in whole kW and the end of its quarter (None when nothing was drawn)."""
    if peak.end is None:
        return 0, None
    return round(peak.kw), peak.end.astimezone(UTC)


def _empty(period: int, start: datetime, end: datetime | None) -> BillingObject:
    """A tariff period the contract does not use: every value zero."""
    return BillingObject(
        address=BILLING_TOTAL_OBJECT + period,
        active=_NO_ENERGY,
        inductive=_NO_ENERGY,
        capacitive=_NO_ENERGY,
        max_demand=0,
        max_demand_time=None,
        max_demand_qualifier=0,
        excess_power=0,
        excess_power_qualifier=0,
        start=start,
        end=end,
    )


def _total(
    objects: list[BillingObject], peaks: dict[int, Peak], start: datetime, end: datetime | None
) -> BillingObject:
    """Object 20: energies and excess power summed over the periods, the highest demand."""

    def summed(kind: str) -> Energy:
        energies = [getattr(item, kind) for item in objects]
        return Energy(sum(e.absolute for e in energies), sum(e.increment for e in energies))

    drawn = [peak for peak in peaks.values() if peak.end is not None]
    demand, demand_time = _demand(max(drawn, key=lambda peak: peak.kw, default=Peak()))
    return BillingObject(
        address=BILLING_TOTAL_OBJECT,
        active=summed("active"),
        inductive=summed("inductive"),
        capacitive=summed("capacitive"),
        max_demand=demand,
        max_demand_time=demand_time,
        max_demand_qualifier=0,
        excess_power=sum(item.excess_power for item in objects),
        excess_power_qualifier=0,
        start=start,
        end=end,
    )
