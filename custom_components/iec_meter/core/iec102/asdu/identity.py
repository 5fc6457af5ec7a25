"""Identity (P_MP_NA_2): manufacturer code, equipment id and standard date."""

from __future__ import annotations

from dataclasses import dataclass
import struct

from ...errors import ProtocolError
from ..constants import (
    IDENTITY_LENGTH,
    TIME_A_CENTURY,
)
from .header import Asdu

_NIBBLE = 4
_LOW_NIBBLE = 0x0F


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who an REE meter says it is (P_MP_NA_2)."""

    manufacturer_code: int
    serial_number: int
    #: Month and year of the protocol standard the meter follows, e.g. (4, 2002).
    standard_month: int
    standard_year: int

    @property
    def standard_date(self) -> str:
        """The standard's date as ``MM/YYYY``."""
        return f"{self.standard_month:02d}/{self.standard_year}"


def encode_identity(identity: MeterIdentity) -> bytes:
    """Body of P_MP_NA_2."""
    date = (identity.standard_year - TIME_A_CENTURY) << _NIBBLE | identity.standard_month
    return struct.pack("<BBI", date, identity.manufacturer_code, identity.serial_number)


def decode_identity(asdu: Asdu) -> MeterIdentity:
    """Manufacturer code, equipment serial and standard date."""
    if len(asdu.body) < IDENTITY_LENGTH:
        raise ProtocolError(f"identity body of {len(asdu.body)} bytes, expected {IDENTITY_LENGTH}")
    date, manufacturer, serial = struct.unpack_from("<BBI", asdu.body)
    return MeterIdentity(
        manufacturer_code=manufacturer,
        serial_number=serial,
        standard_month=date & _LOW_NIBBLE,
        standard_year=TIME_A_CENTURY + (date >> _NIBBLE),
    )
