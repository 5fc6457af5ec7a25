"""TimeA / TimeB: published samples, summer time, quirks of real meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.iec102.timecodec import (
    decode_time_a,
    decode_time_b,
    encode_time_a,
    encode_time_b,
)

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01 00 12 09 09", datetime(2009, 9, 18, 0, 1)),
        ("00 0b 07 02 0a", datetime(2010, 2, 7, 11, 0)),
        ("00 81 b2 09 09", datetime(2009, 9, 18, 1, 0)),
        ("37 92 6e 04 15", datetime(2021, 4, 14, 18, 55)),
    ],
)
def test_time_a_samples(raw: str, expected: datetime) -> None:
    assert decode_time_a(h(raw), MADRID) == expected.replace(tzinfo=MADRID)


def test_repeated_october_hour_resolved_by_summer_flag() -> None:
    summer = decode_time_a(h("00 82 fb 0a 13"), MADRID)
    winter = decode_time_a(h("00 02 fb 0a 13"), MADRID)
    assert summer is not None
    assert winter is not None
    assert summer.astimezone(UTC) == datetime(2019, 10, 27, 0, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) == datetime(2019, 10, 27, 1, 0, tzinfo=UTC)
    assert winter.astimezone(UTC) - summer.astimezone(UTC) == timedelta(hours=1)


def test_wall_time_wins_over_a_flag_that_disagrees_with_the_zone() -> None:
    # Clients and meters that never set SU still read as the wall clock says.
    when = decode_time_a(h("00 0c 0f 07 1a"), MADRID)  # 2026-07-15 12:00, SU clear
    assert when == datetime(2026, 7, 15, 12, 0, tzinfo=MADRID)


def test_spring_gap_becomes_a_real_instant() -> None:
    when = decode_time_a(h("1e 02 1d 03 1a"), MADRID)  # 2026-03-29 02:30 does not exist
    assert when is not None
    assert when.astimezone(UTC).astimezone(MADRID) == when


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0a 2a 10 0b e7 02 0a", datetime(2010, 2, 7, 11, 16, 10, 522000)),
        ("00 90 25 8b 7c 08 13", datetime(2019, 8, 28, 11, 37, 36)),
        ("00 64 2a 44 12 08 12", datetime(2018, 8, 18, 4, 42, 25)),  # RES1 bit in hour
    ],
)
def test_time_b_samples(raw: str, expected: datetime) -> None:
    assert decode_time_b(h(raw), MADRID) == expected.replace(tzinfo=MADRID)


def test_quirks() -> None:
    # ETI/PTI bits in the month byte are masked.
    assert decode_time_a(h("00 00 0a f2 03"), MADRID) == datetime(2003, 2, 10, tzinfo=MADRID)
    # A wrong day of week is not validated (Wed 2018-07-18 sent with dow 7).
    assert decode_time_a(h("0f 87 f2 07 12"), MADRID) == datetime(2018, 7, 18, 7, 15, tzinfo=MADRID)
    # All zero: no date.
    assert decode_time_a(bytes(5), MADRID) is None
    # Invalid flag.
    assert decode_time_a(h("80 0b 07 02 0a"), MADRID) is None
    # Impossible time fields.
    assert decode_time_a(h("00 19 07 02 0a"), MADRID) is None
    assert decode_time_b(h("e8 03 00 0b 07 02 0a"), MADRID) is None  # 1000 ms
    assert decode_time_b(h("00 f0 00 0b 07 02 0a"), MADRID) is None  # 60 s


def test_wrong_lengths_and_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="TimeA"):
        decode_time_a(b"\x00", MADRID)
    with pytest.raises(ValueError, match="TimeB"):
        decode_time_b(b"\x00", MADRID)
    with pytest.raises(ValueError, match="naive"):
        encode_time_a(datetime(2020, 1, 1), MADRID)
    with pytest.raises(ValueError, match="year"):
        encode_time_a(datetime(1999, 12, 1, tzinfo=UTC), MADRID)


def test_canary_islands_zone() -> None:
    when = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    raw = encode_time_a(when, CANARY)
    assert raw == h("00 8d 21 07 18")  # 13:00 summer time, Monday
    assert decode_time_a(raw, CANARY) == when


def test_encode_sets_weekday_and_summer_flag() -> None:
    when = datetime(2010, 2, 7, 11, 16, 10, 522000, tzinfo=MADRID)
    assert encode_time_b(when, MADRID) == h("0a 2a 10 0b e7 02 0a")


_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
)


@given(_INSTANTS, st.sampled_from([MADRID, CANARY]))
def test_round_trip(when: datetime, tz: ZoneInfo) -> None:
    exact = when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert decode_time_b(encode_time_b(exact, tz), tz) == exact
    assert decode_time_a(encode_time_a(exact, tz), tz) == exact.replace(second=0, microsecond=0)


@given(st.binary(min_size=7, max_size=7))
def test_decode_never_raises_on_seven_bytes(raw: bytes) -> None:
    result = decode_time_b(raw, MADRID)
    assert result is None or result.tzinfo == MADRID
