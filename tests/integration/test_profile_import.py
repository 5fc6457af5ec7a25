"""The load profile into long-term statistics.

Against the real simulator over TCP wherever it serves the case: backfill, the runs
after it, a reload, the 23 and 25 hour days, the meter's own gap, invalid and incomplete
hours, quarter hours, a meter without the profile, unloading mid-read. Made-up profiles
cover what needs a meter that changes its answers between runs (a gap filled later, an
hour it no longer gives, an interrupted rewrite, the same hours read again): they drive
the same importer through a stand-in client that hands out the periods a test wants.
The importer's clock and the simulated meter's move together (see ``Clock``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
import logging
import math
from typing import Any
from unittest.mock import patch

from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util, unit_conversion
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.iec_meter import profile_import
from custom_components.iec_meter.const import CONF_BACKFILL_DAYS, CONF_PROFILE, DOMAIN
from custom_components.iec_meter.core.errors import NoResponse
from custom_components.iec_meter.core.iec102.constants import RecordAddress, TotalObject, TypeId
from custom_components.iec_meter.core.records import PeriodFlag, ProfileKind, ProfilePeriod
from custom_components.iec_meter.core.tariffs.calendar import TariffCalendar
from custom_components.iec_meter.core.tariffs.model import Tariff
from custom_components.iec_meter.cost_statistics import CostStatistics
from custom_components.iec_meter.diagnostics import async_get_config_entry_diagnostics
from custom_components.iec_meter.profile_import import (
    ImportStatus,
    ProfileImporter,
    statistic_id,
    unit_class,
)
from simulator.line import MeterLine
from tests.conftest import MADRID, make_line

from .conftest import FAST_OPTIONS, make_entry, meter_subentry, setup_entry

METER_ID = "66-48300001"
IMPORT = "active_energy_import"
EXPORT = "active_energy_export"
Q1 = "reactive_energy_q1"
Q4 = "reactive_energy_q4"
ENERGY = "sensor.house_energy_import"
PROGRESS = "sensor.house_load_profile_up_to"
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
#: The simulated meter's clock and the importer's, together (13:20 in Madrid).
NOW = datetime(2026, 6, 21, 11, 20, tzinfo=UTC)
OPTIONS = {**FAST_OPTIONS, CONF_PROFILE: "hourly", CONF_BACKFILL_DAYS: 3}
PROFILE_READ = int(TypeId.C_CI_NU_2)


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


@pytest.fixture(autouse=True)
def _quiet_sql(caplog: pytest.LogCaptureFixture) -> None:
    """The test plugin logs every SQL statement; thousands of rows make that slow."""
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")


class Clock:
    """Now, for the simulated meter and the importer alike."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def utc(self) -> datetime:
        return self.now.astimezone(UTC)

    def meter(self) -> datetime:
        return self.now.astimezone(MADRID)


@pytest.fixture
def now() -> datetime:
    """When the test starts, by the meter's clock (override with parametrize)."""
    return NOW


@pytest.fixture
def clock(now: datetime) -> Iterator[Clock]:
    moving = Clock(now)
    with patch.object(profile_import, "utcnow", moving.utc):
        yield moving


@pytest.fixture
def unsupported() -> frozenset[int]:
    """ASDU types the simulated meter refuses (override with parametrize)."""
    return frozenset()


@dataclass
class Line:
    line: MeterLine
    url: str


@pytest.fixture
async def line(clock: Clock, unsupported: frozenset[int]) -> AsyncIterator[Line]:
    simulated = make_line(clock=clock.meter, unsupported=unsupported)
    url = await simulated.start_tcp()
    try:
        yield Line(simulated, url)
    finally:
        await simulated.stop()


async def settle(hass: HomeAssistant) -> None:
    """Wait for the import under way and for the recorder to write its rows."""
    async with asyncio.timeout(60):
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)


async def rows(hass: HomeAssistant, series: str = IMPORT) -> list[tuple[datetime, float, float]]:
    """The series' hourly rows as (start, state, sum)."""
    stat = statistic_id(METER_ID, series)
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2025, 1, 1, tzinfo=UTC),
        None,
        {stat},
        "hour",
        None,
        {"state", "sum"},
    )
    return [
        (dt_util.utc_from_timestamp(row["start"]), row["state"], row["sum"])
        for row in found.get(stat, [])
    ]


def assert_continuous(series_rows: list[tuple[datetime, float, float]], base: float = 0.0) -> None:
    """Each row's sum is the sum before it plus its state; starts are whole UTC hours."""
    total = base
    for start, state, running in series_rows:
        assert start.minute == start.second == 0
        total = round(total + state, 6)
        assert math.isclose(running, total, abs_tol=1e-6), (start, running, total)


def profile_reads(line: MeterLine) -> int:
    return sum(1 for _, _, type_id in line.trace if type_id == PROFILE_READ)


def importer_of(entry: MockConfigEntry) -> ProfileImporter:
    (importer,) = entry.runtime_data.importers.values()
    return importer


# --- the real simulator -------------------------------------------------------------------


async def test_backfill_writes_hourly_rows_with_continuous_sums(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    entry = await setup_entry(hass, make_entry(line.url, options=dict(OPTIONS)))
    await settle(hass)
    first = datetime(2026, 6, 18, 11, tzinfo=UTC)  # three days before the last whole hour
    for series in (IMPORT, EXPORT, Q1, Q4):
        found = await rows(hass, series)
        assert [start for start, _, _ in found] == [first + HOUR * n for n in range(72)]
        assert_continuous(found)
    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(
            hass, statistic_ids={statistic_id(METER_ID, IMPORT), statistic_id(METER_ID, Q1)}
        )
    )
    _, energy = metadata[statistic_id(METER_ID, IMPORT)]
    assert energy["name"] == "House active energy import (meter profile)"
    assert energy["source"] == DOMAIN
    assert energy["unit_of_measurement"] == "kWh"
    assert energy["has_sum"]
    assert energy.get("unit_class") == "energy"
    _, reactive = metadata[statistic_id(METER_ID, Q1)]
    assert reactive["unit_of_measurement"] == "kvarh"
    assert reactive.get("unit_class") == "reactive_energy"
    # The progress sensor and the diagnostics.
    state = hass.states.get(PROGRESS)
    assert state.state == "2026-06-21T11:00:00+00:00"
    assert state.attributes["status"] == "up_to_date"
    assert state.attributes["missing_hours"] == 0
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    (meter,) = diagnostics["meters"].values()
    assert meter["profile_import"]["rows_written"] == 72 * 6
    assert meter["profile_import"]["imported_until"] == "2026-06-21T11:00:00+00:00"
    assert meter["profile_import"]["status"] == "up_to_date"
    # The chunks took turns with the live polls, which still work.
    assert profile_reads(line.line) == 2  # 72 hours in chunks of 48
    assert hass.states.get(ENERGY).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)


async def test_a_backfill_shows_its_progress_without_a_state_per_chunk(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    """16 chunks read in a moment: the sensor moves once or twice, not 16 times."""
    shown: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and (not shown or shown[-1] != new.state):
            shown.append(new.state)

    async_track_state_change_event(hass, PROGRESS, record)
    await setup_entry(hass, make_entry(line.url, options={**OPTIONS, CONF_BACKFILL_DAYS: 31}))
    await settle(hass)
    assert profile_reads(line.line) == 16  # 31 days in chunks of 48 hours
    assert shown[-1] == "2026-06-21T11:00:00+00:00"
    assert len([state for state in shown if state != STATE_UNKNOWN]) <= 2


async def test_next_runs_and_a_reload_carry_the_sum_on(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    entry = await setup_entry(hass, make_entry(line.url, options=dict(OPTIONS)))
    await settle(hass)
    before = await rows(hass)
    # The next run is scheduled a few minutes after the next hour.
    clock.now = NOW + 2 * HOUR
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=50))
    await settle(hass)
    after = await rows(hass)
    assert after[: len(before)] == before  # the hours imported before are left alone
    assert len(after) == len(before) + 2
    assert_continuous(after)
    # A restart (reload) carries on from the last row.
    clock.now = NOW + 3 * HOUR
    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    reloaded = await rows(hass)
    assert reloaded[: len(after)] == after
    assert len(reloaded) == len(after) + 1
    assert_continuous(reloaded)
    assert hass.states.get(PROGRESS).state == "2026-06-21T14:00:00+00:00"
    assert importer_of(entry).counters.runs == 1  # the reloaded entry's own importer


async def test_the_meters_gap_invalid_and_incomplete_hours_get_no_row(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    entry = await setup_entry(
        hass, make_entry(line.url, options={**OPTIONS, CONF_BACKFILL_DAYS: 31})
    )
    await settle(hass)
    faults = line.line.meters[0].profile.faults
    assert faults is not None

    def hour_of(end: datetime) -> datetime:
        return end.astimezone(UTC) - HOUR

    gap = {hour_of(end) for end in faults.gap}
    left_out = {*gap, hour_of(faults.invalid), hour_of(faults.incomplete)}
    first = datetime(2026, 5, 21, 11, tzinfo=UTC)  # 31 days before the last whole hour
    expected = [hour for hour in hours_from(first, 31 * 24) if hour not in left_out]
    for series in (IMPORT, Q1):
        found = await rows(hass, series)
        assert [start for start, _, _ in found] == expected
        assert_continuous(found)
    counters = importer_of(entry).counters
    assert counters.missing == gap
    assert counters.invalid == {hour_of(faults.invalid)}
    assert counters.incomplete == {hour_of(faults.incomplete)}
    attributes = hass.states.get(PROGRESS).attributes
    assert (attributes["missing_hours"], attributes["invalid_hours"]) == (3, 1)
    assert attributes["incomplete_hours"] == 1


async def test_quarter_hours_from_the_meter_add_up_to_its_hours(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    options = {**OPTIONS, CONF_PROFILE: "quarter-hourly", CONF_BACKFILL_DAYS: 11}
    entry = await setup_entry(hass, make_entry(line.url, options=options))
    await settle(hass)
    meter = line.line.meters[0]
    gap = {end.astimezone(UTC) - HOUR for end in meter.profile.faults.gap}
    first = datetime(2026, 6, 10, 11, tzinfo=UTC)
    found = await rows(hass)
    assert [start for start, _, _ in found] == [
        hour for hour in hours_from(first, 11 * 24) if hour not in gap
    ]
    assert_continuous(found)
    for start, state, _ in found:  # the same energy as the meter's hourly record
        (hourly,) = meter.profile.totals(
            RecordAddress.HOURLY, start + HOUR, [TotalObject.ACTIVE_IMPORT], absolute=False
        )
        assert state == hourly.value
    assert importer_of(entry).counters.missing == gap


@pytest.mark.parametrize(
    ("now", "day", "hours"),
    [
        (datetime(2026, 3, 30, 2, 20, tzinfo=MADRID), date(2026, 3, 29), 23),
        (datetime(2026, 10, 26, 2, 20, tzinfo=MADRID), date(2026, 10, 25), 25),
    ],
    ids=["spring-23h", "autumn-25h"],
)
async def test_days_when_the_clock_changes(
    recorder_mock: Any,
    hass: HomeAssistant,
    clock: Clock,
    line: Line,
    now: datetime,
    day: date,
    hours: int,
) -> None:
    await setup_entry(hass, make_entry(line.url, options=dict(OPTIONS)))
    await settle(hass)
    found = await rows(hass)
    starts = [start for start, _, _ in found]
    assert starts == [starts[0] + HOUR * n for n in range(len(starts))]  # no hour twice or lost
    assert_continuous(found)
    midnight = datetime.combine(day, time(), MADRID)
    next_midnight = datetime.combine(day + timedelta(days=1), time(), MADRID)
    assert sum(1 for start in starts if midnight <= start < next_midnight) == hours


@pytest.mark.parametrize("unsupported", [frozenset({TypeId.C_CI_NU_2})])
async def test_meter_without_the_profile_logs_once_and_keeps_its_live_values(
    recorder_mock: Any,
    hass: HomeAssistant,
    line: Line,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.iec_meter")
    entry = await setup_entry(hass, make_entry(line.url, options=dict(OPTIONS)))
    await settle(hass)
    importer = importer_of(entry)
    assert importer.status is ImportStatus.NOT_SUPPORTED
    assert hass.states.get(PROGRESS).attributes["status"] == "not_supported"
    assert await rows(hass) == []
    assert hass.states.get(ENERGY).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    # No further profile reads, however much time passes.
    reads = profile_reads(line.line)
    assert reads == 1
    clock.now = NOW + 3 * HOUR
    async_fire_time_changed(hass, dt_util.utcnow() + 3 * HOUR)
    await settle(hass)
    assert profile_reads(line.line) == reads
    await importer.async_import()
    assert profile_reads(line.line) == reads
    logged = [r for r in caplog.records if "load profile" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.INFO
    assert "House" in logged[0].getMessage()
    assert hass.states.get(ENERGY).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)


async def mid_chunk(importer: ProfileImporter) -> None:
    """Return while the importer reads a chunk (in its turn of the bus), rows written."""
    client: Any = importer.client
    original = client._read_profile
    inside = asyncio.Event()

    async def reading(*args: Any) -> None:
        if importer.counters.rows_written:
            inside.set()
        await original(*args)

    client._read_profile = reading
    async with asyncio.timeout(30):
        await inside.wait()


async def test_unload_during_an_import_releases_the_line(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    # A slow line and a long backfill: the import is still reading at unload.
    simulated = make_line(clock=clock.meter, latency_ms=2)
    url = await simulated.start_tcp()
    try:
        options = {**OPTIONS, CONF_BACKFILL_DAYS: 60}
        entry = await setup_entry(hass, make_entry(url, options=options))
        importer = importer_of(entry)
        bus = entry.runtime_data.bus
        await mid_chunk(importer)
        assert importer.status is ImportStatus.IMPORTING
        async with asyncio.timeout(10):
            assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert not bus._lock.locked()
        assert not bus.transport.is_open
        assert importer._task is None
        await settle(hass)
        assert 0 < len(await rows(hass)) < 60 * 24
    finally:
        await simulated.stop()


async def test_stopping_mid_chunk_leaves_the_bus_to_the_live_polls(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    simulated = make_line(clock=clock.meter, latency_ms=2)
    url = await simulated.start_tcp()
    try:
        entry = await setup_entry(
            hass, make_entry(url, options={**OPTIONS, CONF_BACKFILL_DAYS: 60})
        )
        importer = importer_of(entry)
        bus = entry.runtime_data.bus
        await mid_chunk(importer)
        assert bus._lock.locked()
        await importer.async_stop()
        assert not bus._lock.locked()
        (coordinator,) = entry.runtime_data.coordinators.values()
        await coordinator.async_refresh()
        assert coordinator.last_update_success
        await importer.async_stop()  # twice is harmless
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulated.stop()


async def test_without_the_recorder_nothing_is_read(
    hass: HomeAssistant, line: Line, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.iec_meter")
    entry = await setup_entry(hass, make_entry(line.url, options=dict(OPTIONS)))
    importer = importer_of(entry)
    await importer.async_import()  # a second run does not log again
    assert importer.status is ImportStatus.NO_RECORDER
    assert hass.states.get(PROGRESS).state == STATE_UNKNOWN
    assert hass.states.get(PROGRESS).attributes["status"] == "no_recorder"
    assert profile_reads(line.line) == 0
    assert caplog.text.count("the recorder is not loaded") == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_profile_off_makes_no_importer(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    entry = await setup_entry(hass, make_entry(line.url, options={**OPTIONS, CONF_PROFILE: "off"}))
    await settle(hass)
    assert entry.runtime_data.importers == {}
    assert hass.states.get(PROGRESS) is None
    assert profile_reads(line.line) == 0


# --- made-up profiles ----------------------------------------------------------------------

#: The stand-in meter's clock: hours are read up to 10:00 UTC.
FAKE_NOW = datetime(2026, 5, 10, 10, 10, tzinfo=UTC)


def period(
    end: datetime,
    energy: float = 1.0,
    values: dict[str, float | None] | None = None,
    flags: dict[str, frozenset[PeriodFlag]] | None = None,
) -> ProfilePeriod:
    """A period ending at ``end`` (given in UTC, stored in the meter's zone as it sends).

    Reactive Q4 is never sent, so that series never gets a row.
    """
    sent: dict[str, float | None] = {
        IMPORT: energy,
        EXPORT: 0.5,
        Q1: 0.2,
        "reactive_energy_q2": 0.0,
        "reactive_energy_q3": 0.0,
    }
    sent.update(values or {})
    return ProfilePeriod(end.astimezone(MADRID), sent, flags or {})


@dataclass
class FakeMeter:
    """Hands out the periods in [start, end] in chunks, as MeterClient.iter_profile does."""

    periods: dict[datetime, ProfilePeriod] = field(default_factory=dict)
    chunk: int = 4
    #: Raise ``error`` when asked for this chunk (0-based), once.
    fail_at: int | None = None
    error: Exception = field(default_factory=lambda: NoResponse("the meter stopped answering"))
    #: A period before the range, sent first (a meter repeating itself).
    early: ProfilePeriod | None = None
    reads: list[tuple[datetime, datetime]] = field(default_factory=list)

    def put(self, *items: ProfilePeriod) -> None:
        for item in items:
            self.periods[item.end.astimezone(UTC)] = item

    async def iter_profile(
        self, kind: ProfileKind, start: datetime, end: datetime
    ) -> AsyncIterator[list[ProfilePeriod]]:
        self.reads.append((start, end))
        wanted = [self.periods[when] for when in sorted(self.periods) if start <= when <= end]
        if self.early is not None:
            wanted.insert(0, self.early)
        for index in range(0, max(len(wanted), 1), self.chunk):
            if self.fail_at is not None and index // self.chunk == self.fail_at:
                self.fail_at = None
                raise self.error
            await asyncio.sleep(0)
            yield wanted[index : index + self.chunk]


def standalone(
    hass: HomeAssistant,
    meter: FakeMeter,
    kind: ProfileKind = ProfileKind.HOURLY,
    backfill_days: int = 1,
) -> ProfileImporter:
    """An importer for the stand-in meter, outside any set-up entry."""
    entry = MockConfigEntry(domain=DOMAIN, subentries_data=[meter_subentry("House")])
    entry.add_to_hass(hass)
    subentry = next(iter(entry.subentries.values()))
    return ProfileImporter(hass, entry, subentry, meter, kind, backfill_days)  # type: ignore[arg-type]


async def run(hass: HomeAssistant, importer: ProfileImporter) -> None:
    await importer.async_import()
    await async_wait_recording_done(hass)


def hours_from(first: datetime, count: int) -> list[datetime]:
    return [first + HOUR * n for n in range(count)]


async def test_gaps_are_never_zero_filled_and_are_filled_later(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    clock.now = FAKE_NOW
    meter = FakeMeter()
    first = datetime(2026, 5, 9, 12, tzinfo=UTC)  # the meter's memory starts here
    hours = hours_from(first, 22)  # up to the hour that ends at 10:00
    missing, invalid, incomplete, q1_invalid = hours[3], hours[5], hours[6], hours[7]
    for number, hour in enumerate(hours):
        if hour == missing:
            continue
        end = hour + HOUR
        if hour == invalid:
            meter.put(period(end, values={IMPORT: None}))
        elif hour == incomplete:
            meter.put(period(end, 2.0, flags={IMPORT: frozenset({PeriodFlag.INCOMPLETE})}))
        elif hour == q1_invalid:
            meter.put(period(end, 1.5, flags={Q1: frozenset({PeriodFlag.INVALID})}))
        else:
            meter.put(period(end, 1.0 + number / 10))
    importer = standalone(hass, meter)
    await run(hass, importer)
    found = await rows(hass)
    assert [start for start, _, _ in found] == [
        hour for hour in hours if hour not in (missing, invalid, incomplete)
    ]
    assert all(state > 0 for _, state, _ in found)  # nothing zero-filled
    assert_continuous(found)
    assert [start for start, _, _ in await rows(hass, Q1)] == [
        hour for hour in hours if hour not in (missing, q1_invalid)
    ]
    assert len(await rows(hass, EXPORT)) == 21
    assert await rows(hass, Q4) == []  # never sent: no row, never a zero
    counters = importer.counters
    assert counters.missing == {missing}
    assert counters.invalid == {invalid, q1_invalid}
    assert counters.incomplete == {incomplete}
    assert importer.imported_until == datetime(2026, 5, 10, 10, tzinfo=UTC)
    # An hour later the meter has the missing hour after all, and no longer the value of
    # an hour imported before (which keeps its row).
    meter.put(period(missing + HOUR, 7.0))
    kept = hours[10]
    meter.put(period(kept + HOUR, values={IMPORT: None}))
    meter.put(period(hours[-1] + 2 * HOUR, 3.0))
    clock.now = FAKE_NOW + HOUR
    await run(hass, importer)
    assert meter.reads[-1][0] == missing + HOUR  # read again from the hole
    refilled = await rows(hass)
    assert [start for start, _, _ in refilled] == [
        hour for hour in [*hours, hours[-1] + HOUR] if hour not in (invalid, incomplete)
    ]
    states = {start: state for start, state, _ in refilled}
    assert states[missing] == 7.0
    assert states[kept] == {start: state for start, state, _ in found}[kept]
    assert_continuous(refilled)
    assert math.isclose(refilled[-1][2], math.fsum(state for _, state, _ in refilled))
    assert counters.missing == set()
    assert counters.invalid == {invalid, q1_invalid, kept}


async def test_importing_the_same_hours_again_changes_nothing(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    clock.now = FAKE_NOW
    meter = FakeMeter()
    hours = hours_from(datetime(2026, 5, 9, 12, tzinfo=UTC), 22)
    for number, hour in enumerate(hours):
        values: dict[str, float | None] = {}
        if number < 3:
            values[IMPORT] = None  # the import series starts later than the others
        if number == 1:
            values[Q1] = None  # flagged: a hole in Q1 before the import series' first row
        if number == 8:
            continue  # a hole the meter never fills: every run reads from here
        meter.put(period(hour + HOUR, 1.0 + number / 7, values))
    importer = standalone(hass, meter)
    await run(hass, importer)
    before = {series: await rows(hass, series) for series in (IMPORT, EXPORT, Q1, Q4)}
    written = importer.counters.rows_written
    await run(hass, importer)
    # From the hole the meter never sent; Q1's earlier one was flagged invalid (final).
    assert meter.reads[-1][0] == hours[8] + HOUR
    assert importer.counters.rows_written > written  # the hours were written again...
    after = {series: await rows(hass, series) for series in (IMPORT, EXPORT, Q1, Q4)}
    assert after == before  # ...and nothing changed
    # After a restart the importer has not seen the flag yet: it reads from Q1's hole,
    # before the import series' first row, and again changes nothing.
    restarted = standalone(hass, meter)
    await run(hass, restarted)
    assert meter.reads[-1][0] == hours[1] + HOUR
    assert {series: await rows(hass, series) for series in (IMPORT, EXPORT, Q1, Q4)} == before
    assert before[IMPORT][0][0] == hours[3]
    assert math.isclose(before[IMPORT][0][2], before[IMPORT][0][1], abs_tol=1e-6)  # from 0
    for found in before.values():
        assert_continuous(found)


async def test_quarter_hours_are_summed_to_whole_hours(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    clock.now = FAKE_NOW
    meter = FakeMeter(chunk=5)  # chunks that do not end on an hour
    first = datetime(2026, 5, 10, 5, tzinfo=UTC)
    partial, flagged = first + HOUR, first + 2 * HOUR
    for hour in hours_from(first, 6):  # the last hour (10:00) is not over at 10:10
        for quarter in range(4):
            end = hour + QUARTER * (quarter + 1)
            if hour == partial and quarter == 2:
                continue
            values: dict[str, float | None] = {IMPORT: None} if hour == flagged else {}
            meter.put(period(end, 0.25 + quarter / 100, values))
    meter.early = period(datetime(2026, 5, 9, 9, tzinfo=UTC), 9.0)  # before the range
    importer = standalone(hass, meter, ProfileKind.QUARTER_HOURLY)
    await run(hass, importer)
    found = await rows(hass)
    assert [start for start, _, _ in found] == [first, first + 3 * HOUR, first + 4 * HOUR]
    assert all(math.isclose(state, 1.06) for _, state, _ in found)
    assert_continuous(found)
    assert [start for start, _, _ in await rows(hass, EXPORT)] == [
        hour for hour in hours_from(first, 5) if hour != partial
    ]
    assert importer.counters.missing == {partial}
    assert importer.counters.invalid == {flagged}
    assert meter.reads == [
        (datetime(2026, 5, 9, 10, 15, tzinfo=UTC), datetime(2026, 5, 10, 10, tzinfo=UTC))
    ]


async def test_an_interrupted_rewrite_is_mended_by_the_next_run(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.iec_meter")
    clock.now = FAKE_NOW
    meter = FakeMeter()
    hours = hours_from(datetime(2026, 5, 9, 12, tzinfo=UTC), 22)
    hole = hours[2]
    for number, hour in enumerate(hours):
        if hour != hole:
            meter.put(period(hour + HOUR, 1.0 + number))
    importer = standalone(hass, meter)
    await run(hass, importer)
    # The hole arrives, but the line fails after the first chunk of the re-read: the
    # rows after it still carry the old sums.
    meter.put(period(hole + HOUR, 100.0))
    meter.fail_at = 1
    await run(hass, importer)
    assert importer.status is ImportStatus.FAILED
    assert importer.counters.failures == 1
    assert importer.counters.last_error.startswith("NoResponse")
    assert "profile import stopped" in caplog.text
    found = await rows(hass)
    with pytest.raises(AssertionError):
        assert_continuous(found)
    await run(hass, importer)
    assert importer.status is ImportStatus.UP_TO_DATE
    assert meter.reads[-1][0] == hours[6] + HOUR  # from the first row out of step
    found = await rows(hass)
    assert len(found) == 22
    assert_continuous(found)


async def test_a_long_pause_carries_the_sum_on(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock
) -> None:
    clock.now = FAKE_NOW
    meter = FakeMeter(chunk=48)
    hours = hours_from(datetime(2026, 5, 9, 10, tzinfo=UTC), 24 * 12)
    for number, hour in enumerate(hours):
        meter.put(period(hour + HOUR, 1.0 + number % 5))
    importer = standalone(hass, meter)
    await run(hass, importer)
    assert len(await rows(hass)) == 24
    clock.now = FAKE_NOW + timedelta(days=10)  # Home Assistant was off for ten days
    await run(hass, importer)
    found = await rows(hass)
    assert len(found) == 24 * 11
    assert_continuous(found)
    reads = len(meter.reads)
    await run(hass, importer)  # no hour has ended since: nothing to ask the meter
    assert len(meter.reads) == reads
    assert await rows(hass) == found


async def test_an_unexpected_error_is_logged_and_never_raised(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.now = FAKE_NOW
    meter = FakeMeter(fail_at=0, error=RuntimeError("boom"))
    meter.put(period(FAKE_NOW.replace(minute=0)))
    importer = standalone(hass, meter)
    await run(hass, importer)
    assert importer.status is ImportStatus.FAILED
    assert importer.counters.last_error == "RuntimeError: boom"
    assert "profile import failed" in caplog.text


async def test_a_daily_profile_is_not_imported(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.iec_meter")
    meter = FakeMeter()
    importer = standalone(hass, meter, ProfileKind.DAILY)
    importer.async_start()
    await importer.async_import()
    await importer.async_stop()
    assert importer.status is ImportStatus.NOT_SUPPORTED
    assert meter.reads == []
    assert "cannot become hourly statistics" in caplog.text


async def test_stopping_waits_only_so_long_for_a_stuck_read(
    recorder_mock: Any, hass: HomeAssistant, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = FAKE_NOW
    reading, release = asyncio.Event(), asyncio.Event()

    class Stuck(FakeMeter):
        async def iter_profile(
            self, kind: ProfileKind, start: datetime, end: datetime
        ) -> AsyncIterator[list[ProfilePeriod]]:
            reading.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await release.wait()  # ignores the cancellation until released
            yield []

    importer = standalone(hass, Stuck())
    monkeypatch.setattr(profile_import, "STOP_TIMEOUT_S", 0.05)
    importer.async_start()
    async with asyncio.timeout(10):
        await reading.wait()
    task = importer._task
    await importer.async_stop()
    assert task is not None
    assert not task.done()
    release.set()
    async with asyncio.timeout(10):
        await asyncio.wait({task})
    assert importer._unschedule is None  # stopped: nothing scheduled after it


async def test_unit_classes_where_home_assistant_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert unit_class("kWh") == "energy"
    assert unit_class("kvarh") == "reactive_energy"
    assert unit_class("m³") is None
    assert profile_import.utcnow().tzinfo is UTC  # the real clock behind the tests' seam
    monkeypatch.delattr(unit_conversion, "ReactiveEnergyConverter")
    assert unit_class("kvarh") is None


async def test_metadata_without_unit_class_on_a_recorder_that_lacks_it(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    importer = standalone(hass, FakeMeter())
    assert importer._metadata(IMPORT)["unit_class"] == "energy"
    monkeypatch.setattr(
        profile_import, "_METADATA_KEYS", profile_import._METADATA_KEYS - {"unit_class"}
    )
    assert "unit_class" not in importer._metadata(IMPORT)
    assert importer.statistic_ids[IMPORT] == "iec_meter:66_48300001_active_energy_import"


# --- costs of a meter with a tariff -----------------------------------------------------------

TARIFF = {
    "tariff": "2.0TD",
    "energy_prices": {"P1": 0.20, "P2": 0.15, "P3": 0.10},
    "compensation_price": 0.05,
}


def with_tariff(tariff: Any) -> dict[str, Any]:
    subentry = meter_subentry("House")
    subentry["data"] = {**subentry["data"], "tariff": tariff}
    return subentry


async def test_a_meter_with_a_tariff_gets_its_costs_with_every_import(
    recorder_mock: Any, hass: HomeAssistant, line: Line, clock: Clock
) -> None:
    entry = make_entry(line.url, with_tariff(TARIFF), options=dict(OPTIONS))
    await setup_entry(hass, entry)
    await settle(hass)
    calendar = TariffCalendar(Tariff.TD_2_0)
    prices = TARIFF["energy_prices"]

    async def check() -> list[tuple[datetime, float, float]]:
        await settle(hass)
        imported = {start: state for start, state, _ in await rows(hass, IMPORT)}
        exported = {start: state for start, state, _ in await rows(hass, EXPORT)}
        cost = await rows(hass, "cost")
        assert [start for start, _, _ in cost] == sorted(imported)
        for start, state, _ in cost:
            net = max(imported[start] - exported.get(start, 0.0), 0.0)
            assert state == pytest.approx(net * prices[calendar.energy_period(start)]), start
        assert_continuous(cost)
        assert_continuous(await rows(hass, "compensation"))
        return cost

    first = await check()
    assert len(first) == 72 and first[-1][2] > 0
    clock.now = NOW + 2 * HOUR  # the next run prices the hours it brings
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=50))
    after = await check()
    assert len(after) == 74
    assert after[:72] == first


async def test_unusable_tariff_settings_are_logged_and_cost_nothing(
    recorder_mock: Any, hass: HomeAssistant, line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    entry = make_entry(line.url, with_tariff({"tariff": "2.0TD"}), options=dict(OPTIONS))
    await setup_entry(hass, entry)
    await settle(hass)
    assert "tariff settings are not usable" in caplog.text
    assert "energy_prices or a price_entity" in caplog.text
    assert await rows(hass, "cost") == []
    assert len(await rows(hass, IMPORT)) == 72  # the profile is imported all the same


async def test_a_failing_cost_writer_never_stops_the_import(
    recorder_mock: Any, hass: HomeAssistant, line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    with patch.object(CostStatistics, "async_update", side_effect=RuntimeError("disk full")):
        entry = make_entry(line.url, with_tariff(TARIFF), options=dict(OPTIONS))
        await setup_entry(hass, entry)
        await settle(hass)
    assert "cost statistics were not written" in caplog.text
    assert importer_of(entry).status is ImportStatus.UP_TO_DATE
    assert len(await rows(hass, IMPORT)) == 72
