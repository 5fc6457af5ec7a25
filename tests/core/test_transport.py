"""The serialx transport: settings, opening, closing, errors."""

from __future__ import annotations

import asyncio
import termios
from typing import Any

import pytest
import serialx

from custom_components.iec_meter.core.errors import CannotConnect, ConnectionLost
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import (
    RECEIVE_BUFFER_LIMIT,
    LineSettings,
    Transport,
    is_network_url,
)
from tests.conftest import make_line, serving


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": ""}, "url is empty"),
        ({"baudrate": 1234}, "baud rate"),
        ({"bytesize": 6}, "data bits"),
        ({"parity": "M"}, "parity"),
        ({"stopbits": 1.5}, "stop bits"),
        ({"connect_timeout": 0}, "connect timeout"),
        ({"settle_delay": -1}, "settle delay"),
    ],
)
def test_settings_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LineSettings(**{"url": "/dev/ttyUSB0", **kwargs})


def test_settings_properties() -> None:
    assert is_network_url("socket://10.0.0.5:4001")
    assert is_network_url("rfc2217://10.0.0.5:4001")
    assert not is_network_url("/dev/ttyUSB0")
    assert not LineSettings("socket://10.0.0.5:4001").can_change_speed
    assert LineSettings("rfc2217://10.0.0.5:4001").can_change_speed
    assert LineSettings("/dev/ttyUSB0").can_change_speed
    assert LineSettings("/dev/ttyUSB0", parity="E").bits_per_byte == 11
    assert LineSettings("/dev/ttyUSB0").bits_per_byte == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"request_timeout_ms": 50}, "request timeout 50 out of range"),
        ({"retries": 101}, "retries"),
        ({"inter_request_delay_ms": -1}, "inter-request delay"),
        ({"reconnect_delay_ms": 999}, r"reconnect delay 999 out of range \(1000 or more\)"),
    ],
)
def test_timing_is_validated(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Timing(**kwargs)


def test_timing_in_seconds() -> None:
    timing = Timing(inter_request_delay_ms=250)
    assert timing.request_timeout == 3.0
    assert timing.retries == 3
    assert timing.inter_request_delay == 0.25
    assert timing.reconnect_delay == 60.0


async def test_open_settle_receive_and_close() -> None:
    async with serving(make_line()) as url:
        transport = Transport(LineSettings(url, settle_delay=0.01))
        await transport.open()
        await transport.open()  # already open: nothing happens
        transport.write(bytes.fromhex("10 49 01 00 4A 16"))
        answer = await transport.receive(1.0)
        assert answer == bytes.fromhex("10 0B 01 00 0C 16")
        assert transport.bytes_sent == 6
        assert transport.bytes_received == 6
        with pytest.raises(TimeoutError):
            await transport.receive(0.05)
        assert transport.discard_input() == b""
        await transport.close()
        await transport.close()
        assert not transport.is_open
        with pytest.raises(ConnectionLost, match="not open"):
            transport.write(b"\x00")


async def test_remote_close_is_connection_lost() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\xff")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = Transport(LineSettings(f"socket://127.0.0.1:{port}"))
    try:
        await transport.open()
        assert await transport.receive(1.0) == b"\xff"
        with pytest.raises(ConnectionLost, match="connection closed"):
            await transport.receive(1.0)
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # A converter that never completes the connection cannot be made on loopback.
    async def never(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(10)

    monkeypatch.setattr(serialx, "create_serial_connection", never)
    transport = Transport(LineSettings("socket://127.0.0.1:1", connect_timeout=0.05))
    with pytest.raises(CannotConnect, match=r"no connection within 0\.05 s"):
        await transport.open()


async def test_invalid_socket_url() -> None:
    transport = Transport(LineSettings("socket://no-port"))
    with pytest.raises(CannotConnect, match="socket://no-port"):
        await transport.open()


async def test_close_aborts_when_the_port_will_not_close(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(make_line()) as url:
        transport = Transport(LineSettings(url, connect_timeout=0.05))
        await transport.open()
        inner = transport._transport
        assert inner is not None

        async def stuck() -> None:
            await asyncio.sleep(10)

        aborted = []
        monkeypatch.setattr(inner, "wait_closed", stuck)
        original_abort = inner.abort
        monkeypatch.setattr(inner, "abort", lambda: (aborted.append(True), original_abort()))
        await transport.close()
        assert aborted == [True]


@pytest.mark.parametrize(
    ("link", "point", "password", "message"),
    [
        (70000, 1, 1, "link address"),
        (1, -1, 1, "point address"),
        (1, 1, 2**32, "password"),
    ],
)
def test_meter_address_is_validated(link: int, point: int, password: int, message: str) -> None:
    from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: PLC0415

    with pytest.raises(ValueError, match=message):
        Iec102Settings(link, point, password)


async def test_pty_refusing_a_setting_is_cannot_connect() -> None:
    async with serving(make_line(), pty=True) as path:
        first = Transport(LineSettings(path))
        await first.open()
        await first.close()
        # Linux pseudo-terminals refuse parity once they have been configured.
        second = Transport(LineSettings(path, parity="E"))
        with pytest.raises(CannotConnect, match="Invalid argument"):
            await second.open()
        await second.close()


async def _babbler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A peer that streams bytes nobody asked for (a wrong baud rate, another master)."""
    chunk = bytes(range(256)) * 64
    try:
        for _ in range(64):  # 1 MiB, bounded
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()


async def test_a_babbling_line_never_grows_the_buffer_past_its_limit() -> None:
    server = await asyncio.start_server(_babbler, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    transport = Transport(LineSettings(f"socket://{host}:{port}"), buffer_limit=4096)
    try:
        await transport.open()
        async with asyncio.timeout(10):
            while transport.bytes_dropped < 1_000_000:  # noqa: ASYNC110 - polls a counter
                await asyncio.sleep(0.01)  # nobody reads: everything queues
        kept = transport.discard_input()
        assert len(kept) == 4096
        assert transport.bytes_dropped + len(kept) >= 1_000_000
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()
    # The count survives the close, for diagnostics.
    assert transport.bytes_dropped >= 1_000_000 - 4096
    assert RECEIVE_BUFFER_LIMIT >= 4096


async def test_speed_change_of_an_open_port() -> None:
    """serialx 1.15 reconfigures an open port; 1.7 sets its speed property."""
    async with serving(make_line(), pty=True) as path:
        transport = Transport(LineSettings(path, baudrate=300))
        await transport.open()
        try:
            await transport.set_baudrate(9600)
            assert transport.baudrate == 9600
            await transport.set_baudrate(9600)  # the same speed: nothing to do
            transport.write(b"x")
            await transport.drain()
            with pytest.raises(ValueError, match="baud rate 1234"):
                await transport.set_baudrate(1234)
        finally:
            await transport.close()
        with pytest.raises(ConnectionLost):
            await transport.set_baudrate(300)


async def test_a_raw_tcp_converter_keeps_its_speed() -> None:
    async with serving(make_line()) as url:
        transport = Transport(LineSettings(url, baudrate=300))
        await transport.open()
        try:
            await transport.set_baudrate(9600)
            assert transport.baudrate == 300
        finally:
            await transport.close()


async def test_a_half_closed_connection_is_connection_lost() -> None:
    """The converter ends its side (EOF) but keeps the socket: what came is still read."""
    done = asyncio.Event()

    async def half_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x01")
        writer.write_eof()
        await done.wait()
        writer.close()

    server = await asyncio.start_server(half_close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = Transport(LineSettings(f"socket://127.0.0.1:{port}"))
    try:
        await transport.open()
        assert await transport.receive(1.0) == b"\x01"
        with pytest.raises(ConnectionLost, match="connection closed"):
            await transport.receive(1.0)
        assert not transport.is_open
    finally:
        done.set()
        await transport.close()
        server.close()
        await server.wait_closed()


async def test_drain_is_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draining a line that is not open does nothing; an OS error while draining is logged."""
    async with serving(make_line(), pty=True) as path:
        transport = Transport(LineSettings(path))
        await transport.drain()  # not open: nothing to wait for
        await transport.open()
        try:
            serial_transport = transport._transport
            assert serial_transport is not None

            async def failing_flush() -> None:
                raise OSError(5, "Input/output error")

            monkeypatch.setattr(serial_transport, "flush", failing_flush)
            transport.write(b"x")
            await transport.drain()  # no exception
            assert transport.is_open
        finally:
            await transport.close()


async def test_a_port_refusing_a_speed_change_is_connection_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The OS refusing the new speed: ConnectionLost naming it, the speed unchanged."""
    async with serving(make_line(), pty=True) as path:
        transport = Transport(LineSettings(path, baudrate=300))
        await transport.open()
        try:
            serial_transport = transport._transport
            assert serial_transport is not None

            async def refuse(**kwargs: Any) -> None:
                raise OSError(22, "Invalid argument")

            # serialx 1.15 has reconfigure_port; 1.7 gets it here to reach the same path.
            monkeypatch.setattr(serial_transport, "reconfigure_port", refuse, raising=False)
            with pytest.raises(ConnectionLost, match=r"cannot switch to 9600 baud: .*Invalid"):
                await transport.set_baudrate(9600)
            assert transport.baudrate == 300
        finally:
            await transport.close()


async def test_speed_change_before_opening_is_connection_lost() -> None:
    transport = Transport(LineSettings("/dev/null", baudrate=300))
    with pytest.raises(ConnectionLost, match="not open"):
        await transport.set_baudrate(9600)


def _input_flags(transport: Transport) -> int:
    serial_transport = transport._transport
    assert serial_transport is not None
    return int(termios.tcgetattr(serial_transport.serial.fileno())[0])


@pytest.mark.parametrize(("parity", "checked"), [("E", True), ("N", False)])
async def test_a_port_with_parity_checks_it_on_what_it_receives(parity: str, checked: bool) -> None:
    """INPCK: a byte with a parity error arrives as NUL (and breaks its frame's checksum).

    A pseudo-terminal cannot make a parity error; it keeps the flag, which is what is
    shown here, also after a speed change (serialx writes every flag again then).
    """
    async with serving(make_line(), pty=True) as path:
        transport = Transport(LineSettings(path, parity=parity, baudrate=300))
        await transport.open()
        try:
            flags = _input_flags(transport)
            assert bool(flags & termios.INPCK) is checked
            assert not flags & (termios.IGNPAR | termios.PARMRK)  # NUL, not dropped or marked
            await transport.set_baudrate(9600)
            assert bool(_input_flags(transport) & termios.INPCK) is checked
        finally:
            await transport.close()
