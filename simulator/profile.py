"""The load-profile records a simulated meter keeps: which periods exist, and their totals.

Three registers (hourly 11, quarter-hourly 12, daily 21) are read from one history, so
they always agree: increments are differences of the rounded absolute registers, and a
day is the sum of its hours. Hour and quarter ends step in UTC and days end at local
midnight, so the October day has 25 hours and the March day 23. Faults placed relative
to the day the meter started give the tests (and the importer) a gap, an invalid, an
incomplete and a clock-synchronised hour inside a 90-day backfill; a quarter or a day
carries the faults of the hours it overlaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import functools
from typing import Final

from custom_components.iec_meter.core.iec102.asdu import IntegratedTotal
from custom_components.iec_meter.core.iec102.constants import (
    Qualifier,
    RecordAddress,
    TotalObject,
)

from .history import DAY, HOUR, QUARTER, EnergyHistory, floor_to, local_midnight

#: Where the faults fall: (days before the meter's first day, local hour the period ends).
GAP_DAYS_BACK: Final = 10
GAP_HOUR_ENDS: Final = (11, 12, 13)
INVALID_AT: Final = (20, 19)
INCOMPLETE_AT: Final = (30, 4)
TIME_SYNC_AT: Final = (15, 9)
_RESERVES: Final = frozenset({TotalObject.RESERVE_1, TotalObject.RESERVE_2})
#: Records the meter keeps, with the length of their periods (days end at midnight).
STEPS: Final = {
    RecordAddress.HOURLY: HOUR,
    RecordAddress.QUARTER_HOURLY: QUARTER,
    RecordAddress.DAILY: DAY,
}
#: Marks an hour the meter lost (a gap) among the quality bits of the fault hours.
_LOST: Final = -1


@dataclass(frozen=True)
class ProfileFaults:
    """The hours (period ends, in the meter's zone) the history spoils on purpose."""

    #: Three consecutive hours the meter does not send at all, in any register.
    gap: tuple[datetime, ...]
    #: An hour whose six energies are flagged invalid (IV, values 0).
    invalid: datetime
    #: An hour flagged incomplete (AL), as after a power failure.
    incomplete: datetime
    #: An hour flagged with a clock synchronisation (VH); its data are good.
    time_sync: datetime

    @classmethod
    def before(cls, today: date, tz: tzinfo) -> ProfileFaults:
        """The faults of a meter whose first day (by its clock) is ``today``."""

        def hour_end(days_back: int, hour: int) -> datetime:
            return datetime.combine(today - timedelta(days=days_back), time(hour), tzinfo=tz)

        return cls(
            gap=tuple(hour_end(GAP_DAYS_BACK, hour) for hour in GAP_HOUR_ENDS),
            invalid=hour_end(*INVALID_AT),
            incomplete=hour_end(*INCOMPLETE_AT),
            time_sync=hour_end(*TIME_SYNC_AT),
        )

    @functools.cached_property
    def _marks(self) -> dict[datetime, int]:
        """Quality bits of each fault hour (by its end in UTC); _LOST for the gap."""
        marks = {
            self.invalid.astimezone(UTC): int(Qualifier.INVALID),
            self.incomplete.astimezone(UTC): int(Qualifier.INCOMPLETE),
            self.time_sync.astimezone(UTC): int(Qualifier.TIME_SYNC),
        }
        marks.update((hour.astimezone(UTC), _LOST) for hour in self.gap)
        return marks

    def quality(self, hour_ends: Iterable[datetime]) -> int | None:
        """Quality bits of a period made of these hours; None if the meter lost one."""
        bits = 0
        for hour in hour_ends:
            mark = self._marks.get(hour, 0)
            if mark == _LOST:
                return None
            bits |= mark
        return bits


class LoadProfile:
    """The integrated totals of the hourly, quarter-hourly and daily records."""

    def __init__(self, history: EnergyHistory, faults: ProfileFaults | None) -> None:
        """Records drawn from ``history``, spoilt by ``faults`` (None: a perfect meter)."""
        self.history = history
        self.faults = faults

    def period_ends(
        self, record: RecordAddress, start: datetime, end: datetime, now: datetime
    ) -> Iterator[datetime]:
        """Ends (UTC) of the complete, kept periods ending in [start, end], oldest first."""
        first = self._next_end(record, self.history.start(now))
        low = max(start.astimezone(UTC), first)
        high = min(end, now).astimezone(UTC)
        current = self._ceil(record, low)
        while current <= high:
            if self._quality(record, current) is not None:
                yield current
            current = self._next_end(record, current)

    def totals(
        self,
        record: RecordAddress,
        end: datetime,
        objects: Sequence[TotalObject],
        absolute: bool,
    ) -> list[IntegratedTotal]:
        """The registers at the end of a period, or its increments, with their quality."""
        history = self.history
        registers = history.register(end)
        if not absolute:
            before = history.register(self._start(record, end))
            registers = tuple(a - b for a, b in zip(registers, before, strict=True))
        quality = self._quality(record, end) or 0
        totals = []
        for item in objects:
            if item in _RESERVES:
                totals.append(IntegratedTotal(item, 0, Qualifier.INVALID))
            elif quality & Qualifier.INVALID:
                totals.append(IntegratedTotal(item, 0, quality))
            else:
                totals.append(IntegratedTotal(item, registers[item - 1], quality))
        return totals

    def _quality(self, record: RecordAddress, end: datetime) -> int | None:
        if self.faults is None:
            return 0
        return self.faults.quality(_hour_ends(self._start(record, end), end))

    def _start(self, record: RecordAddress, end: datetime) -> datetime:
        """The start of the period ending at ``end`` (UTC)."""
        if record == RecordAddress.DAILY:
            return local_midnight(end.astimezone(self.history.tz).date() - DAY, self.history.tz)
        return end - STEPS[record]

    def _next_end(self, record: RecordAddress, end: datetime) -> datetime:
        """The end of the period that starts at ``end`` (a period boundary)."""
        if record == RecordAddress.DAILY:
            return local_midnight(end.astimezone(self.history.tz).date() + DAY, self.history.tz)
        return end + STEPS[record]

    def _ceil(self, record: RecordAddress, when: datetime) -> datetime:
        """The first period boundary at or after ``when``."""
        if record == RecordAddress.DAILY:
            tz = self.history.tz
            midnight = local_midnight(when.astimezone(tz).date(), tz)
            return midnight if midnight >= when else self._next_end(record, midnight)
        floor = floor_to(when, STEPS[record])
        return floor if floor >= when else floor + STEPS[record]


def _hour_ends(start: datetime, end: datetime) -> Iterator[datetime]:
    """Ends (UTC) of the hours that overlap (start, end]."""
    hour = floor_to(start, HOUR) + HOUR
    while hour - HOUR < end:
        yield hour
        hour += HOUR
