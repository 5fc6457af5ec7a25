"""Set-up, unload and migration of a connection entry and its meters."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .billing import BillingCoordinator
from .connection import driver_of, make_bus
from .const import (
    CONF_BACKFILL_DAYS,
    CONF_BILLING_CONTRACT,
    CONF_DEVICE,
    CONF_PHASES,
    CONF_PROFILE,
    CONF_PROTOCOL,
    CONF_SIGNALS,
    DEFAULT_BACKFILL_DAYS,
    DEFAULT_BILLING_CONTRACT,
    DEFAULT_PROFILE,
    DOMAIN,
    LOGGER,
    PROFILE_OFF,
    SUBENTRY_METER,
)
from .coordinator import IecMeterCoordinator, error_text
from .core.drivers import DEFAULT_PROTOCOL, get_driver
from .core.errors import CannotConnect
from .core.model import SIGNALS
from .core.records import ProfileKind
from .cost_statistics import CostStatistics
from .data import IecMeterConfigEntry, IecMeterRuntime
from .gateways import async_start_gateways
from .profile_import import ProfileImporter
from .tariff_settings import cost_settings

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.BUTTON]

#: Minor version 2 added the protocol to the connection and the signals to each meter.
MINOR_VERSION_PROTOCOL = 2


async def async_setup_entry(hass: HomeAssistant, entry: IecMeterConfigEntry) -> bool:
    """Open the connection and start polling every meter on it."""
    driver = driver_of(entry.data)
    bus = make_bus(entry.data, entry.options)
    try:
        await bus.run(bus.ensure_open)
    except CannotConnect as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"device": entry.data[CONF_DEVICE], "error": error_text(err)},
        ) from err
    # Looked up among the entry's own devices: async_get_device is deprecated from 2026.10.
    disabled = {
        identifier
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if device.disabled_by is not None
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    }

    def collecting(subentry: ConfigSubentry) -> bool:
        """A meter whose device the user disabled gets no coordinator: no traffic at all."""
        return str(subentry.unique_id) not in disabled

    coordinators = {
        subentry_id: IecMeterCoordinator(hass, entry, subentry, driver, bus)
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_METER and collecting(subentry)
    }
    runtime = IecMeterRuntime(driver, bus, coordinators, {})
    entry.runtime_data = runtime
    _add_record_readers(hass, entry, runtime)
    try:
        # A meter that does not answer starts unavailable and is retried on its own
        # schedule; it must not keep the other meters on the connection from running.
        for coordinator in coordinators.values():
            await coordinator.async_refresh()
        for billing in runtime.billing.values():
            await billing.async_refresh()
        entry.runtime_data.gateways = await async_start_gateways(hass, entry, bus)
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        for importer in runtime.importers.values():
            importer.async_start()
    except BaseException:
        # Never leave the port open behind a failed setup: the next one could not open it.
        await _async_close(entry)
        raise

    async def close_at_stop(_event: Event) -> None:
        await _async_close(entry)

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, close_at_stop))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


def _add_record_readers(
    hass: HomeAssistant, entry: IecMeterConfigEntry, runtime: IecMeterRuntime
) -> None:
    """A profile importer and a billing coordinator for each meter that keeps records."""
    options = entry.options
    profile = str(options.get(CONF_PROFILE, DEFAULT_PROFILE))
    backfill_days = int(options.get(CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS))
    contract = int(options.get(CONF_BILLING_CONTRACT, DEFAULT_BILLING_CONTRACT))
    for subentry_id, coordinator in runtime.coordinators.items():
        client = coordinator.client
        if not client.has_records:
            continue
        subentry = coordinator.subentry
        if profile != PROFILE_OFF:
            runtime.importers[subentry_id] = ProfileImporter(
                hass,
                entry,
                subentry,
                client,
                ProfileKind(profile),
                backfill_days,
                coordinator,
                _cost_writer(hass, subentry),
            )
        if contract:
            runtime.billing[subentry_id] = BillingCoordinator(
                hass, entry, subentry, client, contract
            )


def _cost_writer(hass: HomeAssistant, subentry: ConfigSubentry) -> CostStatistics | None:
    """The cost statistics of a meter with a tariff; None for "no tariff"."""
    try:
        settings = cost_settings(subentry.data)
    except (ValueError, KeyError) as err:
        LOGGER.warning(
            "%s: the tariff settings are not usable, so no costs are computed: %s",
            subentry.title,
            err,
        )
        return None
    if settings is None:
        return None
    return CostStatistics(hass, str(subentry.unique_id), subentry.title, settings)


async def async_unload_entry(hass: HomeAssistant, entry: IecMeterConfigEntry) -> bool:
    """Stop polling, log out of every meter and release the port."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await _async_close(entry)
    return unloaded


async def _async_close(entry: IecMeterConfigEntry) -> None:
    runtime = entry.runtime_data
    # Gateway clients go first: they hold the line the meters need to log out.
    await asyncio.gather(*(gateway.stop() for gateway in runtime.gateways.values()))
    await asyncio.gather(*(importer.async_stop() for importer in runtime.importers.values()))
    await asyncio.gather(*(billing.async_shutdown() for billing in runtime.billing.values()))
    await asyncio.gather(
        *(coordinator.async_shutdown() for coordinator in runtime.coordinators.values())
    )
    await runtime.bus.close()


async def _async_reload(hass: HomeAssistant, entry: IecMeterConfigEntry) -> None:
    """Options, connection or meters changed: start again with the new settings."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_migrate_entry(hass: HomeAssistant, entry: IecMeterConfigEntry) -> bool:
    """Bring an entry of an older release up to date, keeping every id it made."""
    if entry.version > 1:
        return False  # made by a newer release: refuse rather than guess
    if entry.minor_version < MINOR_VERSION_PROTOCOL:
        # 1.1 knew one protocol, and made the 24 IEC 102 signals for every meter
        # (L2/L3 left out for a single-phase one).
        for subentry in entry.subentries.values():
            if subentry.subentry_type != SUBENTRY_METER or CONF_SIGNALS in subentry.data:
                continue
            single = int(subentry.data.get(CONF_PHASES, 3)) == 1
            signals = sorted(
                key
                for key in get_driver(DEFAULT_PROTOCOL).signals
                if not (single and SIGNALS[key].phase)
            )
            hass.config_entries.async_update_subentry(
                entry, subentry, data={**subentry.data, CONF_SIGNALS: signals}
            )
        hass.config_entries.async_update_entry(
            entry,
            data={CONF_PROTOCOL: DEFAULT_PROTOCOL, **entry.data},
            minor_version=MINOR_VERSION_PROTOCOL,
        )
        LOGGER.debug("migrated %s to version 1.%d", entry.title, MINOR_VERSION_PROTOCOL)
    return True


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IecMeterConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device only when no configured meter or gateway stands behind it."""
    configured: set[Any] = {
        str(subentry.unique_id)
        if subentry.subentry_type == SUBENTRY_METER
        else f"{entry.entry_id}_{subentry.subentry_id}"  # a gateway's device
        for subentry in entry.subentries.values()
    }
    return not any(
        domain == DOMAIN and identifier in configured for domain, identifier in device.identifiers
    )
