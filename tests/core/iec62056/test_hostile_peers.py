"""IEC 62056-21 against peers that misbehave on purpose: every read ends in bounded time,
with the right error and hint, and leaves no socket, task or buffer behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import os
import time
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import (
    ConnectionLost,
    MeterError,
    NoResponse,
    ProtocolError,
)
from custom_components.iec_meter.core.iec62056 import Iec62056Client, Iec62056Settings
from custom_components.iec_meter.core.iec62056.constants import MAX_IDENTIFICATION_BYTES
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings

TZ = ZoneInfo("Europe/Madrid")
ONCE = Timing(request_timeout_ms=300, retries=0)
Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Wait until the client hangs up (then the peer's handler ends)."""
    while await reader.read(1024):
        pass


@contextlib.asynccontextmanager
async def peer(handler: Peer) -> AsyncIterator[str]:
    """A TCP peer on 127.0.0.1 running ``handler`` for each connection.

    On leaving, checks that the client left no socket or task behind.
    """
    fds = len(os.listdir("/proc/self/fd"))
    tasks = len(asyncio.all_tasks())

    handlers: set[asyncio.Task[None]] = set()

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"socket://{host}:{port}"
    finally:
        server.close()
        async with asyncio.timeout(5):
            await server.wait_closed()
            if handlers:  # the peer's own handlers end once the client hung up
                await asyncio.wait(handlers)
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert len(asyncio.all_tasks()) <= tasks


async def read_once(url: str) -> tuple[MeterError, float, Iec62056Client]:
    """One read that must fail; the error, how long it took, and the client."""
    started = time.monotonic()
    async with Bus(LineSettings(url, baudrate=2400, bytesize=7, parity="E"), ONCE) as bus:
        client = Iec62056Client(
            bus, Iec62056Settings(t2_ms=200, poll_delay_ms=0, initial_baudrate=2400), TZ
        )
        with pytest.raises(MeterError) as caught:
            await client.read_values()
    took = time.monotonic() - started
    return caught.value, took, client


async def _babble_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # bounded: the test ends long before
        writer.write(b"\x55\x2a" * 512)
        await writer.drain()
        await asyncio.sleep(0.001)


async def test_babble_instead_of_an_identification() -> None:
    async with peer(_babble_forever) as url:
        error, took, client = await read_once(url)
    assert isinstance(error, NoResponse)
    assert "identification" in str(error)
    assert error.hint
    assert took < 3
    assert len(client._buffer) <= MAX_IDENTIFICATION_BYTES


async def _bad_identification(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"/?\r\n/X\r\n")  # lines that start like an identification but are not
    await writer.drain()
    await _until_closed(reader)


async def test_lines_that_are_no_identification_are_skipped() -> None:
    async with peer(_bad_identification) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, NoResponse)
    assert took < 3


async def _endless_data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"/ABC5SIM\r\n")
    await writer.drain()
    await reader.read(64)  # the acknowledgement
    writer.write(b"\x02")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # a data message that never ends
        writer.write(b"1.8.0(0000001.0*kWh)\r\n" * 200)
        await writer.drain()


async def test_a_data_message_that_never_ends_is_cut_off() -> None:
    async with peer(_endless_data) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, ProtocolError)
    assert "longer than" in str(error)
    assert took < 10


async def _close_on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def test_a_converter_that_closes_at_once() -> None:
    async with peer(_close_on_accept) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, ConnectionLost | NoResponse)
    assert error.hint
    assert took < 3


async def _silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _until_closed(reader)


async def test_silence_is_no_response_with_a_hint() -> None:
    async with peer(_silence) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, NoResponse)
    assert "device address" in str(error) or "device address" in error.hint
    assert took < 2
