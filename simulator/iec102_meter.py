"""The protocol side of one simulated REE meter: frames in, frames out, no I/O.

It behaves as the working clients expect a real meter to: it answers only frames for
its link address, keeps one session, repeats its last answer when the FCB did not
toggle, queues ASDU answers for class 2 polls and says "no data" when it has none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
import logging
import struct

from custom_components.iec_meter.core.errors import ProtocolError
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    InstantValues,
    IntegratedTotal,
    decode_range_request,
    encode_clock,
    encode_identity,
    encode_instant_values,
    encode_integrated_totals,
    requested_objects,
)
from custom_components.iec_meter.core.iec102.asdu.identity import MeterIdentity
from custom_components.iec_meter.core.iec102.constants import (
    PASSWORD_LENGTH,
    TOTAL_QUALIFIER_INVALID,
    Cause,
    InstantObject,
    PrimaryFunction,
    RecordAddress,
    SecondaryFunction,
    TotalObject,
    TypeId,
)
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    VariableFrame,
    secondary_control,
)

from .meter_model import MeterModel

_LOGGER = logging.getLogger(__name__)

_READ_ANSWERS = {
    TypeId.C_RD_NA_2: TypeId.P_MP_NA_2,
    TypeId.C_TI_NA_2: TypeId.M_TI_TA_2,
    TypeId.P_IN_VA_2: TypeId.R_IN_VA_2,
}

_RANGE_ANSWERS = {
    TypeId.C_CI_NT_2: TypeId.M_IT_TG_2,
    TypeId.C_CI_NU_2: TypeId.M_IT_TK_2,
}
#: Most hourly periods one range read returns (a month), so a request cannot flood us.
MAX_RANGE_PERIODS = 31 * 24
_HOUR = timedelta(hours=1)
_RESERVES = (TotalObject.RESERVE_1, TotalObject.RESERVE_2)
#: Share of the load the model books as inductive reactive energy (R1).
_REACTIVE_SHARE = 0.2


@dataclass
class MeterConfig:
    """Addresses, password and identity of one simulated meter."""

    link_address: int = 1
    point_address: int = 1
    password: int = 1
    manufacturer_code: int = 66
    serial_number: int = 0
    three_phase: bool = True
    #: Seconds of silence after which the meter forgets the login (0: never).
    session_timeout: float = 0.0

    def __post_init__(self) -> None:
        """Derive a serial number from the link address when none is given."""
        if not self.serial_number:
            self.serial_number = 48_300_000 + self.link_address


@dataclass
class SimulatedMeter:
    """One meter's link and session state."""

    config: MeterConfig
    tz: tzinfo
    clock: Callable[[], datetime]
    reject_login: bool = False
    unsupported: frozenset[int] = frozenset()
    model: MeterModel = field(default_factory=MeterModel)
    #: Instantaneous objects (192/193/194) this meter never sends, even when asked.
    never_send: frozenset[int] = frozenset()
    #: Leave the voltages and currents (194) out of every Nth instantaneous answer.
    omit_phases_every: int = 0
    #: The meter died: it hears its frames but never answers any of them.
    dead: bool = False
    logged_in: bool = False
    _instant_answers: int = 0
    _last_fcb: bool | None = None
    _last_answer: bytes | None = None
    _pending: deque[Asdu] = field(default_factory=deque)
    _last_activity: datetime | None = None

    def __post_init__(self) -> None:
        """Match the model to the meter's wiring."""
        self.model.three_phase = self.config.three_phase

    def handle(self, frame: FixedFrame | VariableFrame) -> bytes | None:
        """Answer one frame from the client; None when it is not for us."""
        if frame.address != self.config.link_address or not frame.from_primary or self.dead:
            return None
        self._expire_session()
        function = frame.function
        if frame.fcv:
            if self._last_fcb is not None and frame.fcb == self._last_fcb and self._last_answer:
                _LOGGER.debug("link %d: repeated FCB, repeating answer", frame.address)
                return self._last_answer
            self._last_fcb = frame.fcb
        if function == PrimaryFunction.REQUEST_LINK_STATUS:
            answer = self._fixed(SecondaryFunction.LINK_STATUS)
        elif function == PrimaryFunction.RESET_REMOTE_LINK:
            self._last_fcb = None
            self._pending.clear()
            self.logged_in = False
            answer = self._fixed(SecondaryFunction.ACK)
        elif function == PrimaryFunction.USER_DATA and isinstance(frame, VariableFrame):
            answer = self._user_data(frame.asdu)
        elif function == PrimaryFunction.REQUEST_CLASS_2:
            answer = self._class2()
        else:
            answer = self._fixed(SecondaryFunction.NO_DATA)
        if frame.fcv:
            self._last_answer = answer
        return answer

    def _expire_session(self) -> None:
        now = self.clock()
        timeout = self.config.session_timeout
        if (
            timeout
            and self._last_activity is not None
            and now - self._last_activity > timedelta(seconds=timeout)
        ):
            self.logged_in = False
        self._last_activity = now

    def _fixed(self, function: SecondaryFunction) -> bytes:
        return FixedFrame(secondary_control(function), self.config.link_address).encode()

    def _user_data(self, raw: bytes) -> bytes:
        try:
            request = Asdu.decode(raw)
        except ProtocolError:
            return self._fixed(SecondaryFunction.NACK_BUSY)
        if request.type_id in _RANGE_ANSWERS:
            self._pending.extend(self._range(request))
        else:
            self._pending.append(self._answer(request))
        return self._fixed(SecondaryFunction.ACK)

    def _range(self, request: Asdu) -> list[Asdu]:
        """Confirmation, one integrated-totals ASDU per hour, termination."""
        config = self.config
        if request.point_address != config.point_address:
            return [self._refuse(request, Cause.ADDRESS_UNKNOWN)]
        if request.type_id in self.unsupported:
            return [self._refuse(request, Cause.TYPE_NOT_AVAILABLE)]
        if not self.logged_in:
            return [self._confirm(request, negative=True)]
        if request.record_address != RecordAddress.HOURLY:
            return [self._refuse(request, Cause.PERIOD_NOT_AVAILABLE)]
        try:
            wanted = decode_range_request(request, self.tz)
        except ProtocolError:
            return [self._refuse(request, Cause.RECORD_NUMBER_UNKNOWN)]
        if wanted.start is None or wanted.end is None:
            return [self._refuse(request, Cause.RECORD_NUMBER_UNKNOWN)]
        objects = [
            item for item in TotalObject if wanted.first_object <= item <= wanted.last_object
        ]
        if not objects:
            return [self._refuse(request, Cause.OBJECT_NOT_AVAILABLE)]
        ends = self._period_ends(wanted.start, min(wanted.end, self.clock()))
        if not ends:
            return [self._confirm(request), self._refuse(request, Cause.RECORD_NOT_AVAILABLE)]
        answer_type = _RANGE_ANSWERS[TypeId(request.type_id)]
        absolute = answer_type == TypeId.M_IT_TG_2
        answers = [self._confirm(request)]
        for end in ends:
            totals = self._period_totals(end, objects, absolute)
            count, body = encode_integrated_totals(totals, end, self.tz)
            answers.append(
                Asdu(
                    answer_type,
                    Cause.REQUEST,
                    config.point_address,
                    request.record_address,
                    count=count,
                    body=body,
                )
            )
        answers.append(self._confirm(request, cause=Cause.ACTIVATION_TERMINATION))
        return answers

    @staticmethod
    def _period_ends(start: datetime, end: datetime) -> list[datetime]:
        """Period ends on the hour from ``start`` to ``end``, inclusive (at most a month)."""
        first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if first < start:
            first += _HOUR
        ends: list[datetime] = []
        current = first
        while current <= end and len(ends) < MAX_RANGE_PERIODS:
            ends.append(current)
            current += _HOUR
        return ends

    def _period_totals(
        self, end: datetime, objects: list[TotalObject], absolute: bool
    ) -> list[IntegratedTotal]:
        """Energy of the hour ending at ``end`` (or the registers then, if absolute)."""
        middle = (end - _HOUR / 2).astimezone(self.tz)
        net = self.model.load_kw(middle) - self.model.solar_kw(middle)
        increments = {
            TotalObject.ACTIVE_IMPORT: max(net, 0.0),
            TotalObject.ACTIVE_EXPORT: max(-net, 0.0),
            TotalObject.REACTIVE_Q1: max(net, 0.0) * _REACTIVE_SHARE,
        }
        totals = []
        for item in objects:
            if item in _RESERVES:
                totals.append(IntegratedTotal(item, 0, TOTAL_QUALIFIER_INVALID))
                continue
            value = increments.get(item, 0.0)
            if absolute:
                value += self._register(item)
            totals.append(IntegratedTotal(item, round(value)))
        return totals

    def _register(self, item: TotalObject) -> float:
        model = self.model
        if item == TotalObject.ACTIVE_IMPORT:
            return model.energy_import_kwh
        if item == TotalObject.ACTIVE_EXPORT:
            return model.energy_export_kwh
        return model.reactive_kvarh[item - TotalObject.REACTIVE_Q1]

    def _confirm(
        self, request: Asdu, negative: bool = False, cause: Cause = Cause.ACTIVATION_CONFIRMATION
    ) -> Asdu:
        return Asdu(
            request.type_id,
            cause,
            request.point_address,
            request.record_address,
            count=request.count,
            body=request.body,
            negative=negative,
        )

    def _answer(self, request: Asdu) -> Asdu:
        config = self.config
        type_id = request.type_id
        if request.point_address != config.point_address:
            return self._refuse(request, Cause.ADDRESS_UNKNOWN)
        if type_id == TypeId.C_AC_NA_2:
            password = struct.unpack_from("<I", request.body.ljust(PASSWORD_LENGTH, b"\0"))[0]
            accepted = password == config.password and not self.reject_login
            self.logged_in = accepted
            return Asdu(
                TypeId.C_AC_NA_2,
                Cause.ACTIVATION_CONFIRMATION,
                config.point_address,
                count=1,
                body=request.body,
                negative=not accepted,
            )
        if type_id == TypeId.C_FS_NA_2:
            self.logged_in = False
            return Asdu(TypeId.C_FS_NA_2, Cause.ACTIVATION_CONFIRMATION, config.point_address)
        if type_id in self.unsupported or type_id not in _READ_ANSWERS:
            return self._refuse(request, Cause.TYPE_NOT_AVAILABLE)
        if not self.logged_in:
            return Asdu(type_id, Cause.ACTIVATION_CONFIRMATION, config.point_address, negative=True)
        now = self.clock()
        if type_id == TypeId.C_RD_NA_2:
            identity = MeterIdentity(config.manufacturer_code, config.serial_number, 4, 2002)
            return Asdu(
                TypeId.P_MP_NA_2,
                Cause.REQUEST,
                config.point_address,
                count=1,
                body=encode_identity(identity),
            )
        if type_id == TypeId.C_TI_NA_2:
            return Asdu(
                TypeId.M_TI_TA_2,
                Cause.REQUEST,
                config.point_address,
                count=1,
                body=encode_clock(now, self.tz),
            )
        return self._instant_values(request, now)

    def _instant_values(self, request: Asdu, now: datetime) -> Asdu:
        wanted = set(requested_objects(request))
        sample = self.model.sample(now)
        if not wanted <= {int(item) for item in InstantObject}:
            return self._refuse(request, Cause.OBJECT_NOT_AVAILABLE)
        self._instant_answers += 1
        wanted -= self.never_send
        if self.omit_phases_every and self._instant_answers % self.omit_phases_every == 0:
            wanted.discard(InstantObject.VOLTAGES_CURRENTS)
        values = InstantValues(
            energy=sample.energy if InstantObject.ENERGY_TOTALS in wanted else None,
            powers=sample.powers if InstantObject.POWERS in wanted else None,
            phases=sample.phases if InstantObject.VOLTAGES_CURRENTS in wanted else None,
        )
        count, body = encode_instant_values(values, self.tz, now)
        return Asdu(
            TypeId.R_IN_VA_2, Cause.REQUEST, self.config.point_address, count=count, body=body
        )

    def _refuse(self, request: Asdu, cause: Cause) -> Asdu:
        return Asdu(request.type_id, cause, request.point_address, negative=True)

    def _class2(self) -> bytes:
        if not self._pending:
            return self._fixed(SecondaryFunction.NO_DATA)
        asdu = self._pending.popleft()
        control = secondary_control(SecondaryFunction.USER_DATA)
        return VariableFrame(control, self.config.link_address, asdu.encode()).encode()
