"""The meter's records as IEC 102 ASDUs: integrated totals, billing, contracted powers.

Every layout is held to the real frames of the protocol notes (A.6); the records the
core makes of them (profile periods, billing periods) are checked value by value.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.errors import ProtocolError
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    BillingObject,
    ContractedPowers,
    Energy,
    IntegratedTotal,
    contracted_powers_request,
    current_billing_request,
    decode_billing,
    decode_billing_range,
    decode_contracted_powers,
    decode_integrated_totals,
    decode_range_request,
    encode_billing,
    encode_contracted_powers,
    encode_integrated_totals,
    integrated_totals_request,
    stored_billing_request,
)
from custom_components.iec_meter.core.iec102.constants import (
    BILLING_OBJECT_LENGTH,
    BILLING_OBJECTS_PER_ASDU,
    Cause,
    ContractRegister,
    Qualifier,
    RecordAddress,
    TypeId,
)
from custom_components.iec_meter.core.iec102.frames import VariableFrame, decode_frame
from custom_components.iec_meter.core.iec102.records import (
    billing_period,
    contract_register,
    profile_period,
    qualifier_flags,
)
from custom_components.iec_meter.core.records import (
    BILLING_FIELDS,
    PROFILE_SERIES,
    SERIES_UNITS,
    BillingPeriod,
    PeriodFlag,
    ProfileKind,
    ProfilePeriod,
)

MADRID = ZoneInfo("Europe/Madrid")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def utc(when: datetime | None) -> datetime | None:
    """Compare instants: in one zone Python compares wall clocks and ignores the fold."""
    return None if when is None else when.astimezone(UTC)


# --- Integrated totals -------------------------------------------------------------
#: M_IT_TG_2 (notes A.6): link 7000, point 1, record 11, 2009-09-18 01:00 summer time.
IT_TG_FRAME = h(
    "68 3E 3E 68 08 58 1B 08 08 05 01 00 0B 01 18 01 00 00 00 02 6E 1F 03 00 00 03 04 00"
    " 00 00 00 04 00 00 00 00 00 05 CC BE 00 00 00 06 98 0D 00 00 00 07 00 00 00 00 80 08"
    " 00 00 00 00 80 00 81 B2 09 09 E1 16"
)
#: M_IT_TK_2 body (notes A.6): A+ 4, R1 27, reserves invalid, 2018-07-01 01:00 CEST.
IT_TK_BODY = h(
    "01 04000000 00 02 00000000 00 03 1b000000 00 04 00000000 00 05 00000000 00"
    " 06 00000000 00 07 00000000 80 08 00000000 80 00 81 e1 07 12"
)


def test_absolute_totals_frame_of_the_notes() -> None:
    frame = decode_frame(IT_TG_FRAME)
    assert isinstance(frame, VariableFrame)
    assert frame.address == 7000
    asdu = Asdu.decode(frame.asdu)
    assert (asdu.type_id, asdu.count, asdu.cause) == (TypeId.M_IT_TG_2, 8, Cause.REQUEST)
    assert (asdu.point_address, asdu.record_address) == (1, RecordAddress.HOURLY)
    totals = decode_integrated_totals(asdu, MADRID)
    assert [item.address for item in totals.totals] == list(range(1, 9))
    assert [item.value for item in totals.totals] == [280, 204654, 4, 0, 48844, 3480, 0, 0]
    assert [item.qualifier for item in totals.totals] == [0] * 6 + [0x80, 0x80]
    assert totals.period_end == datetime(2009, 9, 18, 1, 0, tzinfo=MADRID)
    assert totals.period_end is not None
    assert totals.period_end.utcoffset() == timedelta(hours=2)  # SU set: summer time
    # Encoded again it is the same frame, byte for byte (the weekday included).
    count, body = encode_integrated_totals(totals.totals, totals.period_end, MADRID)
    again = Asdu(TypeId.M_IT_TG_2, Cause.REQUEST, 1, RecordAddress.HOURLY, count, body)
    assert VariableFrame(0x08, 7000, again.encode()).encode() == IT_TG_FRAME

    period = profile_period(totals)
    assert period is not None
    assert period.end == totals.period_end
    assert dict(period.values) == dict(
        zip(PROFILE_SERIES, [280.0, 204654.0, 4.0, 0.0, 48844.0, 3480.0], strict=True)
    )
    assert dict(period.flags) == {}  # the reserves (and their invalid flag) are left out


def test_incremental_totals_body_of_the_notes() -> None:
    asdu = Asdu(TypeId.M_IT_TK_2, Cause.REQUEST, 1, RecordAddress.HOURLY, 8, IT_TK_BODY)
    totals = decode_integrated_totals(asdu, MADRID)
    assert [item.value for item in totals.totals] == [4, 0, 27, 0, 0, 0, 0, 0]
    assert [item.invalid for item in totals.totals] == [False] * 6 + [True] * 2
    assert totals.period_end == datetime(2018, 7, 1, 1, 0, tzinfo=MADRID)
    assert utc(totals.period_end) == datetime(2018, 6, 30, 23, 0, tzinfo=UTC)
    assert encode_integrated_totals(
        totals.totals, datetime(2018, 6, 30, 23, tzinfo=UTC), MADRID
    ) == (8, IT_TK_BODY)
    period = profile_period(totals)
    assert period is not None
    assert period.values["active_energy_import"] == 4.0
    assert period.values["reactive_energy_q1"] == 27.0
    assert set(period.values) == set(PROFILE_SERIES)


def test_absolute_request_frame_of_the_notes() -> None:
    """C_CI_NT_2 to link 7000, objects 1..8, 2010-02-07 11:00 to 2010-02-10 17:00.

    The published frame leaves the weekday out (0, "not given"); we send it, as the
    public client that works with real meters does. Apart from those bits (and so the
    checksum) the frames are equal, and the published one reads back the same.
    """
    published = h(
        "68 15 15 68 73 58 1B 7A 01 06 01 00 0B 01 08 00 0B 07 02 0A 00 11 0A 02 0A C1 16"
    )
    start = datetime(2010, 2, 7, 11, 0, tzinfo=MADRID)  # a Sunday
    end = datetime(2010, 2, 10, 17, 0, tzinfo=MADRID)  # a Wednesday
    request = integrated_totals_request(1, start, end, MADRID, incremental=False)
    ours = VariableFrame(0x73, 7000, request.encode()).encode()
    with_weekdays = bytearray(published)
    with_weekdays[17] |= 7 << 5  # day byte of the start
    with_weekdays[22] |= 3 << 5  # day byte of the end
    asdu_and_head = bytes(with_weekdays[4:-2])
    with_weekdays[-2] = sum(asdu_and_head) % 256
    assert ours == bytes(with_weekdays)
    assert ours.hex(" ") == (
        "68 15 15 68 73 58 1b 7a 01 06 01 00 0b 01 08 00 0b e7 02 0a 00 11 6a 02 0a 01 16"
    )
    frame = decode_frame(published)
    assert isinstance(frame, VariableFrame)
    echo = Asdu.decode(frame.asdu)
    assert (echo.type_id, echo.count, echo.cause, echo.record_address) == (122, 1, 6, 11)
    wanted = decode_range_request(echo, MADRID)
    assert (wanted.first_object, wanted.last_object) == (1, 8)
    assert (utc(wanted.start), utc(wanted.end)) == (utc(start), utc(end))


def test_incremental_request_body_of_the_notes() -> None:
    start = datetime(2018, 7, 1, 1, 0, tzinfo=MADRID)
    end = datetime(2018, 8, 1, 0, 0, tzinfo=MADRID)
    request = integrated_totals_request(1, start, end, MADRID)
    assert request.body == h("01 08 00 81 e1 07 12 00 80 61 08 12")
    assert request.encode() == h("7b 01 06 01 00 0b 01 08 00 81 e1 07 12 00 80 61 08 12")
    quarter = integrated_totals_request(1, start, end, MADRID, record=RecordAddress.QUARTER_HOURLY)
    assert quarter.record_address == 12


def test_summer_bit_settles_the_repeated_october_hour() -> None:
    """2019-10-27 02:00 happens twice; SU says which one a totals ASDU stands for."""
    values = b"".join(bytes((address,)) + bytes(5) for address in range(1, 7))
    summer = Asdu(11, 5, 1, 11, 6, values + h("00 82 fb 0a 13"))
    winter = Asdu(11, 5, 1, 11, 6, values + h("00 02 fb 0a 13"))
    first = decode_integrated_totals(summer, MADRID).period_end
    second = decode_integrated_totals(winter, MADRID).period_end
    assert utc(first) == datetime(2019, 10, 27, 0, 0, tzinfo=UTC)
    assert utc(second) == datetime(2019, 10, 27, 1, 0, tzinfo=UTC)
    assert first is not None
    assert second is not None
    assert (first.utcoffset(), second.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))
    # And they are encoded back with their own SU bit.
    assert encode_integrated_totals((), first, MADRID)[1] == h("00 82 fb 0a 13")
    assert encode_integrated_totals((), second, MADRID)[1] == h("00 02 fb 0a 13")
    periods = [profile_period(decode_integrated_totals(a, MADRID)) for a in (summer, winter)]
    assert [utc(p.end) for p in periods if p is not None] == [utc(first), utc(second)]


def test_invalid_or_empty_period_time_gives_no_period() -> None:
    values = bytes((1,)) + bytes(5)
    for stamp in ("00 00 00 00 00", "80 81 e1 07 12", "00 00 1f 02 12"):  # empty, IV, 31 Feb
        totals = decode_integrated_totals(Asdu(11, 5, 1, 11, 1, values + h(stamp)), MADRID)
        assert totals.period_end is None
        assert profile_period(totals) is None


QUALIFIER_NAMES = [
    (0x80, "invalid"),
    (0x40, "adjusted"),
    (0x20, "overflow"),
    (0x10, "time_sync"),
    (0x08, "parameter_change"),
    (0x04, "intrusion"),
    (0x02, "incomplete"),
]


@pytest.mark.parametrize(("bit", "name"), QUALIFIER_NAMES)
def test_each_qualifier_bit_names_its_flag(bit: int, name: str) -> None:
    assert qualifier_flags(bit) == {PeriodFlag(name)}
    assert Qualifier(bit).name == name.upper()


def test_qualifier_byte_sets_every_flag_it_carries() -> None:
    assert qualifier_flags(0) == frozenset()
    assert qualifier_flags(0x01) == frozenset()  # reserved bit: no meaning
    assert qualifier_flags(0xFF) == frozenset(PeriodFlag)
    assert qualifier_flags(0x12) == {PeriodFlag.TIME_SYNC, PeriodFlag.INCOMPLETE}


def test_profile_period_maps_flags_and_invalid_values() -> None:
    end = datetime(2026, 1, 10, 13, 0, tzinfo=MADRID)
    totals = (
        IntegratedTotal(1, 120, 0x10),  # clock set during the hour: usable
        IntegratedTotal(2, 7, 0x82),  # invalid and incomplete
        IntegratedTotal(3, 9, 0x02),  # incomplete: kept, but not usable
        IntegratedTotal(4, 0),
        IntegratedTotal(7, 0, 0x80),  # reserves: left out
        IntegratedTotal(8, 0, 0x80),
        IntegratedTotal(0, 5),  # not a series
    )
    count, body = encode_integrated_totals(totals, end, MADRID)
    period = profile_period(decode_integrated_totals(Asdu(11, 5, 1, 11, count, body), MADRID))
    assert period is not None
    assert dict(period.values) == {
        "active_energy_import": 120.0,
        "active_energy_export": None,
        "reactive_energy_q1": 9.0,
        "reactive_energy_q2": 0.0,
    }
    assert dict(period.flags) == {
        "active_energy_import": {PeriodFlag.TIME_SYNC},
        "active_energy_export": {PeriodFlag.INVALID, PeriodFlag.INCOMPLETE},
        "reactive_energy_q1": {PeriodFlag.INCOMPLETE},
    }
    assert period.all_flags == {PeriodFlag.TIME_SYNC, PeriodFlag.INVALID, PeriodFlag.INCOMPLETE}
    assert period.usable("active_energy_import") == 120.0
    assert period.usable("active_energy_export") is None
    assert period.usable("reactive_energy_q1") is None
    assert period.usable("reactive_energy_q2") == 0.0
    assert period.usable("reactive_energy_q4") is None  # not sent
    assert ProfilePeriod(end, {}).all_flags == frozenset()


def test_profile_kinds_and_units() -> None:
    assert ProfileKind.HOURLY.period == timedelta(hours=1)
    assert ProfileKind.QUARTER_HOURLY.period == timedelta(minutes=15)
    assert ProfileKind.DAILY.period == timedelta(days=1)
    assert SERIES_UNITS["active_energy_export"] == "kWh"
    assert SERIES_UNITS["reactive_energy_q4"] == "kvarh"


def test_profile_kinds_step_over_the_changes_of_time() -> None:
    hourly, quarter, daily = ProfileKind.HOURLY, ProfileKind.QUARTER_HOURLY, ProfileKind.DAILY
    summer_two = datetime(2019, 10, 27, 2, 0, tzinfo=MADRID)  # fold 0: 00:00 UTC
    after = hourly.advance(summer_two, MADRID)
    assert utc(after) == datetime(2019, 10, 27, 1, 0, tzinfo=UTC)  # the second 02:00
    assert (after.hour, after.utcoffset()) == (2, timedelta(hours=1))
    assert utc(hourly.advance(after, MADRID)) == datetime(2019, 10, 27, 2, 0, tzinfo=UTC)
    assert utc(quarter.advance(summer_two, MADRID, 4)) == utc(after)
    assert utc(hourly.advance(after, MADRID, -1)) == utc(summer_two)
    spring = datetime(2019, 3, 31, 1, 0, tzinfo=MADRID)
    assert hourly.advance(spring, MADRID) == datetime(2019, 3, 31, 3, 0, tzinfo=MADRID)
    # A day is a calendar day of the meter's zone: 25 h in October, 23 h in March.
    midnight = datetime(2019, 10, 27, 0, 0, tzinfo=MADRID)
    next_day = daily.advance(midnight, MADRID)
    assert next_day == datetime(2019, 10, 28, 0, 0, tzinfo=MADRID)
    assert next_day - midnight == timedelta(days=1)  # wall clock: same zone
    assert next_day.astimezone(UTC) - midnight.astimezone(UTC) == timedelta(hours=25)
    march = daily.advance(datetime(2019, 3, 30, 22, 0, tzinfo=UTC), MADRID)  # 23:00 CET
    assert march == datetime(2019, 3, 31, 23, 0, tzinfo=MADRID)
    assert daily.advance(datetime(2019, 3, 31, 0, 0, tzinfo=MADRID), MADRID, 2) == datetime(
        2019, 4, 2, 0, 0, tzinfo=MADRID
    )


def test_totals_request_needs_objects_in_order_and_aware_times() -> None:
    start = datetime(2018, 7, 1, 1, 0, tzinfo=MADRID)
    with pytest.raises(ValueError, match="naive"):
        integrated_totals_request(1, start.replace(tzinfo=None), start, MADRID)


# --- Billing ---------------------------------------------------------------------------
#: M_TA_VX_2 object (notes A.6): totals of contract I for July 2018.
BILLING_SAMPLE = h(
    "14 74373b00 c06e0000 00 fb591c00 ba5c0000 00 e4bd0500 db060000 00 00000000 80"
    " 00000000 80 65010000 0f87f20712 00 00000000 80 0080e10712 0080610812"
)


def test_billing_sample_of_the_notes() -> None:
    assert len(BILLING_SAMPLE) == BILLING_OBJECT_LENGTH
    asdu = Asdu(TypeId.M_TA_VM_2, Cause.REQUEST, 1, ContractRegister.CONTRACT_1, 1, BILLING_SAMPLE)
    (item,) = decode_billing(asdu, MADRID)
    assert item.address == 20
    assert item.tariff_period == 0
    assert item.active == Energy(3880820, 28352, 0)
    assert item.inductive == Energy(1858043, 23738, 0)
    assert item.capacitive == Energy(376292, 1755, 0)
    assert item.max_demand == 357
    assert item.max_demand_qualifier == 0
    assert item.max_demand_time == datetime(2018, 7, 18, 7, 15, tzinfo=MADRID)
    assert item.max_demand_time is not None
    assert item.max_demand_time.utcoffset() == timedelta(hours=2)  # CEST
    assert (item.excess_power, item.excess_power_qualifier) == (0, 0x80)
    assert item.start == datetime(2018, 7, 1, 0, 0, tzinfo=MADRID)
    assert item.end == datetime(2018, 8, 1, 0, 0, tzinfo=MADRID)
    # Encoded again: the same bytes but the weekday of the maximum's time, which the
    # meter sent as 7 for a Wednesday (it is not to be trusted) and we send as 3.
    count, body = encode_billing([item], MADRID)
    expected = bytearray(BILLING_SAMPLE)
    expected[44] = (expected[44] & 0x1F) | 3 << 5
    assert (count, body) == (1, bytes(expected))

    period = billing_period(item, 1)
    assert period == BillingPeriod(
        contract=1,
        period=0,
        start=datetime(2018, 7, 1, 0, 0, tzinfo=MADRID),
        end=datetime(2018, 8, 1, 0, 0, tzinfo=MADRID),
        active_energy=3880820.0,
        active_energy_increment=28352.0,
        reactive_inductive_energy=1858043.0,
        reactive_inductive_energy_increment=23738.0,
        reactive_capacitive_energy=376292.0,
        reactive_capacitive_energy_increment=1755.0,
        max_demand=357.0,
        max_demand_time=datetime(2018, 7, 18, 7, 15, tzinfo=MADRID),
        excess_power=None,  # flagged invalid
    )
    assert period.in_use
    assert tuple(field.name for field in dataclasses.fields(BillingPeriod)) == BILLING_FIELDS


def _object(address: int, seed: int) -> BillingObject:
    return BillingObject(
        address=address,
        active=Energy(1000 * seed, seed, 0),
        inductive=Energy(100 * seed, seed + 1, 0x10),
        capacitive=Energy(10 * seed, seed + 2, 0),
        max_demand=seed + 3,
        max_demand_time=datetime(2026, 2, seed, 12, 15, tzinfo=MADRID),
        max_demand_qualifier=0,
        excess_power=seed,
        excess_power_qualifier=0,
        start=datetime(2026, 2, 1, tzinfo=MADRID),
        end=datetime(2026, 3, 1, tzinfo=MADRID),
    )


def test_every_object_of_a_billing_asdu_is_read() -> None:
    """Totals and P1..P6 in one ASDU: all seven, not only the first one."""
    objects = [_object(20 + index, index + 1) for index in range(7)]
    count, body = encode_billing(objects, MADRID)
    assert (count, len(body)) == (7, 7 * BILLING_OBJECT_LENGTH)
    decoded = decode_billing(Asdu(135, 5, 1, 134, count, body), MADRID)
    assert decoded == objects
    periods = [billing_period(item, 2) for item in decoded]
    assert [p.period for p in periods] == [0, 1, 2, 3, 4, 5, 6]
    assert [p.active_energy for p in periods] == [1000.0 * n for n in range(1, 8)]
    assert [p.max_demand for p in periods] == [float(n + 3) for n in range(1, 8)]
    assert {p.contract for p in periods} == {2}
    # The real sample repeated with the period addresses is read the same way.
    repeated = b"".join(bytes((20 + n,)) + BILLING_SAMPLE[1:] for n in range(7))
    addresses = [item.address for item in decode_billing(Asdu(136, 5, 1, 134, 7, repeated), MADRID)]
    assert addresses == list(range(20, 27))


def test_a_frame_carries_at_most_three_billing_objects() -> None:
    """So a meter sends the totals and P1..P6 in several ASDUs; each is read."""
    objects = [_object(20 + index, index + 1) for index in range(4)]
    count, body = encode_billing(objects[:BILLING_OBJECTS_PER_ASDU], MADRID)
    asdu = Asdu(135, 5, 1, 134, count, body)
    VariableFrame(0x08, 1, asdu.encode())  # fits
    count, body = encode_billing(objects, MADRID)
    with pytest.raises(ValueError, match="too long"):
        VariableFrame(0x08, 1, Asdu(135, 5, 1, 134, count, body).encode())


def test_invalid_billing_values_and_empty_dates_are_none() -> None:
    empty = BillingObject(
        address=23,
        active=Energy(5, 1, 0x80),
        inductive=Energy(0, 0, 0),
        capacitive=Energy(7, 2, 0x80),
        max_demand=12,
        max_demand_time=None,
        max_demand_qualifier=0x80,
        excess_power=3,
        excess_power_qualifier=0,
        start=None,
        end=None,
    )
    count, body = encode_billing([empty], MADRID)
    assert body[-10:] == bytes(10)  # no dates: all-zero TimeA
    assert body[42:47] == bytes(5)  # the maximum's time
    (item,) = decode_billing(Asdu(135, 5, 1, 136, count, body), MADRID)
    assert item == empty
    period = billing_period(item, 3)
    assert (period.contract, period.period) == (3, 3)
    assert (period.start, period.end, period.max_demand_time) == (None, None, None)
    assert (period.active_energy, period.active_energy_increment) == (None, None)
    assert (period.reactive_inductive_energy, period.reactive_capacitive_energy) == (0.0, None)
    assert period.max_demand is None  # flagged invalid: its time neither
    assert period.excess_power == 3.0
    assert not period.in_use  # an unused tariff period holds nothing
    # A valid maximum keeps its time even when the date is empty.
    dated = dataclasses.replace(empty, max_demand_qualifier=0)
    assert billing_period(dated, 3).max_demand == 12.0


def test_billing_requests() -> None:
    current = current_billing_request(1, ContractRegister.CONTRACT_2)
    assert current.encode() == h("85 00 06 01 00 87")
    start = datetime(2018, 7, 1, 0, 0, tzinfo=MADRID)
    end = datetime(2018, 8, 1, 0, 0, tzinfo=MADRID)
    stored = stored_billing_request(1, ContractRegister.CONTRACT_1, start, end, MADRID)
    assert stored.encode() == h("86 01 06 01 00 86 00 80 e1 07 12 00 80 61 08 12")
    frame = VariableFrame(0x73, 1, stored.encode()).encode()
    assert frame[1] == 0x13  # L of the notes
    assert decode_billing_range(stored, MADRID) == (start, end)
    powers = contracted_powers_request(1, ContractRegister.CONTRACT_3)
    assert powers.encode() == h("90 00 05 01 00 88")


def test_contract_registers() -> None:
    assert [contract_register(n) for n in (1, 2, 3)] == [134, 135, 136]
    for wrong in (0, 4, -1):
        with pytest.raises(ValueError, match="contract must be 1, 2 or 3"):
            contract_register(wrong)


# --- Contracted powers --------------------------------------------------------------
@pytest.mark.parametrize("first_address", [1, 21])
def test_contracted_powers_read_as_p1_to_p6(first_address: int) -> None:
    body = b"".join(
        bytes((first_address + index,)) + (1000 * (index + 1)).to_bytes(4, "little")
        for index in range(6)
    )
    stamp = h("00 80 21 06 1a")  # 2026-06-01 00:00 CEST
    powers = decode_contracted_powers(Asdu(145, 5, 1, 134, 6, body + stamp), MADRID)
    assert powers.powers == {1: 1000, 2: 2000, 3: 3000, 4: 4000, 5: 5000, 6: 6000}
    assert powers.since == datetime(2026, 6, 1, 0, 0, tzinfo=MADRID)
    without_date = decode_contracted_powers(Asdu(145, 5, 1, 134, 6, body), MADRID)
    assert without_date.since is None


# --- Round trips and hostile bodies -----------------------------------------------------
_times = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
).map(lambda when: when.replace(second=0, microsecond=0).astimezone(MADRID))
_byte = st.integers(0, 255)
_uint32 = st.integers(0, 0xFFFFFFFF)
_energy = st.builds(Energy, _uint32, _uint32, _byte)
_billing = st.builds(
    BillingObject,
    address=_byte,
    active=_energy,
    inductive=_energy,
    capacitive=_energy,
    max_demand=_uint32,
    max_demand_time=st.none() | _times,
    max_demand_qualifier=_byte,
    excess_power=_uint32,
    excess_power_qualifier=_byte,
    start=st.none() | _times,
    end=st.none() | _times,
)


def _in_utc(item: BillingObject) -> BillingObject:
    return dataclasses.replace(
        item,
        max_demand_time=utc(item.max_demand_time),
        start=utc(item.start),
        end=utc(item.end),
    )


@given(st.lists(_billing, max_size=7))
def test_billing_round_trip(objects: list[BillingObject]) -> None:
    count, body = encode_billing(objects, MADRID)
    decoded = decode_billing(Asdu(136, 5, 1, 135, count, body), MADRID)
    assert [_in_utc(item) for item in decoded] == [_in_utc(item) for item in objects]


@given(st.dictionaries(st.integers(1, 6), _uint32), st.none() | _times)
def test_contracted_powers_round_trip(powers: dict[int, int], since: datetime | None) -> None:
    count, body = encode_contracted_powers(ContractedPowers(powers, since), MADRID)
    decoded = decode_contracted_powers(Asdu(145, 5, 1, 134, count, body), MADRID)
    assert decoded.powers == powers
    assert utc(decoded.since) == utc(since)


@given(st.lists(st.tuples(st.integers(1, 8), _uint32, _byte), max_size=8), _times)
def test_integrated_totals_round_trip(items: list[tuple[int, int, int]], end: datetime) -> None:
    totals = tuple(IntegratedTotal(*item) for item in items)
    count, body = encode_integrated_totals(totals, end, MADRID)
    decoded = decode_integrated_totals(Asdu(11, 5, 1, 11, count, body), MADRID)
    assert decoded.totals == totals
    assert utc(decoded.period_end) == utc(end)


@pytest.mark.parametrize(
    ("decode", "type_id", "count", "length", "message"),
    [
        (decode_integrated_totals, 11, 8, 52, "integrated totals: 52 bytes for 8 objects"),
        (decode_integrated_totals, 8, 1, 0, "integrated totals"),
        (decode_billing, 135, 1, 62, "billing information: 62 bytes for 1 objects"),
        (decode_billing, 136, 3, 2 * 63, "billing information"),
        (decode_contracted_powers, 145, 6, 29, "contracted powers: 29 bytes"),
        (decode_range_request, 123, 1, 11, "range request body of 11 bytes"),
        (decode_billing_range, 134, 1, 9, "billing range request body of 9 bytes"),
    ],
)
def test_short_bodies_are_protocol_errors(
    decode: object, type_id: int, count: int, length: int, message: str
) -> None:
    asdu = Asdu(type_id, 5, 1, 11, count, bytes(length))
    with pytest.raises(ProtocolError, match=message):
        decode(asdu, MADRID)  # type: ignore[operator]


@given(st.integers(0, 127), st.binary(max_size=500))
def test_record_decoders_raise_only_protocol_errors(count: int, body: bytes) -> None:
    asdu = Asdu(135, 5, 1, 134, count, body)
    for decode in (
        decode_integrated_totals,
        decode_billing,
        decode_contracted_powers,
        decode_range_request,
        decode_billing_range,
    ):
        with contextlib.suppress(ProtocolError):
            decode(asdu, MADRID)  # type: ignore[operator]


def test_encoders_name_the_value_that_does_not_fit() -> None:
    when = datetime(2026, 3, 1, tzinfo=MADRID)
    negative = dataclasses.replace(_object(21, 1), active=Energy(5, -1, 0))
    with pytest.raises(ValueError, match="billing object 21"):
        encode_billing([_object(20, 1), negative], MADRID)
    with pytest.raises(ValueError, match="billing object 300"):
        encode_billing([dataclasses.replace(_object(20, 1), address=300)], MADRID)
    with pytest.raises(ValueError, match="contracted powers"):
        encode_contracted_powers(ContractedPowers({1: 2**32}, None), MADRID)
    with pytest.raises(ValueError, match="integrated total"):
        encode_integrated_totals([IntegratedTotal(1, 2.5)], when, MADRID)  # type: ignore[arg-type]
