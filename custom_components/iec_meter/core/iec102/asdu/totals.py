"""Integrated totals (M_IT_TG_2 absolute, M_IT_TK_2 increments): one period per ASDU.

The layout is ``addr(1) value(uint32 LE) qualifier(1)`` repeated VSQ times, then one
TimeA: the end of the integration period the whole ASDU stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
import struct

from ...errors import ProtocolError
from ..constants import TIME_A_LENGTH, TOTAL_OBJECT_LENGTH, TOTAL_QUALIFIER_INVALID
from ..timecodec import decode_time_a, encode_time_a
from .header import Asdu

_TOTAL = struct.Struct("<BIB")


@dataclass(frozen=True, slots=True)
class IntegratedTotal:
    """One register of one period, in kWh or kvarh, with the meter's quality byte."""

    address: int
    value: int
    qualifier: int = 0

    @property
    def invalid(self) -> bool:
        """The meter flags the value invalid (reserve registers always are)."""
        return bool(self.qualifier & TOTAL_QUALIFIER_INVALID)


@dataclass(frozen=True, slots=True)
class IntegratedTotals:
    """The registers of one integration period and the period's end."""

    totals: tuple[IntegratedTotal, ...]
    period_end: datetime | None


def encode_integrated_totals(
    totals: Sequence[IntegratedTotal], period_end: datetime, tz: tzinfo
) -> tuple[int, bytes]:
    """Object count and body of M_IT_TG_2 / M_IT_TK_2 (ValueError: a value that does not fit)."""
    body = bytearray()
    for item in totals:
        try:
            body += _TOTAL.pack(item.address, item.value, item.qualifier)
        except struct.error as err:
            raise ValueError(f"integrated total {item}: {err}") from None
    return len(totals), bytes(body) + encode_time_a(period_end, tz)


def decode_integrated_totals(asdu: Asdu, tz: tzinfo) -> IntegratedTotals:
    """Registers and period end of one integrated-totals ASDU."""
    needed = asdu.count * TOTAL_OBJECT_LENGTH + TIME_A_LENGTH
    if len(asdu.body) < needed:
        raise ProtocolError(
            f"integrated totals: {len(asdu.body)} bytes for {asdu.count} objects, expected {needed}"
        )
    totals = tuple(
        IntegratedTotal(*_TOTAL.unpack_from(asdu.body, index * TOTAL_OBJECT_LENGTH))
        for index in range(asdu.count)
    )
    stamp = asdu.body[needed - TIME_A_LENGTH : needed]
    return IntegratedTotals(totals, decode_time_a(stamp, tz))
