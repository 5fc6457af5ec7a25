"""Meters that leave objects out of their answers: never (not offered) or sometimes."""

from __future__ import annotations

import logging

from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.iec_meter.const import CONF_SIGNALS
from tests.conftest import make_line, serving

from .conftest import make_entry, setup_entry
from .test_config_flow import METER, choose, configure, host_port, start


async def test_a_meter_without_voltages_gets_no_voltage_entities(hass: HomeAssistant) -> None:
    line = make_line(never_send=frozenset({194}))
    async with serving(line) as url:
        result = await choose(hass, await start(hass), "network")
        result = await configure(hass, result, host_port(url))
        result = await configure(hass, result, METER)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        await hass.async_block_till_done()
        (subentry,) = entry.subentries.values()
        assert not any(
            key.startswith(("voltage", "current")) for key in subentry.data[CONF_SIGNALS]
        )
        entity_ids = {
            e.entity_id
            for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        }
        assert "sensor.house_power" in entity_ids
        assert not any(
            entity_id.startswith(("sensor.house_voltage", "sensor.house_current"))
            for entity_id in entity_ids
        )
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_object_left_out_once_is_unknown_for_that_poll(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    line = make_line(omit_phases_every=3)
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url))  # first answer: complete
        assert float(hass.states.get("sensor.house_voltage_l1").state) > 200
        coordinator = next(iter(entry.runtime_data.coordinators.values()))
        with caplog.at_level(logging.DEBUG, logger="custom_components.iec_meter"):
            await coordinator.async_refresh()  # second answer: no 194
            await hass.async_block_till_done()
        assert hass.states.get("sensor.house_voltage_l1").state == STATE_UNKNOWN
        assert coordinator.last_update_success
        assert "this answer left out current_l1" in caplog.text
        await coordinator.async_refresh()  # third: complete again
        await hass.async_block_till_done()
        assert float(hass.states.get("sensor.house_voltage_l1").state) > 200
        assert await hass.config_entries.async_unload(entry.entry_id)
