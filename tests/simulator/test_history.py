"""The simulated meter's load profile: deterministic, consistent, with faults where said.

Everything is read through the real client over TCP (or frame by frame, to compare
bytes), from a meter whose clock stands at a fixed time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    decode_integrated_totals,
    instantaneous_request,
    integrated_totals_request,
)
from custom_components.iec_meter.core.iec102.asdu.billing import (
    current_billing_request,
    stored_billing_request,
)
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import (
    Cause,
    ContractRegister,
    RecordAddress,
    TotalObject,
    TypeId,
)
from custom_components.iec_meter.core.records import (
    PROFILE_SERIES,
    PeriodFlag,
    ProfileKind,
    ProfilePeriod,
)
from simulator import iec102_meter
from simulator.history import EnergyHistory, LoadParams, day_detail
from simulator.iec102_meter import MeterConfig, SimulatedMeter
from simulator.meter_model import MeterModel
from tests.conftest import MADRID, client_for, make_line, serving

from .drive import Driver

HOURLY = ProfileKind.HOURLY
QUARTER_HOURLY = ProfileKind.QUARTER_HOURLY
DAILY = ProfileKind.DAILY
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
#: The meter's clock: the faults fall 10 to 30 days before it.
NOW = datetime(2026, 11, 20, 13, 30, tzinfo=MADRID)


def local(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=MADRID)


def utc(periods: list[ProfilePeriod]) -> list[datetime]:
    return [period.end.astimezone(UTC) for period in periods]


def hours(first: datetime, count: int, step: timedelta = HOUR) -> list[datetime]:
    """``count`` consecutive period ends from ``first``, as UTC instants."""
    return [first.astimezone(UTC) + step * index for index in range(count)]


@contextlib.asynccontextmanager
async def meter_client(
    clock: datetime = NOW, **options: Any
) -> AsyncIterator[tuple[SimulatedMeter, Iec102Client]]:
    """The simulated meter (clock fixed at ``clock``) and a client on TCP to it."""
    line = make_line(clock=lambda: clock, **options)
    async with serving(line) as url, client_for(url) as client:
        yield line.meters[0], client


def _sum(periods: list[ProfilePeriod]) -> dict[str, float]:
    return {key: sum(period.values[key] or 0.0 for period in periods) for key in PROFILE_SERIES}


# --- Determinism ------------------------------------------------------------------------
def _requests() -> list[Asdu]:
    day = local(date(2026, 10, 24))
    return [
        integrated_totals_request(1, day, day + 30 * HOUR, MADRID),
        integrated_totals_request(
            1, day, day + 3 * HOUR, MADRID, incremental=False, record=RecordAddress.QUARTER_HOURLY
        ),
        integrated_totals_request(
            1, day - timedelta(days=40), day, MADRID, record=RecordAddress.DAILY
        ),
        current_billing_request(1, ContractRegister.CONTRACT_1),
        stored_billing_request(
            1, ContractRegister.CONTRACT_1, day - timedelta(days=90), day, MADRID
        ),
    ]


def test_same_seed_and_clock_give_the_same_bytes_in_any_order() -> None:
    forward, backward = (Driver(SimulatedMeter(MeterConfig(), MADRID, lambda: NOW)) for _ in "ab")
    forward.start()
    backward.start()
    requests = _requests()
    ahead = [forward.exchange_bytes(request) for request in requests]
    # Live values draw on the model's generator; the records must not care.
    backward.exchange(instantaneous_request(1))
    behind = [backward.exchange_bytes(request) for request in reversed(requests)][::-1]
    assert ahead == behind
    assert all(len(answers) > 2 for answers in ahead)  # confirmation, data, termination
    other = Driver(SimulatedMeter(MeterConfig(), MADRID, lambda: NOW, model=MeterModel(seed=2)))
    other.start()
    assert other.exchange_bytes(requests[0]) != ahead[0]


def test_days_are_computed_once_and_shared() -> None:
    params = LoadParams.of(MeterModel(), MADRID)
    assert day_detail(params, date(2026, 5, 1)) is day_detail(params, date(2026, 5, 1))
    history = EnergyHistory(params, (0.0,) * 6, date(2026, 5, 1), 10)
    before = history.origin - HOUR
    assert history.register(before) == (0,) * 6  # nothing counted before the origin
    assert history.live(before) == (0.0,) * 6


# --- Days as the clock shows them ---------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "count"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 11, 13), 24)],
    ids=["march", "october", "november"],
)
async def test_a_day_has_the_hours_of_its_clock_and_its_daily_total_is_their_sum(
    day: date, count: int
) -> None:
    start, end = local(day, 1), local(day + timedelta(days=1))
    async with meter_client() as (_, client):
        periods = await client.read_profile(HOURLY, start, end)
        daily = await client.read_profile(DAILY, end, end)
    assert utc(periods) == hours(start, count)
    assert utc(daily) == [end.astimezone(UTC)]
    assert daily[0].values == _sum(periods)
    assert not any(period.all_flags for period in [*periods, *daily])


async def test_the_two_october_hours_ending_at_two_are_distinct_instants() -> None:
    day = date(2026, 10, 25)
    async with meter_client() as (_, client):
        periods = await client.read_profile(HOURLY, local(day, 1), local(day + timedelta(days=1)))
    twos = [period.end for period in periods if period.end.hour == 2]
    assert len(twos) == 2
    summer, winter = twos
    assert summer.utcoffset() == 2 * HOUR
    assert winter.utcoffset() == HOUR
    assert winter.astimezone(UTC) - summer.astimezone(UTC) == HOUR


# --- One history, three registers ---------------------------------------------------------
async def test_increments_are_the_differences_of_the_absolute_registers() -> None:
    start, end = local(date(2026, 11, 12), 1), local(date(2026, 11, 14))
    async with meter_client() as (_, client):
        increments = await client.read_profile(HOURLY, start, end)
        registers = await client.read_profile(HOURLY, start - HOUR, end, absolute=True)
        days = await client.read_profile(DAILY, end - timedelta(days=1), end)
        day_registers = await client.read_profile(
            DAILY, end - timedelta(days=2), end, absolute=True
        )
    assert utc(registers) == hours(start - HOUR, 49)
    assert utc(increments) == utc(registers)[1:]
    for key in PROFILE_SERIES:
        steps = [b.values[key] - a.values[key] for a, b in pairwise(registers)]  # type: ignore[operator]
        assert [period.values[key] for period in increments] == steps
        day_steps = [b.values[key] - a.values[key] for a, b in pairwise(day_registers)]  # type: ignore[operator]
        assert [period.values[key] for period in days] == day_steps
    assert registers[0].values["active_energy_import"] >= 12_345  # type: ignore[operator]
    assert _sum(increments)["active_energy_import"] > 0
    assert _sum(increments)["active_energy_export"] > 0  # the solar panels export at noon


async def test_quarters_add_up_to_their_hours() -> None:
    start, end = local(date(2026, 11, 13), 0), local(date(2026, 11, 14))
    async with meter_client() as (_, client):
        quarters = await client.read_profile(QUARTER_HOURLY, start + QUARTER, end)
        hourly = await client.read_profile(HOURLY, start + HOUR, end)
    assert utc(quarters) == hours(start + QUARTER, 96, QUARTER)
    by_hour: dict[datetime, list[ProfilePeriod]] = defaultdict(list)
    for quarter in quarters:
        by_hour[(quarter.end - QUARTER).astimezone(UTC).replace(minute=0) + HOUR].append(quarter)
    assert [_sum(by_hour[period.end.astimezone(UTC)]) for period in hourly] == [
        dict(period.values) for period in hourly
    ]


async def test_the_reserves_are_zero_and_invalid_in_every_register() -> None:
    meter = SimulatedMeter(MeterConfig(), MADRID, lambda: NOW)
    driver = Driver(meter)
    driver.start()
    for record in RecordAddress:
        end = local(date(2026, 11, 14))
        answers = driver.exchange(
            integrated_totals_request(1, end - HOUR, end, MADRID, record=record)
        )
        data = [decode_integrated_totals(a, MADRID) for a in answers if a.cause == Cause.REQUEST]
        assert data, record
        for totals in data:
            reserves = [t for t in totals.totals if t.address >= TotalObject.RESERVE_1]
            assert [(t.value, t.qualifier) for t in reserves] == [(0, 0x80), (0, 0x80)]


# --- Faults ------------------------------------------------------------------------------
async def test_faults_are_where_the_meter_says_and_read_as_the_importer_sees_them() -> None:
    async with meter_client() as (meter, client):
        faults = meter.profile.faults
        assert faults is not None
        gap = [hour.astimezone(UTC) for hour in faults.gap]
        assert faults.gap[0] == datetime(2026, 11, 10, 11, tzinfo=MADRID)
        assert gap == hours(gap[0], 3)
        around = await client.read_profile(
            HOURLY, faults.gap[0] - 2 * HOUR, faults.gap[-1] + 2 * HOUR
        )
        quarters = await client.read_profile(
            QUARTER_HOURLY, faults.gap[0] - 2 * HOUR, faults.gap[-1]
        )
        absolute = await client.read_profile(
            HOURLY, faults.gap[0] - HOUR, faults.gap[-1] + HOUR, absolute=True
        )
        days = await client.read_profile(
            DAILY, local(date(2026, 11, 10)), local(date(2026, 11, 12))
        )
        invalid = await client.read_profile(HOURLY, faults.invalid, faults.invalid)
        invalid_quarters = await client.read_profile(
            QUARTER_HOURLY, faults.invalid - HOUR + QUARTER, faults.invalid
        )
        invalid_registers = await client.read_profile(
            HOURLY, faults.invalid, faults.invalid, absolute=True
        )
        invalid_day = await client.read_profile(
            DAILY, local(date(2026, 11, 1)), local(date(2026, 11, 1))
        )
        incomplete = await client.read_profile(HOURLY, faults.incomplete, faults.incomplete)
        synced = await client.read_profile(HOURLY, faults.time_sync - HOUR, faults.time_sync + HOUR)
    # The gap: the meter sends nothing for those hours, in any register.
    assert utc(around) == [gap[0] - 2 * HOUR, gap[0] - HOUR, gap[-1] + HOUR, gap[-1] + 2 * HOUR]
    assert utc(quarters) == hours(gap[0] - 2 * HOUR, 5, QUARTER)  # to the gap's start
    assert utc(absolute) == [gap[0] - HOUR, gap[-1] + HOUR]
    assert utc(days) == [
        local(date(2026, 11, 10)).astimezone(UTC),
        local(date(2026, 11, 12)).astimezone(UTC),
    ]
    assert not any(period.all_flags for period in [*around, *quarters, *days])
    # The invalid hour: every series None and flagged, its quarters and its day too.
    assert faults.invalid == datetime(2026, 10, 31, 19, tzinfo=MADRID)
    for period in [*invalid, *invalid_quarters, *invalid_registers, *invalid_day]:
        assert period.values == dict.fromkeys(PROFILE_SERIES)
        assert period.flags == dict.fromkeys(PROFILE_SERIES, frozenset({PeriodFlag.INVALID}))
    assert len(invalid_quarters) == 4
    # The incomplete hour (a power failure): values, but unfit for statistics.
    assert faults.incomplete == datetime(2026, 10, 21, 4, tzinfo=MADRID)
    (period,) = incomplete
    assert period.all_flags == {PeriodFlag.INCOMPLETE}
    assert all(value is not None for value in period.values.values())
    assert period.usable("active_energy_import") is None
    # The synchronised hour: flagged, and usable; its neighbours are clean.
    assert faults.time_sync == datetime(2026, 11, 5, 9, tzinfo=MADRID)
    assert [p.all_flags for p in synced] == [frozenset(), {PeriodFlag.TIME_SYNC}, frozenset()]
    assert synced[1].usable("active_energy_import") == synced[1].values["active_energy_import"]


async def test_a_meter_without_history_faults_keeps_every_hour_clean() -> None:
    async with meter_client(history_faults=False) as (meter, client):
        assert meter.profile.faults is None
        start = local(date(2026, 10, 21), 1)
        periods = await client.read_profile(HOURLY, start, local(date(2026, 11, 20)))
    assert utc(periods) == hours(start, 30 * 24 + 1)  # 25 hours on 25 October
    assert not any(period.all_flags for period in periods)


# --- Live values --------------------------------------------------------------------------
@pytest.mark.parametrize("minutes", [0, 40])
async def test_live_totals_are_the_last_hours_register_plus_the_energy_since(minutes: int) -> None:
    hour = datetime(2026, 11, 20, 20, tzinfo=MADRID)
    async with meter_client(hour + timedelta(minutes=minutes)) as (meter, client):
        reading = await client.read_values()
        (register,) = await client.read_profile(HOURLY, hour, hour, absolute=True)
    later = dict(zip(PROFILE_SERIES, meter.history.register(hour + HOUR), strict=True))
    for key in PROFILE_SERIES:
        live = reading.get(key)
        assert live is not None
        if minutes:
            assert register.values[key] <= live <= later[key]  # type: ignore[operator]
        else:
            assert live == register.values[key]
    if minutes:  # the evening: 40 minutes of import show in the live register
        assert reading.get("active_energy_import") > register.values["active_energy_import"]  # type: ignore[operator]


# --- What is served ---------------------------------------------------------------------
async def test_nothing_before_the_history_nor_of_the_current_period() -> None:
    async with meter_client(history_days=30, history_faults=False) as (meter, client):
        origin = meter.history.origin
        assert origin == local(date(2026, 10, 21)).astimezone(UTC)
        early_hours = await client.read_profile(HOURLY, origin - 3 * HOUR, origin + 2 * HOUR)
        early_quarters = await client.read_profile(
            QUARTER_HOURLY, origin - HOUR, origin + 2 * QUARTER
        )
        early_days = await client.read_profile(
            DAILY, origin - timedelta(days=2), origin + timedelta(days=1)
        )
        late_hours = await client.read_profile(HOURLY, NOW - 2 * HOUR, NOW + 2 * HOUR)
        late_quarters = await client.read_profile(QUARTER_HOURLY, NOW - HOUR, NOW + HOUR)
        late_days = await client.read_profile(
            DAILY, NOW - timedelta(days=1), NOW + timedelta(days=1)
        )
        before = await client.read_profile(HOURLY, origin - 10 * HOUR, origin)
        after = await client.read_profile(HOURLY, NOW + HOUR, NOW + 5 * HOUR)
    assert utc(early_hours) == hours(origin + HOUR, 2)
    assert utc(early_quarters) == hours(origin + QUARTER, 2, QUARTER)
    assert utc(early_days) == [origin + timedelta(days=1)]
    twelve = datetime(2026, 11, 20, 12, tzinfo=MADRID)
    assert utc(late_hours) == hours(twelve, 2)  # 12:00 and 13:00; 14:00 is not over
    assert utc(late_quarters) == hours(twelve + 2 * QUARTER, 5, QUARTER)  # up to 13:30
    assert utc(late_days) == [local(date(2026, 11, 20)).astimezone(UTC)]
    assert before == after == []


async def test_a_day_old_history_and_a_moving_clock() -> None:
    clock = [NOW]
    line = make_line(clock=lambda: clock[0], history_days=1, history_faults=False)
    async with serving(line) as url, client_for(url) as client:
        first = await client.read_profile(DAILY, NOW - timedelta(days=5), NOW)
        clock[0] = NOW + timedelta(days=2)  # the meter forgets its first day
        later = await client.read_profile(DAILY, NOW - timedelta(days=5), clock[0])
    assert utc(first) == [local(date(2026, 11, 20)).astimezone(UTC)]
    assert utc(later) == [local(date(2026, 11, 22)).astimezone(UTC)]


def test_one_request_is_capped_and_made_one_poll_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iec102_meter, "MAX_RANGE_ANSWERS", 5)
    meter = SimulatedMeter(MeterConfig(), MADRID, lambda: NOW)
    driver = Driver(meter)
    driver.start()
    start = local(date(2026, 11, 13))
    driver.send(integrated_totals_request(1, start, start + 48 * HOUR, MADRID))
    assert len(meter._pending) == 3  # confirmation, the data (not made yet), termination
    answers = []
    while (raw := driver.poll()) is not None:
        answers.append(raw)
    assert len(answers) == 1 + 5 + 1
    # A link reset drops what was still queued.
    driver.send(integrated_totals_request(1, start, start + 48 * HOUR, MADRID))
    driver.poll()
    driver.start()
    assert driver.poll() is None


def test_range_refusals() -> None:
    meter = SimulatedMeter(MeterConfig(), MADRID, lambda: NOW)
    driver = Driver(meter)
    end = local(date(2026, 11, 13))
    request = integrated_totals_request(1, end, end, MADRID)
    (refused,) = driver.exchange(request)
    assert (refused.cause, refused.negative) == (Cause.ACTIVATION_CONFIRMATION, True)
    driver.start()

    def causes(asdu: Asdu) -> list[int]:
        return [answer.cause for answer in driver.exchange(asdu)]

    odd_record = Asdu(request.type_id, request.cause, 1, 13, count=1, body=request.body)
    assert causes(odd_record) == [Cause.PERIOD_NOT_AVAILABLE]
    no_objects = Asdu(
        request.type_id, request.cause, 1, 11, count=1, body=b"\x09\x09" + request.body[2:]
    )
    assert causes(no_objects) == [Cause.OBJECT_NOT_AVAILABLE]
    no_time = Asdu(
        request.type_id, request.cause, 1, 11, count=1, body=request.body[:2] + bytes(10)
    )
    assert causes(no_time) == [Cause.RECORD_NUMBER_UNKNOWN]
    assert causes(integrated_totals_request(9, end - HOUR, end, MADRID)) == [Cause.ADDRESS_UNKNOWN]
    assert causes(request) == [
        Cause.ACTIVATION_CONFIRMATION,
        Cause.REQUEST,
        Cause.ACTIVATION_TERMINATION,
    ]
    assert [a.type_id for a in driver.exchange(request)][1] == TypeId.M_IT_TK_2


def test_a_register_set_by_hand_keeps_counting_from_there() -> None:
    evening = datetime(2026, 11, 20, 20, tzinfo=MADRID)
    clock = [evening]
    target = SimulatedMeter(MeterConfig(), MADRID, lambda: clock[0])
    model, history = target.model, target.history
    assert model.sample(evening).energy == history.register(evening)
    model.energy_import_kwh = 5.0  # a glitch, or a counter adjusted by hand
    assert model.sample(evening).energy[0] == 5
    clock[0] = evening + timedelta(minutes=40)
    energy = model.sample(clock[0]).energy
    assert energy is not None
    grown = history.live(clock[0])[0] + (5.0 - history.live(evening)[0])
    assert energy[0] == int(grown) > 5
    assert energy[1:] == tuple(int(value) for value in history.live(clock[0])[1:])
