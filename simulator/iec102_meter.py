"""The protocol side of one simulated REE meter: frames in, frames out, no I/O.

It behaves as the working clients expect a real meter to: it answers only frames for
its link address, keeps one session, repeats its last answer when the FCB did not
toggle, queues ASDU answers for class 2 polls and says "no data" when it has none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
import logging
import struct

from custom_components.iec_meter.protocol.errors import ProtocolError
from custom_components.iec_meter.protocol.iec102.asdu import (
    Asdu,
    InstantValues,
    encode_clock,
    encode_identity,
    encode_instant_values,
    requested_objects,
)
from custom_components.iec_meter.protocol.iec102.constants import (
    PASSWORD_LENGTH,
    Cause,
    InstantObject,
    PrimaryFunction,
    SecondaryFunction,
    TypeId,
)
from custom_components.iec_meter.protocol.iec102.frames import (
    FixedFrame,
    VariableFrame,
    secondary_control,
)
from custom_components.iec_meter.protocol.reading import MeterIdentity

from .meter_model import MeterModel

_LOGGER = logging.getLogger(__name__)

_READ_ANSWERS = {
    TypeId.C_RD_NA_2: TypeId.P_MP_NA_2,
    TypeId.C_TI_NA_2: TypeId.M_TI_TA_2,
    TypeId.P_IN_VA_2: TypeId.R_IN_VA_2,
}


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
    logged_in: bool = False
    _last_fcb: bool | None = None
    _last_answer: bytes | None = None
    _pending: deque[Asdu] = field(default_factory=deque)
    _last_activity: datetime | None = None

    def __post_init__(self) -> None:
        """Match the model to the meter's wiring."""
        self.model.three_phase = self.config.three_phase

    def handle(self, frame: FixedFrame | VariableFrame) -> bytes | None:
        """Answer one frame from the client; None when it is not for us."""
        if frame.address != self.config.link_address or not frame.from_primary:
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
        self._pending.append(self._answer(request))
        return self._fixed(SecondaryFunction.ACK)

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
