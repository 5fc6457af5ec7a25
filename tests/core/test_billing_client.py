"""Billing and contracted powers: the client against the simulated meter, over TCP.

The meter's clock stands at a fixed time, so its closures are the same on every run;
the household's evening peaks (with an appliance on) exceed the 5 kW contracted in P1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from custom_components.iec_meter.core.errors import NotSupported
from custom_components.iec_meter.core.frame_log import FrameLog
from custom_components.iec_meter.core.iec102.asdu import Asdu
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import Cause, TypeId
from custom_components.iec_meter.core.iec102.frames import VariableFrame, decode_frame
from custom_components.iec_meter.core.records import BILLING_TOTAL, BillingPeriod, ProfileKind
from simulator.iec102_meter import SimulatedMeter
from tests.conftest import MADRID, client_for, make_line, serving

NOW = datetime(2026, 11, 20, 13, 30, tzinfo=MADRID)
CONTRACTED = {1: 5.0, 2: 5.0, 3: 8.0}
#: Fields that add up over the tariff periods into the total (period 0).
ENERGIES = (
    "active_energy",
    "active_energy_increment",
    "reactive_inductive_energy",
    "reactive_inductive_energy_increment",
    "reactive_capacitive_energy",
    "reactive_capacitive_energy_increment",
)


@contextlib.asynccontextmanager
async def meter_client(**options: Any) -> AsyncIterator[tuple[SimulatedMeter, Iec102Client]]:
    line = make_line(clock=lambda: NOW, **options)
    async with serving(line) as url, client_for(url) as client:
        yield line.meters[0], client


def check_period_set(periods: list[BillingPeriod]) -> None:
    """Totals and P1..P6 of one billing period, consistent with each other."""
    assert [period.period for period in periods] == list(range(7))
    total, *tariffs = periods
    assert total.period == BILLING_TOTAL
    assert [period.in_use for period in tariffs] == [True] * 3 + [False] * 3
    for field in ENERGIES:
        assert getattr(total, field) == sum(getattr(period, field) for period in tariffs[:3])
    assert all(period.max_demand_time is None for period in tariffs[3:])
    assert total.max_demand == max(period.max_demand or 0 for period in tariffs)
    assert total.excess_power == sum(period.excess_power or 0 for period in tariffs)
    assert {(period.start, period.end) for period in periods} == {(total.start, total.end)}
    for period in tariffs[:3]:
        demand = period.max_demand
        assert demand is not None
        assert period.excess_power == max(0.0, demand - CONTRACTED[period.period])
        assert period.max_demand_time is not None
        assert total.start is not None
        assert total.start < period.max_demand_time <= (total.end or NOW)


async def test_the_current_billing_period() -> None:
    async with meter_client() as (_, client):
        periods = await client.read_billing(1)
        (register,) = await client.read_profile(
            ProfileKind.HOURLY, NOW.replace(minute=0), NOW.replace(minute=0), absolute=True
        )
    check_period_set(periods)
    assert {(period.contract, period.start, period.end) for period in periods} == {
        (1, datetime(2026, 11, 1, tzinfo=MADRID), None)
    }
    # Up to the last complete hour: the registers are the profile's then.
    total = periods[0]
    assert total.active_energy == register.values["active_energy_import"]
    assert total.reactive_inductive_energy == register.values["reactive_energy_q1"]
    assert total.reactive_capacitive_energy == register.values["reactive_energy_q4"]


async def test_three_monthly_closures() -> None:
    start, end = datetime(2026, 8, 15, tzinfo=MADRID), datetime(2026, 11, 1, tzinfo=MADRID)
    async with meter_client() as (_, client):
        periods = await client.read_billing(1, start, end)
        registers = {
            closing: await client.read_profile(ProfileKind.HOURLY, closing, closing, absolute=True)
            for closing in (datetime(2026, 10, 1, tzinfo=MADRID), end)
        }
    assert len(periods) == 3 * 7
    closures = [periods[index : index + 7] for index in range(0, len(periods), 7)]
    for closure in closures:
        check_period_set(closure)
    assert [(c[0].start, c[0].end) for c in closures] == [
        (datetime(2026, month, 1, tzinfo=MADRID), datetime(2026, month + 1, 1, tzinfo=MADRID))
        for month in (8, 9, 10)
    ]
    # Each closure's increments are the differences of the registers at the closures.
    for before, after in pairwise(closures):
        for old, new in zip(before, after, strict=True):
            assert new.active_energy_increment == new.active_energy - old.active_energy  # type: ignore[operator]
    for closure in closures[1:]:
        (register,) = registers[closure[0].end]  # type: ignore[index]
        assert closure[0].active_energy == register.values["active_energy_import"]
    # The household's peaks go over the contracted power somewhere.
    assert any(period.excess_power for period in periods)


async def test_a_range_without_closures_and_the_contracts_the_meter_lacks() -> None:
    async with meter_client() as (_, client):
        assert await client.read_billing(1, NOW, NOW + timedelta(days=60)) == []
        ancient = datetime(2020, 1, 1, tzinfo=MADRID)
        assert await client.read_billing(1, ancient, ancient + timedelta(days=90)) == []
        assert await client.read_billing(2) == []
        assert await client.read_billing(3, ancient, NOW) == []
        assert await client.read_contracted_powers(1) == CONTRACTED
        with pytest.raises(NotSupported) as caught:
            await client.read_contracted_powers(2)
        assert caught.value.cause == Cause.RECORD_NOT_AVAILABLE
        assert client.session.logged_in  # nothing wrong with the session


def _current(client: Iec102Client) -> Awaitable[object]:
    return client.read_billing(1)


def _closures(client: Iec102Client) -> Awaitable[object]:
    return client.read_billing(1, NOW - timedelta(days=90), NOW)


def _powers(client: Iec102Client) -> Awaitable[object]:
    return client.read_contracted_powers(1)


@pytest.mark.parametrize(
    ("request_type", "read", "other"),
    [
        (TypeId.C_TA_VC_2, _current, _closures),
        (TypeId.C_TA_VM_2, _closures, _powers),
        (TypeId.C_PC_NA_2, _powers, _current),
    ],
    ids=["current", "closures", "contracted-powers"],
)
async def test_a_billing_request_the_meter_lacks_is_not_supported(
    request_type: TypeId,
    read: Callable[[Iec102Client], Awaitable[object]],
    other: Callable[[Iec102Client], Awaitable[object]],
) -> None:
    async with meter_client(unsupported=frozenset({request_type})) as (_, client):
        with pytest.raises(NotSupported, match="type not available") as caught:
            await read(client)
        assert caught.value.cause == Cause.TYPE_NOT_AVAILABLE
        assert await other(client)  # the meter's other reads still work


async def test_a_period_comes_in_frames_of_at_most_three_objects() -> None:
    line = make_line(clock=lambda: NOW)
    log = FrameLog(size=100)
    async with serving(line) as url, client_for(url, frame_log=log) as client:
        periods = await client.read_billing(1, NOW - timedelta(days=40), NOW)
    assert len(periods) == 7
    frames = [
        decode_frame(bytes.fromhex(item.hex)) for item in log.frames() if "**" not in item.hex
    ]
    answers = [Asdu.decode(f.asdu) for f in frames if isinstance(f, VariableFrame)]
    data = [asdu for asdu in answers if asdu.type_id == TypeId.M_TA_VM_2]
    assert [(asdu.count, asdu.record_address) for asdu in data] == [(3, 134), (3, 134), (1, 134)]
    # The objects in order, the totals first.
    closure = line.meters[0].billing.closure(datetime(2026, 11, 1, tzinfo=MADRID).astimezone(UTC))
    assert [item.address for item in closure] == list(range(20, 27))
