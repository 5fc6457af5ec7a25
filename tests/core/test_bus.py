"""The bus: turns, opening the line, handing the whole line over, and closing."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import CannotConnect, MeterError
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec102_meter import MeterConfig
from tests.conftest import FAST, MADRID, make_line, serving


async def test_turns_never_overlap() -> None:
    bus = Bus(LineSettings("/dev/null"))
    inside = 0
    most = 0

    async def exchange() -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1

    await asyncio.gather(*(bus.run(exchange) for _ in range(5)))
    assert most == 1
    assert bus.turns == 5


async def test_hold_ends_every_session_and_polling_resumes_afterwards() -> None:
    line = make_line([MeterConfig(link_address=1), MeterConfig(link_address=2, password=2)])
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        house = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        garage = Iec102Client(bus, Iec102Settings(2, 1, 2), MADRID)
        await house.read_values()
        await garage.read_values()
        assert all(meter.logged_in for meter in line.meters)
        assert not bus.held
        async with bus.hold() as transport:
            assert bus.held
            assert bus.held_since is not None
            # Someone else has the line now: our meters logged out and wait.
            assert not any(meter.logged_in for meter in line.meters)
            waiting = asyncio.create_task(house.read_values())
            await asyncio.sleep(0.05)
            assert not waiting.done()
            assert transport.is_open
        assert not bus.held
        reading = await waiting
        assert reading.get("active_energy_import") is not None
        assert line.meters[0].logged_in  # a fresh session after the hand-over


class _Failing:
    async def end_session(self) -> None:
        raise MeterError("the meter went away")


async def test_a_session_that_cannot_end_does_not_block_closing() -> None:
    bus = Bus(LineSettings("/dev/null"))
    failing = _Failing()
    bus.attach(failing)
    bus.attach(failing)
    bus.detach(failing)
    bus.detach(failing)
    bus.detach(failing)  # detaching twice is harmless
    bus.attach(failing)
    await bus.close()
    assert not bus.transport.is_open


async def test_a_failed_open_waits_the_reconnect_delay_then_tries_again() -> None:
    """A missing converter is not hammered: the next open waits the reconnect delay."""
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()  # nothing listens on the port now
    url = f"socket://127.0.0.1:{port}"
    async with Bus(LineSettings(url, connect_timeout=1.0), FAST) as bus:
        with pytest.raises(CannotConnect) as refused:
            await bus.ensure_open()
        assert "next connection attempt" not in str(refused.value)  # really tried
        with pytest.raises(CannotConnect, match="next connection attempt in 1 s"):
            await bus.ensure_open()  # too soon: not even tried
        await asyncio.sleep(FAST.reconnect_delay + 0.05)

        async def converter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(converter, "127.0.0.1", port)
        try:
            await bus.ensure_open()  # the delay is over: it tries, and connects
            assert bus.transport.is_open
        finally:
            await bus.drop_line()
            server.close()
            await server.wait_closed()
