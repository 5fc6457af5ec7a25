"""Client <-> simulator over real TCP sockets and a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import (
    AuthenticationRejected,
    CannotConnect,
    MeterBusy,
    NoData,
    NoResponse,
    NotSupported,
    ProtocolError,
)
from custom_components.iec_meter.core.iec102.asdu import Asdu
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import Cause, TypeId
from custom_components.iec_meter.core.iec102.frames import FixedFrame, VariableFrame
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.iec102.signals import IEC102_SIGNALS
from custom_components.iec_meter.core.model import Reading
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec102_meter import MeterConfig
from simulator.line import Faults
from tests.conftest import FAST, MADRID, client_for, make_line, serving
from tests.scripted import scripted_meter


def assert_plausible(reading: Reading) -> None:
    reading_values = dict(reading.values)
    assert set(reading_values) == IEC102_SIGNALS
    assert all(value is not None for value in reading_values.values())
    assert reading_values["active_energy_import"] >= 12345  # type: ignore[operator]
    assert 200 < reading_values["voltage_l1"] < 260  # type: ignore[operator]
    assert 0 <= reading_values["power_factor"] <= 1  # type: ignore[operator]


async def test_full_read_over_tcp() -> None:
    line = make_line()
    async with serving(line) as url, client_for(url) as client:
        snapshot = await client.read_snapshot()
    assert snapshot.identity is not None
    assert snapshot.identity.serial == "48300001"
    assert snapshot.identity.manufacturer == "66"
    assert isinstance(snapshot.clock, datetime)
    assert snapshot.clock.tzinfo == MADRID
    assert abs((snapshot.clock - datetime.now(MADRID)).total_seconds()) < 5
    assert snapshot.reading.timestamp is not None
    assert_plausible(snapshot.reading)
    # The session ended with a logout the meter confirmed.
    assert not line.meters[0].logged_in


async def test_full_read_over_pty_with_even_parity() -> None:
    line = make_line()
    async with serving(line, pty=True) as url:
        settings = LineSettings(url, parity="E", baudrate=9600)
        async with Bus(settings, FAST) as bus:
            client = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
            identity = await client.read_identity()
            reading = await client.read_values()
            clock = await client.read_clock()
    assert identity.serial == "48300001"
    assert clock is not None
    assert_plausible(reading)


async def test_open_session_is_reused_between_polls() -> None:
    line = make_line()
    async with serving(line) as url, client_for(url) as client:
        await client.read_values()
        first = client.session.round_trips
        await client.read_values()
        steady = client.session.round_trips - first
    # Status, reset, login (send + poll), values (send + poll) vs. values alone.
    assert first == 6
    assert steady == 2
    assert line.connections == 1


async def test_without_keep_session_each_read_logs_in_and_out() -> None:
    line = make_line()
    async with serving(line) as url, client_for(url, keep_session=False) as client:
        await client.read_values()
        assert not line.meters[0].logged_in
        await client.read_values()
        # Status, reset, login, values, logout: 8 round trips a read.
        assert client.session.round_trips == 16
    assert line.connections == 1


async def test_reauthenticates_when_the_meter_dropped_the_session() -> None:
    line = make_line([MeterConfig(session_timeout=0.05)])
    async with serving(line) as url, client_for(url) as client:
        await client.read_values()
        await asyncio.sleep(0.1)
        reading = await client.read_values()
        assert line.meters[0].logged_in
    assert reading.get("active_energy_import") is not None
    assert line.connections == 1


@pytest.mark.parametrize(
    "faults",
    [
        Faults(drop_after=8),
        Faults(corrupt_every=3),
        Faults(silent_every=4),
        Faults(garbage_every=1),
        Faults(corrupt_every=5, silent_every=7, garbage_every=2),
    ],
    ids=["drop", "corrupt", "silent", "garbage", "all"],
)
async def test_recovers_from_line_faults_within_its_retries(faults: Faults) -> None:
    line = make_line(faults=faults)
    async with serving(line) as url, client_for(url) as client:
        for _ in range(4):
            reading = await client.read_values()
            assert_plausible(reading)
        identity = await client.read_identity()
    assert identity.serial == "48300001"
    if faults.drop_after:
        assert line.connections > 1
    if faults.corrupt_every or faults.silent_every:
        assert client.session.link.retransmissions > 0


async def test_fault_recovery_over_pty() -> None:
    line = make_line(faults=Faults(corrupt_every=3, silent_every=5, garbage_every=2))
    async with serving(line, pty=True) as url, client_for(url) as client:
        for _ in range(3):
            assert_plausible(await client.read_values())


async def test_rejected_password_is_reported_at_once_without_retries() -> None:
    line = make_line(reject_login=True)
    async with serving(line) as url, client_for(url) as client:
        with pytest.raises(AuthenticationRejected, match="password"):
            await client.read_values()
    # Status, reset, login, one poll for its answer: no retry storm.
    assert line.frames_received == 4


async def test_wrong_password() -> None:
    line = make_line([MeterConfig(password=7)])
    async with serving(line) as url:
        async with client_for(url, Iec102Settings(1, 1, 8)) as client:
            with pytest.raises(AuthenticationRejected):
                await client.read_identity()
        async with client_for(url, Iec102Settings(1, 1, 7)) as client:
            assert (await client.read_identity()).serial == "48300001"


async def test_unsupported_request_keeps_the_session() -> None:
    line = make_line(unsupported=frozenset({TypeId.P_IN_VA_2}))
    async with serving(line) as url, client_for(url) as client:
        with pytest.raises(NotSupported, match="type not available") as caught:
            await client.read_values()
        assert caught.value.cause == Cause.TYPE_NOT_AVAILABLE
        assert client.session.logged_in
        assert (await client.read_identity()).serial == "48300001"


async def test_wrong_point_address_is_named() -> None:
    line = make_line()
    async with serving(line) as url, client_for(url, Iec102Settings(1, 9, 1)) as client:
        with pytest.raises(NotSupported, match="point address unknown"):
            await client.read_identity()


async def test_wrong_link_address_gives_no_response_after_every_try() -> None:
    line = make_line()
    timing = Timing(request_timeout_ms=100, retries=2)
    async with serving(line) as url, client_for(url, Iec102Settings(5, 1, 1), timing) as client:
        with pytest.raises(NoResponse, match="link address 5: no answer after 3 tries"):
            await client.read_identity()
    assert line.frames_received == 3


async def test_meters_on_one_bus_share_a_connection() -> None:
    configs = [MeterConfig(link_address=link, password=link) for link in (11, 12, 13)]
    line = make_line(configs)
    async with serving(line) as url:
        bus = Bus(LineSettings(url), FAST)
        clients = [
            Iec102Client(bus, Iec102Settings(link, 1, link), MADRID) for link in (11, 12, 13)
        ]
        serials = []
        for _ in range(2):
            for client in clients:
                serials.append(int((await client.read_identity()).serial))
                assert_plausible(await client.read_values())
        for client in clients:
            await client.close()
        assert bus.transport.is_open  # shared: the clients do not close it
        await bus.close()
    assert serials == [48300011, 48300012, 48300013] * 2
    assert line.connections == 1
    assert all(not meter.logged_in for meter in line.meters)


async def test_cannot_connect_then_waits_the_reconnect_delay() -> None:
    line = make_line()
    url = await line.start_tcp()
    await line.stop()  # nothing listens there any more
    async with client_for(url) as client:
        with pytest.raises(CannotConnect, match=r"refused|Connect call failed"):
            await client.read_identity()
        with pytest.raises(CannotConnect, match="next connection attempt in 1 s"):
            await client.read_identity()


async def test_missing_serial_port() -> None:
    async with client_for("/dev/does-not-exist") as client:
        with pytest.raises(CannotConnect, match="does-not-exist"):
            await client.read_identity()


# --- answers only a scripted peer gives ------------------------------------------------
def _fixed(function: int, address: int = 1) -> bytes:
    return FixedFrame(function, address).encode()


def _answer(asdu: Asdu) -> bytes:
    return VariableFrame(0x08, 1, asdu.encode()).encode()


async def test_busy_meter() -> None:
    async with scripted_meter(lambda frame: _fixed(0x01)) as (url, received):
        timing = Timing(request_timeout_ms=100, retries=1)
        async with client_for(url, timing=timing) as client:
            with pytest.raises(MeterBusy, match="busy"):
                await client.read_identity()
    assert len(received) == 2


def _polite_meter(
    on_poll: list[bytes],
) -> object:
    """Link status, reset and user data answered; class 2 polls take ``on_poll`` in turn."""

    def script(frame: FixedFrame | VariableFrame) -> bytes:
        function = frame.function
        if function == 9:
            # A stray frame for another meter first, then ours.
            return _fixed(0x0B, address=2) + _fixed(0x0B)
        if function in (0, 3):
            return b"\xe5"  # single-character ACK
        return on_poll.pop(0) if on_poll else _fixed(0x09)

    return script


async def test_single_char_acks_stray_frames_and_stale_answers() -> None:
    login_ok = _answer(Asdu(183, 7, 1, count=1, body=b"\x01\0\0\0"))
    identity = _answer(Asdu(71, 5, 1, count=1, body=bytes.fromhex("24 42 c6 12 e1 02")))
    stale = _answer(Asdu(72, 5, 1, count=1, body=bytes(7)))
    polls = [b"\xe5", login_ok, stale, identity]
    async with scripted_meter(_polite_meter(polls)) as (url, _):  # type: ignore[arg-type]
        async with client_for(url) as client:
            assert (await client.read_identity()).serial == "48304838"


async def test_meter_that_never_has_data() -> None:
    timing = Timing(request_timeout_ms=100, retries=0, content_timeout_ms=300)
    async with scripted_meter(_polite_meter([])) as (url, _):  # type: ignore[arg-type]
        async with client_for(url, timing=timing) as client:
            with pytest.raises(NoData, match="answers but had no data for C_AC_NA_2"):
                await client.read_identity()


async def test_answer_for_another_point_address() -> None:
    login_ok = _answer(Asdu(183, 7, 2, count=1, body=b"\x01\0\0\0"))
    async with scripted_meter(_polite_meter([login_ok])) as (url, _):  # type: ignore[arg-type]
        async with client_for(url, timing=Timing(request_timeout_ms=100, retries=0)) as client:
            with pytest.raises(ProtocolError, match="point address 2"):
                await client.read_identity()


async def test_negative_confirmation_of_a_read() -> None:
    login_ok = _answer(Asdu(183, 7, 1, count=1, body=b"\x01\0\0\0"))
    refused = _answer(Asdu(100, 7, 1, negative=True))
    async with scripted_meter(_polite_meter([login_ok, refused])) as (url, received):  # type: ignore[arg-type]
        async with client_for(url, timing=Timing(request_timeout_ms=100, retries=0)) as client:
            with pytest.raises(ProtocolError, match="negative confirmation: C_RD_NA_2"):
                await client.read_identity()
            assert not client.session.logged_in
    # The session was finished although the read failed: a logout (C_FS_NA_2) went out.
    assert any(frame[0] == 0x68 and frame[7] == TypeId.C_FS_NA_2 for frame in received)


async def test_objects_the_meter_never_sends_are_not_delivered_rather_than_invalid() -> None:
    line = make_line(never_send=frozenset({194}))
    async with serving(line) as url, client_for(url) as client:
        reading = await client.read_values()
    assert "voltage_l1" not in reading.values  # not provided: no entity, "not provided"
    assert "current_l3" not in reading.values
    assert reading.values["active_energy_import"] is not None


async def test_an_answer_that_sometimes_leaves_an_object_out() -> None:
    line = make_line(omit_phases_every=2)
    async with serving(line) as url, client_for(url) as client:
        first = await client.read_values()
        second = await client.read_values()
    assert first.values["voltage_l1"] is not None
    assert "voltage_l1" not in second.values
    assert second.get("voltage_l1") is None
