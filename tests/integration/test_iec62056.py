"""Home Assistant with IEC 62056-21 meters: flows, sensors and availability (real simulator).

The simulated line serves a TCP converter without pacing, so a readout takes a fraction
of a second; the protocol conversation is the same as at 300 baud.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.iec_meter import validation
from custom_components.iec_meter.connection import default_options
from custom_components.iec_meter.const import (
    CONF_DATA,
    CONF_DEVICE,
    CONF_NAME,
    CONF_OFFERED,
    CONF_PROTOCOL,
    CONF_REQUEST_TIMEOUT,
    CONF_SCAN_INTERVAL,
    CONF_SIGNALS,
    CONF_TIME_ZONE,
    DOMAIN,
    SUBENTRY_METER,
)
from custom_components.iec_meter.core.drivers import get_driver
from custom_components.iec_meter.core.iec62056.driver import (
    DEVICE_ADDRESS,
    ECHO,
    MAX_BAUDRATE,
    MODE,
    POLL_DELAY_MS,
    SERIAL,
    STRIP_PARITY,
    T2_MS,
    WAKE_UP,
)
from custom_components.iec_meter.core.model import SIGNALS
from simulator.iec62056_meter import Iec62056MeterConfig

from .conftest import (
    FAST_62056_OPTIONS,
    IEC62056_SETTINGS,
    IEC62056_SIGNALS,
    Simulated62056,
    iec62056_subentry,
    make_62056_entry,
    setup_entry,
)
from .test_config_flow import choose, configure, form_defaults, host_port

DRIVER = get_driver("iec62056")
#: The meter form as a user fills it in for a fast test (t2 at its minimum, no delay).
METER = {CONF_NAME: "House", "advanced": {T2_MS: 200, POLL_DELAY_MS: 0}}
#: Data sets of the simulated meter that feed no standard signal.
OTHER_DATA = ["0.0.0", "0.2.0", "0.9.1", "0.9.2", "1.8.0*24", "C.1.0", "F.F"]
#: Two meters on one RS-485 line, each answering to its own device address.
TWO_METERS = [
    Iec62056MeterConfig(address="1001", serial="11111111"),
    Iec62056MeterConfig(address="1002", serial="22222222", three_phase=False),
]


async def start(hass: HomeAssistant) -> dict[str, Any]:
    """From the protocol menu to the connection menu of an IEC 62056-21 meter."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "iec62056" in result["menu_options"]
    result = await choose(hass, result, "iec62056")
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "connection"
    assert result["menu_options"] == ["serial", "network"]
    return result


async def to_meter_form(hass: HomeAssistant, url: str) -> dict[str, Any]:
    result = await choose(hass, await start(hass), "network")
    assert result["step_id"] == "network"
    assert form_defaults(result)["port"] == 4001  # the driver's usual converter port
    result = await configure(hass, result, host_port(url))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter_iec62056"
    return result


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, f"{entity_id} does not exist"
    return current.state


def entity_ids(hass: HomeAssistant, entry_id: str) -> set[str]:
    registry = er.async_get(hass)
    return {entity.entity_id for entity in er.async_entries_for_config_entry(registry, entry_id)}


async def refresh(hass: HomeAssistant, entry: Any) -> None:
    for coordinator in entry.runtime_data.coordinators.values():
        await coordinator.async_refresh()
    await hass.async_block_till_done()


# --- the config flow ----------------------------------------------------------------------


async def test_config_flow_end_to_end(hass: HomeAssistant, simulated_62056: Simulated62056) -> None:
    result = await to_meter_form(hass, simulated_62056.url)
    assert form_defaults(result) == {
        CONF_NAME: "Electricity meter",
        DEVICE_ADDRESS: "",
        MODE: "C",
        MAX_BAUDRATE: "0",
        T2_MS: 300,
        WAKE_UP: False,
        ECHO: False,
        STRIP_PARITY: False,
        POLL_DELAY_MS: 200,
        "auto_demotion": True,
        "demotion_failures": 3,
        "demotion_delay": 60000,
    }
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "values"
    schema = {str(key): (key, value) for key, value in result["data_schema"].schema.items()}
    signals_key, signals_field = schema[CONF_SIGNALS]
    data_key, data_field = schema[CONF_DATA]
    # Every standard signal found is offered, the usual ones ticked; other data sets not.
    assert signals_field.config["options"] == IEC62056_SIGNALS
    assert signals_key.default() == [key for key in IEC62056_SIGNALS if SIGNALS[key].enabled]
    assert "active_energy_import_t1" not in signals_key.default()
    assert data_field.config["options"] == OTHER_DATA
    assert data_field.config["multiple"] is True
    assert data_key.default() == []

    result = await configure(
        hass, result, {CONF_SIGNALS: IEC62056_SIGNALS, CONF_DATA: ["1.8.0*24"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "IEC 62056-21 · " + simulated_62056.url.removeprefix("socket://")
    assert result["data"] == {CONF_PROTOCOL: "iec62056", CONF_DEVICE: simulated_62056.url}
    assert result["options"] == default_options(DRIVER)
    entry = result["result"]
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_METER
    assert subentry.title == "House"
    assert subentry.unique_id == "ISk-12345678"  # manufacturer and serial (data set C.1.0)
    assert subentry.data[CONF_SIGNALS] == IEC62056_SIGNALS
    assert subentry.data[CONF_DATA] == ["1.8.0*24"]
    assert subentry.data[SERIAL] == "12345678"
    assert CONF_TIME_ZONE not in subentry.data  # the readout carries no clock to interpret
    assert {key: subentry.data[key] for key in IEC62056_SETTINGS} == IEC62056_SETTINGS

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert float(state(hass, "sensor.house_energy_import")) == 12345.0
    registry = er.async_get(hass)
    tariff = registry.async_get("sensor.house_import_tariff_1")
    assert tariff is not None
    assert tariff.disabled_by is None  # off by default, but the user ticked it
    assert float(state(hass, "sensor.house_import_tariff_1")) > 0
    assert float(state(hass, "sensor.house_energy_export")) == 2345.0
    assert state(hass, "sensor.house_power") not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    for phase in (1, 2, 3):
        assert 220 < float(state(hass, f"sensor.house_voltage_l{phase}")) < 240
    assert 49.9 < float(state(hass, "sensor.house_frequency")) < 50.1
    assert float(state(hass, "sensor.house_maximum_demand")) == 0.0
    # The meter's "2606211300" in Home Assistant's time zone (the test's US/Pacific).
    assert state(hass, "sensor.house_max_demand_time") == "2026-06-21T20:00:00+00:00"
    # The chosen data set, named by its address, with its value and unit.
    history = hass.states.get("sensor.house_1_8_0_24")
    assert history is not None
    assert float(history.state) == 11110.5
    assert history.attributes["friendly_name"] == "House 1.8.0*24"
    assert history.attributes["unit_of_measurement"] == "kWh"
    assert history.attributes["device_class"] == "energy"
    ids = entity_ids(hass, entry.entry_id)
    assert "sensor.house_f_f" not in ids  # not ticked
    assert not any("clock" in entity_id for entity_id in ids)  # IEC 62056-21 has no clock
    # The signals, the data set, the scan state and "read now".
    assert len(ids) == len(IEC62056_SIGNALS) + 1 + 1 + 1
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_meter_errors_then_recover(
    hass: HomeAssistant, simulated_62056: Simulated62056, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "default_options", lambda driver: FAST_62056_OPTIONS)
    result = await to_meter_form(hass, simulated_62056.url)
    result = await configure(hass, result, {**METER, DEVICE_ADDRESS: "99"})  # nobody answers
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_response"}
    assert form_defaults(result)[DEVICE_ADDRESS] == "99"  # the form keeps what was typed
    result = await configure(hass, result, {**METER, DEVICE_ADDRESS: "a/b"})  # cannot be sent
    assert result["errors"] == {"base": "invalid_settings"}
    result = await configure(hass, result, {**METER, DEVICE_ADDRESS: " "})  # blank: no address
    assert result["step_id"] == "values"
    result = await configure(hass, result, {CONF_SIGNALS: ["active_power"], CONF_DATA: []})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = result["result"].subentries.values()
    assert subentry.data[DEVICE_ADDRESS] == ""
    assert subentry.data[CONF_SIGNALS] == ["active_power"]
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    entries = er.async_entries_for_config_entry(registry, result["result"].entry_id)
    enabled = {e.entity_id for e in entries if e.disabled_by is None}
    assert enabled == {"sensor.house_power", "sensor.house_scan_state", "button.house_read_now"}
    # Every other value the meter sent has an entity too, disabled until the user wants it.
    disabled = {
        e.entity_id for e in entries if e.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    assert {"sensor.house_energy_import", "sensor.house_voltage_l1"} <= disabled
    assert subentry.data[CONF_OFFERED] == sorted(subentry.data[CONF_OFFERED])
    assert len(subentry.data[CONF_OFFERED]) == len(enabled) - 2 + len(disabled)
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_meter_already_configured(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    # The same meter on another connection (an optical head and a bus, say).
    other = make_62056_entry("socket://127.0.0.1:9")
    other.add_to_hass(hass)
    result = await to_meter_form(hass, simulated_62056.url)
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "meter_already_configured"


async def test_options_flow_defaults_are_the_drivers(hass: HomeAssistant) -> None:
    entry = make_62056_entry("socket://127.0.0.1:9", options={})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    defaults = form_defaults(result)
    assert defaults[CONF_SCAN_INTERVAL] == 60
    assert defaults[CONF_REQUEST_TIMEOUT] == 2500
    assert defaults == default_options(DRIVER)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**defaults, CONF_SCAN_INTERVAL: 120}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**default_options(DRIVER), CONF_SCAN_INTERVAL: 120}


# --- meters on a bus ----------------------------------------------------------------------


@pytest.mark.parametrize("iec62056_meters", [TWO_METERS])
async def test_add_a_meter_on_the_same_line(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    house = iec62056_subentry("House", address="1001", serial="11111111")
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url, house))
    assert float(state(hass, "sensor.house_energy_import")) == 12345.0
    subentries = hass.config_entries.subentries

    async def add(meter: dict[str, Any]) -> dict[str, Any]:
        result = await subentries.async_init(
            (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
        )
        # No utility presets for this protocol: straight to the meter form.
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "meter_iec62056"
        return await subentries.async_configure(result["flow_id"], meter)

    garage = {**METER, CONF_NAME: "Garage", DEVICE_ADDRESS: "1002"}
    result = await add({**garage, DEVICE_ADDRESS: "1009"})
    assert result["errors"] == {"base": "no_response"}
    result = await subentries.async_configure(result["flow_id"], garage)
    assert result["step_id"] == "values"
    schema = {str(key): (key, value) for key, value in result["data_schema"].schema.items()}
    signals_key, _ = schema[CONF_SIGNALS]
    single_phase = signals_key.default()
    assert "voltage_l1" in single_phase
    assert not any(key.endswith(("_l2", "_l3")) for key in single_phase)  # single phase
    result = await subentries.async_configure(
        result["flow_id"], {CONF_SIGNALS: single_phase, CONF_DATA: ["F.F"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garage"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    added = next(s for s in entry.subentries.values() if s.title == "Garage")
    assert added.unique_id == "ISk-22222222"
    assert added.data[DEVICE_ADDRESS] == "1002"
    assert added.data[CONF_DATA] == ["F.F"]
    assert float(state(hass, "sensor.garage_voltage_l1")) > 200
    assert hass.states.get("sensor.garage_voltage_l2") is None
    assert state(hass, "sensor.garage_f_f") == "00000000"
    assert float(state(hass, "sensor.house_energy_import")) == 12345.0  # still read
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert sorted(device.name for device in devices) == ["Garage", "House"]

    # The first meter again, by its address: refused.
    result = await add({**METER, CONF_NAME: "Again", DEVICE_ADDRESS: "1001"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "meter_already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_a_meter_keeps_its_values(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    chosen = ["1.8.0*24", "F.F"]
    entry = await setup_entry(
        hass, make_62056_entry(simulated_62056.url, iec62056_subentry(data=chosen))
    )
    (subentry_id,) = entry.subentries

    async def reconfigure(data: dict[str, Any]) -> dict[str, Any]:
        result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
        assert result["step_id"] == "reconfigure"
        assert CONF_NAME not in form_defaults(result)
        assert form_defaults(result)[T2_MS] == entry.subentries[subentry_id].data[T2_MS]
        return await hass.config_entries.subentries.async_configure(result["flow_id"], data)

    settings = {DEVICE_ADDRESS: "", MODE: "C", "advanced": {T2_MS: 250, POLL_DELAY_MS: 0}}
    result = await reconfigure({**settings, DEVICE_ADDRESS: "42"})
    assert result["errors"] == {"base": "no_response"}
    result = await reconfigure(settings)
    # The values step again, with the meter's ticks: saved as they are.
    assert result["step_id"] == "values"
    assert form_defaults(result) == {CONF_SIGNALS: IEC62056_SIGNALS, CONF_DATA: chosen}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    record = entry.subentries[subentry_id].data
    assert record[T2_MS] == 250
    assert record[CONF_SIGNALS] == IEC62056_SIGNALS
    assert record[CONF_DATA] == chosen
    assert state(hass, "sensor.house_f_f") == "00000000"
    assert float(state(hass, "sensor.house_1_8_0_24")) == 11110.5

    # Another meter was put on the line (another serial number).
    simulated_62056.line.meters[0].config.serial = "87654321"
    result = await reconfigure(settings)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- running ------------------------------------------------------------------------------


async def test_unavailable_then_available_logs_once_each(
    hass: HomeAssistant, simulated_62056: Simulated62056, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url))
    energy = "sensor.house_energy_import"
    assert float(state(hass, energy)) == 12345.0
    caplog.set_level(logging.INFO)
    caplog.clear()
    line = simulated_62056.line
    port = int(simulated_62056.url.rsplit(":", 1)[1])
    # The converter goes away: it ends the connection and accepts no new one. (The
    # simulator's stop() only stops listening: the fault ends the open connection.)
    line.options.faults.drop_after = 1
    await line.stop()
    await refresh(hass, entry)
    await refresh(hass, entry)
    assert state(hass, energy) == STATE_UNAVAILABLE
    assert state(hass, "sensor.house_voltage_l1") == STATE_UNAVAILABLE
    assert state(hass, "button.house_read_now") != STATE_UNAVAILABLE  # can still try

    line.options.faults.drop_after = 0
    await line.start_tcp(port=port)
    # The connection is tried again only after the reconnect delay.
    await asyncio.sleep(entry.runtime_data.bus.timing.reconnect_delay)
    await refresh(hass, entry)
    await refresh(hass, entry)
    assert float(state(hass, energy)) == 12345.0
    ours = [r for r in caplog.records if r.name.startswith("custom_components.iec_meter")]
    problems = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert "House" in problems[0].getMessage()
    back = [r for r in ours if r.levelno == logging.INFO and "recovered" in r.getMessage()]
    assert len(back) == 1
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.statistics.failures == 2
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_device_of_a_meter(hass: HomeAssistant, simulated_62056: Simulated62056) -> None:
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url))
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert device.identifiers == {(DOMAIN, "ISk-12345678")}
    assert device.name == "House"
    assert device.manufacturer == "Iskraemeco"  # the FLAG id "ISk" the meter sent
    assert device.model == "5MT174-SIM"
    assert device.model_id is None
    assert device.serial_number == "12345678"
    assert device.configuration_url == "http://127.0.0.1"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_chosen_data_set_the_meter_stops_sending_is_unknown(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    entry = await setup_entry(
        hass, make_62056_entry(simulated_62056.url, iec62056_subentry(data=["F.F", "1.8.0*24"]))
    )
    assert state(hass, "sensor.house_f_f") == "00000000"
    meter = simulated_62056.line.meters[0]
    lines = [line for line in meter.lines() if not line.startswith("F.F")]
    meter.config.data_lines = tuple(lines)  # a firmware update dropped the error register
    await refresh(hass, entry)
    assert state(hass, "sensor.house_f_f") == STATE_UNKNOWN
    assert float(state(hass, "sensor.house_1_8_0_24")) == 11110.5
    assert await hass.config_entries.async_unload(entry.entry_id)
