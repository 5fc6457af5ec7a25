"""Set-up, unload, reload, availability, buses and devices, against the real simulator."""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iec_meter import async_remove_config_entry_device
from custom_components.iec_meter.const import CONF_SCAN_INTERVAL, DOMAIN
from simulator.iec102_meter import MeterConfig

from .conftest import (
    FAST_OPTIONS,
    TWO_METERS,
    Simulated,
    house_and_garage,
    make_entry,
    meter_subentry,
    setup_entry,
)

ENERGY = "sensor.house_energy_import"
POWER = "sensor.house_power"


async def refresh(hass: HomeAssistant, entry, subentry_id: str | None = None) -> None:
    for sub_id, coordinator in entry.runtime_data.coordinators.items():
        if subentry_id in (None, sub_id):
            await coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_setup_and_unload(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    assert entry.state is ConfigEntryState.LOADED
    assert float(hass.states.get(ENERGY).state) >= 12345
    assert hass.states.get(POWER).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    assert simulated.line.meters[0].logged_in
    connection = entry.runtime_data.bus
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not connection.transport.is_open
    assert not simulated.line.meters[0].logged_in  # logged out on unload


async def test_cannot_open_the_connection_retries_later(hass: HomeAssistant) -> None:
    entry = await setup_entry(hass, make_entry("socket://127.0.0.1:1"))
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_home_assistant_stop_closes_the_port(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not entry.runtime_data.bus.transport.is_open
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_change_reloads(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    old = entry.runtime_data.bus
    hass.config_entries.async_update_entry(entry, options={**FAST_OPTIONS, CONF_SCAN_INTERVAL: 5})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.bus is not old
    assert not old.transport.is_open
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.scan_interval == 5
    # The next poll is due 5 s after this one started (the poll's own time counted).
    assert 4 < coordinator.update_interval.total_seconds() <= 5


async def test_unavailable_then_available_logs_once_each(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    caplog.set_level(logging.INFO)
    caplog.clear()
    simulated.line.options.faults.silent_every = 1  # the meter stops answering
    await refresh(hass, entry)
    await refresh(hass, entry)
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    simulated.line.options.faults.silent_every = 0
    await refresh(hass, entry)
    await refresh(hass, entry)
    assert hass.states.get(ENERGY).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    lost = [r for r in caplog.records if "Error fetching" in r.getMessage()]
    back = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(lost) == 1
    assert "House" in lost[0].getMessage()
    assert len(back) == 1
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.statistics.failures == 2
    assert "NoResponse" in coordinator.statistics.last_error


async def test_invalid_values_are_unknown_not_unavailable(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    registry = er.async_get(hass)
    for entity_id in ("sensor.house_power_l2", "sensor.house_power_factor_l3"):
        registry.async_update_entity(entity_id, disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    simulated.line.meters[0].model.three_phase = False  # L2/L3 now flagged invalid
    await refresh(hass, entry)
    assert hass.states.get("sensor.house_voltage_l2").state == STATE_UNKNOWN
    assert hass.states.get("sensor.house_current_l3").state == STATE_UNKNOWN
    assert hass.states.get("sensor.house_power_l2").state == STATE_UNKNOWN
    assert hass.states.get("sensor.house_power_factor_l3").state == STATE_UNKNOWN
    assert hass.states.get("sensor.house_voltage_l1").state != STATE_UNKNOWN


@pytest.mark.parametrize("meter_configs", [[MeterConfig(three_phase=False)]])
async def test_single_phase_meter_has_no_l2_l3_entities(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url, meter_subentry("House", phases=1)))
    entity_ids = {
        e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert "sensor.house_voltage_l1" in entity_ids
    assert not any(entity_id.endswith(("_l2", "_l3")) for entity_id in entity_ids)


async def test_energy_glitches_are_held_back(hass: HomeAssistant, simulated: Simulated) -> None:
    """A register read backwards or as zero is withheld; the sensor keeps its last value."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    model = simulated.line.meters[0].model
    good = hass.states.get(ENERGY).state
    model.energy_import_kwh = 5.0  # backwards
    await refresh(hass, entry)
    assert hass.states.get(ENERGY).state == good
    assert coordinator.withheld == {"active_energy_import"}
    model.energy_import_kwh = 0.0  # zero
    await refresh(hass, entry)
    assert hass.states.get(ENERGY).state == good
    # Backwards in the read and its re-read; the zero read once (a signal withheld in
    # the last poll causes no re-read by itself).
    assert coordinator.guard.rejections["active_energy_import"] == 3
    model.energy_import_kwh = float(good) + 1  # what a meter can count in a moment
    await refresh(hass, entry)
    assert float(hass.states.get(ENERGY).state) == float(good) + 1
    assert not coordinator.withheld


@pytest.mark.parametrize("meter_configs", [TWO_METERS])
async def test_two_meters_on_one_connection_take_turns(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, house_and_garage(simulated.url))
    assert hass.states.get("sensor.house_energy_import").state != STATE_UNAVAILABLE
    assert hass.states.get("sensor.garage_energy_import").state != STATE_UNAVAILABLE
    # Poll both at once: the lock makes them take turns on the line.
    coordinators = list(entry.runtime_data.coordinators.values())
    await __import__("asyncio").gather(*(c.async_refresh() for c in coordinators))
    trace = list(simulated.line.trace)
    for index, (address, function, _) in enumerate(trace[:-1]):
        if function == 3:  # user data: the next frame must be the same meter's poll
            assert trace[index + 1][0] == address
    assert {address for address, _, _ in trace} == {1, 2}
    assert simulated.line.connections == 1
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert sorted(device.name for device in devices) == ["Garage", "House"]


async def test_device_registry_entry(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert device.identifiers == {(DOMAIN, "66-48300001")}
    assert device.name == "House"
    assert device.manufacturer is None  # no public list names code 66 (diagnostics keep it)
    assert device.model == "IEC 870-5-102 (REE) meter"
    assert device.model_id is None
    assert device.serial_number == "48300001"
    assert device.sw_version is None  # P_MP_NA_2 carries no firmware version
    assert device.configuration_url == "http://127.0.0.1"
    assert entry.subentries  # the device belongs to the meter subentry
    # 2026.8 gave a device a single config entry and subentry; 2026.2 has a mapping.
    if hasattr(device, "config_subentry_id"):
        assert {device.config_subentry_id} == set(entry.subentries)
    else:
        assert device.config_entries_subentries[entry.entry_id] == set(entry.subentries)
    assert not await async_remove_config_entry_device(hass, entry, device)
    orphan = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "66-999")}
    )
    assert await async_remove_config_entry_device(hass, entry, orphan)


async def press_read_now(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.house_read_now"}, blocking=True
    )
    await hass.async_block_till_done()


async def test_read_now_button_polls(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    polls = coordinator.statistics.polls
    simulated.line.options.faults.silent_every = 1
    await refresh(hass, entry)
    assert hass.states.get("button.house_read_now").state != STATE_UNAVAILABLE
    # A press whose read fails tells why (the user gets it as a toast).
    with pytest.raises(HomeAssistantError) as failed:
        await press_read_now(hass)
    assert failed.value.translation_domain == DOMAIN
    assert failed.value.translation_key == "meter_unavailable"
    assert failed.value.translation_placeholders is not None
    assert failed.value.translation_placeholders["meter"] == "House"
    assert "House cannot be read" in str(failed.value)
    simulated.line.options.faults.silent_every = 0
    await press_read_now(hass)
    assert coordinator.statistics.polls == polls + 3
    assert hass.states.get(ENERGY).state != STATE_UNAVAILABLE


async def test_read_now_button_reports_an_unexpected_error(
    hass: HomeAssistant, simulated: Simulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()

    async def broken() -> None:
        raise RuntimeError("the line went away")

    monkeypatch.setattr(coordinator, "_async_update_data", broken)
    with pytest.raises(HomeAssistantError) as failed:
        await press_read_now(hass)
    assert failed.value.translation_key == "read_now_failed"
    assert failed.value.translation_placeholders == {
        "meter": "House",
        "reason": "the line went away",
    }
    assert str(failed.value) == "Meter House could not be read: the line went away"


async def test_meter_clock_and_drift(hass: HomeAssistant, simulated: Simulated) -> None:
    await setup_entry(hass, make_entry(simulated.url))
    registry = er.async_get(hass)
    clock = registry.async_get("sensor.house_meter_clock")
    assert clock is not None
    assert clock.entity_category == "diagnostic"
    # A state at every read would flood the logbook: off until the user enables it.
    assert clock.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    drift = hass.states.get("sensor.house_clock_drift").state
    assert int(drift) < 0  # whole seconds; the simulated clock is frozen in the past


async def test_unload_does_not_wait_long_for_a_silent_meter(
    hass: HomeAssistant,
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The logout of a meter that stopped answering is cut off at LOGOUT_TIMEOUT_S.

    The entry's request timeout (2 s, one retry) makes an unbounded logout take at
    least 4 s; the logout timeout (shortened to 0.3 s) must end it long before that.
    """
    import time  # noqa: PLC0415

    from custom_components.iec_meter import coordinator as coordinator_module  # noqa: PLC0415
    from custom_components.iec_meter.const import (  # noqa: PLC0415
        CONF_REQUEST_TIMEOUT,
        LOGOUT_TIMEOUT_S,
    )
    from custom_components.iec_meter.core.iec102.constants import TypeId  # noqa: PLC0415

    logout_timeout = 0.3
    margin = 0.7  # well below one request timeout (2 s) of an unbounded logout
    assert logout_timeout < LOGOUT_TIMEOUT_S
    slow = {**FAST_OPTIONS, CONF_REQUEST_TIMEOUT: 2000}
    entry = await setup_entry(hass, make_entry(simulated.url, options=slow))
    assert entry.state is ConfigEntryState.LOADED
    assert simulated.line.meters[0].logged_in
    connection = entry.runtime_data.bus
    monkeypatch.setattr(coordinator_module, "LOGOUT_TIMEOUT_S", logout_timeout)
    simulated.line.options.faults.silent_every = 1  # the meter stops answering
    heard = len(simulated.line.trace)
    caplog.set_level(logging.DEBUG, logger="custom_components.iec_meter")
    start = time.monotonic()
    assert await hass.config_entries.async_unload(entry.entry_id)
    elapsed = time.monotonic() - start
    assert elapsed < logout_timeout + margin
    # The expected path: a logout request went out, and the timeout ended the wait.
    sent_since = list(simulated.line.trace)[heard:]
    assert (1, 3, TypeId.C_FS_NA_2) in sent_since  # link 1, user data, finish session
    assert "logout not confirmed in time" in caplog.text
    assert elapsed >= logout_timeout
    assert not connection.transport.is_open
    assert simulated.line.meters[0].logged_in  # the silent meter never heard the logout


async def test_failed_setup_releases_the_port(
    hass: HomeAssistant, simulated: Simulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.iec_meter.coordinator import IecMeterCoordinator  # noqa: PLC0415

    async def broken(self: IecMeterCoordinator) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(IecMeterCoordinator, "async_refresh", broken)
    entry = await setup_entry(hass, make_entry(simulated.url))
    assert entry.state is ConfigEntryState.SETUP_ERROR
    await hass.async_block_till_done()
    assert simulated.line.connections == 1
    # The port was released: a new client can connect at once (one session at a time).
    assert not simulated.line._busy


def _release_1_entry(url: str) -> MockConfigEntry:
    """A connection exactly as release 0.1.0 (config entry version 1.1) stored it."""
    record = {
        "link_address": 1, "point_address": 1, "password": 1, "time_zone": "Europe/Madrid",
        "manufacturer_code": 66, "serial_number": 48300001, "standard_date": "04/2002",
        "phases": 3,
    }  # fmt: skip
    single = {**record, "link_address": 2, "password": 2, "serial_number": 48300002, "phases": 1}
    return MockConfigEntry(
        domain=DOMAIN,
        title=url.removeprefix("socket://"),
        data={"device": url},
        options={
            "scan_interval": 30,
            "request_timeout": 200,
            "retries": 1,
            "inter_request_delay": 0,
            "reconnect_delay": 1000,
            "settle_delay": 0.0,
        },
        version=1,
        minor_version=1,
        subentries_data=[
            {
                "data": record,
                "subentry_type": "meter",
                "title": "House",
                "unique_id": "66-48300001",
            },
            {
                "data": single,
                "subentry_type": "meter",
                "title": "Garage",
                "unique_id": "66-48300002",
            },
        ],
    )


@pytest.mark.parametrize("meter_configs", [TWO_METERS])
async def test_an_entry_of_the_first_release_keeps_every_id(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = _release_1_entry(simulated.url)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    # Entities the first release registered, with the ids it gave them.
    for meter, key in (("48300001", "active_energy_import"), ("48300002", "voltage_l1")):
        registry.async_get_or_create(
            "sensor", DOMAIN, f"66-{meter}_{key}", config_entry=entry,
            suggested_object_id=f"legacy_{meter}_{key}",
        )  # fmt: skip
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.data == {"protocol": "iec102", "device": simulated.url}
    house, garage = entry.subentries.values()
    assert (house.unique_id, garage.unique_id) == ("66-48300001", "66-48300002")
    assert len(house.data["signals"]) == 24
    assert not any(key.endswith(("_l2", "_l3")) for key in garage.data["signals"])
    # The same entity ids, now with live values.
    assert float(hass.states.get("sensor.legacy_48300001_active_energy_import").state) >= 12345
    assert float(hass.states.get("sensor.legacy_48300002_voltage_l1").state) > 200
    assert registry.async_get_entity_id("sensor", DOMAIN, "66-48300002_voltage_l2") is None
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert {identifier for device in devices for identifier in device.identifiers} == {
        (DOMAIN, "66-48300001"),
        (DOMAIN, "66-48300002"),
    }


async def test_an_entry_of_a_newer_release_is_refused(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={"device": "socket://127.0.0.1:9"}, version=2)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
