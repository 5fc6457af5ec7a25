"""Billing sensors against the real simulator: what exists, what it shows, when it reads.

The simulated meter bills contract I with a three-period tariff (P1-P3 in use, P4-P6
all zero), closes every month at local midnight of the 1st and has contracted powers of
5, 5 and 8 kW; contracts II and III hold nothing. Values are compared with the
simulator's own billing book, so a decoding or mapping slip shows as a wrong state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
import logging
import re
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.iec_meter import billing as billing_module
from custom_components.iec_meter.billing import (
    BILLING_INTERVAL,
    RETRY_INTERVAL,
    BillingCoordinator,
    BillingData,
    last_closure,
)
from custom_components.iec_meter.const import CONF_BILLING_CONTRACT, DOMAIN
from custom_components.iec_meter.core.errors import NoResponse
from custom_components.iec_meter.core.iec102.asdu.billing import BillingObject
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.records import BillingPeriod
from custom_components.iec_meter.diagnostics import async_get_config_entry_diagnostics
from simulator.iec102_meter import SimulatedMeter
from tests.conftest import MADRID, make_line, serving

from .conftest import FAST_OPTIONS, METER_TIME, Simulated, make_entry, plain, setup_entry

METER_ID = "66-48300001"
ENERGY = "sensor.house_energy_import"
#: The last closure before METER_TIME (21 June): local midnight of 1 June.
LAST_CLOSURE = datetime(2026, 6, 1, tzinfo=MADRID)
#: The billing sensors of a three-period tariff.
THREE_PERIODS = {
    "active_energy",
    "active_energy_p1",
    "active_energy_p2",
    "active_energy_p3",
    "reactive_inductive_energy",
    "reactive_capacitive_energy",
    "max_demand_p1",
    "max_demand_p2",
    "max_demand_p3",
    "max_demand_time_p1",
    "max_demand_time_p2",
    "max_demand_time_p3",
    "excess_power",
    "excess_power_p1",
    "excess_power_p2",
    "excess_power_p3",
    "closure_end",
    "closure_active_energy",
    "closure_active_energy_p1",
    "closure_active_energy_p2",
    "closure_active_energy_p3",
    "closure_max_demand_p1",
    "closure_max_demand_p2",
    "closure_max_demand_p3",
    "contracted_power_p1",
    "contracted_power_p2",
    "contracted_power_p3",
}
CURRENT_ONLY = {
    key for key in THREE_PERIODS if not key.startswith(("closure_", "contracted_power"))
}
#: Enabled by default: what the bill charges for. Everything else starts disabled.
ENABLED = {
    "active_energy",
    "active_energy_p1",
    "active_energy_p2",
    "active_energy_p3",
    "max_demand_p1",
    "max_demand_p2",
    "max_demand_p3",
    "excess_power",
    "contracted_power_p1",
    "contracted_power_p2",
    "contracted_power_p3",
}
#: Longest billing name, in every language: the device page cut "Maximum demand tim…".
NAME_LIMIT = 20


def options(contract: int = 1) -> dict[str, Any]:
    """The test options with billing of ``contract`` on."""
    return {**FAST_OPTIONS, CONF_BILLING_CONTRACT: contract}


def billing_keys(hass: HomeAssistant) -> dict[str, str]:
    """The meter's billing entities: key (unique id after ``_billing_``) to entity id."""
    prefix = f"{METER_ID}_billing_"
    return {
        entity.unique_id.removeprefix(prefix): entity.entity_id
        for entity in er.async_get(hass).entities.values()
        if entity.platform == DOMAIN and entity.unique_id.startswith(prefix)
    }


async def enable_billing(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Enable the billing sensors disabled by default, as a user would, and reload."""
    registry = er.async_get(hass)
    for entity_id in billing_keys(hass).values():
        if registry.async_get(entity_id).disabled_by is not None:
            registry.async_update_entity(entity_id, disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


def coordinator_of(entry: MockConfigEntry) -> BillingCoordinator:
    (billing,) = entry.runtime_data.billing.values()
    return billing


def state_of(hass: HomeAssistant, key: str) -> str:
    return hass.states.get(billing_keys(hass)[key]).state


def when(state: str) -> datetime | None:
    return dt_util.parse_datetime(state)


def by_period(objects: list[BillingObject]) -> dict[int, BillingObject]:
    return {item.tariff_period: item for item in objects}


async def refresh(hass: HomeAssistant, coordinator: Any) -> None:
    await coordinator.async_refresh()
    await hass.async_block_till_done()


def records_logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if text in record.getMessage()]


async def test_three_period_tariff(
    hass: HomeAssistant, simulated: Simulated, snapshot: SnapshotAssertion
) -> None:
    """P1-P3 and the totals, with the simulator's own numbers and classes HA accepts."""
    await enable_billing(
        hass, await setup_entry(hass, make_entry(simulated.url, options=options()))
    )
    keys = billing_keys(hass)
    assert set(keys) == THREE_PERIODS
    meter: SimulatedMeter = simulated.line.meters[0]
    current = by_period(meter.billing.current(METER_TIME))
    for period, suffix in ((0, ""), (1, "_p1"), (2, "_p2"), (3, "_p3")):
        item = current[period]
        state = hass.states.get(keys[f"active_energy{suffix}"])
        assert float(state.state) == item.active.increment
        # A resetting total: the reset is the period's start, not a lifetime counter.
        assert when(state.attributes["last_reset"]) == datetime(2026, 6, 1, tzinfo=MADRID)
        assert float(state_of(hass, f"excess_power{suffix}")) == item.excess_power
        if period:
            assert float(state_of(hass, f"max_demand{suffix}")) == item.max_demand
            assert when(state_of(hass, f"max_demand_time{suffix}")) == item.max_demand_time
    assert float(state_of(hass, "reactive_inductive_energy")) == current[0].inductive.increment
    assert float(state_of(hass, "reactive_capacitive_energy")) == current[0].capacitive.increment
    assert current[4].active.absolute == 0  # P4 exists in the answer, all zero: no entity

    closure = by_period(meter.billing.closure(LAST_CLOSURE))
    assert when(state_of(hass, "closure_end")) == LAST_CLOSURE
    for period, suffix in ((0, ""), (1, "_p1"), (2, "_p2"), (3, "_p3")):
        item = closure[period]
        assert float(state_of(hass, f"closure_active_energy{suffix}")) == item.active.increment
        if period:
            assert float(state_of(hass, f"closure_max_demand{suffix}")) == item.max_demand
    powers = {p: float(state_of(hass, f"contracted_power_p{p}")) for p in (1, 2, 3)}
    assert powers == {1: 5.0, 2: 5.0, 3: 8.0}

    registry = er.async_get(hass)
    (device,) = dr.async_entries_for_config_entry(
        dr.async_get(hass), next(iter(hass.config_entries.async_entries(DOMAIN))).entry_id
    )
    described = {}
    for key, entity_id in sorted(keys.items()):
        entity = registry.async_get(entity_id)
        assert entity.device_id == device.id
        state = hass.states.get(entity_id)
        described[key] = {
            "name": state.attributes["friendly_name"],
            "device_class": entity.original_device_class,
            "state_class": (entity.capabilities or {}).get("state_class"),
            "unit": entity.unit_of_measurement,
            "entity_category": entity.entity_category,
            "last_reset": "last_reset" in state.attributes,
        }
    assert described["contracted_power_p1"]["entity_category"] is EntityCategory.DIAGNOSTIC
    assert plain(described) == snapshot

    entry = next(iter(hass.config_entries.async_entries(DOMAIN)))
    (meter_diagnostics,) = (await async_get_config_entry_diagnostics(hass, entry))[
        "meters"
    ].values()
    assert meter_diagnostics["billing"] == {
        "contract": 1,
        "supported": True,
        "available": True,
        "periods_in_use": [1, 2, 3],
        "current_start": "2026-06-01T00:00:00+02:00",
        "last_closure_end": "2026-06-01T00:00:00+02:00",
        "contracted_powers": {1: 5.0, 2: 5.0, 3: 8.0},
    }


@pytest.mark.parametrize("language", ["en", "es"])
async def test_names_fit_and_the_details_start_disabled(
    hass: HomeAssistant, simulated: Simulated, language: str, snapshot: SnapshotAssertion
) -> None:
    """Short, distinct names with the tariff period first; only the bill's essentials on.

    The names are those Home Assistant gave the entities in the system language (the
    registry keeps them for disabled entities too), so a translation slip shows here.
    """
    hass.config.language = language
    entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
    registry = er.async_get(hass)
    keys = billing_keys(hass)
    billing = {key: registry.async_get(entity_id) for key, entity_id in keys.items()}
    names = {key: str(entity.original_name) for key, entity in billing.items()}
    too_long = {name: len(name) for name in names.values() if len(name) > NAME_LIMIT}
    assert too_long == {}
    for key, name in names.items():
        if match := re.search(r"_p(\d)$", key):
            assert name.startswith(f"P{match[1]} "), name  # truncation never hides it
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    on_device = [
        entity.original_name
        for entity in er.async_entries_for_device(
            registry, device.id, include_disabled_entities=True
        )
    ]
    assert len(on_device) > len(names)  # the live sensors are on the same device
    assert len(set(on_device)) == len(on_device)

    enabled = {key for key, entity in billing.items() if entity.disabled_by is None}
    assert enabled == ENABLED
    assert all(
        billing[key].disabled_by is er.RegistryEntryDisabler.INTEGRATION
        for key in THREE_PERIODS - ENABLED
    )
    assert {key: [names[key], key in enabled] for key in sorted(names)} == snapshot


async def test_values_follow_the_meter_hour_by_hour(hass: HomeAssistant) -> None:
    """An hourly read takes one turn; closure and powers are read again a day later."""
    clock = MeterClock(METER_TIME)
    line = make_line(clock=clock)
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url, options=options()))
        billing = coordinator_of(entry)
        assert billing.update_interval == BILLING_INTERVAL
        bus = entry.runtime_data.bus
        meter: SimulatedMeter = line.meters[0]

        clock.now = METER_TIME + timedelta(hours=3)
        turns = bus.turns
        await refresh(hass, billing)
        assert bus.turns == turns + 2  # who answers, then the current period only
        total = by_period(meter.billing.current(clock.now))[0]
        assert float(state_of(hass, "active_energy")) == total.active.increment

        later = dt_util.utcnow() + timedelta(days=1)
        with patch.object(billing_module, "dt_util", SimpleNamespace(utcnow=lambda: later)):
            turns = bus.turns
            await refresh(hass, billing)
        assert bus.turns == turns + 4  # who answers, current period, closure, powers


async def test_a_closure_starts_a_new_period(hass: HomeAssistant) -> None:
    """After the 1st's closure: the energy resets, the closure moves, no day's wait."""
    clock = MeterClock(METER_TIME)
    line = make_line(clock=clock)
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url, options=options()))
        await enable_billing(hass, entry)
        billing = coordinator_of(entry)
        june = float(state_of(hass, "active_energy"))
        clock.now = datetime(2026, 7, 1, 2, 30, tzinfo=MADRID)
        turns = entry.runtime_data.bus.turns
        await refresh(hass, billing)
        assert entry.runtime_data.bus.turns == turns + 3  # who answers, period, closure
        july = datetime(2026, 7, 1, tzinfo=MADRID)
        state = hass.states.get(billing_keys(hass)["active_energy"])
        assert float(state.state) < june
        assert when(state.attributes["last_reset"]) == july
        assert when(state_of(hass, "closure_end")) == july
        closure = by_period(line.meters[0].billing.closure(july))
        assert float(state_of(hass, "closure_active_energy")) == closure[0].active.increment


async def test_contract_without_data_has_no_entities(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    """Contract II holds nothing on the simulated meter: no entities, one line, one turn."""
    caplog.set_level(logging.INFO)
    entry = await setup_entry(hass, make_entry(simulated.url, options=options(2)))
    assert billing_keys(hass) == {}
    billing = coordinator_of(entry)
    assert billing.last_update_success
    assert not billing.data.in_force
    turns = entry.runtime_data.bus.turns
    await refresh(hass, billing)
    assert entry.runtime_data.bus.turns == turns + 2  # who answers, no closure or powers
    assert len(records_logged(caplog, "contract 2 holds no billing data")) == 1
    assert billing_keys(hass) == {}


async def test_meter_without_billing(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """ "Type not available": one log line, no entities, never asked again; live goes on."""
    caplog.set_level(logging.INFO)
    line = make_line(clock=lambda: METER_TIME, unsupported=frozenset({133, 134, 144}))
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url, options=options()))
        billing = coordinator_of(entry)
        assert billing_keys(hass) == {}
        assert not billing.supported
        assert billing.update_interval is None
        turns = entry.runtime_data.bus.turns
        await refresh(hass, billing)
        assert entry.runtime_data.bus.turns == turns
        assert len(records_logged(caplog, "does not keep billing periods")) == 1
        assert not records_logged(caplog, "Error fetching House billing")
        (live,) = entry.runtime_data.coordinators.values()
        await refresh(hass, live)
        assert float(hass.states.get(ENERGY).state) > 0


async def test_meter_without_closures_or_powers(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The current period alone when the meter keeps neither closures nor powers."""
    caplog.set_level(logging.INFO)
    line = make_line(clock=lambda: METER_TIME, unsupported=frozenset({134, 144}))
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url, options=options()))
        assert set(billing_keys(hass)) == CURRENT_ONLY
        billing = coordinator_of(entry)
        later = dt_util.utcnow() + timedelta(days=1)
        turns = entry.runtime_data.bus.turns
        with patch.object(billing_module, "dt_util", SimpleNamespace(utcnow=lambda: later)):
            await refresh(hass, billing)
        assert entry.runtime_data.bus.turns == turns + 2  # who answers; neither asked again
        assert len(records_logged(caplog, "does not keep billing closures")) == 1
        assert len(records_logged(caplog, "has no contracted powers")) == 1
        assert float(state_of(hass, "active_energy")) > 0


async def test_failed_read_makes_only_billing_unavailable(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    """Billing unavailable, logged once, retried sooner; the live sensors carry on."""
    caplog.set_level(logging.INFO)
    entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
    billing = coordinator_of(entry)
    (live,) = entry.runtime_data.coordinators.values()
    failure = NoResponse("link address 1: no answer")
    with patch.object(billing.client, "read_billing", side_effect=failure):
        await refresh(hass, billing)
        await refresh(hass, billing)
        await refresh(hass, live)
    assert state_of(hass, "active_energy_p1") == STATE_UNAVAILABLE
    assert state_of(hass, "contracted_power_p1") == STATE_UNAVAILABLE
    assert hass.states.get(ENERGY).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    assert billing.update_interval == RETRY_INTERVAL
    lost = records_logged(caplog, "Error fetching House billing data")
    assert len(lost) == 1
    assert "Billing periods of meter House cannot be read: link address 1" in lost[0].message
    await refresh(hass, billing)
    assert float(state_of(hass, "active_energy_p1")) > 0
    assert billing.update_interval == BILLING_INTERVAL
    assert len(records_logged(caplog, "Fetching House billing data recovered")) == 1


async def test_entities_come_with_the_first_good_read(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """A meter whose billing could not be read at setup gets its sensors later.

    The contracted powers fail, after the current period and the closure were read:
    the next update must read the closure again, as nothing of the failed one was kept.
    """
    failure = NoResponse("link address 1: no answer")
    with patch.object(Iec102Client, "read_contracted_powers", side_effect=failure):
        entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
    billing = coordinator_of(entry)
    assert billing.data is None
    assert billing_keys(hass) == {}
    # The platform's listener keeps the coordinator on its schedule meanwhile.
    assert billing._listeners  # nothing public tells it
    await refresh(hass, billing)
    assert set(billing_keys(hass)) == THREE_PERIODS
    assert float(state_of(hass, "active_energy")) > 0


async def test_no_read_while_the_meter_is_unavailable(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """Billing waits for the live poll: no request to a dead meter or a held line."""
    entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
    billing = coordinator_of(entry)
    (live,) = entry.runtime_data.coordinators.values()
    bus = entry.runtime_data.bus
    simulated.line.options.faults.silent_every = 1
    await refresh(hass, live)
    turns = bus.turns
    await refresh(hass, billing)
    assert bus.turns == turns
    assert state_of(hass, "active_energy") == STATE_UNAVAILABLE
    assert billing.update_interval == RETRY_INTERVAL
    assert "while the meter fails its polls" in str(billing.last_exception)

    simulated.line.options.faults.silent_every = 0
    await refresh(hass, live)
    await refresh(hass, billing)
    value = state_of(hass, "active_energy")
    assert float(value) > 0
    async with bus.hold():
        # A gateway client has the line: the last values stay, nothing is asked.
        await refresh(hass, billing)
        assert state_of(hass, "active_energy") == value
        billing.data = None  # as if no read had succeeded yet
        await refresh(hass, billing)
        assert state_of(hass, "active_energy") == STATE_UNAVAILABLE
        assert "gateway client holds the line" in str(billing.last_exception)


async def test_period_start_left_out(hass: HomeAssistant, simulated: Simulated) -> None:
    """Without the start date the closure is sought from the meter's clock and ends it."""
    original = Iec102Client.read_billing

    async def without_start(
        client: Iec102Client,
        contract: int,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[BillingPeriod]:
        periods = await original(client, contract, start, end)
        return periods if start else [replace(period, start=None) for period in periods]

    with patch.object(Iec102Client, "read_billing", without_start):
        entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
        await enable_billing(hass, entry)
    state = hass.states.get(billing_keys(hass)["active_energy_p2"])
    assert when(state.attributes["last_reset"]) == LAST_CLOSURE
    assert when(state_of(hass, "closure_end")) == LAST_CLOSURE


async def test_unload_stops_reading(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url, options=options()))
    billing = coordinator_of(entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert not billing._listeners  # nothing public tells it


def test_billing_data_without_a_closure() -> None:
    """No closure stored: nothing to show, no period in use, no end."""
    assert last_closure([]) == {}
    open_only = BillingPeriod(1, 0, None, None, *([1.0] * 6), None, None, None)
    assert last_closure([open_only]) == {}
    data = BillingData({0: open_only})
    assert data.in_force
    assert data.periods == []
    assert data.closure_end is None
    assert data.current_start is None


class MeterClock:
    """A meter clock a test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
