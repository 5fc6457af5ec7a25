"""Diagnostics download and entity snapshots."""

from __future__ import annotations

import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from simulator.iec102_meter import MeterConfig
from tests.wrong_values import spike_once

from .conftest import (
    Simulated,
    Simulated62056,
    iec62056_subentry,
    make_62056_entry,
    make_entry,
    plain,
    setup_entry,
)


def _stable(value: Any) -> Any:
    """Replace what changes from run to run (ports, times, ids) by a marker."""
    if isinstance(value, dict):
        return {key: _stable_item(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    if isinstance(value, str):
        return re.sub(r"socket://127\.0\.0\.1:\d+", "<simulator>", value)  # in error texts
    return value


def _stable_item(key: str, item: Any) -> Any:
    if key in {
        "at",
        "last_success",
        "average_poll_s",
        "subentry_id",
        "clock_drift_s",
        "last_checked",
    }:
        return "<varies>" if item is not None else None
    if key in {"title", "device"} and isinstance(item, str) and "127.0.0.1" in item:
        return "<simulator>"
    if key == "meters":
        return [_stable(meter) for meter in item.values()]
    return _stable(item)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulated: Simulated,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["subentries"][0]["data"]["password"] == "**REDACTED**"
    frames = diagnostics["meters"][next(iter(entry.subentries))]["frames"]
    login = next(frame["hex"] for frame in frames if frame["hex"].startswith("68 0D 0D 68 73"))
    assert "** ** ** **" in login
    assert plain(_stable(diagnostics)) == snapshot


async def test_rejections_are_counted_in_the_download(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    spike_once(simulated.line.meters[0].model, kwh=2**20, decivolts=20_000)
    (coordinator,) = entry.runtime_data.coordinators.values()
    await coordinator.async_refresh()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (meter,) = diagnostics["meters"].values()
    guard = meter["plausibility"]
    assert guard["rejections"] == {"active_energy_import": 1, "voltage_l1": 1}
    assert guard["withheld"] == {}  # the re-read had them right
    assert guard["rereads"] == 2  # the first poll's confirmation, then this one
    assert [item["reason"] for item in guard["recent_rejections"]] == [
        "too_fast",
        "out_of_range",
    ]
    assert (
        meter["last_reading"]["active_energy_import"]
        == guard["baselines"]["active_energy_import"]["value"]
    )


async def test_entities(
    hass: HomeAssistant, simulated: Simulated, snapshot: SnapshotAssertion
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    registry = er.async_get(hass)
    entities = sorted(
        er.async_entries_for_config_entry(registry, entry.entry_id), key=lambda e: e.entity_id
    )
    summary = {}
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        summary[entity.entity_id] = {
            "unique_id": entity.unique_id,
            "translation_key": entity.translation_key,
            "enabled": entity.disabled_by is None,
            "category": entity.entity_category,
            "state": None
            if state is None
            else ("<varies>" if entity.entity_id.endswith("clock_drift") else state.state),
            "attributes": None if state is None else dict(state.attributes),
        }
    assert plain(summary) == snapshot


async def test_diagnostics_of_an_iec62056_connection(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulated_62056: Simulated62056,
    snapshot: SnapshotAssertion,
) -> None:
    house = iec62056_subentry(data=["1.8.0*24", "F.F"])
    # A second meter that never answers (no meter on the line has its address).
    garage = iec62056_subentry("Garage", address="42", serial="42", data=["C.1.0"])
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url, house, garage))
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"] == {"protocol": "iec62056", "device": simulated_62056.url}
    subentries = {item["title"]: item for item in diagnostics["entry"]["subentries"]}
    # Nothing of an IEC 62056-21 meter is secret: its settings are there as stored.
    assert subentries["House"]["data"] == house["data"]
    assert "**REDACTED**" not in str(diagnostics)
    meters = {meter["title"]: meter for meter in diagnostics["meters"].values()}
    reading = meters["House"]["last_reading"]
    assert reading["active_energy_import"] == 12345.0
    assert reading["meter_clock"] is None  # no clock in a readout
    # Every data set of the readout, chosen or not, with its unit and its digits.
    assert reading["data"]["F.F"] == {"value": "00000000", "unit": None, "decimals": None}
    assert reading["data"]["1.8.0*24"] == {"value": 11110.5, "unit": "kWh", "decimals": 3}
    assert reading["data"]["C.1.0"] == {"value": "12345678", "unit": None, "decimals": None}
    # The maker as the meter codes it, and the name our FLAG table gives it.
    assert meters["House"]["identity"]["manufacturer_code"] == "ISk"
    assert meters["House"]["identity"]["manufacturer_name"] == "Iskraemeco"
    assert meters["House"]["statistics"]["parity_errors"] == 0
    assert meters["House"]["available"] is True
    assert meters["Garage"]["available"] is False
    assert meters["Garage"]["last_reading"] is None
    assert "NoResponse" in meters["Garage"]["statistics"]["last_error"]
    frames = meters["House"]["frames"]
    assert frames[0]["hex"] == "2F 3F 21 0D 0A"  # the sign-on "/?!"
    assert plain(_stable(diagnostics)) == snapshot


async def test_identity_check_of_a_healthy_meter(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (meter,) = diagnostics["meters"].values()
    check = meter["identity_check"]
    assert check["other_meter"] is False
    assert (check["expected"], check["answered"]) == ("48300001", "48300001")
    assert check["last_checked"] is not None
    assert check["checked_every_poll"] is False  # IEC 102: it costs a request


@pytest.mark.parametrize("meter_configs", [[MeterConfig(serial_number=48399999)]])
async def test_identity_check_while_another_meter_answers(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    (meter,) = diagnostics["meters"].values()
    check = meter["identity_check"]
    assert check["other_meter"] is True
    assert (check["expected"], check["answered"]) == ("48300001", "48399999")
    assert coordinator.identity_checked is not None
    assert check["last_checked"] == coordinator.identity_checked.isoformat()
    assert meter["available"] is False
