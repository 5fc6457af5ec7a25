"""The simulated meter behaves like a real one."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from custom_components.iec_meter.core.iec102.asdu import Asdu, instantaneous_request
from custom_components.iec_meter.core.iec102.constants import Cause, TypeId
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    VariableFrame,
    decode_frame,
)
from custom_components.iec_meter.core.iec102.signals import instant_signals
from simulator.iec102_meter import MeterConfig, SimulatedMeter
from simulator.meter_model import MeterModel
from tests.conftest import MADRID, client_for, make_line, serving

NOON = datetime(2026, 6, 21, 13, 0, tzinfo=MADRID)


def meter(**kwargs: object) -> SimulatedMeter:
    return SimulatedMeter(MeterConfig(**kwargs), MADRID, lambda: NOON)  # type: ignore[arg-type]


def send(target: SimulatedMeter, control: int, asdu: Asdu | None = None, address: int = 1):
    frame = (
        FixedFrame(control, address)
        if asdu is None
        else VariableFrame(control, address, asdu.encode())
    )
    answer = target.handle(frame)
    return None if answer is None else decode_frame(answer)


def test_ignores_other_addresses_and_secondary_frames() -> None:
    target = meter()
    assert send(target, 0x49, address=2) is None
    assert send(target, 0x0B) is None  # a frame from another secondary


def test_repeats_its_answer_when_fcb_does_not_toggle() -> None:
    target = meter()
    send(target, 0x40)
    login = Asdu(183, 6, 1, count=1, body=b"\x01\0\0\0")
    assert send(target, 0x73, login) == FixedFrame(0x00, 1)
    first = send(target, 0x5B)  # poll, FCB 0
    again = send(target, 0x5B)  # same FCB: a retransmission
    assert isinstance(first, VariableFrame)
    assert again == first
    assert send(target, 0x7B) == FixedFrame(0x09, 1)  # toggled: nothing more queued
    assert send(target, 0x7A) == FixedFrame(0x09, 1)  # class 1: no data


def test_refusals() -> None:
    target = meter()
    send(target, 0x40)
    assert send(target, 0x73, Asdu(100, 5, 1)) == FixedFrame(0x00, 1)
    answer = send(target, 0x5B)
    assert isinstance(answer, VariableFrame)
    refused = Asdu.decode(answer.asdu)
    assert (refused.type_id, refused.negative) == (100, True)  # not logged in
    # A user-data frame whose ASDU is too short is not accepted.
    raw = VariableFrame(0x73, 1, b"\x64\x00").encode()
    assert target.handle(decode_frame(raw)) == FixedFrame(0x01, 1).encode()  # type: ignore[arg-type]
    # Unknown objects in an instantaneous request.
    target.logged_in = True
    bad = Asdu(162, 5, 1, count=1, body=b"\xc7")
    send(target, 0x53, bad)
    answer = send(target, 0x7B)
    assert isinstance(answer, VariableFrame)
    assert Asdu.decode(answer.asdu).cause == Cause.OBJECT_NOT_AVAILABLE


def test_partial_instantaneous_request() -> None:
    target = meter()
    target.logged_in = True
    send(target, 0x53, instantaneous_request(1, (instantaneous_request(1).body[1],)))  # type: ignore[arg-type]
    answer = send(target, 0x7B)
    assert isinstance(answer, VariableFrame)
    asdu = Asdu.decode(answer.asdu)
    assert (asdu.type_id, asdu.count) == (TypeId.R_IN_VA_2, 1)


def test_model_exports_at_midday_and_energy_grows() -> None:
    model = MeterModel(peak_load_kw=2.0, peak_solar_kw=8.0)
    first = instant_signals(model.sample(NOON))
    assert first["active_power"] is not None
    assert first["active_power"] < 0  # exporting
    assert first["active_power_l1"] is not None
    assert first["active_power_l1"] < 0
    later = instant_signals(model.sample(NOON.replace(hour=16)))
    assert later["active_energy_export"] is not None
    assert first["active_energy_export"] is not None
    assert later["active_energy_export"] > first["active_energy_export"]
    night = instant_signals(model.sample(NOON.replace(hour=22)))
    assert night["active_power"] is not None
    assert night["active_power"] >= 0
    assert model.sample(NOON.replace(hour=21)).energy is not None  # time going back


def test_single_phase_meter_flags_l2_l3_invalid() -> None:
    model = MeterModel(three_phase=False)
    reading = instant_signals(model.sample(NOON))
    assert reading["voltage_l1"] is not None
    assert reading["voltage_l2"] is None
    assert reading["active_power_l3"] is None


async def test_one_session_at_a_time() -> None:
    line = make_line()
    async with serving(line) as url, client_for(url) as client:
        await client.read_identity()
        host, port = url.removeprefix("socket://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        assert await asyncio.wait_for(reader.read(10), 1) == b""  # closed at once
        writer.close()
        await writer.wait_closed()
        assert (await client.read_identity()).serial == "48300001"


async def test_pacing_takes_at_least_the_wire_time() -> None:
    line = make_line(baud=9600, latency_ms=5)
    async with serving(line) as url, client_for(url) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await client.read_values()
        elapsed = loop.time() - start
        wire = (client.bus.transport.bytes_sent + client.bus.transport.bytes_received) * 10 / 9600
    assert elapsed >= wire + 6 * 0.005


#: A short session timeout of the meter, on the real clock.
SESSION_TIMEOUT_S = 0.5


def _logins(line: object) -> int:
    """Login requests (C_AC_NA_2) the line has heard."""
    return sum(1 for *_, asdu in line.trace if asdu == TypeId.C_AC_NA_2)  # type: ignore[attr-defined]


async def test_session_timeout_keeps_a_busy_session() -> None:
    """Polls closer together than the timeout keep one session past the timeout."""
    line = make_line([MeterConfig(session_timeout=SESSION_TIMEOUT_S)])  # real clock
    async with serving(line) as url, client_for(url) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await client.read_values()
        while loop.time() - start < 3 * SESSION_TIMEOUT_S:
            await asyncio.sleep(SESSION_TIMEOUT_S / 5)
            await client.read_values()
        assert loop.time() - start >= 3 * SESSION_TIMEOUT_S  # the timeout could expire
        assert line.meters[0].logged_in
        assert client.session.logged_in
        assert _logins(line) == 1


async def test_session_timeout_forgets_an_idle_session_and_the_client_logs_in_again() -> None:
    """A pause longer than the timeout: the meter forgot the session, the read still works."""
    line = make_line([MeterConfig(session_timeout=SESSION_TIMEOUT_S)])  # real clock
    async with serving(line) as url, client_for(url) as client:
        await client.read_values()
        assert _logins(line) == 1
        await asyncio.sleep(SESSION_TIMEOUT_S * 1.5)
        reading = await client.read_values()
        assert reading.get("active_energy_import") is not None
        assert _logins(line) == 2  # logged in again, without the caller seeing an error
        assert line.meters[0].logged_in
        assert client.session.logged_in


# --- Range reads and the new faults, end to end over TCP ---------------------------------
from datetime import timedelta  # noqa: E402

from custom_components.iec_meter.core.errors import (  # noqa: E402
    ConnectionLost,
    DamagedAnswers,
    NoData,
    NoResponse,
    NotSupported,
)
from custom_components.iec_meter.core.iec102.asdu import (  # noqa: E402
    decode_integrated_totals,
    integrated_totals_request,
)
from custom_components.iec_meter.core.iec102.constants import (  # noqa: E402
    RecordAddress,
    TotalObject,
)
from custom_components.iec_meter.core.iec102.session import (  # noqa: E402
    Iec102Session,
    Iec102Settings,
)
from custom_components.iec_meter.core.timing import Timing  # noqa: E402
from simulator.line import Faults  # noqa: E402
from tests.scripted import session_to  # noqa: E402

QUICK = Timing(request_timeout_ms=100, retries=3, content_timeout_ms=500)


def _profile(hours: int, **kwargs: object) -> Asdu:
    return integrated_totals_request(
        1,
        NOON - timedelta(hours=hours),
        NOON,
        MADRID,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_range_read_end_to_end() -> None:
    line = make_line(clock=lambda: NOON)
    async with serving(line) as url, session_to(url, QUICK) as session:
        await session.start()
        answers = await session.request_range(_profile(5), TypeId.M_IT_TK_2)
        absolute = await session.request_range(
            _profile(2, incremental=False, last=TotalObject.REACTIVE_Q4), TypeId.M_IT_TG_2
        )
        await session.finish()
    assert len(answers) == 6  # period ends from the start hour to the end hour, inclusive
    periods = [decode_integrated_totals(a, MADRID) for a in answers]
    assert [p.period_end for p in periods] == [NOON - timedelta(hours=h) for h in range(5, -1, -1)]
    assert [t.address for t in periods[0].totals] == list(range(1, 9))
    assert periods[0].totals[-1].invalid
    assert len(absolute) == 3
    assert decode_integrated_totals(absolute[0], MADRID).totals[0].value >= 12_345


async def test_range_read_ends_cleanly_without_data_and_refuses_unknown_records() -> None:
    line = make_line(clock=lambda: NOON)
    async with serving(line) as url, session_to(url, QUICK) as session:
        await session.start()
        future = integrated_totals_request(
            1, NOON + timedelta(hours=1), NOON + timedelta(hours=3), MADRID
        )
        assert await session.request_range(future, TypeId.M_IT_TK_2) == []
        assert (
            await session.request_range(_profile(2, record=RecordAddress.DAILY), TypeId.M_IT_TK_2)
            == []
        )
        bad = Asdu(TypeId.C_CI_NU_2, Cause.ACTIVATION, 1, 11, count=1, body=b"\x01")
        with pytest.raises(NotSupported):
            await session.request_range(bad, TypeId.M_IT_TK_2)
        objects = _profile(2)
        none = Asdu(objects.type_id, objects.cause, 1, 11, 1, b"\x09\x09" + objects.body[2:])
        assert await session.request_range(none, TypeId.M_IT_TK_2) == []


async def test_range_type_not_available() -> None:
    line = make_line(clock=lambda: NOON, unsupported=frozenset({TypeId.C_CI_NU_2}))
    async with serving(line) as url, session_to(url, QUICK) as session:
        await session.start()
        with pytest.raises(NotSupported, match="type not available"):
            await session.request_range(_profile(3), TypeId.M_IT_TK_2)
        with pytest.raises(NotSupported, match="point address unknown"):
            await session.request_range(
                integrated_totals_request(9, NOON - timedelta(hours=1), NOON, MADRID),
                TypeId.M_IT_TK_2,
            )


async def test_range_read_not_logged_in_and_connection_lost_mid_range() -> None:
    line = make_line(clock=lambda: NOON, faults=Faults(drop_after=10))
    async with serving(line) as url, session_to(url, QUICK) as session:
        await session.start()  # 5 frames: status, reset, login, poll, (ACK'd)
        with pytest.raises(ConnectionLost):
            await session.request_range(_profile(24), TypeId.M_IT_TK_2)
    target = meter()
    send(target, 0x40)
    send(target, 0x73, _profile(2))
    refused = send(target, 0x5B)
    assert isinstance(refused, VariableFrame) and Asdu.decode(refused.asdu).negative


async def test_no_data_fault_and_header_noise() -> None:
    async with serving(make_line(faults=Faults(no_data=True))) as url:
        async with session_to(url, QUICK) as session:
            with pytest.raises(NoData, match=r"had no data for C_AC_NA_2 within 0\.5 s"):
                await session.start()
    line = make_line(faults=Faults(header_noise_every=2))
    async with serving(line) as url, session_to(url, QUICK) as session:
        await session.start()
        for _ in range(4):
            await session.request(instantaneous_request(1), TypeId.R_IN_VA_2)
        assert session.link.retransmissions >= 2
    line = make_line(faults=Faults(header_noise_every=1))
    async with serving(line) as url, session_to(url, QUICK) as session:
        with pytest.raises(DamagedAnswers):
            await session.start()


async def test_babbling_line_is_bounded() -> None:
    line = make_line(faults=Faults(babble=0.3))
    async with serving(line) as url, session_to(url, QUICK, Iec102Settings(1, 1, 1)) as session:
        await asyncio.sleep(0.4)  # the line babbles, then falls quiet
        await session.start()
        transport = session.link.transport
        assert transport.bytes_dropped > 0 or line.babbled > 0
        await session.request(instantaneous_request(1), TypeId.R_IN_VA_2)
    assert line.babbled >= 512


def test_dead_meter_hears_but_never_answers() -> None:
    target = SimulatedMeter(MeterConfig(), MADRID, lambda: NOON, dead=True)
    assert send(target, 0x49) is None  # link status
    assert send(target, 0x40) is None  # reset
    assert not target.logged_in


async def test_dead_meter_on_a_bus_costs_every_try_and_the_others_still_answer() -> None:
    line = make_line([MeterConfig(link_address=1), MeterConfig(link_address=2)])
    line.meters[1].dead = True
    async with serving(line) as url, session_to(url, QUICK, Iec102Settings(2, 1, 1)) as dead:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(NoResponse, match="no answer after 4 tries"):
            await dead.start()
        assert loop.time() - start >= 4 * QUICK.request_timeout
        assert line.frames_received == QUICK.retries + 1  # every try heard, none answered
        assert line.answers_sent == 0
        alive = Iec102Session(dead.link.transport, Iec102Settings(1, 1, 1), QUICK)
        await alive.start()
        await alive.request(instantaneous_request(1), TypeId.R_IN_VA_2)
        assert line.answers_sent > 0


async def test_dead_meter_says_nothing_even_with_the_no_data_fault() -> None:
    line = make_line([MeterConfig(link_address=3)], faults=Faults(no_data=True))
    line.meters[0].dead = True
    async with serving(line) as url, session_to(url, QUICK, Iec102Settings(3, 1, 1)) as session:
        with pytest.raises(NoResponse):
            await session.start()
    assert line.answers_sent == 0
