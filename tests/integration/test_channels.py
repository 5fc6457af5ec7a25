"""Channel behaviour: auto-demotion of a dead meter, no retries of a rejected password,
and data collection switched off and on through the meter's device."""

from __future__ import annotations

import asyncio
import logging

from homeassistant.config_entries import ConfigEntryDisabler
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest

from custom_components.iec_meter.const import (
    CONF_DEMOTION_DELAY,
    CONF_DEMOTION_FAILURES,
    DOMAIN,
)
from simulator.iec102_meter import MeterConfig
from tests.conftest import make_line, serving

from .conftest import make_entry, meter_subentry, setup_entry


def by_title(entry):
    return {c.subentry.title: c for c in entry.runtime_data.coordinators.values()}


async def test_a_dead_meter_goes_off_scan_and_comes_back(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    line = make_line([MeterConfig(link_address=1), MeterConfig(link_address=2, password=2)])
    async with serving(line) as url:
        garage = meter_subentry("Garage", link=2, password=2)
        garage["data"].update({CONF_DEMOTION_FAILURES: 2, CONF_DEMOTION_DELAY: 1000})
        entry = await setup_entry(hass, make_entry(url, meter_subentry("House"), garage))
        house, garage_meter = by_title(entry)["House"], by_title(entry)["Garage"]
        assert hass.states.get("sensor.garage_scan_state").state == "on_scan"
        caplog.set_level(logging.INFO)
        caplog.clear()
        dead = line.meters.pop(1)  # the garage meter dies

        await garage_meter.async_refresh()
        assert hass.states.get("sensor.garage_scan_state").state == "on_scan"
        await garage_meter.async_refresh()  # the second failure in a row: off scan
        await hass.async_block_till_done()
        assert hass.states.get("sensor.garage_scan_state").state == "off_scan"
        assert hass.states.get("sensor.garage_power").state == STATE_UNAVAILABLE

        # Off scan: nothing is sent to it, and the house meter keeps its cadence.
        sent = line.frames_received
        await garage_meter.async_refresh()
        assert line.frames_received == sent
        line.trace.clear()
        await house.async_refresh()
        assert house.last_update_success
        assert line.trace and all(address == 1 for address, _, _ in line.trace)

        # After the delay: one attempt, which fails and starts the delay again.
        await asyncio.sleep(1.05)
        sent = line.frames_received
        await garage_meter.async_refresh()
        assert line.frames_received > sent
        assert not garage_meter.scan.on_scan

        line.meters.append(dead)  # it comes back
        await asyncio.sleep(1.05)
        await garage_meter.async_refresh()
        await hass.async_block_till_done()
        assert hass.states.get("sensor.garage_scan_state").state == "on_scan"
        assert hass.states.get("sensor.garage_power").state != STATE_UNAVAILABLE

        off = [r for r in caplog.records if "goes off scan" in r.getMessage()]
        back = [r for r in caplog.records if "back on scan" in r.getMessage()]
        assert len(off) == 1 and off[0].levelno == logging.WARNING
        assert "Garage" in off[0].getMessage()
        assert len(back) == 1 and back[0].levelno == logging.INFO
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_rejected_password_is_not_tried_again(hass: HomeAssistant) -> None:
    line = make_line([MeterConfig(password=7)])
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url, meter_subentry("House", password=1)))
        (coordinator,) = entry.runtime_data.coordinators.values()
        assert not coordinator.last_update_success
        issues = ir.async_get(hass)
        assert issues.async_get_issue(DOMAIN, f"auth_failed_{coordinator.subentry.subentry_id}")
        sent = line.frames_received
        for _ in range(3):
            await coordinator.async_refresh()
        assert line.frames_received == sent  # no lock-out by retries
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_disabling_a_meters_device_stops_its_traffic(hass: HomeAssistant) -> None:
    line = make_line([MeterConfig(link_address=1), MeterConfig(link_address=2, password=2)])
    async with serving(line) as url:
        entry = await setup_entry(
            hass,
            make_entry(url, meter_subentry("House"), meter_subentry("Garage", 2, 2)),
        )
        devices = dr.async_get(hass)
        garage = next(
            device
            for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
            if (DOMAIN, "66-48300002") in device.identifiers
        )
        devices.async_update_device(garage.id, disabled_by=dr.DeviceEntryDisabler.USER)
        # Home Assistant reloads the entry once the device's entities are disabled.
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert set(by_title(entry)) == {"House"}
        line.trace.clear()
        await by_title(entry)["House"].async_refresh()
        assert line.trace and all(address == 1 for address, _, _ in line.trace)
        assert not line.meters[1].logged_in  # logged out when it was disabled

        devices.async_update_device(garage.id, disabled_by=None)
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert set(by_title(entry)) == {"House", "Garage"}
        assert line.meters[1].logged_in  # polled again

        # Disabling the connection's entry closes the port.
        bus = entry.runtime_data.bus
        await hass.config_entries.async_set_disabled_by(entry.entry_id, ConfigEntryDisabler.USER)
        await hass.async_block_till_done()
        assert not bus.transport.is_open
        assert not any(meter.logged_in for meter in line.meters)


async def test_the_interval_counts_from_the_start_of_a_poll(hass: HomeAssistant) -> None:
    """On a busy bus a poll includes waiting for the line: the scan keeps its cadence."""
    line = make_line(latency_ms=150)
    async with serving(line) as url:
        entry = await setup_entry(hass, make_entry(url))
        (coordinator,) = entry.runtime_data.coordinators.values()
        assert coordinator.scan_interval == 30
        started = hass.loop.time()
        await coordinator.async_refresh()
        spent = hass.loop.time() - started
        assert spent > 0.25  # two answers of 150 ms each
        gap = coordinator.update_interval.total_seconds()
        assert 30 - spent - 0.05 <= gap < 30 - 0.25


async def test_a_demoted_meter_is_tried_once_per_off_scan_time(hass: HomeAssistant) -> None:
    """The attempt after the off-scan time is a single try: one request timeout at most."""
    line = make_line([MeterConfig(link_address=1)])
    async with serving(line) as url:
        ghost = meter_subentry("Ghost", link=7)  # nothing answers at link address 7
        ghost["data"].update({CONF_DEMOTION_FAILURES: 1, CONF_DEMOTION_DELAY: 1000})
        entry = await setup_entry(hass, make_entry(url, ghost))
        (coordinator,) = entry.runtime_data.coordinators.values()
        assert not coordinator.scan.on_scan  # the first poll failed: off scan
        await asyncio.sleep(1.05)
        sent = line.frames_received
        await coordinator.async_refresh()
        # FAST_OPTIONS allow 1 retry (2 tries); the attempt after the delay makes one.
        assert line.frames_received - sent == 1
        assert not coordinator.scan.on_scan
