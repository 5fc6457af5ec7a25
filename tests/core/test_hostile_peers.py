"""Hostile peers: each read ends in bounded time with the right error and hint, and
leaves no socket, task or buffer behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import os
import random
import re
import time

import pytest

from custom_components.iec_meter.core.errors import (
    ConnectionLost,
    DamagedAnswers,
    MeterError,
    NoData,
    NoResponse,
    ProtocolError,
)
from custom_components.iec_meter.core.iec102.asdu import Asdu, identity_request
from custom_components.iec_meter.core.iec102.constants import SecondaryFunction, TypeId
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    SingleCharFrame,
    VariableFrame,
)
from custom_components.iec_meter.core.timing import Timing
from tests.scripted import Script, fixed, meter_script, scripted_meter, session_to

#: Short timeouts: 3 tries of 0.1 s, "no data" accepted for 0.5 s.
QUICK = Timing(request_timeout_ms=100, retries=2, content_timeout_ms=500)
#: Every read must end well within this.
BOUND_S = 3.0
LOGIN_OK = VariableFrame(
    0x08, 1, Asdu(TypeId.C_AC_NA_2, 7, 1, count=1, body=b"\x01\0\0\0").encode()
).encode()


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
async def no_leaks() -> AsyncIterator[None]:
    """Fail when a test leaves a descriptor or a task behind."""
    before = _fds()
    yield
    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    assert _fds() <= before


def _random_bytes(seed: int) -> Script:
    rng = random.Random(seed)
    return lambda frame: rng.randbytes(rng.randint(1, 40))


def _damaged(frame: FixedFrame | VariableFrame) -> bytes:
    raw = bytearray(fixed(SecondaryFunction.LINK_STATUS, frame.address))
    raw[4] ^= 0xFF
    return bytes(raw)


CASES: list[tuple[str, Script, type[MeterError], str]] = [
    ("silent", lambda frame: b"", NoResponse, "no answer after 3 tries"),
    ("random bytes", _random_bytes(7), NoResponse, "link address 1"),
    (
        "another link address",
        lambda frame: fixed(SecondaryFunction.LINK_STATUS, frame.address + 1),
        NoResponse,
        "no answer",
    ),
    (
        "E5 to everything",
        lambda frame: SingleCharFrame().encode(),
        ProtocolError,
        "never as the request expects",
    ),
    (
        "endless no data",
        meter_script(lambda frame: fixed(SecondaryFunction.NO_DATA)),
        NoData,
        "the meter answers but had no data for C_AC_NA_2 within 0.5 s",
    ),
    ("bad checksums", _damaged, DamagedAnswers, "answers arrived damaged (checksum / framing)"),
]


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize(
    ("script", "error", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_hostile_peer(script: Script, error: type[MeterError], message: str) -> None:
    async with scripted_meter(script) as (url, received):
        async with session_to(url, QUICK) as session:
            started = time.monotonic()
            with pytest.raises(error, match=re.escape(message)) as caught:
                async with asyncio.timeout(BOUND_S):
                    await session.start()
            elapsed = time.monotonic() - started
            assert session.link._parser.pending == 0 or session.link._parser.pending < 300
    assert elapsed < BOUND_S
    err = caught.value
    assert err.hint == type(err).hint and err.hint
    if not isinstance(err, NoResponse) or isinstance(err, DamagedAnswers):
        assert "wiring" not in err.hint
    assert received  # the peer did hear us


async def test_endless_no_data_is_paced(no_leaks: None) -> None:
    script = meter_script(lambda frame: fixed(SecondaryFunction.NO_DATA))
    async with scripted_meter(script) as (url, received):
        async with session_to(url, QUICK) as session:
            with pytest.raises(NoData) as caught:
                await session.start()
    polls = len(received) - 3  # link status, reset, login
    # Unpaced, 0.5 s of polling over loopback is thousands of polls.
    assert 3 <= polls <= 12
    assert "wiring" not in caught.value.hint


async def test_close_on_accept(no_leaks: None) -> None:
    async with scripted_meter(lambda frame: b"", close_on_accept=True) as (url, _):
        async with session_to(url, QUICK) as session:
            await asyncio.sleep(0.05)
            with pytest.raises(ConnectionLost) as caught:
                async with asyncio.timeout(BOUND_S):
                    await session.start()
    assert "idle" in caught.value.hint and "another client" in caught.value.hint


async def test_damaged_header_holding_e5_is_asked_again(no_leaks: None) -> None:
    """The issue's case end to end: no phantom ACK, the meter repeats its answer."""
    answer = VariableFrame(
        0x08,
        1,
        Asdu(TypeId.P_MP_NA_2, 5, 1, count=1, body=bytes.fromhex("24 e5 c6 12 e1 02")).encode(),
    ).encode()
    damaged = bytearray(answer)
    damaged[1] ^= 0x01
    polls: list[int] = []

    def class2(frame: FixedFrame | VariableFrame) -> bytes:
        polls.append(frame.control)
        if len(polls) == 1:
            return LOGIN_OK
        return bytes(damaged) if len(polls) == 2 else answer

    async with scripted_meter(meter_script(class2)) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            result = await session.request(identity_request(1), TypeId.P_MP_NA_2)
    assert result.body[1] == 0xE5
    assert polls[1] == polls[2]  # the same FCB: a retransmission, not a new poll
    assert session.link.retransmissions == 1


# --- Every frame of an answer is looked at; damage is asked again, never polled past ---------
IDENTITY = VariableFrame(
    0x08,
    1,
    Asdu(TypeId.P_MP_NA_2, 5, 1, count=1, body=bytes.fromhex("24 42 c6 12 e1 02")).encode(),
).encode()
#: Offsets in IDENTITY: control byte, type, VSQ, cause, standard date, serial bytes.
_C, _TYPE, _VSQ, _COT, _DATE, _SERIAL = 4, 7, 8, 9, 13, 15


def _cancelling(raw: bytes, up: int, down: int, by: int) -> bytes:
    """``raw`` with ``by`` added at ``up`` and taken at ``down``: the checksum still fits."""
    damaged = bytearray(raw)
    damaged[up] = (damaged[up] + by) % 256
    damaged[down] = (damaged[down] - by) % 256
    return bytes(damaged)


def one_answer(first: bytes, again: bytes) -> tuple[Script, list[int]]:
    """A meter with one answer to the identity read, as a real one keeps it.

    The poll after the request gets ``first``; the same poll sent again (same FCB) gets
    ``again``, the meter's repeat; a new poll (FCB toggled) says "no data": to the
    meter, a new FCB means its answer arrived. Returns the control bytes of the polls.
    """
    polls: list[int] = []

    def class2(frame: FixedFrame | VariableFrame) -> bytes:
        polls.append(frame.control)
        if len(polls) == 1:
            return LOGIN_OK
        if len(polls) == 2:
            return first
        if frame.control == polls[-2]:
            return again
        return fixed(SecondaryFunction.NO_DATA)

    return meter_script(class2), polls


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize(
    "segment",
    [
        SingleCharFrame().encode() + IDENTITY,
        # Noise that starts where a frame may: idle fill, an E5, then bytes that are no frame.
        bytes.fromhex("ff e5 00 37 10") + IDENTITY,
        # A frame for another meter ends just before an E5.
        fixed(SecondaryFunction.LINK_STATUS, 2) + SingleCharFrame().encode() + IDENTITY,
    ],
    ids=["E5 then the answer", "garbage then the answer", "other meter, E5, answer"],
)
async def test_a_stray_e5_does_not_hide_the_answer_behind_it(segment: bytes) -> None:
    """One TCP segment: an E5 ("no data") in front of the real answer; the answer wins."""
    script, polls = one_answer(segment, segment)
    async with scripted_meter(script) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            async with asyncio.timeout(BOUND_S):
                result = await session.request(identity_request(1), TypeId.P_MP_NA_2)
    assert result.body == bytes.fromhex("24 42 c6 12 e1 02")
    assert len(polls) == 2  # taken from the first answer: no poll after it
    assert session.link.retransmissions == 0


@pytest.mark.usefixtures("no_leaks")
@pytest.mark.parametrize(
    "first",
    [
        SingleCharFrame().encode() + IDENTITY[:-2] + bytes((IDENTITY[-2] ^ 1, 0x16)),
        _cancelling(IDENTITY, _TYPE, _SERIAL, 1),  # 71 became 72, a clock
        _cancelling(IDENTITY, _VSQ, _SERIAL, 1),  # two objects in six bytes
        _cancelling(IDENTITY, _COT, _SERIAL, 1),  # cause 6: an activation
        _cancelling(IDENTITY, _DATE, _SERIAL, 9),  # standard of month 13
        _cancelling(IDENTITY, _C, _SERIAL, 0x80),  # bit 7 twice: reserved bit of C
        _cancelling(IDENTITY, _TYPE, _SERIAL, 0x80),  # bit 7 twice: type 199
    ],
    ids=["E5 + bad checksum", "type", "count", "cause", "month", "control", "type bit 7"],
)
async def test_a_damaged_answer_is_asked_again_with_the_same_fcb(first: bytes) -> None:
    """Checksum right, structure wrong: the poll goes again and the meter repeats.

    Polling on instead (a new FCB) tells the meter its answer arrived; it has nothing
    more and the read ends in "no data" after the content timeout, blaming the meter.
    """
    script, polls = one_answer(first, IDENTITY)
    async with scripted_meter(script) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            async with asyncio.timeout(BOUND_S):
                result = await session.request(identity_request(1), TypeId.P_MP_NA_2)
    assert result.body == bytes.fromhex("24 42 c6 12 e1 02")
    assert polls[1] == polls[2]  # the same FCB: a retransmission, not a new poll
    assert len(polls) == 3
    assert session.link.retransmissions == 1
    assert any(item.direction == "rx-damaged" for item in session.link.frame_log.frames())


async def test_a_meter_that_repeats_an_odd_answer_is_taken_at_its_word(no_leaks: None) -> None:
    """The same bytes twice are the meter's, not the line's: the session judges them."""
    odd = _cancelling(IDENTITY, _TYPE, _SERIAL, 1)  # a clock answer to an identity read
    script, polls = one_answer(odd, odd)
    async with scripted_meter(script) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            with pytest.raises(NoData):
                async with asyncio.timeout(BOUND_S):
                    await session.request(identity_request(1), TypeId.P_MP_NA_2)
    assert polls[1] == polls[2]  # asked once again, then taken (and left by the session)
    assert polls[3] != polls[2]
    assert session.link.retransmissions == 1


async def test_an_e5_with_a_frame_start_after_it_is_settled_within_a_frame_time(
    no_leaks: None,
) -> None:
    """E5 then a lone 0x68 (the start of nothing): "no data" once no frame can follow.

    The link waits as long as the longest frame takes, not the (here long) timeout,
    then takes the E5 and polls on.
    """
    polls: list[int] = []
    answers = [LOGIN_OK, SingleCharFrame().encode() + b"\x68", IDENTITY]

    def class2(frame: FixedFrame | VariableFrame) -> bytes:
        polls.append(frame.control)
        return answers[min(len(polls), len(answers)) - 1]

    slow = Timing(request_timeout_ms=10_000, retries=0, content_timeout_ms=5_000)
    async with scripted_meter(meter_script(class2)) as (url, _):
        async with session_to(url, slow) as session:
            await session.start()
            async with asyncio.timeout(BOUND_S):
                result = await session.request(identity_request(1), TypeId.P_MP_NA_2)
    assert result.body == bytes.fromhex("24 42 c6 12 e1 02")
    assert len(polls) == 3 and polls[2] != polls[1]  # "no data", then a new poll
