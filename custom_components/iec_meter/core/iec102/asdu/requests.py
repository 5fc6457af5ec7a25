"""The requests the client sends (and the simulator reads back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
import struct

from ...errors import ProtocolError
from ..constants import (
    PASSWORD_MAX,
    RANGE_REQUEST_LENGTH,
    TIME_A_LENGTH,
    Cause,
    InstantObject,
    RecordAddress,
    TotalObject,
    TypeId,
)
from ..timecodec import decode_time_a, encode_time_a
from .header import Asdu


def login_request(point_address: int, password: int) -> Asdu:
    """C_AC_NA_2: open the session with the read password (4 bytes little-endian)."""
    if not 0 <= password <= PASSWORD_MAX:
        raise ValueError("password must fit in 32 bits")
    return Asdu(
        TypeId.C_AC_NA_2,
        Cause.ACTIVATION,
        point_address,
        count=1,
        body=struct.pack("<I", password),
    )


def logout_request(point_address: int) -> Asdu:
    """C_FS_NA_2: finish the session."""
    return Asdu(TypeId.C_FS_NA_2, Cause.ACTIVATION, point_address)


def identity_request(point_address: int) -> Asdu:
    """C_RD_NA_2: read manufacturer and equipment id."""
    return Asdu(TypeId.C_RD_NA_2, Cause.REQUEST, point_address)


def clock_request(point_address: int) -> Asdu:
    """C_TI_NA_2: read the meter's clock."""
    return Asdu(TypeId.C_TI_NA_2, Cause.REQUEST, point_address)


ALL_INSTANT_OBJECTS: tuple[InstantObject, ...] = tuple(InstantObject)


def instantaneous_request(
    point_address: int, objects: tuple[InstantObject, ...] = ALL_INSTANT_OBJECTS
) -> Asdu:
    """P_IN_VA_2: read instantaneous values (energy totals, powers, voltages/currents)."""
    return Asdu(
        TypeId.P_IN_VA_2,
        Cause.REQUEST,
        point_address,
        count=len(objects),
        body=bytes(objects),
    )


def requested_objects(asdu: Asdu) -> tuple[int, ...]:
    """Object ids listed in a P_IN_VA_2 request."""
    return tuple(asdu.body[: asdu.count])


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """The body of C_CI_NT_2 / C_CI_NU_2: objects first..last over a time range."""

    first_object: int
    last_object: int
    start: datetime | None
    end: datetime | None


def integrated_totals_request(
    point_address: int,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    incremental: bool = True,
    record: RecordAddress = RecordAddress.HOURLY,
    first: TotalObject = TotalObject.ACTIVE_IMPORT,
    last: TotalObject = TotalObject.RESERVE_2,
) -> Asdu:
    """C_CI_NU_2 (increments, the load profile) or C_CI_NT_2 (absolute) over a range."""
    if first > last:
        raise ValueError(f"first object {first} after last object {last}")
    type_id = TypeId.C_CI_NU_2 if incremental else TypeId.C_CI_NT_2
    body = bytes((first, last)) + encode_time_a(start, tz) + encode_time_a(end, tz)
    return Asdu(type_id, Cause.ACTIVATION, point_address, record, count=1, body=body)


def decode_range_request(asdu: Asdu, tz: tzinfo) -> RangeRequest:
    """Read the body of a range request back (the simulator's side)."""
    if len(asdu.body) < RANGE_REQUEST_LENGTH:
        raise ProtocolError(
            f"range request body of {len(asdu.body)} bytes, expected {RANGE_REQUEST_LENGTH}"
        )
    body = asdu.body
    end_of_start = 2 + TIME_A_LENGTH
    return RangeRequest(
        body[0],
        body[1],
        decode_time_a(body[2:end_of_start], tz),
        decode_time_a(body[end_of_start:RANGE_REQUEST_LENGTH], tz),
    )
