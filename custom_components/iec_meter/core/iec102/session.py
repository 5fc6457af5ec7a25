"""An REE session with one meter: link start, login, requests, logout.

The sequence is the one working clients use: request link status, reset the remote
link, log in with C_AC_NA_2, then for each request send it as user data and poll class 2
until the answer comes; finish with C_FS_NA_2.

A meter that is still preparing its answer says "no data" to each poll. The first
repeat goes out at once (the answer usually follows it); further polls are paced with a
pause that doubles up to a bound, so a meter that has nothing is not polled as fast as
the line allows. When the content timeout runs out, :class:`NoData` says exactly that:
the meter answers, it just had nothing.

An answer whose structure is off (see :mod:`.checks`) is polled for again with the
same FCB, never polled past: a new FCB tells the meter its answer arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging

from ..errors import AuthenticationRejected, MeterError, NoData, NotSupported, ProtocolError
from ..timing import Timing
from ..transport import Transport
from .asdu import Asdu, login_request, logout_request
from .checks import Expected, answer_damage
from .constants import (
    NO_DATA_FAST_POLLS,
    NO_DATA_FIRST_PAUSE_S,
    NO_DATA_MAX_PAUSE_S,
    RANGE_END_CAUSES,
    Cause,
    PrimaryFunction,
    SecondaryFunction,
    TypeId,
)
from .frames import FixedFrame, Frame, SingleCharFrame, VariableFrame
from .link import Accept, Damage, FrameLog, LinkLayer
from .settings import Iec102Settings

_LOGGER = logging.getLogger(__name__)

_NOT_AVAILABLE_CAUSES = {
    Cause.RECORD_NOT_AVAILABLE: "requested data record not available",
    Cause.TYPE_NOT_AVAILABLE: "requested ASDU type not available",
    Cause.RECORD_NUMBER_UNKNOWN: "record number unknown",
    Cause.ADDRESS_UNKNOWN: "point address unknown",
    Cause.OBJECT_NOT_AVAILABLE: "requested information object not available",
    Cause.PERIOD_NOT_AVAILABLE: "requested integration period not available",
}
_ANSWER_CAUSES = frozenset({Cause.REQUEST, Cause.ACTIVATION_CONFIRMATION})


def _is_confirmation(frame: Frame) -> bool:
    return isinstance(frame, SingleCharFrame) or (
        isinstance(frame, FixedFrame) and frame.function == SecondaryFunction.ACK
    )


def _is_link_status(frame: Frame) -> bool:
    return isinstance(frame, FixedFrame) and frame.function == SecondaryFunction.LINK_STATUS


def class2_accept(expected: Expected) -> Accept:
    """What a class 2 poll takes: "no data", or an ASDU that can answer ``expected``.

    An ASDU whose structure cannot be an undamaged answer is :class:`Damage`: the poll
    goes again with the same FCB and the meter repeats it. Polling on (a new FCB) would
    tell the meter its answer arrived, and the answer would be lost.
    """

    def accept(frame: Frame) -> bool | Damage:
        if isinstance(frame, SingleCharFrame):
            return True
        if isinstance(frame, VariableFrame):
            if frame.function != SecondaryFunction.USER_DATA:
                return False
            reason = answer_damage(frame.asdu, expected)
            return True if reason is None else Damage(reason)
        return frame.function == SecondaryFunction.NO_DATA

    return accept


def negative_answer_error(asdu: Asdu) -> MeterError | None:
    """The error a negative or refusing answer stands for, if it is one."""
    if asdu.cause in _NOT_AVAILABLE_CAUSES:
        text = _NOT_AVAILABLE_CAUSES[Cause(asdu.cause)]
        return NotSupported(f"{asdu.describe()}: {text}", asdu.cause)
    if asdu.negative:
        if asdu.type_id == TypeId.C_AC_NA_2:
            return AuthenticationRejected("the meter rejected the password")
        return ProtocolError(f"negative confirmation: {asdu.describe()}")
    return None


class Iec102Session:
    """The session state with one meter on a transport someone else owns."""

    def __init__(
        self,
        transport: Transport,
        meter: Iec102Settings,
        timing: Timing,
        frame_log: FrameLog | None = None,
    ) -> None:
        """Prepare the session; nothing is sent yet."""
        self.meter = meter
        self.timing = timing
        self.link = LinkLayer(transport, meter.link_address, timing, frame_log)
        self.logged_in = False
        #: Round trips (frames sent and answered) since creation.
        self.round_trips = 0

    async def start(self) -> None:
        """Bring the link up and log in; raises AuthenticationRejected on a bad password."""
        self.logged_in = False
        await self._send_fixed(PrimaryFunction.REQUEST_LINK_STATUS, _is_link_status)
        await self._send_fixed(PrimaryFunction.RESET_REMOTE_LINK, _is_confirmation)
        self.link.reset_fcb()
        meter = self.meter
        await self.request(login_request(meter.point_address, meter.password), TypeId.C_AC_NA_2)
        self.logged_in = True
        _LOGGER.debug("link %d: logged in", meter.link_address)

    async def finish(self) -> None:
        """Log out; a meter that does not confirm is only logged (we are leaving anyway)."""
        if not self.logged_in:
            return
        self.logged_in = False
        try:
            # Leaving is best effort: never wait the whole content timeout for it.
            await self.request(
                logout_request(self.meter.point_address),
                TypeId.C_FS_NA_2,
                content_timeout=self.timing.request_timeout,
            )
        except MeterError as err:
            _LOGGER.debug("link %d: logout not confirmed: %s", self.meter.link_address, err)

    async def request(
        self, request: Asdu, answer_type: TypeId, content_timeout: float | None = None
    ) -> Asdu:
        """Send ``request`` and poll class 2 until the meter's answer of ``answer_type``.

        ``content_timeout`` bounds how long "no data yet" answers are accepted
        (default: the timing's content timeout).
        """
        await self._send_user_data(request.encode())
        limit = self.timing.content_timeout if content_timeout is None else content_timeout
        return await self._poll_answer(request, answer_type, limit)

    async def request_range(
        self,
        request: Asdu,
        answer_type: TypeId,
        content_timeout: float | None = None,
        on_answer: Callable[[Asdu], None] | None = None,
    ) -> list[Asdu]:
        """Send a range read (122/123/133/134) and collect its data ASDUs, in order.

        The meter confirms the request (echo with COT 7), sends any number of
        ``answer_type`` ASDUs with COT 5 and ends with the echo with COT 10. "Nothing
        (more) for this range" (COT 13, 17, 18) ends the read cleanly with what came so
        far; COT 14, 15, 16 raise :class:`NotSupported`. ``content_timeout`` bounds the
        "no data yet" answers between two pieces of content. ``on_answer`` sees each
        data ASDU as it arrives, so a caller keeps what came before a lost connection.
        """
        await self._send_user_data(request.encode())
        limit = self.timing.content_timeout if content_timeout is None else content_timeout
        collected: list[Asdu] = []
        request_type = TypeId(request.type_id)
        expected = Expected(request, answer_type, self.meter.point_address)
        while True:
            # The limit counts from the last piece of content, as a long range takes long.
            deadline = asyncio.get_running_loop().time() + limit
            answer = await self._poll_content(expected, deadline, limit)
            if answer.type_id in (request_type, answer_type):
                if answer.cause in RANGE_END_CAUSES:
                    _LOGGER.debug(
                        "link %d: range ends: %s", self.meter.link_address, answer.describe()
                    )
                    return collected
                error = negative_answer_error(answer)
                if error is not None:
                    raise error
            if answer.type_id == request_type and answer.cause == Cause.ACTIVATION_TERMINATION:
                return collected
            if answer.type_id == answer_type and answer.cause == Cause.REQUEST:
                self._check_point(answer)
                collected.append(answer)
                if on_answer is not None:
                    on_answer(answer)
                continue
            if not (
                answer.type_id == request_type and answer.cause == Cause.ACTIVATION_CONFIRMATION
            ):
                _LOGGER.debug(
                    "link %d: ignored %s during a range read",
                    self.meter.link_address,
                    answer.describe(),
                )

    async def _send_fixed(self, function: PrimaryFunction, accept: Accept) -> Frame:
        frame = await self.link.send_fixed(function, accept)
        self.round_trips += 1
        return frame

    async def _send_user_data(self, asdu: bytes) -> None:
        await self.link.send_user_data(asdu, _is_confirmation)
        self.round_trips += 1

    async def _poll_content(self, expected: Expected, deadline: float, limit: float) -> Asdu:
        """Poll class 2 until the meter sends an ASDU; pace repeated "no data" answers."""
        loop = asyncio.get_running_loop()
        accept = class2_accept(expected)
        empty = 0
        while True:
            frame = await self._send_fixed(PrimaryFunction.REQUEST_CLASS_2, accept)
            if isinstance(frame, VariableFrame):
                return Asdu.decode(frame.asdu)
            empty += 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NoData(
                    f"link address {self.meter.link_address}: the meter answers but had no "
                    f"data for {TypeId(expected.request.type_id).name} within {limit:g} s"
                )
            pause = no_data_pause(empty)
            if pause:
                await asyncio.sleep(min(pause, remaining))

    async def _poll_answer(self, request: Asdu, answer_type: TypeId, limit: float) -> Asdu:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        expected = Expected(request, answer_type, self.meter.point_address)
        while True:
            answer = await self._poll_content(expected, deadline, limit)
            if answer.type_id in (answer_type, request.type_id):
                error = negative_answer_error(answer)
                if error is not None:
                    raise error
            if answer.type_id == answer_type and answer.cause in _ANSWER_CAUSES:
                self._check_point(answer)
                return answer
            _LOGGER.debug(
                "link %d: ignored %s while waiting for %s",
                self.meter.link_address,
                answer.describe(),
                answer_type.name,
            )
            if loop.time() > deadline:
                raise ProtocolError(f"no {answer_type.name} among the meter's answers")

    def _check_point(self, answer: Asdu) -> None:
        if answer.point_address != self.meter.point_address:
            raise ProtocolError(
                f"answer for point address {answer.point_address}, "
                f"expected {self.meter.point_address}"
            )


def no_data_pause(empty: int) -> float:
    """Pause after the ``empty``-th "no data" answer in a row: 0, 0.02, 0.04, ... 1 s."""
    if empty <= NO_DATA_FAST_POLLS:
        return 0.0
    doublings = min(empty - NO_DATA_FAST_POLLS - 1, 16)
    return float(min(NO_DATA_FIRST_PAUSE_S * 2**doublings, NO_DATA_MAX_PAUSE_S))
