"""From config entry data to the core's objects: driver, line, timing, meter client.

A config entry is a connection (a port or a converter) speaking one protocol; its
meters (config subentries) share one :class:`~.core.bus.Bus`, which takes their turns on
the half-duplex line. Home Assistant opens serial ports exclusively, so the bus opens
the port once and it is closed on unload and at shutdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from .const import (
    COMMON_OPTIONS,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CONTENT_TIMEOUT,
    CONF_DEVICE,
    CONF_INTER_REQUEST_DELAY,
    CONF_PARITY,
    CONF_PROTOCOL,
    CONF_RECONNECT_DELAY,
    CONF_REQUEST_TIMEOUT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_SETTLE_DELAY,
    CONF_STOPBITS,
    CONF_TIME_ZONE,
    RECORD_OPTIONS,
)
from .core.bus import Bus
from .core.driver import Driver, MeterClient
from .core.drivers import DEFAULT_PROTOCOL, get_driver
from .core.model import Snapshot
from .core.timing import Timing
from .core.transport import LineSettings, Transport


def driver_of(data: Mapping[str, Any]) -> Driver[Any]:
    """The driver of a connection's protocol."""
    return get_driver(str(data.get(CONF_PROTOCOL, DEFAULT_PROTOCOL)))


def default_options(driver: Driver[Any]) -> dict[str, Any]:
    """Options of a new connection: the common ones plus the protocol's timing."""
    options: dict[str, Any] = {
        CONF_SCAN_INTERVAL: driver.default_scan_interval_s,
        CONF_REQUEST_TIMEOUT: driver.default_request_timeout_ms,
        **COMMON_OPTIONS,
    }
    if driver.keeps_records:
        options.update(RECORD_OPTIONS)
    return options


def line_settings(data: Mapping[str, Any], options: Mapping[str, Any]) -> LineSettings:
    """Line settings from a config entry's data and options."""
    defaults = driver_of(data).line_defaults
    return LineSettings(
        url=data[CONF_DEVICE],
        baudrate=int(data.get(CONF_BAUDRATE, defaults.baudrate)),
        bytesize=int(data.get(CONF_BYTESIZE, defaults.bytesize)),
        parity=str(data.get(CONF_PARITY, defaults.parity)),
        stopbits=float(data.get(CONF_STOPBITS, defaults.stopbits)),
        settle_delay=float(options.get(CONF_SETTLE_DELAY, 0.0)),
    )


def timing(data: Mapping[str, Any], options: Mapping[str, Any]) -> Timing:
    """Request timing from a config entry's options."""
    merged = {**default_options(driver_of(data)), **options}
    return Timing(
        request_timeout_ms=int(merged[CONF_REQUEST_TIMEOUT]),
        retries=int(merged[CONF_RETRIES]),
        inter_request_delay_ms=int(merged[CONF_INTER_REQUEST_DELAY]),
        reconnect_delay_ms=int(merged[CONF_RECONNECT_DELAY]),
        content_timeout_ms=int(merged[CONF_CONTENT_TIMEOUT]),
    )


def make_bus(data: Mapping[str, Any], options: Mapping[str, Any]) -> Bus:
    """The bus of a connection (nothing is opened yet)."""
    return Bus(line_settings(data, options), timing(data, options))


def meter_client(
    driver: Driver[Any], bus: Bus, meter: Mapping[str, Any], default_zone: str
) -> MeterClient[Any]:
    """A client for one meter (subentry data) on ``bus``."""
    zone = ZoneInfo(str(meter.get(CONF_TIME_ZONE) or default_zone))
    return driver.client(bus, driver.settings(meter), zone)


async def probe_meter(
    driver: Driver[Any], bus: Bus, meter: Mapping[str, Any], default_zone: str
) -> Snapshot:
    """Read a meter's identity and one set of values on ``bus``, then end its session."""
    return await meter_client(driver, bus, meter, default_zone).probe()


async def check_line_opens(line: LineSettings) -> None:
    """Open and close ``line``: raises CannotConnect with the reason if it cannot."""
    transport = Transport(line)
    try:
        await transport.open()
    finally:
        await transport.close()
