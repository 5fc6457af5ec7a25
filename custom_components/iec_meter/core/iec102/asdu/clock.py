"""Meter clock (M_TI_TA_2)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from ...errors import ProtocolError
from ..constants import (
    TIME_B_LENGTH,
)
from ..timecodec import decode_time_b, encode_time_b
from .header import Asdu


def encode_clock(when: datetime, tz: tzinfo) -> bytes:
    """Body of M_TI_TA_2."""
    return encode_time_b(when, tz)


def decode_clock(asdu: Asdu, tz: tzinfo) -> datetime | None:
    """The meter's clock; None if the meter flags it invalid."""
    if len(asdu.body) < TIME_B_LENGTH:
        raise ProtocolError(f"clock body of {len(asdu.body)} bytes, expected {TIME_B_LENGTH}")
    return decode_time_b(asdu.body[:TIME_B_LENGTH], tz)
