"""Structural checks of the meter's answers: what an 8-bit checksum lets through.

The FT1.2 checksum is a sum modulo 256, so two hits in one frame that cancel (the same
bit flipped up in one byte and down in another, or bit 7 twice) pass it; on a noisy
line that is a register off by millions or a current of 13,108 A. The frame itself
still has fields whose values are fixed or bounded by the layout, and many hits land
in one of them:

- the control byte (reserved bit, functions a meter sends in that kind of frame);
- the ASDU header: a known type, SQ and T bits clear, a known cause, cause 5 on data
  and 7 on the session's confirmations, P/N set on refusals (a hit turning 5 into 13
  or 17 would quietly end a range read), the record of the request (any profile
  record for profile data), echoes equal to the request;
- the object count against the length, object addresses in order and as asked;
- time tags: minute, hour, day, month and year in range and a real date, profile
  periods ending on their record's grid, and the one stamp every object of an
  instantaneous answer repeats (compared byte for byte);
- bits the layout leaves unused, reserved quality bits, a power factor above 1.

:func:`answer_damage` says why an ASDU cannot be an undamaged answer to the request,
or None. The link then sends the request again with the same FCB, so the meter
repeats its answer; a meter that repeats a frame exactly is taken at its word (a rule
here was wrong about that meter, see :mod:`.link`). The point address is left to the
session. Nothing here judges whether a value is plausible: two hits inside the value
bits of registers are left to the caller (tests/core/test_answer_checks.py counts
them).

What real meters set is left alone (PROTOCOLS.md): the weekday, the RES1 bits of the
hour, the ETI/PTI bits of the month and the TIS bit of the minute of a TimeA; RES2
(bit 7 of the year) too, for want of a source either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
import struct

from .asdu import Asdu, requested_objects
from .constants import (
    ASDU_HEADER_LENGTH,
    BILLING_OBJECT_LENGTH,
    BILLING_TOTAL_OBJECT,
    CONTRACTED_POWER_LENGTH,
    CONTROL_RESERVED_BIT,
    COT_CAUSE_MASK,
    COT_TEST,
    ENERGY_INVALID_BIT,
    ENERGY_REGISTER_COUNT,
    ENERGY_UNUSED_BITS,
    FIXED_SECONDARY_FUNCTIONS,
    IDENTITY_LENGTH,
    INSTANT_OBJECT_LENGTH,
    PHASE_BLOCK_COUNT,
    PHASE_BLOCK_LENGTH,
    POWER_BLOCK_COUNT,
    POWER_BLOCK_LENGTH,
    POWER_FACTOR_MASK,
    POWER_FACTOR_SCALE,
    POWER_FACTOR_SHIFT,
    POWER_INVALID_BIT,
    POWER_UNUSED_BITS,
    QUALIFIER_RESERVED_BIT,
    RANGE_REQUEST_LENGTH,
    TIME_A_CENTURY,
    TIME_A_DAY_MASK,
    TIME_A_HOUR_MASK,
    TIME_A_INVALID_BIT,
    TIME_A_LENGTH,
    TIME_A_MINUTE_MASK,
    TIME_A_MONTH_MASK,
    TIME_A_YEAR_MASK,
    TIME_B_LENGTH,
    TIME_B_MILLIS_MASK,
    TIME_B_SECONDS_SHIFT,
    TOTAL_OBJECT_LENGTH,
    VOLTAGE_INVALID_BIT,
    VOLTAGE_UNUSED_BITS,
    VSQ_SQ_BIT,
    Cause,
    InstantObject,
    RecordAddress,
    SecondaryFunction,
    TypeId,
)
from .frames import FixedFrame, VariableFrame

#: Causes that refuse a request: they carry no data to check.
REFUSAL_CAUSES = frozenset(
    {
        Cause.RECORD_NOT_AVAILABLE,
        Cause.TYPE_NOT_AVAILABLE,
        Cause.RECORD_NUMBER_UNKNOWN,
        Cause.ADDRESS_UNKNOWN,
        Cause.OBJECT_NOT_AVAILABLE,
        Cause.PERIOD_NOT_AVAILABLE,
    }
)
_KNOWN_CAUSES = frozenset(int(cause) for cause in Cause)
_KNOWN_TYPES = frozenset(int(type_id) for type_id in TypeId)
_INSTANT_IDS = frozenset(int(item) for item in InstantObject)
#: Records a profile answer may name: any profile's (the period's grid follows its own
#: record). Other answers name the record of the request (0 for single reads).
_DATA_RECORDS: dict[int, tuple[int, ...]] = {
    TypeId.M_IT_TG_2: tuple(RecordAddress),
    TypeId.M_IT_TK_2: tuple(RecordAddress),
}
#: Answers that confirm a command of the session (login, logout) rather than carry data.
_CONFIRMED = frozenset({TypeId.C_AC_NA_2, TypeId.C_FS_NA_2})
#: Billing object addresses: 20 the totals, 21.. the tariff periods (one source lists 29).
_BILLING_ADDRESSES = range(BILLING_TOTAL_OBJECT, 30)
#: Contracted powers are addressed 1..6 or, as in billing, 21..26 (both are read).
_POWER_PERIODS = frozenset((*range(1, 7), *range(21, 27)))
#: The minutes an integration period of each record ends on.
_GRID_MINUTES: dict[int, int] = {
    RecordAddress.HOURLY: 60,
    RecordAddress.QUARTER_HOURLY: 15,
    RecordAddress.DAILY: 60,
}
_MAX_YEAR = 99
_MAX_MINUTE = 59
_MAX_HOUR = 23
_MAX_MONTH = 12
_MAX_MILLIS = 999
_MAX_SECOND = 59
_WORD = struct.Struct("<I")
_BLOCK = struct.Struct("<Q")
_NO_DATE = bytes(TIME_A_LENGTH)
#: Offsets inside one 63-byte billing object (layout in PROTOCOLS.md): the quality
#: bytes of the three energies (address + 2 x uint32 each), of the two reserves
#: (uint32 each), of the maximum demand (uint32 + TimeA) and of the excess power; then
#: the time tags of the maximum demand and of the period's start and end.
_BILLING_QUALIFIERS = (9, 18, 27, 32, 37, 47, 52)
_BILLING_TIMES = (42, 53, 58)


@dataclass(frozen=True, slots=True)
class Expected:
    """What may answer ``request``: ``answer_type`` for ``point_address``, or the echo."""

    request: Asdu
    answer_type: int
    point_address: int


def control_damage(frame: FixedFrame | VariableFrame) -> str | None:
    """Why a frame from the meter cannot carry its control byte, or None."""
    if frame.control & CONTROL_RESERVED_BIT:
        return f"reserved bit set in control byte 0x{frame.control:02X}"
    if isinstance(frame, VariableFrame):
        if frame.function != SecondaryFunction.USER_DATA:
            return f"variable frame with function {frame.function}"
    elif frame.function not in FIXED_SECONDARY_FUNCTIONS:
        return f"fixed frame with function {frame.function}"
    return None


def answer_damage(raw: bytes, expected: Expected) -> str | None:
    """Why ``raw`` (an ASDU from the meter) cannot be an undamaged answer, or None.

    The point address is left to the session, which refuses an answer for another
    point outright (it is the user's setting, not the line, that is wrong there).
    """
    if len(raw) < ASDU_HEADER_LENGTH:
        return f"ASDU of {len(raw)} bytes"
    type_id, vsq, cot = raw[0], raw[1], raw[2]
    if type_id not in _KNOWN_TYPES:
        return f"unknown type {type_id}"
    if vsq & VSQ_SQ_BIT:
        return "SQ bit set (REE sends objects one by one)"
    if cot & COT_TEST:
        return "test bit set in the cause of transmission"
    if cot & COT_CAUSE_MASK not in _KNOWN_CAUSES:
        return f"unknown cause {cot & COT_CAUSE_MASK}"
    asdu = Asdu.decode(raw)
    request = expected.request
    if asdu.cause in REFUSAL_CAUSES:
        # A refusal ends a read (a range read quietly, with what came): one hit turning
        # cause 5 into 13 or 17 must not cut it short. Meters set P/N on refusals.
        return None if asdu.negative else f"refusal (cause {asdu.cause}) not negative"
    if type_id == expected.answer_type:
        return _answer_damage(asdu, request)
    if type_id == request.type_id:
        return _echo_damage(asdu, request)
    # Another type: the session leaves it (a stray or stale answer). Only a layout that
    # type cannot have shows a hit in the type byte, which would lose the real answer.
    return _layout_damage(asdu, None)


def _echo_damage(asdu: Asdu, request: Asdu) -> str | None:
    """The request echoed: confirmation (7) or termination (10) of a range read."""
    if asdu.cause == Cause.ACTIVATION_CONFIRMATION and asdu.negative:
        return None  # refused (not logged in): no more to check
    if asdu.negative or asdu.cause not in (
        Cause.ACTIVATION_CONFIRMATION,
        Cause.ACTIVATION_TERMINATION,
    ):
        return f"request echoed with cause {asdu.cause}"
    if asdu.record_address != request.record_address:
        return f"echo of record {asdu.record_address}, asked {request.record_address}"
    # Some meters may echo the header only; one that echoes the body echoes it all.
    if asdu.body and (asdu.body != request.body or asdu.count != request.count):
        return "echo differs from the request"
    return None


def _answer_damage(asdu: Asdu, request: Asdu) -> str | None:
    if asdu.negative:
        # A refusal of the answer type (not logged in, wrong password): nothing to check.
        return None if asdu.cause == Cause.ACTIVATION_CONFIRMATION else "negative data"
    # Data comes with cause 5; only the session's own commands are confirmed (7).
    cause = Cause.ACTIVATION_CONFIRMATION if asdu.type_id in _CONFIRMED else Cause.REQUEST
    if asdu.cause != cause:
        return f"answer with cause {asdu.cause}"
    records = _DATA_RECORDS.get(asdu.type_id)
    if asdu.record_address not in (records or (request.record_address,)):
        return f"answer for record {asdu.record_address}, asked {request.record_address}"
    return _layout_damage(asdu, request)


def _layout_damage(asdu: Asdu, request: Asdu | None) -> str | None:
    """What the type's layout rules out; ``request`` (when known) narrows the objects."""
    check = _LAYOUTS.get(asdu.type_id)
    return None if check is None else check(asdu, request)


def _login(asdu: Asdu, request: Asdu | None) -> str | None:
    if request is not None and (asdu.count != request.count or asdu.body != request.body):
        return "login confirmation differs from the request"
    return None


def _logout(asdu: Asdu, request: Asdu | None) -> str | None:
    return "logout confirmation with objects" if asdu.count or asdu.body else None


def _identity(asdu: Asdu, request: Asdu | None) -> str | None:
    if asdu.count != 1 or len(asdu.body) != IDENTITY_LENGTH:
        return _size(asdu)
    month = asdu.body[0] & 0x0F
    return None if 1 <= month <= _MAX_MONTH else f"standard date month {month}"


def _clock(asdu: Asdu, request: Asdu | None) -> str | None:
    if asdu.count != 1 or len(asdu.body) != TIME_B_LENGTH:
        return _size(asdu)
    return time_b_damage(asdu.body)


def _instant(asdu: Asdu, request: Asdu | None) -> str | None:
    """Objects 192/193/194 as asked, each once, filling the body, with one time stamp."""
    body = asdu.body
    asked = _INSTANT_IDS if request is None else set(requested_objects(request)) & _INSTANT_IDS
    seen: set[int] = set()
    stamps: set[bytes] = set()
    pos = 0
    for _ in range(asdu.count):
        if pos >= len(body):
            return _size(asdu)
        object_id = body[pos]
        if object_id not in asked or object_id in seen:
            return f"object {object_id} not asked for or repeated"
        seen.add(object_id)
        length = INSTANT_OBJECT_LENGTH[InstantObject(object_id)]
        data = body[pos + 1 : pos + 1 + length - TIME_A_LENGTH]
        stamp = body[pos + 1 + length - TIME_A_LENGTH : pos + 1 + length]
        if len(stamp) != TIME_A_LENGTH:
            return _size(asdu)
        pos += 1 + length
        stamps.add(stamp)
        reason = _INSTANT_OBJECTS[InstantObject(object_id)](data) or time_a_damage(stamp)
        if reason is not None:
            return f"object {object_id}: {reason}"
    if pos != len(body):
        return _size(asdu)
    # The meter stamps one answer once: every object repeats the same five bytes.
    return "objects with different time stamps" if len(stamps) > 1 else None


def _energies(data: bytes) -> str | None:
    for index in range(ENERGY_REGISTER_COUNT):
        (word,) = _WORD.unpack_from(data, index * _WORD.size)
        if not word & ENERGY_INVALID_BIT and word & ENERGY_UNUSED_BITS:
            return "unused bit of an energy register set"
    return None


def _powers(data: bytes) -> str | None:
    for index in range(POWER_BLOCK_COUNT):
        (word,) = _BLOCK.unpack_from(data, index * POWER_BLOCK_LENGTH)
        if word & POWER_INVALID_BIT:
            continue
        if word & POWER_UNUSED_BITS:
            return "unused bit of a power block set"
        if (word >> POWER_FACTOR_SHIFT) & POWER_FACTOR_MASK > POWER_FACTOR_SCALE:
            return "power factor above 1"
    return None


def _phases(data: bytes) -> str | None:
    for index in range(PHASE_BLOCK_COUNT):
        (word,) = _WORD.unpack_from(data, index * PHASE_BLOCK_LENGTH + 3)
        if not word & VOLTAGE_INVALID_BIT and word & VOLTAGE_UNUSED_BITS:
            return "unused bit of a voltage set"
    return None


_INSTANT_OBJECTS = {
    InstantObject.ENERGY_TOTALS: _energies,
    InstantObject.POWERS: _powers,
    InstantObject.VOLTAGES_CURRENTS: _phases,
}


def _totals(asdu: Asdu, request: Asdu | None) -> str | None:
    """Objects first..last of the request in order, their quality bytes, the period end."""
    body = asdu.body
    if len(body) != asdu.count * TOTAL_OBJECT_LENGTH + TIME_A_LENGTH:
        return _size(asdu)
    asked = request is not None and len(request.body) == RANGE_REQUEST_LENGTH
    first, last = (request.body[0], request.body[1]) if request and asked else (0, 0xFF)
    previous = first - 1
    for index in range(asdu.count):
        offset = index * TOTAL_OBJECT_LENGTH
        address, qualifier = body[offset], body[offset + TOTAL_OBJECT_LENGTH - 1]
        if not previous < address <= last:
            return f"object {address} out of order or not asked for"
        previous = address
        if qualifier & QUALIFIER_RESERVED_BIT:
            return f"reserved quality bit of object {address} set"
    stamp = body[-TIME_A_LENGTH:]
    return time_a_damage(stamp) or _grid_damage(stamp, asdu.record_address)


def _grid_damage(stamp: bytes, record: int) -> str | None:
    """Integration periods end on the clock's grid: hours and days on the hour, days at 0:00."""
    if stamp == _NO_DATE or stamp[0] & TIME_A_INVALID_BIT:
        return None
    minute = stamp[0] & TIME_A_MINUTE_MASK
    hour = stamp[1] & TIME_A_HOUR_MASK
    step = _GRID_MINUTES.get(record)
    if step is not None and minute % step:
        return f"period end at minute {minute} of record {record}"
    if record == RecordAddress.DAILY and hour:
        return f"day ending at {hour}:{minute:02d}"
    return None


def _billing(asdu: Asdu, request: Asdu | None) -> str | None:
    """Objects 20.. in order, reserved quality bits clear, the three time tags valid."""
    body = asdu.body
    if len(body) != asdu.count * BILLING_OBJECT_LENGTH:
        return _size(asdu)
    previous = BILLING_TOTAL_OBJECT - 1
    for index in range(asdu.count):
        offset = index * BILLING_OBJECT_LENGTH
        address = body[offset]
        if address not in _BILLING_ADDRESSES or address <= previous:
            return f"billing object {address} out of order or unknown"
        previous = address
        if any(body[offset + at] & QUALIFIER_RESERVED_BIT for at in _BILLING_QUALIFIERS):
            return f"reserved quality bit of billing object {address} set"
        for at in _BILLING_TIMES:
            reason = time_a_damage(body[offset + at : offset + at + TIME_A_LENGTH])
            if reason is not None:
                return f"billing object {address}: {reason}"
    return None


def _contracted_powers(asdu: Asdu, request: Asdu | None) -> str | None:
    body = asdu.body
    objects = asdu.count * CONTRACTED_POWER_LENGTH
    if len(body) not in (objects, objects + TIME_A_LENGTH):
        return _size(asdu)
    previous = 0
    for index in range(asdu.count):
        period = body[index * CONTRACTED_POWER_LENGTH]
        if period not in _POWER_PERIODS or period <= previous:
            return f"tariff period {period} out of order or unknown"
        previous = period
    return time_a_damage(body[objects:]) if len(body) > objects else None


def _size(asdu: Asdu) -> str:
    return f"{len(asdu.body)} bytes for {asdu.count} objects of type {asdu.type_id}"


_LAYOUTS: dict[int, Callable[[Asdu, Asdu | None], str | None]] = {
    TypeId.C_AC_NA_2: _login,
    TypeId.C_FS_NA_2: _logout,
    TypeId.P_MP_NA_2: _identity,
    TypeId.M_TI_TA_2: _clock,
    TypeId.R_IN_VA_2: _instant,
    TypeId.M_IT_TG_2: _totals,
    TypeId.M_IT_TK_2: _totals,
    TypeId.M_TA_VC_2: _billing,
    TypeId.M_TA_VM_2: _billing,
    TypeId.M_PC_NA_2: _contracted_powers,
}


def time_a_damage(raw: bytes) -> str | None:
    """Why five bytes cannot be a TimeA, or None (no date and flagged invalid are fine)."""
    if raw == _NO_DATE or raw[0] & TIME_A_INVALID_BIT:
        return None
    minute = raw[0] & TIME_A_MINUTE_MASK
    hour = raw[1] & TIME_A_HOUR_MASK
    day = raw[2] & TIME_A_DAY_MASK
    month = raw[3] & TIME_A_MONTH_MASK
    year = raw[4] & TIME_A_YEAR_MASK
    if minute > _MAX_MINUTE or hour > _MAX_HOUR or year > _MAX_YEAR:
        return f"time {hour}:{minute} of year {year}"
    try:
        date(TIME_A_CENTURY + year, month, day)
    except ValueError:
        return f"no day {day} in month {month} of year {year}"
    return None


def time_b_damage(raw: bytes) -> str | None:
    """Why seven bytes cannot be a TimeB, or None."""
    word = raw[0] | raw[1] << 8
    if word & TIME_B_MILLIS_MASK > _MAX_MILLIS or word >> TIME_B_SECONDS_SHIFT > _MAX_SECOND:
        return "milliseconds or seconds out of range"
    return time_a_damage(raw[2:])
