"""IEC Meter: read electricity meters locally over IEC 60870-5-102 (REE).

A config entry is a connection (serial port, optical probe or TCP converter); each of
its config subentries is a meter on that connection with its own device and
coordinator. The protocol core lives in :mod:`.protocol` and has no Home Assistant
imports.
"""

from __future__ import annotations

import asyncio

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .connection import MeterConnection, line_settings, timing
from .const import CONF_DEVICE, DOMAIN, SUBENTRY_METER
from .coordinator import IecMeterCoordinator
from .data import IecMeterConfigEntry, IecMeterRuntime
from .protocol.errors import CannotConnect

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.BUTTON]


async def async_setup_entry(hass: HomeAssistant, entry: IecMeterConfigEntry) -> bool:
    """Open the connection and start polling every meter on it."""
    connection = MeterConnection(line_settings(entry.data, entry.options), timing(entry.options))
    try:
        await connection.transport.open()
    except CannotConnect as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"device": entry.data[CONF_DEVICE], "error": str(err)},
        ) from err
    coordinators = {
        subentry_id: IecMeterCoordinator(hass, entry, subentry, connection)
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_METER
    }
    entry.runtime_data = IecMeterRuntime(connection, coordinators)
    try:
        # A meter that does not answer starts unavailable and is retried on its own
        # schedule; it must not keep the other meters on the connection from running.
        for coordinator in coordinators.values():
            await coordinator.async_refresh()
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    except BaseException:
        # Never leave the port open behind a failed setup: the next one could not open it.
        await _async_close(entry)
        raise

    async def close_at_stop(_event: Event) -> None:
        await _async_close(entry)

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, close_at_stop))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: IecMeterConfigEntry) -> bool:
    """Stop polling, log out of every meter and release the port."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await _async_close(entry)
    return unloaded


async def _async_close(entry: IecMeterConfigEntry) -> None:
    runtime = entry.runtime_data
    await asyncio.gather(
        *(coordinator.async_shutdown() for coordinator in runtime.coordinators.values())
    )
    await runtime.connection.close()


async def _async_reload(hass: HomeAssistant, entry: IecMeterConfigEntry) -> None:
    """Options, connection or meters changed: start again with the new settings."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IecMeterConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device only when no configured meter stands behind it."""
    meters = {
        str(subentry.unique_id)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_METER
    }
    return not any(
        domain == DOMAIN and identifier in meters for domain, identifier in device.identifiers
    )
