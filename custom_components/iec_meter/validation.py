"""Proving a connection or a meter before it is saved (shared by the flows and repairs).

The checks return the form's error key rather than raising, so each flow decides what
to show; the log keeps the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant

from .connection import (
    check_line_opens,
    default_options,
    driver_of,
    line_settings,
    make_bus,
    probe_meter,
)
from .const import (
    CONF_DATA,
    CONF_DEVICE,
    CONF_OFFERED,
    CONF_SIGNALS,
    CONF_TIME_ZONE,
    DOMAIN,
    LOGGER,
    SUBENTRY_GATEWAY,
)
from .core.bus import Bus
from .core.driver import Driver
from .core.errors import (
    AuthenticationRejected,
    CannotConnect,
    DamagedAnswers,
    MeterBusy,
    MeterError,
    NoData,
    NoResponse,
    NotSupported,
)
from .core.model import SIGNALS, Snapshot
from .gateways import gateway_settings


async def check_opens(data: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    """None if the line opens, else the form's error key."""
    try:
        await check_line_opens(line_settings(data, options))
    except CannotConnect as err:
        LOGGER.debug("cannot open %s: %s", data[CONF_DEVICE], err)
        return "cannot_connect"
    return None


def loaded_bus(entry: ConfigEntry | None) -> Bus | None:
    """The running bus of a loaded entry (it holds the port: a second open would fail)."""
    if entry is not None and entry.state is ConfigEntryState.LOADED:
        bus: Bus = entry.runtime_data.bus
        return bus
    return None


async def probe(
    hass: HomeAssistant,
    entry: ConfigEntry | None,
    connection: Mapping[str, Any],
    meter: Mapping[str, Any],
) -> tuple[Snapshot | None, str | None]:
    """Read the meter's identity and one set of values; the error key if that fails.

    A loaded entry's own bus is used; otherwise the line is opened just for the probe.
    """
    driver = driver_of(connection)
    zone = hass.config.time_zone
    try:
        bus = loaded_bus(entry)
        if bus is not None:
            snapshot = await probe_meter(driver, bus, meter, zone)
        else:
            options = entry.options if entry is not None else default_options(driver)
            async with make_bus(connection, options) as own_bus:
                snapshot = await probe_meter(driver, own_bus, meter, zone)
    except AuthenticationRejected:
        return None, "invalid_auth"
    except CannotConnect:
        return None, "cannot_connect"
    except DamagedAnswers:
        return None, "damaged_answers"
    except NoResponse:
        return None, "no_response"
    except NoData:
        return None, "no_data"
    except MeterBusy:
        return None, "meter_busy"
    except NotSupported:
        return None, "not_supported"
    except MeterError as err:
        LOGGER.debug("probe failed: %s", err)
        return None, "protocol_error"
    except ValueError as err:
        LOGGER.debug("bad meter settings: %s", err)
        return None, "invalid_settings"
    except Exception:  # noqa: BLE001 - the user gets "unknown error", the log the trace
        LOGGER.exception("Unexpected error while reading the meter")
        return None, "unknown"
    return snapshot, None


def delivered_signals(snapshot: Snapshot) -> list[str]:
    """The signals a meter delivered, without L2/L3 for a single-phase meter."""
    reading = snapshot.reading
    single = reading.get("voltage_l2") is None and reading.get("voltage_l3") is None
    return sorted(
        key
        for key in reading.values
        if key in SIGNALS and not (single and SIGNALS[key].phase is not None)
    )


def meter_record(
    driver: Driver[Any],
    settings: Mapping[str, Any],
    snapshot: Snapshot,
    chosen: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a configured meter stores: its settings, identity and signals."""
    assert snapshot.identity is not None
    record = {**settings, **driver.identity_record(snapshot.identity)}
    record[CONF_OFFERED] = delivered_signals(snapshot)
    if chosen is None:
        record[CONF_SIGNALS] = delivered_signals(snapshot)
        record[CONF_DATA] = []
    else:
        record[CONF_SIGNALS] = sorted(chosen.get(CONF_SIGNALS, ()))
        record[CONF_DATA] = sorted(chosen.get(CONF_DATA, ()))
    if record.get(CONF_TIME_ZONE) is None:
        record.pop(CONF_TIME_ZONE, None)
    return record


def meter_unique_id(driver: Driver[Any], record: Mapping[str, Any]) -> str:
    """The unique id of a configured meter."""
    return driver.unique_id(driver.stored_identity(record), driver.settings(record))


def meter_configured(hass: HomeAssistant, unique_id: str) -> bool:
    """True if any connection already has this meter."""
    return any(
        subentry.unique_id == unique_id
        for entry in hass.config_entries.async_entries(DOMAIN)
        for subentry in entry.subentries.values()
    )


@dataclass(frozen=True, slots=True)
class NewMeter:
    """Outcome of checking a meter to add: what it delivered, a form error, or a duplicate."""

    snapshot: Snapshot | None = None
    settings: dict[str, Any] | None = None
    error: str | None = None
    duplicate: bool = False


async def check_new_meter(
    hass: HomeAssistant,
    entry: ConfigEntry | None,
    connection: Mapping[str, Any],
    settings: dict[str, Any],
) -> NewMeter:
    """Probe a meter to add and make sure it is not configured already."""
    snapshot, error = await probe(hass, entry, connection, settings)
    if snapshot is None:
        return NewMeter(error=error)
    driver = driver_of(connection)
    assert snapshot.identity is not None
    unique_id = driver.unique_id(snapshot.identity, driver.settings(settings))
    if meter_configured(hass, unique_id):
        return NewMeter(duplicate=True)
    return NewMeter(snapshot=snapshot, settings=settings)


async def check_gateway(
    hass: HomeAssistant,
    entry: ConfigEntry,
    data: Mapping[str, Any],
    current: ConfigSubentry | None,
) -> str | None:
    """None if a gateway with ``data`` can run on ``entry``, else the form's error key."""
    try:
        settings = gateway_settings(data)
    except ValueError as err:
        LOGGER.debug("bad gateway settings: %s", err)
        return "invalid_interface"
    others = [
        subentry
        for other in hass.config_entries.async_entries(DOMAIN)
        for subentry in other.subentries.values()
        if subentry.subentry_type == SUBENTRY_GATEWAY
        and (current is None or subentry.subentry_id != current.subentry_id)
    ]
    if any(
        gateway_settings(other.data).priority == settings.priority
        for other in others
        if other.subentry_id in entry.subentries
    ):
        return "priority_in_use"
    if any(gateway_settings(other.data).port == settings.port for other in others):
        return "port_in_use"
    if current is not None and gateway_settings(current.data).port == settings.port:
        return None  # its own running gateway holds the port
    try:
        server = await asyncio.start_server(_refuse, settings.host, settings.port)
    except OSError as err:
        LOGGER.debug("port %s on %s: %s", settings.port, settings.host, err)
        return "port_in_use"
    server.close()
    await server.wait_closed()
    return None


async def _refuse(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()
