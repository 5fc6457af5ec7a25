"""TimeA (5 bytes) and TimeB (7 bytes) of IEC 60870-5-102, as REE meters send them.

Meters keep local legal time and mark summer time with the SU bit. We turn that into an
aware datetime in the meter's zone, SU settling the repeated October hour. Real
meters set RES bits, ETI/PTI bits and wrong days of the week, so those are masked or
ignored; an all-zero or impossible date means "no date" (None).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from .constants import (
    TIME_A_CENTURY,
    TIME_A_DAY_MASK,
    TIME_A_HOUR_MASK,
    TIME_A_INVALID_BIT,
    TIME_A_LENGTH,
    TIME_A_MINUTE_MASK,
    TIME_A_MONTH_MASK,
    TIME_A_SUMMER_BIT,
    TIME_A_WEEKDAY_SHIFT,
    TIME_A_YEAR_MASK,
    TIME_B_LENGTH,
    TIME_B_MILLIS_MASK,
    TIME_B_SECONDS_SHIFT,
)

_MAX_YEAR_OFFSET = 99
_MICROS_PER_MILLI = 1000


def _localize(naive: datetime, summer: bool, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a meter's wall time; SU picks the repeated October hour.

    The wall time is authoritative (as in the clients that work with real meters):
    meters and clients that never set SU still read right outside the repeated hour.
    """
    # fold=0 is the first (summer) occurrence of a repeated hour, fold=1 the second.
    local = naive.replace(tzinfo=tz, fold=0 if summer else 1)
    # Round trip through UTC so a wall time in the spring gap becomes a real instant.
    return local.astimezone(UTC).astimezone(tz)


def decode_time_a(raw: bytes | bytearray | memoryview, tz: tzinfo) -> datetime | None:
    """Decode a TimeA; None when the meter flags it invalid or gives no date."""
    if len(raw) != TIME_A_LENGTH:
        raise ValueError(f"TimeA needs {TIME_A_LENGTH} bytes, got {len(raw)}")
    return _decode(raw, 0, tz)


def decode_time_b(raw: bytes | bytearray | memoryview, tz: tzinfo) -> datetime | None:
    """Decode a TimeB (milliseconds and seconds word, then a TimeA)."""
    if len(raw) != TIME_B_LENGTH:
        raise ValueError(f"TimeB needs {TIME_B_LENGTH} bytes, got {len(raw)}")
    word = raw[0] | raw[1] << 8
    millis = word & TIME_B_MILLIS_MASK
    seconds = word >> TIME_B_SECONDS_SHIFT
    if millis > 999 or seconds > 59:
        return None
    return _decode(raw[2:], seconds * 1_000_000 + millis * _MICROS_PER_MILLI, tz)


def _decode(raw: bytes | bytearray | memoryview, micros: int, tz: tzinfo) -> datetime | None:
    if raw[0] & TIME_A_INVALID_BIT:
        return None
    minute = raw[0] & TIME_A_MINUTE_MASK
    hour = raw[1] & TIME_A_HOUR_MASK
    summer = bool(raw[1] & TIME_A_SUMMER_BIT)
    day = raw[2] & TIME_A_DAY_MASK
    month = raw[3] & TIME_A_MONTH_MASK
    year = TIME_A_CENTURY + (raw[4] & TIME_A_YEAR_MASK)
    try:
        naive = datetime(year, month, day, hour, minute)  # noqa: DTZ001 - zone attached below
    except ValueError:
        return None
    # Add the seconds before attaching the zone: aware arithmetic would lose the fold.
    return _localize(naive + timedelta(microseconds=micros), summer, tz)


def encode_time_a(when: datetime, tz: tzinfo) -> bytes:
    """Encode an aware datetime as the meter would: local wall time plus SU."""
    local, summer = _wall_time(when, tz)
    return _encode_a(local, summer)


def encode_time_b(when: datetime, tz: tzinfo) -> bytes:
    """Encode an aware datetime as a TimeB (millisecond resolution)."""
    local, summer = _wall_time(when, tz)
    word = (local.second << TIME_B_SECONDS_SHIFT) | (local.microsecond // _MICROS_PER_MILLI)
    return bytes((word & 0xFF, word >> 8)) + _encode_a(local, summer)


def _wall_time(when: datetime, tz: tzinfo) -> tuple[datetime, bool]:
    if when.tzinfo is None:
        raise ValueError("naive datetime: a meter time needs a zone")
    local = when.astimezone(tz)
    return local, bool(local.dst())


def _encode_a(local: datetime, summer: bool) -> bytes:
    year = local.year - TIME_A_CENTURY
    if not 0 <= year <= _MAX_YEAR_OFFSET:
        raise ValueError(f"year {local.year} cannot be sent as TimeA")
    return bytes(
        (
            local.minute,
            local.hour | (TIME_A_SUMMER_BIT if summer else 0),
            local.day | (local.isoweekday() << TIME_A_WEEKDAY_SHIFT),
            local.month,
            year,
        )
    )


def now_in(tz: tzinfo) -> datetime:
    """Current time in the meter's zone (one place to read the clock)."""
    return datetime.now(UTC).astimezone(tz)
