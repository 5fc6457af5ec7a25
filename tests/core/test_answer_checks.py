"""Structural checks of the meter's answers (what the 8-bit checksum lets through).

The last test flips every pair of bits the checksum cannot see in two answers (the
simulator's instantaneous values, a real meter's load-profile period) and sorts the
pairs: caught by the parser, the link or the checks; harmless (the reading is the
same); or through. Only pairs confined to bits no rule covers (values, the checksum
byte, ACD/DFC, and in a profile the time of the period end) may get through. Of the
pairs that change the reading, the checks cut what gets through from 78 % to 47 %
(instantaneous values) and from 66 % to 40 % (profile period); the rest is the
plausibility guard's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import itertools

import pytest

from custom_components.iec_meter.core.errors import ProtocolError
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    BillingObject,
    Energy,
    decode_instant_values,
    decode_integrated_totals,
    encode_billing,
    encode_clock,
    encode_instant_values,
    identity_request,
    instantaneous_request,
    integrated_totals_request,
    login_request,
)
from custom_components.iec_meter.core.iec102.asdu.billing import stored_billing_request
from custom_components.iec_meter.core.iec102.checks import (
    Expected,
    answer_damage,
    control_damage,
    time_a_damage,
)
from custom_components.iec_meter.core.iec102.constants import (
    ContractRegister,
    RecordAddress,
    TypeId,
)
from custom_components.iec_meter.core.iec102.frames import FixedFrame, VariableFrame, checksum
from custom_components.iec_meter.core.iec102.parser import FrameParser
from custom_components.iec_meter.core.iec102.session import class2_accept, negative_answer_error
from custom_components.iec_meter.core.iec102.signals import instant_signals
from custom_components.iec_meter.core.iec102.timecodec import encode_time_a
from simulator.meter_model import MeterModel
from tests.conftest import MADRID

WHEN = datetime(2026, 3, 10, 12, 34, tzinfo=MADRID)
IDENTITY = Expected(identity_request(1), TypeId.P_MP_NA_2, 1)
INSTANT = Expected(instantaneous_request(1), TypeId.R_IN_VA_2, 1)


def _raw(type_id: int, cause: int, body: bytes = b"", count: int = 1, **kw: int | bool) -> bytes:
    return Asdu(type_id, cause, 1, count=count, body=body, **kw).encode()  # type: ignore[arg-type]


IDENTITY_BODY = bytes.fromhex("24 42 c6 12 e1 02")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_raw(71, 5, IDENTITY_BODY), None),
        (bytes(3), "ASDU of 3 bytes"),
        (_raw(99, 5, IDENTITY_BODY), "unknown type 99"),
        (bytes((71, 0x81, 5, 1, 0, 0)) + IDENTITY_BODY, "SQ bit"),
        (_raw(71, 5, IDENTITY_BODY, test=True), "test bit"),
        (_raw(71, 33, IDENTITY_BODY), "unknown cause 33"),
        (_raw(71, 6, IDENTITY_BODY), "answer with cause 6"),
        (_raw(71, 5, IDENTITY_BODY, negative=True), "negative data"),
        (_raw(71, 5, IDENTITY_BODY, count=2), "6 bytes for 2 objects"),
        (_raw(71, 5, IDENTITY_BODY + b"\0"), "7 bytes for 1 objects"),
        (_raw(71, 5, bytes.fromhex("2d 42 c6 12 e1 02")), "month 13"),
        # Refusals carry nothing to check; the session turns them into errors.
        (_raw(100, 14, count=0, negative=True), None),
        (_raw(71, 17, count=0, negative=True), None),
        (_raw(71, 13, IDENTITY_BODY), "refusal (cause 13) not negative"),
        (_raw(100, 7, count=0, negative=True), None),  # not logged in
        (_raw(100, 5, count=0), "request echoed with cause 5"),
        # Another type: a stray the session leaves, unless its own layout is off.
        (_raw(72, 5, encode_clock(WHEN, MADRID)), None),
        (_raw(72, 5, IDENTITY_BODY), "6 bytes for 1 objects of type 72"),
        (_raw(72, 5, bytes.fromhex("ff ff 00 00 01 01 1a")), "milliseconds or seconds"),
    ],
)
def test_answer_damage_of_an_identity_read(raw: bytes, reason: str | None) -> None:
    found = answer_damage(raw, IDENTITY)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def test_the_point_address_is_the_sessions_to_refuse() -> None:
    """An answer for another point is a setting to fix, not noise: no repeat."""
    wrong_point = Asdu(71, 5, 2, count=1, body=IDENTITY_BODY).encode()
    assert answer_damage(wrong_point, IDENTITY) is None


def test_login_and_logout_confirmations() -> None:
    login = Expected(login_request(1, 7), TypeId.C_AC_NA_2, 1)
    assert answer_damage(_raw(183, 7, b"\x07\0\0\0"), login) is None
    assert answer_damage(_raw(183, 7, b"\x06\0\0\0"), login) is not None
    assert answer_damage(_raw(183, 7, b"\x01\0\0\0", negative=True), login) is None  # rejected
    logout = Expected(Asdu(187, 6, 1), TypeId.C_FS_NA_2, 1)
    assert answer_damage(_raw(187, 7, count=0), logout) is None
    assert answer_damage(_raw(187, 7, b"\0", count=1), logout) is not None


def _range_request() -> Asdu:
    return integrated_totals_request(1, WHEN, WHEN + timedelta(hours=2), MADRID)


def test_range_echoes() -> None:
    request = _range_request()
    expected = Expected(request, TypeId.M_IT_TK_2, 1)

    def echo(cause: int, body: bytes, record: int = 11, count: int = 1) -> bytes:
        return Asdu(request.type_id, cause, 1, record, count, body).encode()

    assert answer_damage(echo(7, request.body), expected) is None
    assert answer_damage(echo(10, request.body), expected) is None
    assert answer_damage(echo(10, b"", count=0), expected) is None  # the header only
    assert answer_damage(echo(7, request.body[:-1] + b"\x99"), expected) == (
        "echo differs from the request"
    )
    assert answer_damage(echo(7, request.body, record=12), expected) is not None
    assert answer_damage(echo(6, request.body), expected) is not None
    refusal = Asdu(request.type_id, 18, 1, negative=True).encode()
    assert answer_damage(refusal, expected) is None


def _totals(stamp: datetime | bytes, record: int = 11, objects: int = 8) -> bytes:
    time = stamp if isinstance(stamp, bytes) else encode_time_a(stamp, MADRID)
    body = b"".join(bytes((n, 5, 0, 0, 0, 0)) for n in range(1, objects + 1)) + time
    return Asdu(TypeId.M_IT_TK_2, 5, 1, record, objects, body).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_totals(WHEN.replace(minute=0)), None),
        (_totals(WHEN.replace(minute=15), RecordAddress.QUARTER_HOURLY), None),
        (_totals(WHEN.replace(minute=15)), "minute 15 of record 11"),
        (_totals(WHEN.replace(minute=10), RecordAddress.QUARTER_HOURLY), "minute 10"),
        (_totals(WHEN.replace(hour=0, minute=0), RecordAddress.DAILY), None),
        (_totals(WHEN.replace(minute=0), RecordAddress.DAILY), "day ending at 12:00"),
        (_totals(bytes(5)), None),  # no date: the client leaves the period out
        (_totals(bytes.fromhex("3c 01 01 01 1a")), "time 1:60"),
        (_totals(WHEN.replace(minute=0))[:-1], "bytes for 8 objects"),
        (_totals(WHEN.replace(minute=0)).replace(b"\x03\x05", b"\x02\x05", 1), "out of order"),
        (
            _totals(WHEN.replace(minute=0)).replace(b"\x05\x00\x00\x00\x00", b"\x05\0\0\0\x01", 1),
            "reserved quality bit",
        ),
    ],
)
def test_integrated_totals(raw: bytes, reason: str | None) -> None:
    found = answer_damage(raw, Expected(_range_request(), TypeId.M_IT_TK_2, 1))
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        (bytes.fromhex("00 81 b2 09 09"), True),  # a real meter's period end, weekday 5
        (bytes.fromhex("2a 44 12 08 12"), True),  # RES1 set in the hour (a real TimeB)
        (bytes.fromhex("00 0b 07 f2 0a"), True),  # ETI/PTI set in the month (real)
        (bytes.fromhex("40 0b 07 02 0a"), True),  # TIS
        (bytes(5), True),  # no date
        (bytes.fromhex("ff ff ff ff ff"), True),  # flagged invalid: anything goes
        (bytes.fromhex("3c 0b 07 02 0a"), False),  # minute 60
        (bytes.fromhex("00 18 07 02 0a"), False),  # hour 24
        (bytes.fromhex("00 0b 00 02 0a"), False),  # day 0
        (bytes.fromhex("00 0b 1e 02 0a"), False),  # 30 February
        (bytes.fromhex("00 0b 07 0d 0a"), False),  # month 13
        (bytes.fromhex("00 0b 07 02 64"), False),  # year 100
    ],
)
def test_time_a(raw: bytes, ok: bool) -> None:
    assert (time_a_damage(raw) is None) is ok


def _billing_object(address: int, qualifier: int = 0, demand_qualifier: int = 0) -> BillingObject:
    return BillingObject(
        address=address,
        active=Energy(3880820, 28352, qualifier),
        inductive=Energy(1858043, 23738, 0),
        capacitive=Energy(376292, 1755, 0),
        max_demand=357,
        max_demand_time=datetime(2018, 7, 18, 7, 15, tzinfo=MADRID),
        max_demand_qualifier=demand_qualifier,
        excess_power=0,
        excess_power_qualifier=0,
        start=datetime(2018, 7, 1, tzinfo=MADRID),
        end=datetime(2018, 8, 1, tzinfo=MADRID),
    )


def _billing(objects: list[BillingObject]) -> tuple[bytes, Expected]:
    request = stored_billing_request(
        1, ContractRegister.CONTRACT_1, datetime(2018, 7, 1, tzinfo=MADRID), WHEN, MADRID
    )
    count, body = encode_billing(objects, MADRID)
    raw = Asdu(TypeId.M_TA_VM_2, 5, 1, request.record_address, count, body).encode()
    return raw, Expected(request, TypeId.M_TA_VM_2, 1)


def test_billing_objects() -> None:
    raw, expected = _billing([_billing_object(20), _billing_object(21), _billing_object(22)])
    assert answer_damage(raw, expected) is None
    assert "out of order" in str(
        answer_damage(_billing([_billing_object(21), _billing_object(20)])[0], expected)
    )
    assert "unknown" in str(answer_damage(_billing([_billing_object(40)])[0], expected))
    for bad in (_billing_object(20, qualifier=1), _billing_object(20, demand_qualifier=0x81)):
        assert "reserved quality bit" in str(answer_damage(_billing([bad])[0], expected))
    # Each of the three time tags is where the layout says: month 13 in any is damage.
    single, _ = _billing([_billing_object(20)])
    for when in (datetime(2018, 7, 18, 7, 15), datetime(2018, 7, 1), datetime(2018, 8, 1)):
        stamp = encode_time_a(when.replace(tzinfo=MADRID), MADRID)
        assert single.count(stamp) == 1
        at = single.index(stamp) + 3
        damaged = single[:at] + bytes((single[at] & 0xF0 | 0x0D,)) + single[at + 1 :]
        assert "month 13" in str(answer_damage(damaged, expected))


def test_instant_values_share_one_stamp_and_leave_unused_bits_clear() -> None:
    raw = _instant_frame().asdu
    assert answer_damage(raw, INSTANT) is None
    body_at = 6
    stamp_of_192 = body_at + 1 + 24
    damaged = bytearray(raw)
    damaged[stamp_of_192 + 2] ^= 0x20  # the weekday of one copy: alone it would pass
    assert answer_damage(bytes(damaged), INSTANT) == "objects with different time stamps"
    damaged = bytearray(raw)
    damaged[body_at + 1 + 3] |= 0x40  # bit 30 of A+
    assert "unused bit" in str(answer_damage(bytes(damaged), INSTANT))
    only_192 = Expected(instantaneous_request(1, (192,)), TypeId.R_IN_VA_2, 1)  # type: ignore[arg-type]
    assert "not asked for" in str(answer_damage(raw, only_192))


def test_control_bytes_a_meter_never_sends() -> None:
    assert control_damage(FixedFrame(0x09, 1)) is None
    assert control_damage(FixedFrame(0x29, 1)) is None  # ACD set
    assert control_damage(FixedFrame(0x08, 1)) == "fixed frame with function 8"
    assert control_damage(FixedFrame(0x89, 1)) is not None
    assert control_damage(VariableFrame(0x08, 1, b"")) is None
    assert control_damage(VariableFrame(0x09, 1, b"")) == "variable frame with function 9"


# --- Every pair of hits the checksum misses -------------------------------------------------
def _instant_frame() -> VariableFrame:
    values = MeterModel(seed=3).sample(WHEN)
    count, body = encode_instant_values(values, MADRID, WHEN)
    return VariableFrame(0x08, 1, Asdu(TypeId.R_IN_VA_2, 5, 1, count=count, body=body).encode())


#: A real meter's answer to C_CI_NT_2 (link 7000, hourly, 2009-09-18 01:00 summer time).
REAL_TOTALS = bytes.fromhex(
    "68 3E 3E 68 08 58 1B 08 08 05 01 00 0B 01 18 01 00 00 00 02 6E 1F 03 00 00 03 04 00"
    " 00 00 00 04 00 00 00 00 00 05 CC BE 00 00 00 06 98 0D 00 00 00 07 00 00 00 00 80 08"
    " 00 00 00 00 80 00 81 B2 09 09 E1 16"
)


@dataclass(frozen=True)
class Case:
    """A correct answer, what it answers, how the client reads it, its blind bits."""

    raw: bytes
    link_address: int
    expected: Expected
    read: Callable[[Asdu], object]
    #: (frame offset, bit) of the bits whose change no structure can show.
    blind: frozenset[tuple[int, int]]


def _bits(offsets: range | list[int], bits: range = range(8)) -> set[tuple[int, int]]:
    return {(offset, bit) for offset in offsets for bit in bits}


def _common_blind(raw: bytes) -> set[tuple[int, int]]:
    """The checksum byte and the ACD/DFC bits of C: nothing to check in them."""
    return _bits([len(raw) - 2]) | _bits([4], range(4, 6))


def _instant_case() -> Case:
    raw = _instant_frame().encode()
    blind = _common_blind(raw)
    start = 7 + 6  # 68 L L 68 C A A, then the ASDU header
    energy = start + 1
    blind |= {(energy + 4 * n + k, b) for n in range(6) for k in range(4) for b in range(8)}
    blind -= {(energy + 4 * n + 3, 6) for n in range(6)}  # bit 30
    powers = energy + 29 + 1
    blind |= {(powers + 8 * n + k, b) for n in range(4) for k in range(8) for b in range(8)}
    blind -= {(powers + 8 * n + 7, b) for n in range(4) for b in range(4, 7)}  # 60-62
    phases = powers + 37 + 1
    blind |= {(phases + 7 * n + k, b) for n in range(3) for k in range(7) for b in range(8)}
    blind -= {(phases + 7 * n + 6, 6) for n in range(3)}  # bit 30 of the voltage

    def read(asdu: Asdu) -> object:
        values = decode_instant_values(asdu, MADRID)
        return instant_signals(values), values.timestamp

    return Case(raw, 1, INSTANT, read, frozenset(blind))


def _totals_case() -> Case:
    raw = REAL_TOTALS
    blind = _common_blind(raw)
    objects = 7 + 6
    for n in range(8):
        blind |= _bits(range(objects + 6 * n + 1, objects + 6 * n + 5))  # the value
        blind |= _bits([objects + 6 * n + 5], range(1, 8))  # quality flags
    stamp = objects + 48
    # The hour, day, month and year of the period end can change within their ranges:
    # the client leaves periods outside what it asked for, not those inside.
    blind |= _bits([stamp + 1], [*range(5), 7]) | _bits([stamp + 2], range(5))
    blind |= _bits([stamp + 3], range(4)) | _bits([stamp + 4], range(7))
    request = Asdu(
        TypeId.C_CI_NT_2, 6, 1, 11, 1, bytes.fromhex("01 08 00 81 b2 09 09 00 81 b3 09 09")
    )

    # Bits the decoder masks (real meters set them): TIS, RES1, weekday, ETI/PTI, RES2.
    blind |= _bits([stamp], range(6, 7)) | _bits([stamp + 1], range(5, 7))
    blind |= _bits([stamp + 2], range(5, 8)) | _bits([stamp + 3], range(4, 8))
    blind |= _bits([stamp + 4], range(7, 8))

    def read(asdu: Asdu) -> object:
        totals = decode_integrated_totals(asdu, MADRID)
        if totals.period_end is None:
            raise ProtocolError("the client leaves a period without a time out")
        return totals

    return Case(raw, 7000, Expected(request, TypeId.M_IT_TG_2, 1), read, frozenset(blind))


def _flips_missed_by_the_checksum(raw: bytes) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Every pair of single-bit flips after which the checksum still fits."""
    cs_at = len(raw) - 2

    def effect(offset: int, bit: int) -> int:
        sign = -1 if raw[offset] >> bit & 1 else 1
        if 4 <= offset < cs_at:
            return sign << bit
        if offset == cs_at:
            return -(sign << bit)
        return 0  # outside the sum: only the parser sees it

    by_effect: dict[int, list[tuple[int, int]]] = {}
    for offset, bit in itertools.product(range(len(raw)), range(8)):
        by_effect.setdefault(effect(offset, bit) % 256, []).append((offset, bit))
    pairs = []
    for value, flips in by_effect.items():
        partners = by_effect.get(-value % 256, [])
        pairs += [(a, b) for a in flips for b in partners if a < b]
    return pairs


def _judge(case: Case, damaged: bytes, truth: object, checks: bool = True) -> str:
    """What the client makes of ``damaged``: caught, harmless or through.

    Without ``checks``, as the client did before them: the parser and the session only.
    """
    frames = [
        item
        for item in FrameParser().feed(damaged)
        if isinstance(item, VariableFrame)
        and not item.from_primary
        and item.address == case.link_address
    ]
    if not frames:
        return "caught"  # damaged or ignored: the link asks again
    frame = frames[0]
    if frame.function != 8:
        return "caught"
    if checks and (
        control_damage(frame) is not None or class2_accept(case.expected)(frame) is not True
    ):
        return "caught"
    asdu = Asdu.decode(frame.asdu)
    expected = case.expected
    if asdu.type_id != expected.answer_type or asdu.cause not in (5, 7):
        return "caught"  # left by the session, or an error
    if negative_answer_error(asdu) is not None or asdu.point_address != expected.point_address:
        return "caught"
    try:
        reading = case.read(asdu)
    except ProtocolError:
        return "caught"
    return "harmless" if reading == truth else "through"


@pytest.mark.parametrize(
    ("make", "before", "after"),
    [(_instant_case, 0.75, 0.5), (_totals_case, 0.6, 0.45)],
    ids=["instant", "profile"],
)
def test_every_pair_of_hits_the_checksum_misses(
    make: Callable[[], Case], before: float, after: float
) -> None:
    """Pairs of hits through the checksum: caught unless both sit in bits without rules.

    ``before`` and ``after`` bound the share of the harmful pairs (those that change
    the reading) that get through without and with the structural checks.
    """
    case = make()
    truth = case.read(Asdu.decode(case.raw[7:-2]))
    assert checksum(case.raw[4:-2]) == case.raw[-2]
    outcome: Counter[str] = Counter()
    unchecked: Counter[str] = Counter()
    leaks = []
    for a, b in _flips_missed_by_the_checksum(case.raw):
        damaged = bytearray(case.raw)
        damaged[a[0]] ^= 1 << a[1]
        damaged[b[0]] ^= 1 << b[1]
        verdict = _judge(case, bytes(damaged), truth)
        outcome[verdict] += 1
        unchecked[_judge(case, bytes(damaged), truth, checks=False)] += 1
        if verdict == "through" and not {a, b} <= case.blind:
            leaks.append((a, b))
    assert sorted({flip for pair in leaks for flip in pair} - case.blind) == []
    assert leaks == []

    def share(counts: Counter[str]) -> float:
        return counts["through"] / (counts["caught"] + counts["through"])

    print(  # the figures of the report (pytest -s)
        f"{make.__name__}: before {dict(unchecked)} {share(unchecked):.1%}, "
        f"after {dict(outcome)} {share(outcome):.1%}"
    )
    assert share(unchecked) > before
    assert share(outcome) < after
