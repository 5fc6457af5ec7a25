"""The period of any hour under a Spanish access tariff, read from :mod:`.tables_es`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from . import tables_es as tables
from .model import Period, Tariff, TariffHour, Zone

_HOUR = timedelta(hours=1)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not one of the fixed national holidays of the tariff."""
    return day.weekday() < 5 and (day.month, day.day) not in tables.NON_WORKING_DATES


@dataclass(frozen=True)
class TariffCalendar:
    """One tariff in one zone: which energy and power period an hour falls in."""

    tariff: Tariff
    zone: Zone = Zone.PENINSULA

    @cached_property
    def time_zone(self) -> ZoneInfo:
        """The clock the zone's tables are read in."""
        return ZoneInfo(tables.ZONE_TIME_ZONES[self.zone])

    def local(self, moment: datetime) -> datetime:
        """``moment`` on the zone's clock; a naive time is taken as UTC."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.time_zone)

    def energy_period(self, start: datetime) -> Period:
        """The energy period of the hour (or quarter) that starts at ``start``."""
        return self._periods(self.local(start))[0]

    def power_period(self, start: datetime) -> Period:
        """The power period (contracted power, maxímetro) of the hour at ``start``."""
        return self._periods(self.local(start))[1]

    def hour(self, start: datetime) -> TariffHour:
        """Both periods of the hour that starts at ``start``."""
        energy, power = self._periods(self.local(start))
        return TariffHour(start=start, energy_period=energy, power_period=power)

    def hours(self, first: date, last: date) -> Iterator[TariffHour]:
        """Every hour from local midnight of ``first`` to the end of ``last``.

        Steps are real hours, so a spring-forward day has 23 and an autumn day 25;
        each start is on the zone's clock, with its offset.
        """
        moment = datetime.combine(first, time(), self.time_zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), self.time_zone)
        while moment < end:
            yield self.hour(moment.astimezone(self.time_zone))
            moment += _HOUR

    def _periods(self, local: datetime) -> tuple[Period, Period]:
        working = is_working_day(local.date())
        if self.tariff is Tariff.TD_2_0:
            if not working:
                return (
                    Period.of(tables.NON_WORKING_2_0TD_ENERGY),
                    Period.of(tables.NON_WORKING_2_0TD_POWER),
                )
            energy = int(tables.ENERGY_2_0TD[self.zone][local.hour])
            return Period.of(energy), Period.of(int(tables.POWER_2_0TD[local.hour]))
        period = Period.of(self._six_period(local) if working else tables.NIGHT_PERIOD)
        return period, period

    def _six_period(self, local: datetime) -> int:
        block = tables.BLOCKS[self.zone][local.hour]
        if block == "N":
            return tables.NIGHT_PERIOD
        season = tables.SEASONS[self.zone][local.month - 1]
        peak, shoulder = tables.SEASON_PERIODS[self.zone][season]
        return peak if block == "A" else shoulder
