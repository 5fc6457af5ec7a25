"""The meter's load profile into Home Assistant's long-term statistics.

An IEC 102 meter stores the energy of every hour (or quarter hour) for months. Imported
as hourly statistics, that history is on the Energy dashboard from the day the meter is
added, and an hour Home Assistant was down for is filled in from the meter afterwards.

Why external statistics (``iec_meter:<meter>_<series>``) and not the energy sensors' own:
the recorder keeps writing the sensors' statistics from their live values, and rows
imported into them would have to agree with those sums forever. A separate series never
touches the sensors' statistics; the user picks one of the two for the dashboard, so
nothing is counted twice.

Rules the rows keep:

* ``start`` is the UTC hour the energy belongs to: the period's end in UTC minus its
  length. UTC arithmetic keeps the 23 and 25 hour days right (on a wall clock the
  repeated October hour and the hour before it look the same).
* ``sum`` is a running total: each row's sum is the one of the row before plus its
  ``state``. A run starts from the sum of the last row before its first hour, so the
  total carries on across runs, restarts and re-reads; rows are upserted per hour, so
  reading the same hours again writes the same rows.
* An hour the meter flags invalid or incomplete, or does not send, gets no row (never a
  zero, which would show as a real hour without consumption); the sum skips it. Each run
  re-reads from the earliest such hole of the last :data:`REPAIR_WINDOW` (and from any
  row whose sum is out of step, which an interrupted re-read leaves), so an hour the meter
  delivers late is filled in and every sum after it rewritten. Hours the meter flagged
  are not read again once this process has seen the flag: a closed record is final.
* Quarter-hourly profiles are summed to hours; an hour needs its four quarters.

Reads go chunk by chunk (:meth:`MeterClient.iter_profile`), each chunk in its own turn of
the bus, and each chunk's rows are written as it arrives: the live polls keep their
cadence during a backfill of months, and the import's progress shows as it goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import math
from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util, slugify, unit_conversion

from .const import DOMAIN, LOGGER
from .coordinator import IecMeterCoordinator, error_text
from .core.driver import MeterClient
from .core.errors import MeterError, NotSupported
from .core.records import (
    PROFILE_SERIES,
    SERIES_UNITS,
    PeriodFlag,
    ProfileKind,
    ProfilePeriod,
)

if TYPE_CHECKING:
    from .cost_statistics import CostStatistics
    from .data import IecMeterConfigEntry

HOUR: Final = timedelta(hours=1)
#: How far back each run looks for hours to fill in: a meter that missed an hour (a
#: reboot, a power cut) usually has it within a day; a week bounds the extra reading.
REPAIR_WINDOW: Final = timedelta(days=7)
#: How long after a period ends the run for it starts: the meter needs a moment to
#: store the period, and the live polls due at the full hour go first.
RUN_DELAY: Final = {
    ProfileKind.HOURLY: timedelta(minutes=5),
    ProfileKind.QUARTER_HOURLY: timedelta(minutes=2),
}
#: Periods of each profile that make one hour (a daily profile cannot make hours).
SLOTS_PER_HOUR: Final = {ProfileKind.HOURLY: 1, ProfileKind.QUARTER_HOURLY: 4}
#: Sums are rounded so that adding the same values again gives the same float.
SUM_DECIMALS: Final = 6
#: Shortest time between two progress updates of the sensor during a run.
PROGRESS_INTERVAL_S: Final = 30.0
#: How long stopping waits for a cancelled read to let go of the line.
STOP_TIMEOUT_S: Final = 10

#: Names of the series in a statistic's name.
SERIES_NAMES: Final = {
    "active_energy_import": "active energy import",
    "active_energy_export": "active energy export",
    "reactive_energy_q1": "reactive energy Q1",
    "reactive_energy_q2": "reactive energy Q2",
    "reactive_energy_q3": "reactive energy Q3",
    "reactive_energy_q4": "reactive energy Q4",
}

#: Keys of StatisticMetaData in the running Home Assistant (``unit_class`` arrived in
#: 2025.10 and is required from 2026.11; an older recorder refuses unknown keys).
_METADATA_KEYS: Final = StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__

type Stored = dict[datetime, tuple[float, float]]
"""Rows already in the recorder for one series: hour start to (state, sum)."""


def utcnow() -> datetime:
    """Now, for the hours a run reads.

    A seam for the tests, which move this clock together with the simulated meter's:
    freezing time instead would also stop the event loop's clock, which the protocol's
    timeouts run on.
    """
    return dt_util.utcnow()


class ImportStatus(StrEnum):
    """What the importer is doing (the progress sensor shows it)."""

    WAITING = "waiting"
    IMPORTING = "importing"
    UP_TO_DATE = "up_to_date"
    FAILED = "failed"
    NOT_SUPPORTED = "not_supported"
    NO_RECORDER = "no_recorder"


@dataclass
class ImportCounters:
    """What the runs did, for diagnostics and the progress sensor.

    The hour sets hold the hours (UTC starts) not imported for that reason; an hour
    read again counts once, and leaves its set when it is imported after all.
    """

    runs: int = 0
    failures: int = 0
    rows_written: int = 0
    last_error: str | None = None
    last_run: datetime | None = None
    invalid: set[datetime] = field(default_factory=set)
    incomplete: set[datetime] = field(default_factory=set)
    missing: set[datetime] = field(default_factory=set)


def statistic_id(meter_id: str, series: str) -> str:
    """The external statistic of one series of a meter (``iec_meter:<meter>_<series>``)."""
    return f"{DOMAIN}:{slugify(meter_id)}_{series}"


def floor_time(when: datetime, step: timedelta) -> datetime:
    """``when`` in UTC, rounded down to a whole ``step`` (an hour, a quarter)."""
    seconds = when.timestamp()
    return datetime.fromtimestamp(seconds - seconds % step.total_seconds(), UTC)


def unit_class(unit: str) -> str | None:
    """The recorder's unit class of ``unit``, where this Home Assistant has one."""
    converter: Any = unit_conversion.EnergyConverter
    if unit not in converter.VALID_UNITS:
        converter = getattr(unit_conversion, "ReactiveEnergyConverter", None)
    if converter is None or unit not in converter.VALID_UNITS:
        return None
    return str(converter.UNIT_CLASS)


def sum_metadata(stat_id: str, name: str, unit: str, unit_class: str | None) -> StatisticMetaData:
    """Metadata of one of our hourly external statistics with a running sum.

    Keys this Home Assistant's recorder does not know are left out.
    """
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=name,
        source=DOMAIN,
        statistic_id=stat_id,
        unit_class=unit_class,
        unit_of_measurement=unit,
    )
    for key in set(metadata) - _METADATA_KEYS:
        cast(dict[str, Any], metadata).pop(key)
    return metadata


def _reason(period: ProfilePeriod, series: str) -> str | None:
    """Why a period's series is unusable: ``invalid``, ``incomplete`` or None (not sent)."""
    if series not in period.values:
        return None
    flags = period.flags.get(series, frozenset())
    if period.values[series] is None or PeriodFlag.INVALID in flags:
        return "invalid"
    return "incomplete"


def repair_points(
    stored: Mapping[str, Stored], flagged: frozenset[datetime] = frozenset()
) -> list[datetime]:
    """Hours to read again: the first of each hole, and each row whose sum is out of step.

    Only holes between two rows count: hours before a series' first row are history the
    meter does not hold, and hours after its last row are read anyway. Hours the meter
    ``flagged`` invalid or incomplete are not read again: a closed period's record is
    final, and a quarter-hourly week read every quarter would take a good share of the
    line.
    """
    points: list[datetime] = []
    for rows in stored.values():
        previous: tuple[datetime, float] | None = None
        for hour in sorted(rows):
            state, total = rows[hour]
            if previous is not None:
                before, before_sum = previous
                hole = before + HOUR
                while hole < hour and hole in flagged:
                    hole += HOUR
                if hole < hour:
                    points.append(hole)
                if not math.isclose(
                    total, round(before_sum + state, SUM_DECIMALS), abs_tol=10**-SUM_DECIMALS
                ):
                    points.append(hour)
            previous = hour, total
    return points


def base_sum(start: datetime, rows: Stored, last: tuple[datetime, float] | None) -> float:
    """The sum of a series' last row before ``start`` (0 before its first row).

    ``rows`` holds the recent rows; ``last`` is the series' newest row. When neither has
    a row before ``start`` but a row after it exists, the row's sum minus its state is
    the sum before it, as every row was written that way.
    """
    before = [hour for hour in rows if hour < start]
    if before:
        return rows[max(before)][1]
    if last is not None and last[0] < start:
        return last[1]
    after = [hour for hour in rows if hour >= start]
    if after:
        state, total = rows[min(after)]
        return round(total - state, SUM_DECIMALS)
    return 0.0


class ProfileImporter:
    """Imports one meter's load profile as external statistics.

    ``async_start`` runs the first import in the background (setup never waits for a
    backfill) and schedules the next a few minutes after each hour (each quarter for a
    quarter-hourly profile). A meter without the profile is logged once and left alone
    until the entry is reloaded; other read errors wait for the next run.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IecMeterConfigEntry,
        subentry: ConfigSubentry,
        client: MeterClient[Any],
        kind: ProfileKind,
        backfill_days: int,
        live: IecMeterCoordinator | None = None,
        costs: CostStatistics | None = None,
    ) -> None:
        """Prepare the importer; nothing is read before :meth:`async_start`.

        ``live`` is the meter's coordinator: no run reads while it finds another meter
        at this meter's address. ``costs`` (a meter with a tariff) prices the hours each
        run writes.
        """
        self.hass = hass
        self.live = live
        self.entry = entry
        self.subentry = subentry
        self.client = client
        self.kind = kind
        self.backfill_days = backfill_days
        self.meter_id = str(subentry.unique_id)
        self.statistic_ids = {
            series: statistic_id(self.meter_id, series) for series in PROFILE_SERIES
        }
        self.status = ImportStatus.WAITING
        self.costs = costs
        #: The first hour the run under way may write (where its costs are repriced from).
        self._run_start: datetime | None = None
        #: End of the last hour imported (of any series), once known.
        self.imported_until: datetime | None = None
        self.counters = ImportCounters()
        self._supported = kind in SLOTS_PER_HOUR
        self._stopped = False
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._unschedule: CALLBACK_TYPE | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._notified_at = -math.inf

    # --- lifecycle -----------------------------------------------------------------------
    @callback
    def async_start(self) -> None:
        """Run the first import now, in the background, and schedule the ones after it."""
        self._stopped = False
        if not self._supported:
            LOGGER.info(
                "%s: a %s profile cannot become hourly statistics; nothing is imported",
                self.subentry.title,
                self.kind,
            )
            self._set_status(ImportStatus.NOT_SUPPORTED)
            return
        self._start_task()

    async def async_stop(self) -> None:
        """Cancel the import under way and the one scheduled.

        A read cancelled in the middle of a chunk leaves its turn of the bus at once
        (the bus lock is released on the way out), so the meters' logout can follow.
        """
        self._stopped = True
        if self._unschedule is not None:
            self._unschedule()
            self._unschedule = None
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.wait({task})
        except TimeoutError:
            LOGGER.debug("%s: the profile read did not stop in time", self.subentry.title)

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` when the progress changes; returns the function that stops it."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            self._listeners.remove(update)

        return remove

    def diagnostics(self) -> dict[str, Any]:
        """Settings, progress and counters for a diagnostics download."""
        counters = self.counters
        return {
            "profile": self.kind.value,
            "backfill_days": self.backfill_days,
            "status": self.status.value,
            "imported_until": _iso(self.imported_until),
            "statistic_ids": sorted(self.statistic_ids.values()),
            "runs": counters.runs,
            "failures": counters.failures,
            "rows_written": counters.rows_written,
            "last_error": counters.last_error,
            "last_run": _iso(counters.last_run),
            "invalid_hours": len(counters.invalid),
            "incomplete_hours": len(counters.incomplete),
            "missing_hours": len(counters.missing),
        }

    @callback
    def _start_task(self) -> None:
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_run(), name=f"{DOMAIN} profile import {self.subentry.title}"
        )

    async def _async_run(self) -> None:
        try:
            await self.async_import()
        finally:
            self._schedule_next()

    @callback
    def _schedule_next(self) -> None:
        if self._stopped or not self._supported:
            return
        now = utcnow()
        step = self.kind.period
        due = floor_time(now, step) + step + RUN_DELAY[self.kind]
        self._unschedule = async_call_later(
            self.hass,
            due - now,
            HassJob(self._run_scheduled, f"{DOMAIN} profile import", cancel_on_shutdown=True),
        )

    @callback
    def _run_scheduled(self, _now: datetime) -> None:
        self._unschedule = None
        self._start_task()

    # --- one run -------------------------------------------------------------------------
    async def async_import(self) -> None:
        """Read the profile since the last imported hour and write it; never raises.

        Runs one at a time; a meter error ends the run (what was written stays) and the
        next run carries on from there.
        """
        async with self._lock:
            if not self._supported:
                return
            if "recorder" not in self.hass.config.components:
                if self.status is not ImportStatus.NO_RECORDER:
                    LOGGER.info(
                        "%s: the recorder is not loaded, so the load profile is not imported",
                        self.subentry.title,
                    )
                self._set_status(ImportStatus.NO_RECORDER)
                return
            live = self.live
            if live is not None and live.other_meter is not None:
                # Another meter's profile must never become this meter's statistics.
                self.counters.failures += 1
                self.counters.last_error = f"another meter answers: {live.other_meter.answered}"
                self._set_status(ImportStatus.FAILED)
                return
            self.counters.runs += 1
            self._set_status(ImportStatus.IMPORTING)
            now = utcnow()
            try:
                if live is not None:
                    # Who answers now: a meter swapped since the last poll is caught here.
                    await live.async_check_identity()
                await self._import(now)
            except NotSupported as err:
                self._supported = False
                self._set_status(ImportStatus.NOT_SUPPORTED)
                LOGGER.info(
                    "%s keeps no %s load profile that can be read (%s); its live values "
                    "are read as before, and the profile is not asked for again until the "
                    "entry is reloaded",
                    self.subentry.title,
                    self.kind,
                    error_text(err),
                )
            except MeterError as err:
                self.counters.failures += 1
                self.counters.last_error = f"{type(err).__name__}: {err}"
                self._set_status(ImportStatus.FAILED)
                LOGGER.debug(
                    "%s: profile import stopped, the next run carries on: %s",
                    self.subentry.title,
                    error_text(err),
                )
            except Exception as err:  # noqa: BLE001 - logged with its traceback
                # Never into Home Assistant (a recorder or database error): the next run
                # tries again.
                self.counters.failures += 1
                self.counters.last_error = f"{type(err).__name__}: {err}"
                self._set_status(ImportStatus.FAILED)
                LOGGER.exception("%s: profile import failed", self.subentry.title)
            else:
                self._set_status(ImportStatus.UP_TO_DATE)
            finally:
                self.counters.last_run = now
            await self._update_costs()

    async def _update_costs(self) -> None:
        """Price what the run wrote (and any hour written since the last pricing)."""
        start, self._run_start = self._run_start, None
        if self.costs is None or start is None:
            return
        try:
            await self.costs.async_update(changed_from=start)
        except Exception:  # noqa: BLE001 - logged with its traceback; never into Home Assistant
            LOGGER.exception("%s: cost statistics were not written", self.subentry.title)

    async def _import(self, now: datetime) -> None:
        start, bases, stored = await self._plan(now)
        self._run_start = start
        last_end = floor_time(now, self.kind.period)
        newest = max((max(rows) for rows in stored.values() if rows), default=None)
        run = _Run(self, start, bases, stored)
        first_end = start + self.kind.period
        if first_end <= last_end:
            async for chunk in self.client.iter_profile(self.kind, first_end, last_end):
                run.add(chunk)
                self._write(run.take_rows())
        until = floor_time(last_end, HOUR)
        if newest is not None:
            until = max(until, newest + HOUR)
        run.finish(until)
        self._write(run.take_rows())

    async def _plan(self, now: datetime) -> tuple[datetime, dict[str, float], dict[str, Stored]]:
        """Where this run starts, each series' sum before it, and the rows from there on."""
        recorder = get_instance(self.hass)
        # Rows queued by an earlier run (or by this meter's importer before a reload)
        # must be in the database before the last one is looked up.
        await recorder.async_block_till_done()
        lasts = await recorder.async_add_executor_job(self._last_rows)
        if not lasts:
            first = min(
                floor_time(now - timedelta(days=self.backfill_days), HOUR),
                floor_time(now, HOUR) - HOUR,
            )
            return first, dict.fromkeys(PROFILE_SERIES, 0.0), {}
        newest = max(hour for hour, _ in lasts.values())
        self._set_imported_until(newest + HOUR)
        window = floor_time(now - REPAIR_WINDOW, HOUR)
        recent = await recorder.async_add_executor_job(self._rows_since, window)
        counters = self.counters
        flagged = frozenset(counters.invalid | counters.incomplete)
        start = min([newest + HOUR, *repair_points(recent, flagged)])
        bases = {
            series: base_sum(start, recent.get(series, {}), lasts.get(series))
            for series in PROFILE_SERIES
        }
        stored = {
            series: {hour: row for hour, row in rows.items() if hour >= start}
            for series, rows in recent.items()
        }
        return start, bases, stored

    def _last_rows(self) -> dict[str, tuple[datetime, float]]:
        """Each series' newest row (start, sum); runs in the recorder's executor."""
        found: dict[str, tuple[datetime, float]] = {}
        for series, stat_id in self.statistic_ids.items():
            rows = get_last_statistics(self.hass, 1, stat_id, False, {"sum"}).get(stat_id)
            if rows:
                row = rows[0]
                found[series] = (dt_util.utc_from_timestamp(row["start"]), row.get("sum") or 0.0)
        return found

    def _rows_since(self, start: datetime) -> dict[str, Stored]:
        """Every series' rows from ``start`` on; runs in the recorder's executor."""
        by_id = statistics_during_period(
            self.hass,
            start,
            None,
            set(self.statistic_ids.values()),
            "hour",
            None,
            {"state", "sum"},
        )
        return {
            series: {
                dt_util.utc_from_timestamp(row["start"]): (
                    row.get("state") or 0.0,
                    row.get("sum") or 0.0,
                )
                for row in by_id.get(stat_id, [])
            }
            for series, stat_id in self.statistic_ids.items()
        }

    def _metadata(self, series: str) -> StatisticMetaData:
        unit = SERIES_UNITS[series]
        return sum_metadata(
            self.statistic_ids[series],
            f"{self.subentry.title} {SERIES_NAMES[series]} (meter profile)",
            unit,
            unit_class(unit),
        )

    def _write(self, rows: Mapping[str, list[StatisticData]]) -> None:
        """Hand a chunk's rows to the recorder (it writes them in its own thread)."""
        until: datetime | None = None
        for series, series_rows in rows.items():
            if not series_rows:
                continue
            end = series_rows[-1]["start"] + HOUR
            until = end if until is None else max(until, end)
            async_add_external_statistics(self.hass, self._metadata(series), series_rows)
            self.counters.rows_written += len(series_rows)
        if until is not None and (self.imported_until is None or until > self.imported_until):
            self._set_imported_until(until)

    # --- progress --------------------------------------------------------------------------
    def _set_imported_until(self, until: datetime) -> None:
        self.imported_until = until
        # During a backfill the hour moves with every chunk: a state (and a logbook
        # line) per chunk would be noise, so progress shows at most every
        # PROGRESS_INTERVAL_S; the end of the run shows the last hour anyway.
        now = self.hass.loop.time()
        if now - self._notified_at >= PROGRESS_INTERVAL_S:
            self._notify()

    def _set_status(self, status: ImportStatus) -> None:
        self.status = status
        self._notify()

    def _notify(self) -> None:
        self._notified_at = self.hass.loop.time()
        for update in list(self._listeners):
            update()


class _Run:
    """One pass over the profile: hours settled in order, rows collected per chunk."""

    def __init__(
        self,
        importer: ProfileImporter,
        start: datetime,
        bases: dict[str, float],
        stored: dict[str, Stored],
    ) -> None:
        self.importer = importer
        self.kind = importer.kind
        self.slots = SLOTS_PER_HOUR[importer.kind]
        self.next_hour = start
        self.bases = bases
        self.stored = stored
        self.pending: dict[datetime, dict[datetime, ProfilePeriod]] = {}
        self.rows: dict[str, list[StatisticData]] = {series: [] for series in PROFILE_SERIES}
        #: Hour of the first period received in this run.
        self.first_received: datetime | None = None

    def add(self, chunk: list[ProfilePeriod]) -> None:
        """Take one chunk's periods and settle every hour they complete."""
        through: datetime | None = None
        for period in chunk:
            end = period.end.astimezone(UTC)
            # The slot and the hour the period's start falls in (a meter on a zone half
            # an hour off UTC still ends its hours on its own clock's hour).
            start = floor_time(end - self.kind.period, self.kind.period)
            hour = floor_time(start, HOUR)
            if hour < self.next_hour:
                continue  # an hour already settled (the meter repeated itself)
            self.pending.setdefault(hour, {})[start] = period
            if self.first_received is None:
                self.first_received = hour
            through = end if through is None else max(through, end)
        if through is not None:
            self._settle_through(through, later=True)

    def finish(self, until: datetime) -> None:
        """Settle the hours up to ``until`` that no chunk completed (rows kept from before)."""
        self._settle_through(until, later=False)

    def take_rows(self) -> dict[str, list[StatisticData]]:
        """The rows collected since the last call."""
        rows = self.rows
        self.rows = {series: [] for series in PROFILE_SERIES}
        return rows

    def _settle_through(self, through: datetime, later: bool) -> None:
        while self.next_hour + HOUR <= through:
            self._settle(self.next_hour, later)
            self.next_hour += HOUR

    def _settle(self, hour: datetime, later: bool) -> None:
        """Write the hour's rows for the series it has, and count what it lacks.

        ``later``: the meter sent a period after this hour in this run, so an hour with
        nothing at all after the first period received is a hole, not the history
        before the meter's memory or an hour it has not closed yet.
        """
        periods = self.pending.pop(hour, {})
        slots = [hour + self.kind.period * index for index in range(self.slots)]
        complete = all(slot in periods for slot in slots)
        reasons: set[str | None] = set()
        for series in PROFILE_SERIES:
            values = [periods[slot].usable(series) for slot in slots if slot in periods]
            value: float | None = None
            if complete and all(item is not None for item in values):
                value = math.fsum(cast(list[float], values))
            else:
                reasons.update(
                    _reason(periods[slot], series)
                    for slot in slots
                    if slot in periods and periods[slot].usable(series) is None
                )
                kept = self.stored.get(series, {}).get(hour)
                # An hour imported before that the meter no longer gives keeps its row,
                # so the sums after it stay in step.
                value = None if kept is None else kept[0]
            if value is None:
                continue
            total = round(self.bases[series] + value, SUM_DECIMALS)
            self.bases[series] = total
            self.rows[series].append(StatisticData(start=hour, state=value, sum=total))
        hole = (
            not periods and later and self.first_received is not None and hour > self.first_received
        )
        if periods or hole:
            self._count(hour, reasons, missing=not complete)

    def _count(self, hour: datetime, reasons: set[str | None], missing: bool) -> None:
        """File the hour under the most telling reason it was left out, or none."""
        counters = self.importer.counters
        category: set[datetime] | None = None
        if "invalid" in reasons:
            category = counters.invalid
        elif "incomplete" in reasons:
            category = counters.incomplete
        elif missing:
            category = counters.missing
        for hours in (counters.invalid, counters.incomplete, counters.missing):
            if hours is category:
                hours.add(hour)
            else:
                hours.discard(hour)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()
