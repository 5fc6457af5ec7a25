"""Billing information (M_TA_VC_2 / M_TA_VM_2) and contracted powers (M_PC_NA_2).

A billing ASDU carries VSQ objects of 63 bytes each: the totals (object 20) and any
of the tariff periods P1..P6 (21..26). Every object is read; a decoder that stops at
the first one (as one public library does) loses the periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
import struct

from ...errors import ProtocolError
from ..constants import (
    BILLING_OBJECT_LENGTH,
    BILLING_RANGE_REQUEST_LENGTH,
    BILLING_TOTAL_OBJECT,
    CONTRACTED_POWER_LENGTH,
    TIME_A_LENGTH,
    Cause,
    ContractRegister,
    Qualifier,
    TypeId,
)
from ..timecodec import decode_time_a, encode_time_a
from .header import Asdu

_ENERGY = struct.Struct("<IIB")
_RESERVE = struct.Struct("<IB")
_VALUE = struct.Struct("<I")
_POWER = struct.Struct("<BI")
_BYTE = struct.Struct("<B")
_NO_DATE = bytes(TIME_A_LENGTH)


@dataclass(frozen=True, slots=True)
class Energy:
    """An energy of a billing period: register at the end, increment within, quality."""

    absolute: int
    increment: int
    qualifier: int = 0


@dataclass(frozen=True, slots=True)
class BillingObject:
    """One billing object: the totals (address 20) or one tariff period (21..26).

    Energies in kWh / kvarh, powers in kW; None is a date the meter leaves empty.
    """

    address: int
    active: Energy
    inductive: Energy
    capacitive: Energy
    max_demand: int
    max_demand_time: datetime | None
    max_demand_qualifier: int
    excess_power: int
    excess_power_qualifier: int
    start: datetime | None
    end: datetime | None

    @property
    def tariff_period(self) -> int:
        """0 for the totals, 1..6 for P1..P6."""
        return self.address - BILLING_TOTAL_OBJECT


def current_billing_request(point_address: int, contract: ContractRegister) -> Asdu:
    """C_TA_VC_2: the current billing period of a contract (no body)."""
    return Asdu(TypeId.C_TA_VC_2, Cause.ACTIVATION, point_address, contract)


def stored_billing_request(
    point_address: int, contract: ContractRegister, start: datetime, end: datetime, tz: tzinfo
) -> Asdu:
    """C_TA_VM_2: a contract's closures whose period ends in [start, end]."""
    body = encode_time_a(start, tz) + encode_time_a(end, tz)
    return Asdu(TypeId.C_TA_VM_2, Cause.ACTIVATION, point_address, contract, count=1, body=body)


def decode_billing_range(asdu: Asdu, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """The range of a C_TA_VM_2 request (the simulator's side)."""
    if len(asdu.body) < BILLING_RANGE_REQUEST_LENGTH:
        raise ProtocolError(f"billing range request body of {len(asdu.body)} bytes")
    body = asdu.body
    return (
        decode_time_a(body[:TIME_A_LENGTH], tz),
        decode_time_a(body[TIME_A_LENGTH:BILLING_RANGE_REQUEST_LENGTH], tz),
    )


def contracted_powers_request(point_address: int, contract: ContractRegister) -> Asdu:
    """C_PC_NA_2: the contracted power per tariff period of a contract."""
    return Asdu(TypeId.C_PC_NA_2, Cause.REQUEST, point_address, contract)


def _time_or_empty(when: datetime | None, tz: tzinfo) -> bytes:
    return _NO_DATE if when is None else encode_time_a(when, tz)


def encode_billing(objects: Sequence[BillingObject], tz: tzinfo) -> tuple[int, bytes]:
    """Object count and body of M_TA_VC_2 / M_TA_VM_2.

    ValueError names the object whose value does not fit its field (a uint32 energy
    or power, a quality byte, an address byte).
    """
    body = bytearray()
    for item in objects:
        try:
            body += _encode_object(item, tz)
        except struct.error as err:
            raise ValueError(f"billing object {item.address}: {err}") from None
    return len(objects), bytes(body)


def _encode_object(item: BillingObject, tz: tzinfo) -> bytes:
    body = bytearray(_BYTE.pack(item.address))
    for energy in (item.active, item.inductive, item.capacitive):
        body += _ENERGY.pack(energy.absolute, energy.increment, energy.qualifier)
    # The two reserves: always zero and invalid.
    body += _RESERVE.pack(0, Qualifier.INVALID) * 2
    body += _VALUE.pack(item.max_demand)
    body += _time_or_empty(item.max_demand_time, tz)
    body += _BYTE.pack(item.max_demand_qualifier)
    body += _RESERVE.pack(item.excess_power, item.excess_power_qualifier)
    body += _time_or_empty(item.start, tz)
    body += _time_or_empty(item.end, tz)
    return bytes(body)


def decode_billing(asdu: Asdu, tz: tzinfo) -> list[BillingObject]:
    """Every billing object of one M_TA_VC_2 / M_TA_VM_2."""
    needed = asdu.count * BILLING_OBJECT_LENGTH
    if len(asdu.body) < needed:
        raise ProtocolError(
            f"billing information: {len(asdu.body)} bytes for {asdu.count} objects, "
            f"expected {needed}"
        )
    return [
        _decode_object(asdu.body, index * BILLING_OBJECT_LENGTH, tz) for index in range(asdu.count)
    ]


def _decode_object(body: bytes, offset: int, tz: tzinfo) -> BillingObject:
    address = body[offset]
    position = offset + 1
    energies = []
    for _ in range(3):
        energies.append(Energy(*_ENERGY.unpack_from(body, position)))
        position += _ENERGY.size
    position += 2 * _RESERVE.size
    (max_demand,) = _VALUE.unpack_from(body, position)
    position += _VALUE.size
    max_time = decode_time_a(body[position : position + TIME_A_LENGTH], tz)
    position += TIME_A_LENGTH
    max_qualifier = body[position]
    position += 1
    excess, excess_qualifier = _RESERVE.unpack_from(body, position)
    position += _RESERVE.size
    start = decode_time_a(body[position : position + TIME_A_LENGTH], tz)
    position += TIME_A_LENGTH
    end = decode_time_a(body[position : position + TIME_A_LENGTH], tz)
    return BillingObject(
        address=address,
        active=energies[0],
        inductive=energies[1],
        capacitive=energies[2],
        max_demand=max_demand,
        max_demand_time=max_time,
        max_demand_qualifier=max_qualifier,
        excess_power=excess,
        excess_power_qualifier=excess_qualifier,
        start=start,
        end=end,
    )


@dataclass(frozen=True, slots=True)
class ContractedPowers:
    """Contracted power (kW) per tariff period, and when the meter says they apply."""

    powers: dict[int, int]
    since: datetime | None


def encode_contracted_powers(powers: ContractedPowers, tz: tzinfo) -> tuple[int, bytes]:
    """Object count and body of M_PC_NA_2 (periods addressed 1..6)."""
    try:
        body = b"".join(
            _POWER.pack(period, power) for period, power in sorted(powers.powers.items())
        )
    except struct.error as err:
        raise ValueError(f"contracted powers {powers.powers}: {err}") from None
    return len(powers.powers), body + _time_or_empty(powers.since, tz)


def decode_contracted_powers(asdu: Asdu, tz: tzinfo) -> ContractedPowers:
    """Contracted powers by tariff period (1..6).

    The sources do not say whether the periods are addressed 1..6 or, as in the
    billing objects, 21..26; both are read as P1..P6.
    """
    needed = asdu.count * CONTRACTED_POWER_LENGTH
    if len(asdu.body) < needed:
        raise ProtocolError(
            f"contracted powers: {len(asdu.body)} bytes for {asdu.count} objects, expected {needed}"
        )
    powers: dict[int, int] = {}
    for index in range(asdu.count):
        address, power = _POWER.unpack_from(asdu.body, index * CONTRACTED_POWER_LENGTH)
        period = address - BILLING_TOTAL_OBJECT if address > BILLING_TOTAL_OBJECT else address
        powers[period] = power
    stamp = asdu.body[needed : needed + TIME_A_LENGTH]
    since = decode_time_a(stamp, tz) if len(stamp) == TIME_A_LENGTH else None
    return ContractedPowers(powers, since)
