"""Client <-> simulator over real TCP sockets and a real pseudo-terminal, modes A to D."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import (
    ConnectionLost,
    DamagedAnswers,
    NoResponse,
    NotSupported,
)
from custom_components.iec_meter.core.iec62056 import (
    Iec62056Client,
    Iec62056Settings,
    Mode,
)
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec62056_line import Iec62056Faults, Iec62056Line, Iec62056LineOptions
from simulator.iec62056_meter import Iec62056MeterConfig, SimulatedIec62056Meter
from simulator.meter_model import MeterModel

TZ = ZoneInfo("Europe/Madrid")
FAST = Timing(request_timeout_ms=300, retries=2, reconnect_delay_ms=1000)
#: For reads that must fail: no retries, so the test stays short.
ONCE = replace(FAST, retries=0)
#: Tests start at 2400 baud (the logic is the same as at 300, the wire time shorter).
START = 2400
SHORT_DATA = ("C.1.0(87654321)", "1.8.0(0000100.5*kWh)", "1.7.0(0.250*kW)")


def meter(**config: Any) -> SimulatedIec62056Meter:
    """A simulated meter (default: mode C announcing 19200 baud)."""
    config.setdefault("baudrate", 19200)
    return SimulatedIec62056Meter(
        Iec62056MeterConfig(**config), TZ, lambda: datetime.now(TZ), MeterModel(seed=3)
    )


def make_line(
    *meters: SimulatedIec62056Meter, faults: Iec62056Faults | None = None, **options: Any
) -> Iec62056Line:
    """A line (not paced, starting at :data:`START`) with the given meters."""
    options.setdefault("pace", False)
    options.setdefault("initial_baudrate", START)
    return Iec62056Line(
        list(meters) or [meter()],
        Iec62056LineOptions(faults=faults or Iec62056Faults(), **options),
    )


@contextlib.asynccontextmanager
async def on_bus(
    line: Iec62056Line, pty: bool = False, timing: Timing = FAST, **line_settings: Any
) -> AsyncIterator[Bus]:
    """A bus to ``line`` served over TCP or a pty (7E1 at :data:`START` by default)."""
    url = await (line.start_pty() if pty else line.start_tcp())
    settings: dict[str, Any] = {"baudrate": START, "bytesize": 7, "parity": "E"}
    settings.update(line_settings)
    bus = Bus(LineSettings(url, connect_timeout=2.0, **settings), timing)
    try:
        yield bus
    finally:
        await bus.close()
        await line.stop()


def client(bus: Bus, **settings: Any) -> Iec62056Client:
    settings.setdefault("initial_baudrate", START)
    settings.setdefault("t2_ms", 200)
    settings.setdefault("poll_delay_ms", 0)
    return Iec62056Client(bus, Iec62056Settings(**settings), TZ)


def assert_plausible(values: dict[str, Any]) -> None:
    assert values["active_energy_import"] >= 12345
    assert 200 < values["voltage_l1"] < 260
    assert 0 <= values["power_factor"] <= 1
    assert 49.9 < values["frequency"] < 50.1
    assert isinstance(values["max_demand_time"], datetime)


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
@pytest.mark.parametrize("mode", list(Mode))
async def test_every_mode(mode: Mode, pty: bool) -> None:
    line = make_line(meter(mode=mode), push_interval=0.1)
    async with on_bus(line, pty) as bus:
        reader = client(bus, mode=mode)
        if mode is Mode.B and not pty:
            # The meter switches unasked; a raw TCP converter cannot follow it.
            with pytest.raises(NotSupported, match=r"mode B .* RFC 2217"):
                await reader.read_snapshot()
            return
        snapshot = await reader.read_snapshot()
        assert bus.transport.baudrate == (START if mode is not Mode.D else 2400)
    assert snapshot.identity is not None
    assert snapshot.identity.serial == "12345678"
    assert snapshot.identity.manufacturer == "ISk"
    assert snapshot.identity.model == "5MT174-SIM"
    assert_plausible(dict(snapshot.reading.values))
    assert snapshot.reading.data["F.F"].value == "00000000"
    assert "1.8.0*24" in snapshot.reading.data
    assert snapshot.reading.timestamp is not None
    # One readout for identity and values.
    assert line.meters[0].readouts == 1
    kinds = [kind for kind, _, _ in line.sent]
    assert kinds[:2] == ["identification", "data"]


async def test_mode_c_switches_speed_over_a_pty_and_back() -> None:
    line = make_line(meter(baudrate=9600, data_lines=SHORT_DATA), pace=True, initial_baudrate=300)
    speeds: list[int] = []
    async with on_bus(line, pty=True, baudrate=300) as bus:
        reader = client(bus, initial_baudrate=300)

        async def watch() -> None:
            while True:
                speeds.append(bus.transport.baudrate)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        reading = await reader.read_values()
        watcher.cancel()
        assert bus.transport.baudrate == 300
    assert 9600 in speeds
    assert speeds[0] == 300
    assert line.sent == [("identification", 300, 300), ("data", 9600, 9600)]
    assert reading.values["active_power"] == 0.25
    assert reader.diagnostics()["data_baudrate"] == 9600


async def test_mode_c_over_tcp_acknowledges_the_converter_speed() -> None:
    line = make_line(meter(baudrate=19200))
    async with on_bus(line) as bus:
        reader = client(bus)
        await reader.read_values()
    assert line.sent[-1][:2] == ("data", START)
    assert reader.last_readout is not None
    assert reader.last_readout.baudrate == START


async def test_max_baudrate_limits_the_mode_c_switch() -> None:
    line = make_line(meter(baudrate=19200))
    async with on_bus(line, pty=True) as bus:
        await client(bus, max_baudrate=9600).read_values()
    assert line.sent[-1] == ("data", 9600, 9600)


@pytest.mark.parametrize("mode", [Mode.B, Mode.C])
async def test_meter_that_never_switches(mode: Mode) -> None:
    liar = meter(mode=mode, fake_switch=True, data_lines=SHORT_DATA)
    # The meter speaks 200 ms after the identification (mode B) or the option select (C);
    # the client's port must have switched by then, which a loaded machine can miss
    # (serialx switches in an executor thread): the line waits for the switch.
    line = make_line(liar, await_switch_s=10.0)
    async with on_bus(line, pty=True, timing=ONCE) as bus:
        with pytest.raises(NoResponse):
            await client(bus, mode=mode).read_values()
        assert bus.transport.baudrate == START
    # The client was at the speed switched to, the meter at the start speed: noise.
    assert line.sent[-1] == ("data", START, 19200)
    # The workaround: never switch (a line that waits for nobody: no switch comes).
    line = make_line(meter(mode=mode, fake_switch=True, data_lines=SHORT_DATA))
    async with on_bus(line, pty=True, timing=ONCE) as bus:
        reading = await client(bus, mode=mode, max_baudrate=START).read_values()
    assert reading.values["active_energy_import"] == 100.5
    assert line.sent[-1] == ("data", START, START)


async def test_two_meters_on_one_line_by_address() -> None:
    first, second = meter(address="1001", serial="111"), meter(address="1002", serial="222")
    line = make_line(first, second)
    async with on_bus(line, timing=ONCE) as bus:
        one = client(bus, device_address="1001")
        two = client(bus, device_address="1002")
        assert (await one.read_identity()).serial == "111"
        assert (await two.read_identity()).serial == "222"
        assert (await one.read_identity()).fields["device_address"] == "1001"
        with pytest.raises(NoResponse, match="no identification"):
            await client(bus).read_values()  # nobody answers /?! on a shared line
        with pytest.raises(NoResponse):
            await client(bus, device_address="1003").read_values()
    assert first.readouts == 1
    assert second.readouts == 1


async def test_bad_bcc_is_asked_again_with_nak() -> None:
    line = make_line(meter(block_lines=10), faults=Iec62056Faults(corrupt_every=2))
    async with on_bus(line) as bus:
        reader = client(bus)
        reading = await reader.read_values()
    assert_plausible(dict(reading.values))
    assert reader.naks_sent >= 1


async def test_bad_bcc_every_time_is_a_damaged_answer() -> None:
    line = make_line(faults=Iec62056Faults(corrupt_every=1))
    async with on_bus(line) as bus:
        reader = client(bus)
        with pytest.raises(DamagedAnswers, match="damaged"):
            await reader.read_values()
    assert reader.naks_sent == FAST.retries


async def test_silence_is_tried_again() -> None:
    line = make_line(faults=Iec62056Faults(silent_every=2))
    async with on_bus(line) as bus:
        reader = client(bus)
        for _ in range(3):
            await reader.read_values()
    assert reader.failed_readouts >= 1


async def test_a_silent_meter_is_no_response_in_bounded_time() -> None:
    line = make_line(meter(sleepy=True))
    async with on_bus(line) as bus:
        reader = client(bus)
        started = asyncio.get_running_loop().time()
        with pytest.raises(NoResponse, match="no identification"):
            await reader.read_values()
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < (FAST.retries + 1) * (FAST.request_timeout + 0.2)


async def test_wake_up_of_a_battery_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Iec62056Client, "wake_up_timing", (0.05, 0.05))
    line = make_line(meter(sleepy=True))
    async with on_bus(line) as bus:
        reading = await client(bus, wake_up=True).read_values()
    assert_plausible(dict(reading.values))


async def test_garbage_before_answers() -> None:
    line = make_line(faults=Iec62056Faults(garbage_every=1))
    async with on_bus(line) as bus:
        reading = await client(bus).read_values()
    assert_plausible(dict(reading.values))


async def test_dropped_connection_is_reopened() -> None:
    line = make_line(faults=Iec62056Faults(drop_after=3))
    async with on_bus(line) as bus:
        reader = client(bus)
        for _ in range(3):
            await reader.read_values()
    assert line.connections >= 2


async def test_connection_dropped_every_time() -> None:
    line = make_line(faults=Iec62056Faults(drop_after=1))
    async with on_bus(line) as bus:
        with pytest.raises(ConnectionLost):
            await client(bus).read_values()
    assert line.connections == FAST.retries + 1


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
async def test_echo_is_dropped(pty: bool) -> None:
    line = make_line(meter(block_lines=8), faults=Iec62056Faults(echo=True))
    async with on_bus(line, pty) as bus:
        reader = client(bus, echo=True)
        reading = await reader.read_values()
    assert_plausible(dict(reading.values))
    assert reader.naks_sent == 0


async def test_echo_setting_without_an_echo() -> None:
    line = make_line()
    async with on_bus(line) as bus:
        reading = await client(bus, echo=True).read_values()
    assert_plausible(dict(reading.values))


async def test_seven_bit_meter_behind_an_eight_bit_converter() -> None:
    line = make_line(parity_bit7=True)
    async with on_bus(line, timing=ONCE, bytesize=8, parity="N") as bus:
        with pytest.raises(NoResponse):
            await client(bus).read_values()
        reading = await client(bus, strip_parity=True).read_values()
    assert_plausible(dict(reading.values))
    assert line.parity_errors > 0


async def test_identity_is_cached_and_a_snapshot_is_one_readout() -> None:
    line = make_line()
    async with on_bus(line) as bus:
        reader = client(bus)
        await reader.read_snapshot()
        identity = await reader.read_identity()
        assert line.meters[0].readouts == 1
        await reader.read_values()
        await reader.probe()
    assert identity.fields["serial_address"] == "C.1.0"
    assert line.meters[0].readouts == 3
    frames = reader.frame_log.frames()
    assert frames[0].direction == "tx"
    assert frames[0].hex == "2F 3F 21 0D 0A"


async def test_poll_delay_keeps_the_line_quiet() -> None:
    line = make_line()
    async with on_bus(line) as bus:
        reader = client(bus, poll_delay_ms=300)
        await reader.read_values()
        started = asyncio.get_running_loop().time()
        await reader.read_values()
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed >= 0.3


async def test_mode_d_without_a_push_is_no_response() -> None:
    line = make_line(meter(mode=Mode.D), push_interval=60)
    async with on_bus(line, timing=ONCE) as bus:
        with pytest.raises(NoResponse):
            await client(bus, mode=Mode.D).read_values()


async def test_unknown_speed_characters_do_not_switch() -> None:
    line = make_line(meter(mode=Mode.A))  # Z is "0": no mode B speed
    async with on_bus(line, pty=True) as bus:
        reading = await client(bus, mode=Mode.B).read_values()
    assert_plausible(dict(reading.values))


async def test_bad_lines_are_skipped_and_counted() -> None:
    data = (*SHORT_DATA, "broken(line", "(orphan)")
    line = make_line(meter(mode=Mode.A, data_lines=data))
    async with on_bus(line) as bus:
        reader = client(bus, mode=Mode.C)
        reading = await reader.read_values()
    assert reading.values["active_energy_import"] == 100.5
    assert reader.skipped_lines == 1


async def test_echo_setting_with_a_silent_meter() -> None:
    line = make_line(meter(sleepy=True))
    async with on_bus(line, timing=ONCE) as bus:
        with pytest.raises(NoResponse):
            await client(bus, echo=True).read_values()
