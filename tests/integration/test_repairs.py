"""A password rejected later: unavailable entities, a repair issue, and its fix flow."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.iec_meter.const import DOMAIN
from custom_components.iec_meter.coordinator import auth_issue_id
from custom_components.iec_meter.core.iec102.driver import PASSWORD as CONF_PASSWORD

from .conftest import (
    TWO_METERS,
    Simulated,
    house_and_garage,
    make_entry,
    setup_entry,
    start_fix_flow,
)


@pytest.mark.parametrize("meter_configs", [TWO_METERS])
async def test_rejected_password_opens_a_fixable_issue(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, house_and_garage(simulated.url))
    house_id = next(i for i, s in entry.subentries.items() if s.title == "House")
    simulated.line.meters[0].config.password = 77  # the utility changed it...
    simulated.line.meters[0].logged_in = False  # ...and the meter ended our session
    for coordinator in entry.runtime_data.coordinators.values():
        await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.house_energy_import").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.garage_energy_import").state != STATE_UNAVAILABLE
    issue = ir.async_get(hass).async_get_issue(DOMAIN, auth_issue_id(house_id))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"meter": "House"}

    manager, result = await start_fix_flow(hass, auth_issue_id(house_id))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "password"
    assert result["description_placeholders"] == {"meter": "House"}
    result = await manager.async_configure(result["flow_id"], {CONF_PASSWORD: "7 7"})
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}  # never sent to the meter
    result = await manager.async_configure(result["flow_id"], {CONF_PASSWORD: "78"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await manager.async_configure(result["flow_id"], {CONF_PASSWORD: "77"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.subentries[house_id].data[CONF_PASSWORD] == 77
    assert hass.states.get("sensor.house_energy_import").state != STATE_UNAVAILABLE
    assert ir.async_get(hass).async_get_issue(DOMAIN, auth_issue_id(house_id)) is None


async def test_fix_flow_for_a_removed_meter_or_another_meter(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (subentry_id,) = entry.subentries
    ir.async_create_issue(
        hass,
        DOMAIN,
        "auth_failed_gone",
        data={"entry_id": entry.entry_id, "subentry_id": "gone"},
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="auth_failed",
        translation_placeholders={"meter": "Gone"},
    )
    _, result = await start_fix_flow(hass, "auth_failed_gone")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "meter_removed"

    ir.async_create_issue(
        hass,
        DOMAIN,
        auth_issue_id(subentry_id),
        data={"entry_id": entry.entry_id, "subentry_id": subentry_id},
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="auth_failed",
        translation_placeholders={"meter": "House"},
    )
    # The meter on that line was swapped for another one (another serial number).
    simulated.line.meters[0].config.serial_number = 12345
    manager, result = await start_fix_flow(hass, auth_issue_id(subentry_id))
    result = await manager.async_configure(result["flow_id"], {CONF_PASSWORD: "1"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
