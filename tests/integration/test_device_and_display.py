"""What a meter's device and sensors show: maker, model, digits, units (real simulators).

The device names the maker only where the protocol's table knows the meter's code (the
raw code stays in the diagnostics); each sensor shows as many decimals as the meter's
data carries; a labelled value keeps the unit the meter sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iec_meter.const import CONF_RETRIES, DOMAIN
from custom_components.iec_meter.core.iec62056.driver import STRIP_PARITY
from simulator.iec102_meter import MeterConfig
from simulator.iec62056_line import Iec62056Line, Iec62056LineOptions
from simulator.iec62056_meter import Iec62056MeterConfig, SimulatedIec62056Meter
from simulator.meter_model import MeterModel
from tests.conftest import MADRID, make_line

from .conftest import (
    FAST_62056_OPTIONS,
    METER_TIME,
    Simulated,
    Simulated62056,
    added_entry,
    iec62056_subentry,
    make_62056_entry,
    make_entry,
    setup_entry,
)

#: A readout written with the meter's own digits, and values our tables do not know.
READOUT = (
    "C.1.0(12345678)",
    "F.F(00000000)",
    "1.8.0(0012345.678*kWh)",
    "2.8.0(0002345.6*kWh)",
    "1.7.0(01.234*kW)",
    "2.7.0(0000.0*W)",
    "32.7.0(230.1*V)",
    "31.7.0(01.25*A)",
    "C.8.0(01234.5*h)",  # operating hours: a unit Home Assistant has no class for
    "15.8.0(0012345.67*kVAh)",  # apparent energy: a register in an unknown unit
    "9.7.0(001.234*kVA)",  # apparent power
)
CHOSEN = ["C.8.0", "15.8.0", "9.7.0", "F.F"]


def entity_id(hass: HomeAssistant, unique_id: str, key: str) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{unique_id}_{key}")
    assert found is not None, key
    return found


def shown_precision(hass: HomeAssistant, unique_id: str, key: str) -> int | None:
    """The display precision the entity gave Home Assistant (what the frontend rounds to)."""
    entry = er.async_get(hass).async_get(entity_id(hass, unique_id, key))
    assert entry is not None
    options: dict[str, Any] = dict(entry.options.get("sensor", {}))
    return options.get("suggested_display_precision")


def only_device(hass: HomeAssistant, entry_id: str) -> dr.DeviceEntry:
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    return device


# --- the maker ---------------------------------------------------------------------------


async def test_an_iec102_meter_without_a_known_maker_shows_no_bare_code(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated: Simulated
) -> None:
    entry, subentry_id = added_entry(hass, simulated.url)
    # What early releases stored: "Manufacturer code 66" by the maker, the code again as
    # model id. Both are cleared when the meter's device is set up again.
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=subentry_id,
        identifiers={(DOMAIN, "66-48300001")},
        manufacturer="Manufacturer code 66",
        model_id="66",
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    device = only_device(hass, entry.entry_id)
    assert device.manufacturer is None  # no public list names the IEC 102 codes
    assert device.model == "IEC 870-5-102 (REE) meter"
    assert device.model_id is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (meter,) = diagnostics["meters"].values()
    assert meter["identity"] == {
        "manufacturer_code": "66",
        "manufacturer_name": None,
        "model": "IEC 870-5-102 (REE) meter",
        "serial": "48300001",
    }


async def test_an_iec62056_flag_id_names_the_maker(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated_62056: Simulated62056
) -> None:
    # The simulator sends "ISk": a lowercase third letter only says it answers fast.
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url))
    device = only_device(hass, entry.entry_id)
    assert device.manufacturer == "Iskraemeco"
    assert device.model == "5MT174-SIM"
    assert device.model_id is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (meter,) = diagnostics["meters"].values()
    assert meter["identity"]["manufacturer_code"] == "ISk"
    assert meter["identity"]["manufacturer_name"] == "Iskraemeco"


@pytest.mark.parametrize(
    "iec62056_meters", [[Iec62056MeterConfig(manufacturer="QQQ")]], ids=["unlisted"]
)
async def test_an_unlisted_flag_id_shows_its_letters_as_maker(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    house = iec62056_subentry()
    house["data"]["manufacturer"] = "QQQ"
    house["unique_id"] = "QQQ-12345678"
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url, house))
    device = only_device(hass, entry.entry_id)
    assert device.manufacturer == "QQQ"  # not in our table, but it names the maker
    assert device.model == "5MT174-SIM"


# --- the digits --------------------------------------------------------------------------


async def test_iec102_values_show_the_digits_the_meter_sends(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (subentry,) = entry.subentries.values()
    meter = str(subentry.unique_id)
    # Whole kW ("5 kW", not "5.00 kW"), whole kWh, the power factor in thousandths,
    # currents and voltages in tenths (the entities disabled by default show nothing).
    expected = {
        "active_power": 0,
        "active_energy_import": 0,
        "power_factor": 3,
        "current_l1": 1,
        "voltage_l1": 1,
    }
    assert {key: shown_precision(hass, meter, key) for key in expected} == expected
    assert float(hass.states.get(entity_id(hass, meter, "active_power")).state).is_integer()


async def test_iec62056_values_show_the_digits_of_the_live_readout(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    # The simulated meter writes "1.8.0(00012345.000*kWh)", "2.7.0(000000.0*W)",
    # "32.7.0(230.0*V)", "31.7.0(010.00*A)", "14.7.0(50.00*Hz)".
    await setup_entry(hass, make_62056_entry(simulated_62056.url))
    expected = {
        "active_energy_import": 3,  # Wh: shown in whole kWh it would look frozen
        "active_power": 4,  # 1.7.0 in kW with 3 decimals, 2.7.0 in W with one
        "voltage_l1": 1,
        "current_l1": 2,
        "frequency": 2,
        "power_factor": 3,
    }
    shown = {key: shown_precision(hass, "ISk-12345678", key) for key in expected}
    assert shown == expected


@pytest.mark.parametrize(
    "iec62056_meters", [[Iec62056MeterConfig(data_lines=READOUT)]], ids=["readout"]
)
async def test_a_meter_that_writes_fewer_digits_is_shown_with_fewer(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    await setup_entry(hass, make_62056_entry(simulated_62056.url))
    assert shown_precision(hass, "ISk-12345678", "active_energy_import") == 3
    assert shown_precision(hass, "ISk-12345678", "active_energy_export") == 1  # "2345.6"
    assert shown_precision(hass, "ISk-12345678", "voltage_l1") == 1


# --- labelled values in units our table does not know --------------------------------------


@pytest.mark.parametrize(
    "iec62056_meters", [[Iec62056MeterConfig(data_lines=READOUT)]], ids=["readout"]
)
async def test_a_labelled_value_keeps_the_meters_unit(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    entry = await setup_entry(
        hass, make_62056_entry(simulated_62056.url, iec62056_subentry(data=CHOSEN))
    )
    registry = er.async_get(hass)

    def described(key: str) -> dict[str, Any]:
        found = registry.async_get(entity_id(hass, "ISk-12345678", f"data_{key}"))
        assert found is not None
        current = hass.states.get(found.entity_id)
        assert current is not None
        return {
            "state": current.state,
            "unit": current.attributes.get("unit_of_measurement"),
            "device_class": current.attributes.get("device_class"),
            "state_class": current.attributes.get("state_class"),
            "precision": shown_precision(hass, "ISk-12345678", f"data_{key}"),
        }

    assert described("C.8.0") == {
        "state": "1234.5",
        "unit": "h",
        "device_class": None,
        "state_class": "measurement",
        "precision": 1,
    }
    # An energy unit makes a register, even one Home Assistant has no class for.
    assert described("15.8.0") == {
        "state": "12345.67",
        "unit": "kVAh",
        "device_class": None,
        "state_class": "total_increasing",
        "precision": 2,
    }
    assert described("9.7.0") == {
        "state": "1.234",
        "unit": "kVA",
        "device_class": "apparent_power",
        "state_class": "measurement",
        "precision": 3,
    }
    # A status word stays text: no unit, no class, no statistics.
    assert described("F.F") == {
        "state": "00000000",
        "unit": None,
        "device_class": None,
        "state_class": None,
        "precision": None,
    }
    # Text where the number was (an error mark): unknown, not a state Home Assistant
    # refuses for a sensor with a unit.
    meter = simulated_62056.line.meters[0]
    meter.config.data_lines = tuple(
        "C.8.0(ERR*h)" if line.startswith("C.8.0") else line for line in READOUT
    )
    (coordinator,) = entry.runtime_data.coordinators.values()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert described("C.8.0")["state"] == "unknown"
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- the clock ---------------------------------------------------------------------------


@pytest.fixture
async def clock_just_behind() -> AsyncIterator[Simulated]:
    """An IEC 102 meter whose clock runs 0.3 s behind ours."""
    line = make_line([MeterConfig()], clock=lambda: dt_util.now(MADRID) - timedelta(seconds=0.3))
    url = await line.start_tcp()
    try:
        yield Simulated(line, url)
    finally:
        await line.stop()


async def test_a_clock_a_fraction_of_a_second_behind_shows_zero(
    hass: HomeAssistant, clock_just_behind: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(clock_just_behind.url))
    (subentry,) = entry.subentries.values()
    drift = hass.states.get(entity_id(hass, str(subentry.unique_id), "clock_drift"))
    assert drift is not None
    assert drift.state == "0"  # whole seconds: never "-0"


# --- parity errors in the diagnostics --------------------------------------------------------


@contextlib.asynccontextmanager
async def parity_hit(url: str) -> AsyncIterator[str]:
    """A TCP hop that flips the parity bit of the first ``(`` the meter sends, once.

    The data block that carries it is damaged: the client counts the parity error, asks
    for the block again, and gets it whole.
    """
    host, port = url.removeprefix("socket://").rsplit(":", 1)
    hit = False

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flip: bool) -> None:
        nonlocal hit
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                data = bytearray(chunk)
                if flip and not hit and (index := data.find(b"(")) >= 0:
                    data[index] ^= 0x80
                    hit = True
                writer.write(bytes(data))
                await writer.drain()
        writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        meter_r, meter_w = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pump(client_r, meter_w, False), pump(meter_r, client_w, True))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"socket://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def test_parity_errors_are_in_the_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A 7E1 meter behind an 8N1 converter, with one byte damaged on the way."""
    meter = SimulatedIec62056Meter(
        Iec62056MeterConfig(), MADRID, lambda: METER_TIME, MeterModel(seed=1)
    )
    line = Iec62056Line([meter], Iec62056LineOptions(pace=False, parity_bit7=True))
    url = await line.start_tcp()
    try:
        async with parity_hit(url) as damaged:
            house = iec62056_subentry()
            house["data"][STRIP_PARITY] = True
            # One repeat allowed: the damaged block is asked for again.
            options = {**FAST_62056_OPTIONS, CONF_RETRIES: 1}
            entry = await setup_entry(hass, make_62056_entry(damaged, house, options=options))
            diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
            assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await line.stop()
    (reading,) = diagnostics["meters"].values()
    assert reading["available"] is True
    statistics = reading["statistics"]
    assert statistics["parity_errors"] == 1
    assert statistics["naks_sent"] == 1  # the damaged block was asked for again
