"""The one owner of a connection (port or converter) and the meters on it.

A config entry is a connection; its meters (config subentries) share one transport and
take turns on it, because the line is half duplex and an RS-485 bus carries one frame
at a time. Home Assistant opens serial ports exclusively, so the port is opened here
once and closed on unload and at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from .const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_DEVICE,
    CONF_INTER_REQUEST_DELAY,
    CONF_LINK_ADDRESS,
    CONF_PARITY,
    CONF_PASSWORD,
    CONF_POINT_ADDRESS,
    CONF_RECONNECT_DELAY,
    CONF_REQUEST_TIMEOUT,
    CONF_RETRIES,
    CONF_SETTLE_DELAY,
    CONF_STOPBITS,
    CONF_TIME_ZONE,
    DEFAULT_BAUDRATE,
    DEFAULT_BYTESIZE,
    DEFAULT_OPTIONS,
    DEFAULT_PARITY,
    DEFAULT_STOPBITS,
    FRAME_LOG_SIZE,
)
from .protocol.iec102 import FrameLog, Iec102Client, MeterAddress, MeterSnapshot, Timing
from .protocol.iec102.constants import DEFAULT_TIME_ZONE
from .protocol.transport import LineSettings, Transport


def line_settings(data: Mapping[str, Any], options: Mapping[str, Any]) -> LineSettings:
    """Line settings from a config entry's data and options."""
    return LineSettings(
        url=data[CONF_DEVICE],
        baudrate=int(data.get(CONF_BAUDRATE, DEFAULT_BAUDRATE)),
        bytesize=int(data.get(CONF_BYTESIZE, DEFAULT_BYTESIZE)),
        parity=str(data.get(CONF_PARITY, DEFAULT_PARITY)),
        stopbits=float(data.get(CONF_STOPBITS, DEFAULT_STOPBITS)),
        settle_delay=float(options.get(CONF_SETTLE_DELAY, 0.0)),
    )


def timing(options: Mapping[str, Any]) -> Timing:
    """Request timing from a config entry's options."""
    merged = {**DEFAULT_OPTIONS, **options}
    return Timing(
        request_timeout_ms=int(merged[CONF_REQUEST_TIMEOUT]),
        retries=int(merged[CONF_RETRIES]),
        inter_request_delay_ms=int(merged[CONF_INTER_REQUEST_DELAY]),
        reconnect_delay_ms=int(merged[CONF_RECONNECT_DELAY]),
    )


def meter_address(data: Mapping[str, Any]) -> MeterAddress:
    """Addresses and password from a meter subentry's data."""
    return MeterAddress(
        link_address=int(data[CONF_LINK_ADDRESS]),
        point_address=int(data[CONF_POINT_ADDRESS]),
        password=int(data[CONF_PASSWORD]),
    )


def meter_zone(data: Mapping[str, Any]) -> ZoneInfo:
    """Time zone of a meter's clock."""
    return ZoneInfo(str(data.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE)))


class MeterConnection:
    """A transport plus the lock that makes its meters take turns."""

    def __init__(self, line: LineSettings, request_timing: Timing) -> None:
        """Prepare the connection; it opens on the first read."""
        self.transport = Transport(line)
        self.timing = request_timing
        self.lock = asyncio.Lock()

    def client(self, meter: MeterAddress, tz: ZoneInfo) -> Iec102Client:
        """A client for one meter on this connection (shares the transport)."""
        return Iec102Client(
            self.transport,
            meter,
            timing=self.timing,
            tz=tz,
            frame_log=FrameLog(FRAME_LOG_SIZE),
        )

    async def run[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one meter's exchange while no other meter uses the line."""
        async with self.lock:
            return await operation()

    async def probe(self, meter: MeterAddress, tz: ZoneInfo) -> MeterSnapshot:
        """Read identity and one set of values, then log out (used by the flows)."""
        client = self.client(meter, tz)

        async def read() -> MeterSnapshot:
            try:
                return await client.read_snapshot(clock=False)
            finally:
                await client.close()

        return await self.run(read)

    async def close(self) -> None:
        """Release the port or socket."""
        async with self.lock:
            await self.transport.close()


async def probe_line(
    line: LineSettings, request_timing: Timing, meter: MeterAddress, tz: ZoneInfo
) -> MeterSnapshot:
    """Open ``line`` just for one probe of ``meter`` and close it again."""
    connection = MeterConnection(line, request_timing)
    try:
        return await connection.probe(meter, tz)
    finally:
        await connection.close()


async def check_line_opens(line: LineSettings) -> None:
    """Open and close ``line``: raises CannotConnect with the reason if it cannot."""
    transport = Transport(line)
    try:
        await transport.open()
    finally:
        await transport.close()
