"""The driver interface's own behaviour: what a minimal protocol gets without writing it.

A tiny line protocol (ask ``ID?`` or ``V?``, get one text line back) served by a real TCP
peer implements only what a driver must; everything else comes from the base classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
import contextlib
from datetime import UTC, tzinfo
from typing import Any

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.driver import (
    Driver,
    FieldKind,
    LineDefaults,
    MeterClient,
    SettingField,
)
from custom_components.iec_meter.core.drivers import DEFAULT_PROTOCOL, DRIVERS, get_driver
from custom_components.iec_meter.core.errors import NotSupported
from custom_components.iec_meter.core.model import Identity, Reading
from custom_components.iec_meter.core.transport import LineSettings
from tests.conftest import FAST

_ANSWERS = {b"ID?": b"ACME 42", b"V?": b"1.5"}


class LineMeterClient(MeterClient[str]):
    """Asks one question per read; implements only the abstract methods."""

    async def _ask(self, question: bytes) -> bytes:
        transport = self.bus.transport
        transport.write(question + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            answer += await transport.receive(1.0)
        return answer.strip()

    async def _read_identity(self) -> Identity:
        manufacturer, serial = (await self._ask(b"ID?")).decode().split()
        return Identity(manufacturer=manufacturer, serial=serial, fields={"tag": self.settings})

    async def _read_values(self) -> Reading:
        return Reading({"active_power": float(await self._ask(b"V?"))})


class LineDriver(Driver[str]):
    """The minimal driver: no describe(), no standard_data()."""

    name = "line"
    title = "Line"
    line_defaults = LineDefaults(9600, 8, "N", 1, 4001)
    default_request_timeout_ms = 1000
    default_scan_interval_s = 10
    signals = frozenset({"active_power"})
    meter_fields = (SettingField("tag", FieldKind.TEXT, ""),)

    def settings(self, data: Mapping[str, Any]) -> str:
        return str(data.get("tag", ""))

    def client(self, bus: Bus, settings: str, tz: tzinfo) -> LineMeterClient:
        return LineMeterClient(bus, settings, tz)

    def unique_id(self, identity: Identity, settings: str) -> str:
        return f"{identity.manufacturer}-{identity.serial}"

    def identity_record(self, identity: Identity) -> dict[str, Any]:
        return {"manufacturer": identity.manufacturer, "serial": identity.serial}

    def stored_identity(self, record: Mapping[str, Any]) -> Identity:
        return Identity(str(record["manufacturer"]), str(record["serial"]))


@contextlib.asynccontextmanager
async def line_meter() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A TCP peer answering the line protocol; yields its URL and the questions heard."""
    heard: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                heard.append(line.strip())
                writer.write(_ANSWERS.get(line.strip(), b"?") + b"\n")
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"socket://{host}:{port}", heard
    finally:
        server.close()
        await server.wait_closed()


async def test_a_minimal_driver_reads_through_the_base_client() -> None:
    driver = LineDriver()
    async with line_meter() as (url, heard), Bus(LineSettings(url), FAST) as bus:
        client = driver.client(bus, driver.settings({"tag": "house"}), UTC)
        assert not bus.transport.is_open  # nothing is sent before the first read
        identity = await client.read_identity()  # the base turn opens the line
        assert (identity.manufacturer, identity.serial) == ("ACME", "42")
        assert identity.fields == {"tag": "house"}
        assert (await client.read_values()).get("active_power") == 1.5
        snapshot = await client.read_snapshot()
        assert snapshot.clock is None  # no clock: it is not even asked for
        assert snapshot.identity == identity
        assert heard == [b"ID?", b"V?", b"ID?", b"V?"]
        assert bus.turns == 3
        assert client.diagnostics() == {}
        with pytest.raises(NotSupported, match="no clock"):
            await client.read_clock()
        assert heard[-1] == b"V?"  # asking for the clock sent nothing


async def test_probe_reads_without_the_clock_and_leaves_the_bus() -> None:
    driver = LineDriver()
    async with line_meter() as (url, heard), Bus(LineSettings(url), FAST) as bus:
        client = driver.client(bus, "garage", UTC)
        assert bus._clients == [client]
        snapshot = await client.probe()
        assert snapshot.identity is not None
        assert snapshot.identity.serial == "42"
        assert snapshot.reading.get("active_power") == 1.5
        assert snapshot.clock is None
        assert heard == [b"ID?", b"V?"]  # no session to end: nothing more is sent
        assert bus._clients == []  # probe closed the client


def test_base_driver_defaults() -> None:
    driver = LineDriver()
    assert driver.describe("house") == ""
    assert driver.standard_data(Reading({"active_power": 1.0})) == frozenset()
    assert not driver.labelled_data
    assert driver.presets == {}
    record = driver.identity_record(Identity("ACME", "42"))
    assert driver.stored_identity(record) == Identity("ACME", "42")
    assert driver.unique_id(Identity("ACME", "42"), "") == "ACME-42"


def test_registry() -> None:
    assert set(DRIVERS) == {"iec102", "iec62056"}
    assert get_driver(DEFAULT_PROTOCOL) is DRIVERS["iec102"]
    assert get_driver("iec62056").name == "iec62056"
    with pytest.raises(ValueError, match=r"unknown protocol 'dlms'; known: iec102, iec62056"):
        get_driver("dlms")
