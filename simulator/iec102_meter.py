"""The protocol side of one simulated REE meter: frames in, frames out, no I/O.

It behaves as the working clients expect a real meter to: it answers only frames for
its link address, keeps one session, repeats its last answer when the FCB did not
toggle, queues ASDU answers for class 2 polls and says "no data" when it has none.
Its records (load profile, billing, contracted powers) come from a deterministic
history (:mod:`.history`); a range read's answers are made one poll at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
import itertools
import logging
import struct

from custom_components.iec_meter.core.errors import ProtocolError
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    InstantValues,
    decode_range_request,
    encode_clock,
    encode_identity,
    encode_instant_values,
    encode_integrated_totals,
    requested_objects,
)
from custom_components.iec_meter.core.iec102.asdu.billing import (
    decode_billing_range,
    encode_billing,
    encode_contracted_powers,
)
from custom_components.iec_meter.core.iec102.asdu.identity import MeterIdentity
from custom_components.iec_meter.core.iec102.constants import (
    BILLING_OBJECTS_PER_ASDU,
    PASSWORD_LENGTH,
    Cause,
    ContractRegister,
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

from .billing import BillingBook
from .history import EnergyHistory
from .meter_model import MeterModel
from .profile import STEPS, LoadProfile, ProfileFaults

_LOGGER = logging.getLogger(__name__)

_READ_ANSWERS = {
    TypeId.C_RD_NA_2: TypeId.P_MP_NA_2,
    TypeId.C_TI_NA_2: TypeId.M_TI_TA_2,
    TypeId.P_IN_VA_2: TypeId.R_IN_VA_2,
    TypeId.C_PC_NA_2: TypeId.M_PC_NA_2,
}

_RANGE_ANSWERS = {
    TypeId.C_CI_NT_2: TypeId.M_IT_TG_2,
    TypeId.C_CI_NU_2: TypeId.M_IT_TK_2,
}
_BILLING_ANSWERS = {
    TypeId.C_TA_VC_2: TypeId.M_TA_VC_2,
    TypeId.C_TA_VM_2: TypeId.M_TA_VM_2,
}
#: Most data ASDUs one range read returns (four months of hours), so that a request
#: cannot flood the meter; the client asks again from where the answers stopped.
MAX_RANGE_ANSWERS = 3000
#: Days of records the meter keeps, back from its clock.
DEFAULT_HISTORY_DAYS = 400
#: The only contract the simulated household has.
_CONTRACT = ContractRegister.CONTRACT_1
_CONTRACT_RECORDS = frozenset(int(item) for item in ContractRegister)

#: What a queued answer is: one ASDU, or the data of a range read, made poll by poll.
_Pending = Asdu | Iterator[Asdu]


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
    #: Days of records kept back from the clock (load profile and billing).
    history_days: int = DEFAULT_HISTORY_DAYS
    #: Spoil the history with a gap, an invalid, an incomplete and a synchronised hour.
    history_faults: bool = True
    logged_in: bool = False
    #: The energy of every quarter hour since the history began (set up at creation).
    history: EnergyHistory = field(init=False)
    #: The load-profile records; ``profile.faults`` says where the faults are.
    profile: LoadProfile = field(init=False)
    #: Closures, current period and contracted powers of contract I.
    billing: BillingBook = field(init=False)
    _instant_answers: int = 0
    _last_fcb: bool | None = None
    _last_answer: bytes | None = None
    _pending: deque[_Pending] = field(default_factory=deque)
    _last_activity: datetime | None = None

    def __post_init__(self) -> None:
        """Match the model to the meter's wiring; start the history from the clock.

        The history's origin and faults are placed once, from the clock's day at
        creation, so the records do not move while the meter runs.
        """
        self.model.three_phase = self.config.three_phase
        now = self.clock()
        self.history = EnergyHistory.for_model(self.model, self.tz, now, self.history_days)
        faults = ProfileFaults.before(now.astimezone(self.tz).date(), self.tz)
        self.profile = LoadProfile(self.history, faults if self.history_faults else None)
        self.billing = BillingBook(self.history)
        self.model.registers = self.history.live
        # Sum the days up to now at once: done at the first poll instead, it would keep a
        # simulator that shares the client's event loop silent past a short timeout.
        self.history.live(now)

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
        elif request.type_id in _BILLING_ANSWERS:
            self._pending.extend(self._billing(request))
        else:
            self._pending.append(self._answer(request))
        return self._fixed(SecondaryFunction.ACK)

    def _range_refusal(self, request: Asdu) -> Asdu | None:
        """The answer to a range read the meter will not serve, if it is one."""
        if request.point_address != self.config.point_address:
            return self._refuse(request, Cause.ADDRESS_UNKNOWN)
        if request.type_id in self.unsupported:
            return self._refuse(request, Cause.TYPE_NOT_AVAILABLE)
        if not self.logged_in:
            return self._confirm(request, negative=True)
        return None

    def _range(self, request: Asdu) -> list[_Pending]:
        """Confirmation, one integrated-totals ASDU per period, termination."""
        refusal = self._range_refusal(request)
        if refusal is not None:
            return [refusal]
        if request.record_address not in STEPS:
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
        record = RecordAddress(request.record_address)
        ends = self.profile.period_ends(record, wanted.start, wanted.end, self.clock())
        first = next(ends, None)
        if first is None:
            return [self._confirm(request), self._refuse(request, Cause.RECORD_NOT_AVAILABLE)]
        answer_type = _RANGE_ANSWERS[TypeId(request.type_id)]
        absolute = answer_type == TypeId.M_IT_TG_2

        def answers() -> Iterator[Asdu]:
            for end in itertools.islice(itertools.chain((first,), ends), MAX_RANGE_ANSWERS):
                totals = self.profile.totals(record, end, objects, absolute)
                count, body = encode_integrated_totals(totals, end, self.tz)
                yield self._data(answer_type, request, count, body)

        return [
            self._confirm(request),
            answers(),
            self._confirm(request, cause=Cause.ACTIVATION_TERMINATION),
        ]

    def _billing(self, request: Asdu) -> list[_Pending]:
        """Confirmation, each billing period (current or closure) in its ASDUs, termination."""
        refusal = self._range_refusal(request) or self._contract_refusal(request)
        if refusal is not None:
            return [refusal]
        now = self.clock()
        answer_type = _BILLING_ANSWERS[TypeId(request.type_id)]
        if request.type_id == TypeId.C_TA_VC_2:
            periods = [self.billing.current(now)]
        else:
            try:
                start, end = decode_billing_range(request, self.tz)
            except ProtocolError:
                return [self._refuse(request, Cause.RECORD_NUMBER_UNKNOWN)]
            if start is None or end is None:
                return [self._refuse(request, Cause.RECORD_NUMBER_UNKNOWN)]
            ends = self.billing.closure_ends(start, end, now)
            if not ends:
                return [self._confirm(request), self._refuse(request, Cause.RECORD_NOT_AVAILABLE)]
            periods = [self.billing.closure(closing) for closing in ends]
        # A frame holds at most three billing objects: each period takes several ASDUs.
        data: list[_Pending] = [
            self._data(answer_type, request, *encode_billing(part, self.tz))
            for objects in periods
            for part in itertools.batched(objects, BILLING_OBJECTS_PER_ASDU, strict=False)
        ]
        return [
            self._confirm(request),
            *data,
            self._confirm(request, cause=Cause.ACTIVATION_TERMINATION),
        ]

    def _contract_refusal(self, request: Asdu) -> Asdu | None:
        """COT 15 for a record that is no contract, 13 for a contract the meter lacks."""
        if request.record_address not in _CONTRACT_RECORDS:
            return self._refuse(request, Cause.RECORD_NUMBER_UNKNOWN)
        if request.record_address != _CONTRACT:
            return self._refuse(request, Cause.RECORD_NOT_AVAILABLE)
        return None

    def _data(self, type_id: TypeId, request: Asdu, count: int, body: bytes) -> Asdu:
        """One data ASDU (COT 5) answering ``request``."""
        return Asdu(
            type_id,
            Cause.REQUEST,
            self.config.point_address,
            request.record_address,
            count=count,
            body=body,
        )

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
        if type_id == TypeId.C_PC_NA_2:
            refusal = self._contract_refusal(request)
            if refusal is not None:
                return refusal
            count, body = encode_contracted_powers(self.billing.contracted_powers(), self.tz)
            return self._data(TypeId.M_PC_NA_2, request, count, body)
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

    def _next_pending(self) -> Asdu | None:
        """The next queued answer; a range read's data are made as they are polled."""
        while self._pending:
            head = self._pending[0]
            if isinstance(head, Asdu):
                self._pending.popleft()
                return head
            asdu = next(head, None)
            if asdu is not None:
                return asdu
            self._pending.popleft()
        return None

    def _class2(self) -> bytes:
        asdu = self._next_pending()
        if asdu is None:
            return self._fixed(SecondaryFunction.NO_DATA)
        control = secondary_control(SecondaryFunction.USER_DATA)
        return VariableFrame(control, self.config.link_address, asdu.encode()).encode()
