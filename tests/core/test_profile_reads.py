"""Reading the meter's records over real TCP: chunked, resumable profile reads, billing.

The load profile comes from the simulator (hourly integrated totals, record 11); the
layouts it does not serve (billing, contracted powers, odd answers) come from a
scripted peer. Nothing is mocked: every read crosses a socket as frames.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.driver import PROFILE_CHUNK_PERIODS, MeterClient
from custom_components.iec_meter.core.errors import NotSupported, ProtocolError
from custom_components.iec_meter.core.frame_log import FrameLog
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    BillingObject,
    ContractedPowers,
    Energy,
    IntegratedTotal,
    decode_billing_range,
    decode_range_request,
    encode_billing,
    encode_contracted_powers,
    encode_integrated_totals,
)
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import (
    Cause,
    ContractRegister,
    PrimaryFunction,
    RecordAddress,
    SecondaryFunction,
    TypeId,
)
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    VariableFrame,
    decode_frame,
    secondary_control,
)
from custom_components.iec_meter.core.iec102.link import mask_password
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.model import Identity, Reading
from custom_components.iec_meter.core.records import (
    PROFILE_SERIES,
    BillingPeriod,
    ProfileKind,
    ProfilePeriod,
)
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec102_meter import MeterConfig
from simulator.line import Faults, MeterLine
from tests.conftest import FAST, MADRID, client_for, make_line, serving
from tests.scripted import fixed, scripted_meter

HOURLY = ProfileKind.HOURLY
HOUR = timedelta(hours=1)
#: The ranges read from the simulator, and its clock then: the meter keeps the
#: periods of the last months, and spoils a few hours (a gap, an invalid one) in the
#: weeks just before its clock, far from these ranges.
MARCH = datetime(2025, 3, 1, 1, 0, tzinfo=MADRID)
MARCH_CLOCK = datetime(2025, 6, 1, 12, 0, tzinfo=MADRID)
DST_CLOCK = datetime(2019, 12, 15, 12, 0, tzinfo=MADRID)


def line_at(clock: datetime, configs: list[MeterConfig] | None = None, **options: Any) -> MeterLine:
    """A simulated line whose meters' clocks stand at ``clock``."""
    return make_line(configs, clock=lambda: clock, **options)


def hours_from(start: datetime, count: int) -> list[datetime]:
    """``count`` consecutive hourly period ends from ``start``, as UTC instants."""
    first = start.astimezone(UTC)
    return [first + HOUR * index for index in range(count)]


def ends(periods: list[ProfilePeriod]) -> list[datetime]:
    return [period.end.astimezone(UTC) for period in periods]


def big_log() -> FrameLog:
    """A frame log long enough for a whole read."""
    return FrameLog(size=2000, mask=mask_password)


def asdus(log: FrameLog, direction: str) -> list[Asdu]:
    """The ASDUs of the variable frames the log saw in one direction."""
    found = []
    for item in log.frames():
        if item.direction != direction or "**" in item.hex:
            continue  # the other way, or the login (its password is masked)
        frame = decode_frame(bytes.fromhex(item.hex.replace("**", "00")))
        if isinstance(frame, VariableFrame):
            found.append(Asdu.decode(frame.asdu))
    return found


def range_requests(line: MeterLine, link: int = 1) -> list[int]:
    """Positions in the line's trace of the range requests of ``link``."""
    return [
        index
        for index, (address, _, asdu_type) in enumerate(line.trace)
        if address == link and asdu_type in (TypeId.C_CI_NU_2, TypeId.C_CI_NT_2)
    ]


# --- Chunks and turns -------------------------------------------------------------------
async def test_a_long_range_is_read_in_chunks_each_in_its_own_turn() -> None:
    line = line_at(MARCH_CLOCK)
    end = MARCH + 299 * HOUR
    async with serving(line) as url, client_for(url) as client:
        periods = await client.read_profile(HOURLY, MARCH, end)
        turns = client.bus.turns
        round_trips = client.session.round_trips
    chunks = -(-300 // PROFILE_CHUNK_PERIODS)
    assert PROFILE_CHUNK_PERIODS == 48
    assert ends(periods) == hours_from(MARCH, 300)  # in time order, none twice
    assert turns == chunks == 7
    assert len(range_requests(line)) == chunks  # one range request a chunk
    # Link start and login once, then a request, its confirmation and its
    # termination a chunk, and one poll per period: nothing read twice.
    assert round_trips == 4 + 3 * chunks + 300
    assert all(set(period.values) == set(PROFILE_SERIES) for period in periods)
    assert sum(period.values["active_energy_import"] or 0 for period in periods) > 0


async def test_chunks_follow_each_other_without_gap_or_overlap() -> None:
    line = line_at(MARCH_CLOCK)
    end = MARCH + 99 * HOUR
    async with serving(line) as url, client_for(url, frame_log=big_log()) as client:
        chunks = [
            chunk async for chunk in client.iter_profile(HOURLY, MARCH, end, chunk_periods=30)
        ]
        requests = [
            decode_range_request(asdu, MADRID)
            for asdu in asdus(client.frame_log, "tx")
            if asdu.type_id == TypeId.C_CI_NU_2
        ]
    assert [len(chunk) for chunk in chunks] == [30, 30, 30, 10]
    assert [ends(chunk) for chunk in chunks] == [
        hours_from(MARCH + HOUR * first, count)
        for first, count in ((0, 30), (30, 30), (60, 30), (90, 10))
    ]
    assert [(request.start, request.end) for request in requests] == [
        (MARCH + HOUR * first, MARCH + HOUR * last)
        for first, last in ((0, 29), (30, 59), (60, 89), (90, 99))
    ]
    assert {(request.first_object, request.last_object) for request in requests} == {(1, 8)}


async def test_another_meter_gets_its_turn_between_two_chunks() -> None:
    configs = [MeterConfig(link_address=11, password=11), MeterConfig(link_address=12)]
    line = line_at(MARCH_CLOCK, configs)
    async with serving(line) as url, Bus(LineSettings(url), FAST) as bus:
        profile_client = Iec102Client(bus, Iec102Settings(11, 1, 11), MADRID)
        values_client = Iec102Client(bus, Iec102Settings(12, 1, 1), MADRID)
        end = MARCH + (3 * PROFILE_CHUNK_PERIODS - 1) * HOUR
        profile = asyncio.create_task(profile_client.read_profile(HOURLY, MARCH, end))
        await asyncio.sleep(0)  # the profile read takes the line first
        reading = await values_client.read_values()
        assert not profile.done()  # the values came while the profile was being read
        periods = await profile
        trace = list(line.trace)
    assert reading.get("active_energy_import") is not None
    assert ends(periods) == hours_from(MARCH, 3 * PROFILE_CHUNK_PERIODS)
    chunk_starts = range_requests(line, 11)
    other = [index for index, (address, _, _) in enumerate(trace) if address == 12]
    assert len(chunk_starts) == 3
    # Meter 12's whole exchange sits between the first and the second chunk.
    assert chunk_starts[0] < other[0] and other[-1] < chunk_starts[1]


async def test_a_chunk_of_absolute_readings_asks_with_122() -> None:
    line = line_at(MARCH_CLOCK)
    end = MARCH + 5 * HOUR
    async with serving(line) as url, client_for(url, frame_log=big_log()) as client:
        increments = await client.read_profile_chunk(HOURLY, MARCH, end)
        registers = await client.read_profile_chunk(HOURLY, MARCH, end, absolute=True)
        sent = [asdu.type_id for asdu in asdus(client.frame_log, "tx")]
        answered = {asdu.type_id for asdu in asdus(client.frame_log, "rx")}
    assert sent.count(TypeId.C_CI_NU_2) == 1
    assert sent.count(TypeId.C_CI_NT_2) == 1
    assert sent.index(TypeId.C_CI_NU_2) < sent.index(TypeId.C_CI_NT_2)
    assert {TypeId.M_IT_TK_2, TypeId.M_IT_TG_2} <= answered
    assert ends(registers) == ends(increments) == hours_from(MARCH, 6)
    for register, increment in zip(registers, increments, strict=True):
        absolute = register.values["active_energy_import"]
        energy = increment.values["active_energy_import"]
        assert absolute is not None
        assert energy is not None
        assert absolute >= 12345 > energy  # a register, not the hour's energy


@pytest.mark.parametrize(
    ("start", "count"),
    [
        (datetime(2019, 10, 26, 23, 0, tzinfo=MADRID), 8),  # 02:00 comes twice
        (datetime(2019, 3, 30, 23, 0, tzinfo=MADRID), 6),  # 02:00 never comes
    ],
    ids=["october", "march"],
)
@pytest.mark.parametrize("chunk_periods", [1, 2, 3, 4, 48])
async def test_every_hour_across_a_change_of_time(
    start: datetime, count: int, chunk_periods: int
) -> None:
    line = line_at(DST_CLOCK)
    end = (start.astimezone(UTC) + (count - 1) * HOUR).astimezone(MADRID)
    async with serving(line) as url, client_for(url) as client:
        chunks = [
            chunk
            async for chunk in client.iter_profile(HOURLY, start, end, chunk_periods=chunk_periods)
        ]
    periods = [period for chunk in chunks for period in chunk]
    assert ends(periods) == hours_from(start, count)
    assert len(chunks) == -(-count // chunk_periods)


def local_days(first: datetime, count: int) -> list[datetime]:
    """``count`` local midnights from ``first``, as UTC instants."""
    return [
        (first.replace(tzinfo=None) + timedelta(days=index)).replace(tzinfo=MADRID).astimezone(UTC)
        for index in range(count)
    ]


@pytest.mark.parametrize(
    ("kind", "start", "expected"),
    [
        (
            ProfileKind.QUARTER_HOURLY,
            datetime(2019, 10, 27, 1, 30, tzinfo=MADRID),
            [
                datetime(2019, 10, 26, 23, 30, tzinfo=UTC) + n * timedelta(minutes=15)
                for n in range(12)
            ],
        ),
        (
            ProfileKind.DAILY,
            datetime(2019, 10, 25, 0, 0, tzinfo=MADRID),
            local_days(datetime(2019, 10, 25, tzinfo=MADRID), 5),  # one of 25 hours
        ),
        (
            ProfileKind.DAILY,
            datetime(2019, 3, 29, 0, 0, tzinfo=MADRID),
            local_days(datetime(2019, 3, 29, tzinfo=MADRID), 5),  # one of 23 hours
        ),
    ],
    ids=["quarters-october", "days-october", "days-march"],
)
@pytest.mark.parametrize("chunk_periods", [1, 2, 5])
async def test_quarters_and_days_across_a_change_of_time(
    kind: ProfileKind, start: datetime, expected: list[datetime], chunk_periods: int
) -> None:
    line = line_at(DST_CLOCK)
    end = expected[-1].astimezone(MADRID)
    async with serving(line) as url, client_for(url) as client:
        chunks = [
            chunk
            async for chunk in client.iter_profile(kind, start, end, chunk_periods=chunk_periods)
        ]
    assert ends([period for chunk in chunks for period in chunk]) == expected
    assert len(chunks) == -(-len(expected) // chunk_periods)


# --- What the meter says about the range ----------------------------------------------
async def test_no_data_for_the_range_is_an_empty_chunk() -> None:
    line = line_at(MARCH_CLOCK)
    tomorrow = MARCH_CLOCK + timedelta(days=1)
    async with serving(line) as url, client_for(url, frame_log=big_log()) as client:
        periods = await client.read_profile_chunk(HOURLY, tomorrow, tomorrow + 5 * HOUR)
        assert client.session.logged_in  # nothing wrong with the session
        causes = [asdu.cause for asdu in asdus(client.frame_log, "rx")]
        reading = await client.read_values()
    assert periods == []
    assert Cause.RECORD_NOT_AVAILABLE in causes
    assert reading.get("active_energy_import") is not None


async def test_a_request_type_the_meter_lacks_is_not_supported() -> None:
    line = line_at(MARCH_CLOCK, unsupported=frozenset({TypeId.C_CI_NU_2}))
    async with serving(line) as url, client_for(url) as client:
        with pytest.raises(NotSupported, match="type not available") as caught:
            await client.read_profile(HOURLY, MARCH, MARCH + 100 * HOUR)
        assert caught.value.cause == Cause.TYPE_NOT_AVAILABLE
        assert client.bus.turns == 1  # the first chunk's answer ends the read
        assert client.session.logged_in
        absolute = await client.read_profile_chunk(HOURLY, MARCH, MARCH, absolute=True)
    assert len(absolute) == 1


# --- A connection lost in the middle --------------------------------------------------
async def test_a_lost_connection_resumes_after_the_last_period_received() -> None:
    # Each connection carries 10 frames: link status, reset, login and its poll, the
    # request and the poll for its confirmation, then four periods; the 11th frame
    # closes it.
    line = line_at(MARCH_CLOCK, faults=Faults(drop_after=11))
    end = MARCH + 9 * HOUR
    async with serving(line) as url, client_for(url, frame_log=big_log()) as client:
        periods = await client.read_profile_chunk(HOURLY, MARCH, end)
        turns = client.bus.turns
        sent = asdus(client.frame_log, "tx")
        answers = asdus(client.frame_log, "rx")
    assert ends(periods) == hours_from(MARCH, 10)  # complete, each period once
    assert line.connections == 3
    assert turns == 1  # the retries ran within the chunk's turn
    starts = [
        decode_range_request(asdu, MADRID).start
        for asdu in sent
        if asdu.type_id == TypeId.C_CI_NU_2
    ]
    # Each resumed request starts at the period after the last one received.
    assert starts == [MARCH, MARCH + 4 * HOUR, MARCH + 8 * HOUR]
    # And the meter sent each period once: none was asked for again.
    assert sum(asdu.type_id == TypeId.M_IT_TK_2 for asdu in answers) == 10


async def test_a_connection_lost_after_the_last_period_ends_the_chunk() -> None:
    # Ten frames carry four periods; the poll for the termination closes the line.
    line = line_at(MARCH_CLOCK, faults=Faults(drop_after=11))
    end = MARCH + 3 * HOUR
    async with serving(line) as url, client_for(url) as client:
        periods = await client.read_profile_chunk(HOURLY, MARCH, end)
    assert ends(periods) == hours_from(MARCH, 4)
    # The retry logged in again but found nothing left to ask for.
    assert line.connections == 2
    assert len(range_requests(line)) == 1


# --- Scripted peers: answers the simulator does not give ------------------------------
Respond = Callable[[Asdu], list[Asdu]]


def queue_meter(respond: Respond) -> Callable[[FixedFrame | VariableFrame], bytes]:
    """A meter that logs in, queues ``respond``'s answers to a request for class 2 polls."""
    pending: deque[bytes] = deque()

    def script(frame: FixedFrame | VariableFrame) -> bytes:
        if frame.function == PrimaryFunction.REQUEST_LINK_STATUS:
            return fixed(SecondaryFunction.LINK_STATUS, frame.address)
        if frame.function == PrimaryFunction.REQUEST_CLASS_2:
            if pending:
                return pending.popleft()
            return fixed(SecondaryFunction.NO_DATA, frame.address)
        if isinstance(frame, VariableFrame):
            request = Asdu.decode(frame.asdu)
            if request.type_id in (TypeId.C_AC_NA_2, TypeId.C_FS_NA_2):
                answers = [Asdu(request.type_id, 7, 1, count=request.count, body=request.body)]
            else:
                answers = respond(request)
            control = secondary_control(SecondaryFunction.USER_DATA)
            pending.extend(
                VariableFrame(control, frame.address, answer.encode()).encode()
                for answer in answers
            )
        return fixed(SecondaryFunction.ACK, frame.address)

    return script


def echo(request: Asdu, cause: int, negative: bool = False) -> Asdu:
    return Asdu(
        request.type_id,
        cause,
        request.point_address,
        request.record_address,
        request.count,
        request.body,
        negative=negative,
    )


def totals_asdu(end: datetime, *, point: int = 1, value: int = 5, stamp: bytes = b"") -> Asdu:
    count, body = encode_integrated_totals([IntegratedTotal(1, value)], end, MADRID)
    if stamp:
        body = body[:-5] + stamp
    return Asdu(TypeId.M_IT_TK_2, Cause.REQUEST, point, RecordAddress.HOURLY, count, body)


@pytest.mark.parametrize(
    "cause",
    [Cause.RECORD_NOT_AVAILABLE, Cause.OBJECT_NOT_AVAILABLE, Cause.PERIOD_NOT_AVAILABLE],
)
async def test_nothing_for_the_range_is_an_empty_list(cause: Cause) -> None:
    def respond(request: Asdu) -> list[Asdu]:
        return [echo(request, Cause.ACTIVATION_CONFIRMATION), echo(request, cause, True)]

    async with scripted_meter(queue_meter(respond)) as (url, _), client_for(url) as client:
        periods = await client.read_profile(ProfileKind.QUARTER_HOURLY, MARCH, MARCH + HOUR)
        assert client.session.logged_in
    assert periods == []


async def test_the_client_keeps_only_the_periods_it_asked_for() -> None:
    """Periods outside the range, without a time, repeated, or of another kind are left."""
    requests: list[Asdu] = []

    def respond(request: Asdu) -> list[Asdu]:
        requests.append(request)
        return [
            echo(request, Cause.ACTIVATION_CONFIRMATION),
            totals_asdu(MARCH - HOUR),  # before the range
            totals_asdu(MARCH, value=1),
            totals_asdu(MARCH, value=9),  # the same period again
            totals_asdu(MARCH, stamp=bytes(5)),  # no time
            Asdu(TypeId.M_IT_TG_2, Cause.REQUEST, 1, 11, 0, bytes(5)),  # not what we asked
            Asdu(TypeId.M_TI_TA_2, Cause.REQUEST, 1, 0, 1, bytes(7)),  # stray
            totals_asdu(MARCH + HOUR, value=2),
            totals_asdu(MARCH + 3 * HOUR),  # after the range
            echo(request, Cause.ACTIVATION_TERMINATION),
        ]

    async with scripted_meter(queue_meter(respond)) as (url, _), client_for(url) as client:
        periods = await client.read_profile_chunk(ProfileKind.DAILY, MARCH, MARCH + 2 * HOUR)
        assert client.diagnostics() == {"retransmissions": 0}
    assert ends(periods) == hours_from(MARCH, 2)
    assert [period.values["active_energy_import"] for period in periods] == [1.0, 2.0]
    assert requests[0].record_address == RecordAddress.DAILY


async def test_a_range_answer_for_another_point_is_refused() -> None:
    def respond(request: Asdu) -> list[Asdu]:
        return [echo(request, Cause.ACTIVATION_CONFIRMATION), totals_asdu(MARCH, point=2)]

    async with scripted_meter(queue_meter(respond)) as (url, _):
        async with client_for(url, timing=FAST) as client:
            with pytest.raises(ProtocolError, match="point address 2"):
                await client.read_profile_chunk(HOURLY, MARCH, MARCH)


async def test_a_refused_range_read_is_an_error() -> None:
    asked: list[Asdu] = []

    def respond(request: Asdu) -> list[Asdu]:
        asked.append(request)
        if len(asked) > 1:
            return [echo(request, Cause.ACTIVATION_CONFIRMATION, negative=True)]
        return [echo(request, Cause.ACTIVATION_CONFIRMATION), echo(request, 10)]

    async with scripted_meter(queue_meter(respond)) as (url, _):
        async with client_for(url) as client:
            assert await client.read_profile_chunk(HOURLY, MARCH, MARCH) == []
            with pytest.raises(ProtocolError, match="negative confirmation: C_CI_NU_2"):
                await client.read_profile_chunk(HOURLY, MARCH, MARCH)
    # The open session was restarted once, and refused again: no retry storm.
    assert len(asked) == 3


# --- Billing and contracted powers ---------------------------------------------------
def billing_object(address: int, active: int) -> BillingObject:
    return BillingObject(
        address=address,
        active=Energy(active, active // 10, 0),
        inductive=Energy(active // 2, 3, 0),
        capacitive=Energy(0, 0, 0x80),
        max_demand=7,
        max_demand_time=datetime(2026, 3, 4, 20, 15, tzinfo=MADRID),
        max_demand_qualifier=0,
        excess_power=0,
        excess_power_qualifier=0,
        start=datetime(2026, 3, 1, tzinfo=MADRID),
        end=datetime(2026, 4, 1, tzinfo=MADRID),
    )


def billing_answers(request: Asdu, answer_type: TypeId) -> list[Asdu]:
    """Totals and P1..P6, three objects an ASDU at most, as a frame can carry."""
    objects = [billing_object(20 + index, 1000 * (index + 1)) for index in range(7)]
    answers = [echo(request, Cause.ACTIVATION_CONFIRMATION)]
    for first in range(0, 7, 3):
        count, body = encode_billing(objects[first : first + 3], MADRID)
        answers.append(Asdu(answer_type, Cause.REQUEST, 1, request.record_address, count, body))
    answers.append(echo(request, Cause.ACTIVATION_TERMINATION))
    return answers


async def test_current_and_stored_billing_periods() -> None:
    requests: list[Asdu] = []

    def respond(request: Asdu) -> list[Asdu]:
        requests.append(request)
        if request.type_id == TypeId.C_TA_VC_2:
            return billing_answers(request, TypeId.M_TA_VC_2)
        return billing_answers(request, TypeId.M_TA_VM_2)

    start = datetime(2026, 1, 1, tzinfo=MADRID)
    end = datetime(2026, 4, 1, tzinfo=MADRID)
    async with scripted_meter(queue_meter(respond)) as (url, _), client_for(url) as client:
        current = await client.read_billing(2)
        stored = await client.read_billing(3, start, end)
    assert [(r.type_id, r.record_address) for r in requests] == [
        (TypeId.C_TA_VC_2, ContractRegister.CONTRACT_2),
        (TypeId.C_TA_VM_2, ContractRegister.CONTRACT_3),
    ]
    assert decode_billing_range(requests[1], MADRID) == (start, end)
    for periods, contract in ((current, 2), (stored, 3)):
        assert [period.period for period in periods] == list(range(7))
        assert {period.contract for period in periods} == {contract}
        assert [period.active_energy for period in periods] == [1000.0 * n for n in range(1, 8)]
        assert all(period.reactive_capacitive_energy is None for period in periods)
        assert periods[0].start == datetime(2026, 3, 1, tzinfo=MADRID)
        assert periods[0].max_demand_time == datetime(2026, 3, 4, 20, 15, tzinfo=MADRID)
    assert isinstance(current[0], BillingPeriod)


async def test_no_billing_closures_in_the_range() -> None:
    def respond(request: Asdu) -> list[Asdu]:
        return [echo(request, Cause.RECORD_NOT_AVAILABLE, negative=True)]

    start = datetime(2026, 1, 1, tzinfo=MADRID)
    async with scripted_meter(queue_meter(respond)) as (url, _), client_for(url) as client:
        assert await client.read_billing(1, start, start + timedelta(days=31)) == []


@pytest.mark.parametrize("first_address", [1, 21])
async def test_contracted_powers(first_address: int) -> None:
    requests: list[Asdu] = []

    def respond(request: Asdu) -> list[Asdu]:
        requests.append(request)
        powers = ContractedPowers({n: 3300 + n for n in range(1, 7)}, None)
        count, body = encode_contracted_powers(powers, MADRID)
        if first_address != 1:
            body = (
                b"".join(
                    bytes((body[offset] + first_address - 1,)) + body[offset + 1 : offset + 5]
                    for offset in range(0, 30, 5)
                )
                + body[30:]
            )
        return [Asdu(TypeId.M_PC_NA_2, Cause.REQUEST, 1, request.record_address, count, body)]

    async with scripted_meter(queue_meter(respond)) as (url, _), client_for(url) as client:
        powers = await client.read_contracted_powers(1)
    assert powers == {n: 3300.0 + n for n in range(1, 7)}
    assert (requests[0].type_id, requests[0].cause) == (TypeId.C_PC_NA_2, Cause.REQUEST)
    assert requests[0].record_address == ContractRegister.CONTRACT_1


async def test_arguments_a_meter_cannot_answer_take_no_turn() -> None:
    async with scripted_meter(queue_meter(lambda request: [])) as (url, received):
        async with client_for(url) as client:
            for wrong in (0, 4):
                with pytest.raises(ValueError, match="contract must be 1, 2 or 3"):
                    await client.read_billing(wrong)
                with pytest.raises(ValueError, match="contract must be 1, 2 or 3"):
                    await client.read_contracted_powers(wrong)
            with pytest.raises(ValueError, match="both its start and its end"):
                await client.read_billing(1, MARCH)
            with pytest.raises(ValueError, match="both its start and its end"):
                await client.read_billing(1, None, MARCH)
            with pytest.raises(ValueError, match="at least one period"):
                await anext(client.iter_profile(HOURLY, MARCH, MARCH, chunk_periods=0))
            assert await client.read_profile(HOURLY, MARCH + HOUR, MARCH) == []
            assert client.bus.turns == 0
    assert received == []


# --- A protocol without records ------------------------------------------------------------
class RecordlessClient(MeterClient[None]):
    """A protocol that implements only identity and values."""

    async def _read_identity(self) -> Identity:
        return Identity("ACME", "1")

    async def _read_values(self) -> Reading:
        return Reading({})


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda c: c.read_profile_chunk(HOURLY, MARCH, MARCH), "no load profile"),
        (lambda c: c.read_billing(1), "no billing periods"),
        (lambda c: c.read_contracted_powers(1), "no contracted powers"),
    ],
)
async def test_a_protocol_without_records_says_so(
    read: Callable[[RecordlessClient], Any], message: str
) -> None:
    async with scripted_meter(queue_meter(lambda request: [])) as (url, received):
        async with Bus(LineSettings(url), FAST) as bus:
            client = RecordlessClient(bus, None, MADRID)
            assert not client.has_records
            with pytest.raises(NotSupported, match=message):
                await read(client)
    assert received == []
