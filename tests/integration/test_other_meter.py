"""Another meter answering at a meter's address: never taken for it, a repair says who.

The meters are the real simulators as processes on a real TCP port: stopping one and
starting another on the same port (with another serial) is a meter swapped behind the
converter, as the client sees it (the connection drops, the next one reaches the other).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from custom_components.iec_meter.const import (
    CONF_BILLING_CONTRACT,
    CONF_PROFILE,
    DOMAIN,
)
from custom_components.iec_meter.coordinator import IecMeterCoordinator, other_meter_issue_id
from custom_components.iec_meter.core.iec102.constants import TypeId
from custom_components.iec_meter.profile_import import ImportStatus
from simulator.iec102_meter import MeterConfig
from tests.simulator.process import simulator_process as meter_process

from .conftest import (
    FAST_OPTIONS,
    Simulated,
    iec62056_subentry,
    make_62056_entry,
    make_entry,
    setup_entry,
    start_fix_flow,
)

ROOT = Path(__file__).resolve().parents[2]
ENERGY = "sensor.house_energy_import"
OTHER_SERIAL = "48399999"


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


@pytest.fixture(autouse=True)
def _quiet_sql(caplog: pytest.LogCaptureFixture) -> None:
    """The test plugin logs every SQL statement of the recorder."""
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


def coordinator_of(entry: Any) -> IecMeterCoordinator:
    (coordinator,) = entry.runtime_data.coordinators.values()
    return coordinator


async def poll(hass: HomeAssistant, coordinator: IecMeterCoordinator) -> None:
    async with asyncio.timeout(30):
        await coordinator.async_refresh()
        await hass.async_block_till_done()


def other_meter_issue(
    hass: HomeAssistant, coordinator: IecMeterCoordinator
) -> ir.IssueEntry | None:
    issue_id = other_meter_issue_id(coordinator.subentry.subentry_id)
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


def states_of(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Every state ``entity_id`` takes from now on."""
    seen: list[str] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        seen.append("" if new is None else new.state)

    async_track_state_change_event(hass, [entity_id], changed)
    return seen


IEC102 = ("--link-address", "1", "--password", "1")


async def test_iec102_meter_swapped_on_its_port(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Another serial at the address: unavailable, one log line, a repair; then back."""
    async with meter_process("iec102", "--tcp", "127.0.0.1:0", *IEC102) as url:
        entry = await setup_entry(hass, make_entry(url))
        coordinator = coordinator_of(entry)
        assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
    here = f"127.0.0.1:{port_of(url)}"
    seen = states_of(hass, ENERGY)
    reads = coordinator.guard.reads
    async with meter_process("iec102", "--tcp", here, *IEC102, "--serial-number", OTHER_SERIAL):
        caplog.clear()
        await poll(hass, coordinator)
        # The connection is new: this very poll asks who answers.
        assert coordinator.other_meter is not None
        await poll(hass, coordinator)
        assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
        assert seen == [STATE_UNAVAILABLE]  # not one value of the other meter
        assert coordinator.guard.reads == reads  # its values never reached the guard
        issue = other_meter_issue(hass, coordinator)
        assert issue is not None
        assert issue.is_fixable
        assert issue.translation_key == "other_meter"
        assert issue.translation_placeholders == {"meter": "House"}
        assert issue.data is not None
        assert (issue.data["expected"], issue.data["answered"]) == ("48300001", OTHER_SERIAL)
        logged = [
            record
            for record in caplog.records
            if record.levelno >= logging.WARNING and OTHER_SERIAL in record.getMessage()
        ]
        assert len(logged) == 1, logged  # logged once, as a dead meter is
        assert coordinator.scan.on_scan  # it answers: no reason to demote it
    async with meter_process("iec102", "--tcp", here, *IEC102):
        await poll(hass, coordinator)
        assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
        assert other_meter_issue(hass, coordinator) is None
        assert coordinator.other_meter is None
        assert float(seen[-1]) > 0
        await hass.config_entries.async_unload(entry.entry_id)


IEC62056 = ("--no-pace",)


async def test_iec62056_meter_swapped_on_its_port(hass: HomeAssistant) -> None:
    """The same for an IEC 62056-21 meter, whose serial comes with every readout."""
    async with meter_process("iec62056", "--tcp", "127.0.0.1:0", *IEC62056) as url:
        entry = await setup_entry(hass, make_62056_entry(url, iec62056_subentry()))
        coordinator = coordinator_of(entry)
        assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
    here = f"127.0.0.1:{port_of(url)}"
    seen = states_of(hass, ENERGY)
    async with meter_process("iec62056", "--tcp", here, *IEC62056, "--serial", "87654321"):
        await poll(hass, coordinator)
        assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
        assert seen == [STATE_UNAVAILABLE]
        issue = other_meter_issue(hass, coordinator)
        assert issue is not None
        assert issue.data is not None
        assert (issue.data["expected"], issue.data["answered"]) == ("12345678", "87654321")
    async with meter_process("iec62056", "--tcp", here, *IEC62056):
        await poll(hass, coordinator)
        assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
        assert other_meter_issue(hass, coordinator) is None
        await hass.config_entries.async_unload(entry.entry_id)


async def test_fix_flow_reads_again_and_clears_when_the_meter_is_back(
    hass: HomeAssistant,
) -> None:
    async with meter_process("iec102", "--tcp", "127.0.0.1:0", *IEC102) as url:
        entry = await setup_entry(hass, make_entry(url))
        coordinator = coordinator_of(entry)
    here = f"127.0.0.1:{port_of(url)}"
    async with meter_process("iec102", "--tcp", here, *IEC102, "--serial-number", OTHER_SERIAL):
        await poll(hass, coordinator)
        issue_id = other_meter_issue_id(coordinator.subentry.subentry_id)
        manager, result = await start_fix_flow(hass, issue_id)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "confirm"
        assert result["description_placeholders"] == {
            "meter": "House",
            "expected": "48300001",
            "answered": OTHER_SERIAL,
            "address": "link address 1",
        }
        # Still the other meter: the user is told to add it as a new meter.
        result = await manager.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "other_meter"
        assert other_meter_issue(hass, coordinator) is not None
        manager, result = await start_fix_flow(hass, issue_id)
    # Nobody answers: the form again, with the reason; the issue stays.
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_response"}
    assert other_meter_issue(hass, coordinator) is not None
    async with meter_process("iec102", "--tcp", here, *IEC102):
        # The user takes a moment: the bus tries no new connection within its delay.
        await asyncio.sleep(coordinator.bus.timing.reconnect_delay)
        result = await manager.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert other_meter_issue(hass, coordinator) is None
        assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("meter_configs", [[MeterConfig(serial_number=int(OTHER_SERIAL))]])
async def test_no_profile_or_billing_is_read_from_another_meter(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    """The records of the meter that answers never become this meter's statistics."""
    options = {**FAST_OPTIONS, CONF_PROFILE: "hourly", CONF_BILLING_CONTRACT: 1}
    entry = await setup_entry(hass, make_entry(simulated.url, options=options))
    coordinator = coordinator_of(entry)
    assert coordinator.other_meter is not None
    (importer,) = entry.runtime_data.importers.values()
    (billing,) = entry.runtime_data.billing.values()
    await importer.async_import()
    await billing.async_refresh()
    assert importer.status is ImportStatus.FAILED
    assert importer.counters.last_error == f"another meter answers: {OTHER_SERIAL}"
    assert importer.counters.rows_written == 0
    assert not billing.last_update_success
    assert billing.data is None
    asked = {asdu for _, _, asdu in simulated.line.trace if asdu is not None}
    records = {TypeId.C_CI_NU_2, TypeId.C_TA_VC_2, TypeId.C_TA_VM_2, TypeId.C_PC_NA_2}
    assert not asked & {int(t) for t in records}
    # The issue goes with the meter's coordinator (a meter deleted leaves none behind).
    assert other_meter_issue(hass, coordinator) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    assert other_meter_issue(hass, coordinator) is None


async def test_fix_flow_of_a_meter_gone(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    for entry_id, subentry_id in ((entry.entry_id, "gone"), ("nothing", "gone")):
        issue_id = other_meter_issue_id(f"{entry_id}_{subentry_id}")
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            data={"entry_id": entry_id, "subentry_id": subentry_id},
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="other_meter",
            translation_placeholders={"meter": "Gone", "expected": "1", "answered": "2"},
        )
        _, result = await start_fix_flow(hass, issue_id)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "meter_removed"


@pytest.mark.parametrize("meter_configs", [[MeterConfig(manufacturer_code=99)]])
async def test_same_serial_of_another_manufacturer(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """The serials alone agree: the manufacturers tell the two meters apart."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    coordinator = coordinator_of(entry)
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    assert coordinator.other_meter is not None
    assert coordinator.other_meter.expected == "66 48300001"
    assert coordinator.other_meter.answered == "99 48300001"


def asked(simulated: Simulated, *types: TypeId) -> int:
    """Requests of these ASDU types the simulated meter has received so far."""
    wanted = {int(t) for t in types}
    return sum(1 for _, _, asdu in simulated.line.trace if asdu in wanted)


RECORDS = (TypeId.C_CI_NU_2, TypeId.C_TA_VC_2, TypeId.C_TA_VM_2, TypeId.C_PC_NA_2)


def swap_in_place(simulated: Simulated, serial: int) -> None:
    """Another meter answers on the same connection (an address changed on the bus)."""
    (meter,) = simulated.line.meters
    meter.config.serial_number = serial


def five_minutes_on(coordinator: IecMeterCoordinator) -> None:
    real = coordinator.monotonic
    coordinator.monotonic = lambda: real() + 301


async def test_a_healthy_iec102_meter_is_asked_who_it_is_every_5_minutes_only(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """The identity costs a request: asked at connect and with the clock, not every poll."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    coordinator = coordinator_of(entry)
    assert asked(simulated, TypeId.C_RD_NA_2) == 1  # the first poll's
    checked = coordinator.identity_checked
    assert checked is not None
    for _ in range(5):
        await poll(hass, coordinator)
    assert asked(simulated, TypeId.C_RD_NA_2) == 1
    assert coordinator.identity_checked == checked
    assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
    five_minutes_on(coordinator)
    await poll(hass, coordinator)
    assert asked(simulated, TypeId.C_RD_NA_2) == 2  # along with the clock read
    assert coordinator.identity_checked is not None
    assert coordinator.identity_checked > checked
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_meter_swapped_in_place_is_caught_within_5_minutes(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """Same connection, another serial: the check that comes with the clock finds it."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    coordinator = coordinator_of(entry)
    swap_in_place(simulated, int(OTHER_SERIAL))
    await poll(hass, coordinator)
    assert coordinator.other_meter is None  # not asked yet: the price of the cadence
    five_minutes_on(coordinator)
    await poll(hass, coordinator)
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    assert coordinator.other_meter is not None
    assert coordinator.other_meter.answered == OTHER_SERIAL
    assert other_meter_issue(hass, coordinator) is not None
    # While it answers, every poll asks again, so its return shows at once.
    swap_in_place(simulated, 48300001)
    await poll(hass, coordinator)
    assert coordinator.other_meter is None
    assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_meter_swapped_in_place_is_caught_before_its_records_are_read(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    """Between two checks of the polls, a records read asks who answers first."""
    options = {**FAST_OPTIONS, CONF_PROFILE: "hourly", CONF_BILLING_CONTRACT: 1}
    entry = await setup_entry(hass, make_entry(simulated.url, options=options))
    coordinator = coordinator_of(entry)
    (importer,) = entry.runtime_data.importers.values()
    (billing,) = entry.runtime_data.billing.values()
    await importer.async_import()  # after the one the setup started
    assert importer.status is ImportStatus.UP_TO_DATE
    assert billing.last_update_success
    written = importer.counters.rows_written

    swap_in_place(simulated, int(OTHER_SERIAL))
    await poll(hass, coordinator)
    assert coordinator.other_meter is None  # the poll did not ask
    simulated.line.trace.clear()
    await billing.async_refresh()
    assert not billing.last_update_success
    assert asked(simulated, TypeId.C_RD_NA_2) == 1
    assert asked(simulated, *RECORDS) == 0
    assert coordinator.other_meter is not None
    assert other_meter_issue(hass, coordinator) is not None
    assert coordinator.other_meter_answered  # the fix flow sees it as a poll's finding
    await hass.async_block_till_done()
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE

    swap_in_place(simulated, 48300001)
    await poll(hass, coordinator)
    assert coordinator.other_meter is None
    swap_in_place(simulated, int(OTHER_SERIAL))
    simulated.line.trace.clear()
    await importer.async_import()
    assert importer.status is ImportStatus.FAILED
    assert importer.counters.rows_written == written
    assert asked(simulated, TypeId.C_RD_NA_2) == 1
    assert asked(simulated, *RECORDS) == 0
    assert coordinator.other_meter is not None
    await hass.config_entries.async_unload(entry.entry_id)
