"""The link layer: which error says why every try failed, and the no-data pacing."""

from __future__ import annotations

import pytest

from custom_components.iec_meter.core.errors import (
    DamagedAnswers,
    MeterBusy,
    NoResponse,
    ProtocolError,
)
from custom_components.iec_meter.core.iec102.constants import PrimaryFunction, SecondaryFunction
from custom_components.iec_meter.core.iec102.frames import FixedFrame
from custom_components.iec_meter.core.iec102.link import LinkLayer, Outcome
from custom_components.iec_meter.core.iec102.session import no_data_pause
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings, Transport
from tests.scripted import fixed, scripted_meter, session_to

S, D, B, U = Outcome.SILENCE, Outcome.DAMAGED, Outcome.BUSY, Outcome.UNEXPECTED


def link() -> LinkLayer:
    return LinkLayer(Transport(LineSettings("socket://127.0.0.1:1")), 5, Timing())


@pytest.mark.parametrize(
    ("outcomes", "error", "text"),
    [
        ([S, S, S, S], NoResponse, "no answer after 4 tries of 3 s"),
        ([S, D, S, D], DamagedAnswers, "damaged (checksum / framing) in 2 of 4 tries"),
        ([U, D, U, U], DamagedAnswers, "in 1 of 4"),
        ([D, D, D, B], MeterBusy, "busy"),
        ([U, U, U, U], ProtocolError, "answered 4 times, never as the request expects"),
        ([U, S, U, U], NoResponse, "no answer"),
    ],
)
def test_failure_names_the_cause(outcomes: list[Outcome], error: type, text: str) -> None:
    err = link()._failure(outcomes)
    assert type(err) is error
    assert text in str(err)
    assert str(err).startswith("link address 5")


def test_outcomes_are_an_enum_with_readable_values() -> None:
    assert Outcome.DAMAGED.value == "damaged answer"
    assert {o.name for o in Outcome} == {"SILENCE", "DAMAGED", "BUSY", "UNEXPECTED"}


def test_hints_point_the_right_way() -> None:
    assert "wiring" in NoResponse.hint
    assert "parity" in DamagedAnswers.hint and "termination" in DamagedAnswers.hint
    assert DamagedAnswers.hint != NoResponse.hint


def test_no_data_pause_grows_and_is_bounded() -> None:
    pauses = [no_data_pause(n) for n in range(1, 12)]
    assert pauses[0] == 0.0  # the first repeat goes out at once
    assert pauses[1:5] == [0.02, 0.04, 0.08, 0.16]
    assert max(pauses) == 1.0
    assert no_data_pause(1000) == 1.0


async def test_busy_then_answer() -> None:
    answers = [fixed(SecondaryFunction.NACK_BUSY), fixed(SecondaryFunction.LINK_STATUS)]
    async with scripted_meter(lambda frame: answers.pop(0)) as (url, received):
        async with session_to(url, Timing(request_timeout_ms=100)) as session:
            frame = await session.link.send_fixed(
                PrimaryFunction.REQUEST_LINK_STATUS,
                lambda f: True,
            )
    assert frame == FixedFrame(0x0B, 1)
    assert len(received) == 2


# --- Session answers from a scripted meter -------------------------------------------------
from custom_components.iec_meter.core.errors import AuthenticationRejected, NoData  # noqa: E402
from custom_components.iec_meter.core.iec102.asdu import Asdu, identity_request  # noqa: E402
from custom_components.iec_meter.core.iec102.constants import TypeId  # noqa: E402
from custom_components.iec_meter.core.iec102.frames import VariableFrame  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from tests.scripted import Script, meter_script  # noqa: E402

QUICK = Timing(request_timeout_ms=100, retries=1, content_timeout_ms=300, inter_request_delay_ms=1)


def _data(asdu: Asdu) -> bytes:
    return VariableFrame(0x08, 1, asdu.encode()).encode()


LOGIN_OK = _data(Asdu(TypeId.C_AC_NA_2, 7, 1, count=1, body=b"\x01\0\0\0"))


def repeating(script: Script) -> Script:
    """``script`` as a real meter runs it: an FCV frame with the last FCB gets the last answer.

    A frame sent again after damage is then answered with what the meter really sent,
    not with its next answer.
    """
    last: list[tuple[bool, bytes]] = []  # FCB and answer of the last FCV frame

    def answer(frame: FixedFrame | VariableFrame) -> bytes:
        if frame.function == PrimaryFunction.RESET_REMOTE_LINK:
            last.clear()
        if frame.fcv and last and last[0][0] == frame.fcb:
            return last[0][1]
        sent = script(frame)
        if frame.fcv:
            last[:] = [(frame.fcb, sent)]
        return sent

    return answer


def _sequence(*answers: bytes) -> Script:
    queue = [LOGIN_OK, *answers]
    return repeating(
        meter_script(lambda frame: queue.pop(0) if queue else fixed(SecondaryFunction.NO_DATA))
    )


@pytest.mark.parametrize(
    ("answers", "error", "text"),
    [
        ((_data(Asdu(TypeId.P_MP_NA_2, 5, 2)),), ProtocolError, "point address 2"),
        ((_data(Asdu(TypeId.C_RD_NA_2, 7, 1, negative=True)),), ProtocolError, "negative"),
        ((_data(Asdu(99, 5, 1)), b"\xe5"), NoData, "no data for C_RD_NA_2"),
    ],
)
async def test_request_answers(answers: tuple[bytes, ...], error: type, text: str) -> None:
    async with scripted_meter(_sequence(*answers)) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            with pytest.raises(error, match=text):
                await session.request(identity_request(1), TypeId.P_MP_NA_2)


async def test_range_ignores_strays_and_login_can_be_rejected() -> None:
    request = Asdu(TypeId.C_CI_NU_2, 6, 1, 11, count=1, body=bytes(12))
    script = _sequence(
        _data(Asdu(TypeId.C_CI_NU_2, 7, 1, 11)),
        _data(Asdu(99, 5, 1)),
        _data(Asdu(TypeId.M_IT_TK_2, 5, 1, 11)),
        _data(Asdu(TypeId.C_CI_NU_2, 10, 1, 11)),
    )
    async with scripted_meter(script) as (url, _):
        async with session_to(url, QUICK) as session:
            await session.start()
            assert len(await session.request_range(request, TypeId.M_IT_TK_2)) == 1
    rejected = meter_script(lambda frame: _data(Asdu(TypeId.C_AC_NA_2, 7, 1, negative=True)))
    async with scripted_meter(rejected) as (url, _):
        async with session_to(url, QUICK) as session:
            with pytest.raises(AuthenticationRejected):
                await session.start()


@pytest.mark.parametrize("fields", [(70000, 1, 1), (1, 70000, 1), (1, 1, 2**32)])
def test_meter_address_ranges(fields: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        Iec102Settings(*fields)
