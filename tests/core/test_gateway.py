"""The pass-through gateway: real sockets, a real simulated meter, real clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import logging
import os
import socket
import struct

import pytest

from custom_components.iec_meter.core import gateway as gateway_module
from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import CannotConnect
from custom_components.iec_meter.core.gateway import Gateway, GatewaySettings, _address
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import PrimaryFunction, TypeId
from custom_components.iec_meter.core.iec102.frames import FixedFrame, primary_control
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.line import MeterLine
from tests.conftest import FAST, MADRID, make_line, serving

#: The outside program's own timing: patient, since the gateway first ends our sessions.
OUTSIDE = Timing(request_timeout_ms=2000, retries=3)
#: "Request link status" to link 1, as an outside program sends it.
LINK_STATUS = FixedFrame(primary_control(PrimaryFunction.REQUEST_LINK_STATUS), 1).encode()
#: Longest wait for anything in these tests (the machine may be busy).
WAIT_S = 10.0


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until ``condition`` holds."""
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():  # noqa: ASYNC110 - state that several places change
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"still waiting for: {what}")


def logins(line: MeterLine) -> int:
    """Logins (C_AC_NA_2) the meters have received."""
    return sum(1 for _, _, asdu in line.trace if asdu == TypeId.C_AC_NA_2)


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """True when the other end closes the connection (bounded wait)."""
    async with asyncio.timeout(WAIT_S):
        try:
            return await reader.read(100) == b""
        except ConnectionResetError:
            return True


@contextlib.asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


@contextlib.asynccontextmanager
async def connected(
    gateway: Gateway,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
async def test_an_outside_program_reads_the_meter_while_polling_waits(pty: bool) -> None:
    line = make_line()
    changes: list[bool] = []
    async with serving(line, pty=pty) as url, Bus(LineSettings(url), FAST) as bus:
        house = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        await house.read_values()
        assert logins(line) == 1
        gateway = Gateway(
            bus, GatewaySettings(port=0), on_change=lambda: changes.append(gateway.in_use)
        )
        async with running(gateway):
            assert not gateway.in_use
            assert gateway.held_seconds is None
            outside_url = f"socket://127.0.0.1:{gateway.port}"
            async with Bus(LineSettings(outside_url, connect_timeout=2.0), OUTSIDE) as outside_bus:
                outside = Iec102Client(outside_bus, Iec102Settings(1, 1, 1), MADRID)
                reading = await outside.read_values()  # its own framing, through the gateway
                assert reading.get("active_energy_import") is not None
                identity = await outside.read_identity()
                assert identity.serial == str(line.meters[0].config.serial_number)
                assert gateway.in_use
                assert gateway.client_address is not None
                assert gateway.client_address.startswith("127.0.0.1:")
                assert gateway.last_client == gateway.client_address
                held = gateway.held_seconds
                assert held is not None
                assert held >= 0
                assert bus.held
                assert bus.taker is gateway
                assert logins(line) == 2  # ours ended, the outside program logged in

                polling = asyncio.create_task(house.read_values())
                await asyncio.sleep(0.1)
                assert not polling.done()  # our poll waits for the outside program
                await outside.close()  # logs out, then the outside bus disconnects
            async with asyncio.timeout(WAIT_S):
                after = await polling
            assert after.get("active_energy_import") is not None
            assert logins(line) == 3  # polling resumed with a fresh session
            assert line.meters[0].logged_in
            await until(lambda: not gateway.in_use, "the client to be gone")
            assert not bus.held
            assert bus.taker is None
            assert gateway.client_address is None
            assert gateway.held_seconds is None
            assert gateway.last_client is not None
            assert gateway.clients_served == 1
            assert gateway.clients_refused == 0
            assert gateway.bytes_to_meter > 0
            assert gateway.bytes_from_meter > 0
            assert changes[0] is True
            assert changes[-1] is False


async def test_the_gateway_opens_a_closed_line() -> None:
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        assert not bus.transport.is_open
        async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
            outside_url = f"socket://127.0.0.1:{gateway.port}"
            async with Bus(LineSettings(outside_url, connect_timeout=2.0), OUTSIDE) as outside_bus:
                outside = Iec102Client(outside_bus, Iec102Settings(1, 1, 1), MADRID)
                assert (await outside.read_values()).get("active_energy_import") is not None
                assert bus.transport.is_open


async def test_a_silent_client_is_dropped_after_the_inactivity_timeout(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "_METER_WAIT_S", 0.02)  # a quiet meter, often
    line = make_line()
    settings = GatewaySettings(port=0, inactivity_timeout_ms=200)
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        house = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        async with running(Gateway(bus, settings)) as gateway:
            caplog.set_level(logging.INFO)
            async with connected(gateway) as (reader, _):
                await until(lambda: bus.held, "the gateway to take the line")
                assert await closed_by_peer(reader)
            await until(lambda: not gateway.in_use, "the client to be gone")
            assert "nothing from it for 0.2 s" in caplog.text
            async with asyncio.timeout(WAIT_S):
                assert (await house.read_values()).get("active_energy_import") is not None


async def test_a_second_client_is_refused_while_the_first_keeps_the_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
            caplog.set_level(logging.INFO)
            async with connected(gateway) as (_, first):
                await until(lambda: gateway.in_use, "the first client")
                async with connected(gateway) as (second, _):
                    assert await closed_by_peer(second)
                assert gateway.clients_refused == 1
                assert gateway.clients_served == 1
                assert gateway.in_use
                assert bus.taker is gateway
                first.write(LINK_STATUS)
                await first.drain()
            await until(lambda: not gateway.in_use, "the first client to be gone")
            assert gateway.bytes_to_meter == len(LINK_STATUS)
            refusals = [r for r in caplog.records if "refused" in r.getMessage()]
            assert [r.levelno for r in refusals] == [logging.INFO]
            assert "one client at a time" in refusals[0].getMessage()


async def test_a_higher_priority_gateway_takes_the_line_from_a_lower_one() -> None:
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        low = Gateway(bus, GatewaySettings(port=0, priority=2))
        high = Gateway(bus, GatewaySettings(port=0, priority=1))
        async with running(low), running(high):
            async with connected(low) as (low_reader, _):
                await until(lambda: low.held_seconds is not None, "the low gateway's client")
                async with connected(high) as (_, high_writer):
                    assert await closed_by_peer(low_reader)  # taken over
                    await until(lambda: high.held_seconds is not None, "the high one's client")
                    assert not low.in_use
                    assert bus.taker is high
                    async with connected(low) as (again, _):
                        assert await closed_by_peer(again)  # refused meanwhile
                    assert low.clients_refused == 1
                    assert high.in_use
                    # The high gateway's client still talks to the meter.
                    high_writer.write(LINK_STATUS)
                    await high_writer.drain()
                    await until(lambda: high.bytes_from_meter > 0, "the meter's answer")
                # A higher client leaving lets the lower one's next client in.
                await until(lambda: not high.in_use, "the high one's client to be gone")
                async with connected(low) as _:
                    await until(lambda: low.held_seconds is not None, "the low one again")
                    assert bus.taker is low
            assert low.clients_served == 2
            assert high.clients_served == 1
            assert high.clients_refused == 0


async def test_a_lower_gateway_waiting_for_the_line_is_taken_over() -> None:
    """A client still waiting for the line is dropped when a higher gateway claims it."""
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        low = Gateway(bus, GatewaySettings(port=0, priority=9))
        high = Gateway(bus, GatewaySettings(port=0, priority=3))
        async with running(low), running(high):
            release = asyncio.Event()

            async def long_turn() -> None:
                await release.wait()

            turn = asyncio.create_task(bus.run(long_turn))
            try:
                async with connected(low) as (low_reader, _):
                    await until(lambda: low.in_use, "the low client")
                    assert low.held_seconds is None  # still waiting for the line
                    async with connected(high) as _:
                        assert await closed_by_peer(low_reader)
                        release.set()
                        await until(lambda: high.held_seconds is not None, "the high client")
            finally:
                release.set()
                await turn


async def test_same_priority_gateways_on_one_bus_are_refused() -> None:
    bus = Bus(LineSettings("/dev/null"))
    first = Gateway(bus, GatewaySettings(port=0, priority=4))
    second = Gateway(bus, GatewaySettings(port=0, priority=4))
    async with running(first):
        with pytest.raises(ValueError, match="priority 4"):
            await second.start()
        assert not second.listening
        await first.start()  # starting twice is harmless
        bus.add_taker(first)  # so is registering twice
    async with running(second):  # free again once the first stopped
        assert second.listening
    other_bus = Bus(LineSettings("/dev/null"))
    async with running(first), running(Gateway(other_bus, GatewaySettings(port=0, priority=4))):
        pass  # another line may use the same priority


async def test_a_port_in_use_is_a_clear_error() -> None:
    bus = Bus(LineSettings("/dev/null"))
    async with running(Gateway(bus, GatewaySettings(port=0, priority=1))) as first:
        second = Gateway(bus, GatewaySettings(port=first.port, priority=2))
        with pytest.raises(CannotConnect, match=f"port {first.port} on 127.0.0.1 is in use"):
            await second.start()
        assert not second.listening
        assert bus.taker is None
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        gateway = Gateway(bus, GatewaySettings(port=port))
        with pytest.raises(CannotConnect, match="is in use") as error:
            await gateway.start()
        assert "choose another port" in str(error.value)
        await gateway.stop()  # stopping a gateway that never started is harmless
        # Its priority was released: a new gateway can use it.
        async with running(Gateway(bus, GatewaySettings(port=0))):
            pass


async def test_an_address_not_of_this_machine_is_a_clear_error() -> None:
    bus = Bus(LineSettings("/dev/null"))
    gateway = Gateway(bus, GatewaySettings(host="192.0.2.1", port=0))  # TEST-NET-1
    with pytest.raises(CannotConnect, match=r"cannot listen on port 0 on 192\.0\.2\.1"):
        await gateway.start()


async def test_stop_with_a_client_connected_leaves_nothing_behind() -> None:
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        house = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        await house.read_values()  # the line is open before and after
        await asyncio.sleep(0.05)
        fds = len(os.listdir("/proc/self/fd"))
        tasks = asyncio.all_tasks()
        gateway = Gateway(bus, GatewaySettings(port=0))
        await gateway.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        await until(lambda: gateway.held_seconds is not None, "the client")
        await gateway.stop()
        assert await closed_by_peer(reader)
        writer.close()
        await writer.wait_closed()
        await gateway.stop()  # twice is harmless
        assert not gateway.in_use
        assert not gateway.listening
        assert not bus.held
        assert bus.taker is None
        await until(lambda: asyncio.all_tasks() == tasks, "no task left")
        await until(lambda: len(os.listdir("/proc/self/fd")) == fds, "no descriptor left")
        async with asyncio.timeout(WAIT_S):
            assert (await house.read_values()).get("active_energy_import") is not None


async def test_a_line_that_closes_ends_the_client() -> None:
    converters: list[asyncio.StreamWriter] = []

    async def converter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        converters.append(writer)

    server = await asyncio.start_server(converter, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Bus(LineSettings(f"socket://127.0.0.1:{port}"), FAST) as bus:
            async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
                async with connected(gateway) as (reader, _):
                    await until(lambda: bool(converters), "the line to open")
                    await until(lambda: gateway.held_seconds is not None, "the client")
                    converters[0].write(b"\x01\x02\x03")
                    assert await reader.readexactly(3) == b"\x01\x02\x03"
                    converters[0].close()  # the converter goes away
                    assert await closed_by_peer(reader)
                await until(lambda: not gateway.in_use, "the client to be gone")
                assert gateway.bytes_from_meter == 3
    finally:
        server.close()
        await server.wait_closed()


async def test_a_line_that_cannot_open_ends_the_client(caplog: pytest.LogCaptureFixture) -> None:
    url = f"socket://127.0.0.1:{free_port()}"  # nothing listens there
    async with Bus(LineSettings(url, connect_timeout=1.0), FAST) as bus:
        async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
            caplog.set_level(logging.INFO)
            async with connected(gateway) as (reader, _):
                assert await closed_by_peer(reader)
            await until(lambda: not gateway.in_use, "the client to be gone")
            assert "the line cannot be opened" in caplog.text
            assert not bus.held


async def test_a_failing_change_callback_does_not_break_the_gateway(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("entity gone")

    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        async with running(Gateway(bus, GatewaySettings(port=0), on_change=broken)) as gateway:
            async with connected(gateway) as _:
                await until(lambda: gateway.held_seconds is not None, "the client")
            await until(lambda: not gateway.in_use, "the client to be gone")
    assert "change callback failed" in caplog.text


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"port": 70000}, "port"),
        ({"port": -1}, "port"),
        ({"host": "my-pc"}, "host"),
        ({"priority": 0}, "priority"),
        ({"priority": 11}, "priority"),
        ({"inactivity_timeout_ms": -1}, "inactivity timeout"),
    ],
)
def test_settings_refuse_bad_values(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        GatewaySettings(**settings)  # type: ignore[arg-type]


def test_settings_defaults() -> None:
    settings = GatewaySettings()
    assert (settings.port, settings.host, settings.priority) == (5001, "127.0.0.1", 1)
    assert settings.inactivity_timeout == 60.0
    assert GatewaySettings(inactivity_timeout_ms=0).inactivity_timeout is None
    assert GatewaySettings(host="localhost").host == "localhost"
    assert GatewaySettings(host="::1").host == "::1"
    assert not Gateway(Bus(LineSettings("/dev/null")), settings).listening


async def test_a_client_waits_for_the_line_at_most_the_line_wait(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "LINE_WAIT_S", 0.2)
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
            caplog.set_level(logging.INFO)
            release = asyncio.Event()
            turn = asyncio.create_task(bus.run(release.wait))  # a turn that never ends
            try:
                async with connected(gateway) as (reader, _):
                    assert await closed_by_peer(reader)
                await until(lambda: not gateway.in_use, "the client to be gone")
            finally:
                release.set()
                await turn
            assert "the line stayed busy for 0.2 s" in caplog.text
            assert bus.taker is None


async def test_a_client_that_takes_nothing_is_dropped_and_memory_stays_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converter that floods a client that never reads: the client is dropped."""
    monkeypatch.setattr(gateway_module, "CLIENT_DRAIN_S", 0.3)
    chunk = bytes(64 * 1024)
    flooding: list[asyncio.StreamWriter] = []

    async def converter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flooding.append(writer)

    server = await asyncio.start_server(converter, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Bus(LineSettings(f"socket://127.0.0.1:{port}"), FAST) as bus:
            async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
                caplog.set_level(logging.INFO)
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.setblocking(False)
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gateway.port))
                _, writer = await asyncio.open_connection(sock=sock)
                try:
                    await until(lambda: gateway.held_seconds is not None, "the client")
                    await until(lambda: bool(flooding), "the line to open")
                    sent = 0
                    async with asyncio.timeout(WAIT_S * 3):
                        while gateway.in_use and sent < 256 * len(chunk):
                            flooding[0].write(chunk)
                            await flooding[0].drain()
                            sent += len(chunk)
                    await until(lambda: not gateway.in_use, "the client to be dropped")
                    assert "it took nothing for 0.3 s" in caplog.text
                    # What the client could not take was dropped, not kept.
                    assert gateway.bytes_from_meter < sent
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
    finally:
        for writer in flooding:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_client_that_resets_its_connection_ends_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = make_line()
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        async with running(Gateway(bus, GatewaySettings(port=0))) as gateway:
            caplog.set_level(logging.INFO)
            sock = socket.socket()
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gateway.port))
            await until(lambda: gateway.held_seconds is not None, "the client")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST, not FIN
            await until(lambda: not gateway.in_use, "the client to be gone")
            assert "its connection failed" in caplog.text
            assert not bus.held


def test_client_addresses_read_as_host_and_port() -> None:
    assert _address(("127.0.0.1", 40000)) == "127.0.0.1:40000"
    assert _address(("::1", 40000, 0, 0)) == "[::1]:40000"
    assert _address(None) == "unknown"
