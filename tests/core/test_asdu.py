"""ASDU layouts: real frames from public tests, the C# vector, round trips."""

from __future__ import annotations

import contextlib
from datetime import datetime
import logging
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.errors import ProtocolError
from custom_components.iec_meter.core.iec102.asdu import (
    Asdu,
    InstantValues,
    IntegratedTotal,
    PhaseBlock,
    PowerBlock,
    clock_request,
    decode_clock,
    decode_identity,
    decode_instant_values,
    decode_integrated_totals,
    decode_range_request,
    encode_identity,
    encode_instant_values,
    encode_integrated_totals,
    identity_request,
    instantaneous_request,
    integrated_totals_request,
    login_request,
    logout_request,
    requested_objects,
)
from custom_components.iec_meter.core.iec102.asdu.identity import MeterIdentity
from custom_components.iec_meter.core.iec102.constants import (
    Cause,
    RecordAddress,
    TotalObject,
    TypeId,
)
from custom_components.iec_meter.core.iec102.frames import VariableFrame, decode_frame
from custom_components.iec_meter.core.iec102.signals import IEC102_SIGNALS, instant_signals
from custom_components.iec_meter.core.model import SIGNALS, Unit

MADRID = ZoneInfo("Europe/Madrid")
#: R_IN_VA_2 objects from gisce/iec870ree tests/test_app_asdu.py::test_R_IN_VA_2.
GISCE_R_IN_VA_2 = bytes.fromhex(
    "c0 62 e7 03 00 d2 0f 01 00 99 b1 00 00 5e 25 00 00 9d 01 00 00 06 0b 00 00 37 92 6e 04 15"
    " c1 08 00 00 03 00 00 9a 03 02 00 00 00 00 00 dc 01 03 00 00 01 00 00 05 02"
    " 02 00 00 01 00 00 aa 01 37 92 6e 04 15"
    " c2 0c 00 00 55 09 00 00 0d 00 00 55 09 00 00 0c 00 00 47 09 00 00 37 92 6e 04 15"
)


def to_reading(values: InstantValues) -> SimpleNamespace:
    """The signals as attributes (None also for those the meter did not send)."""
    signals = dict.fromkeys(IEC102_SIGNALS) | instant_signals(values)
    return SimpleNamespace(**signals, timestamp=values.timestamp)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_requests_match_published_frames() -> None:
    def frame(asdu: Asdu) -> bytes:
        return VariableFrame(0x73, 1, asdu.encode()).encode()

    assert frame(login_request(1, 1)) == h(
        "68 0D 0D 68 73 01 00 B7 01 06 01 00 00 01 00 00 00 34 16"
    )
    assert frame(logout_request(1)) == h("68 09 09 68 73 01 00 BB 00 06 01 00 00 36 16")
    assert frame(clock_request(1)) == h("68 09 09 68 73 01 00 67 00 05 01 00 00 E1 16")
    assert frame(identity_request(1)) == h("68 09 09 68 73 01 00 64 00 05 01 00 00 DE 16")
    assert frame(instantaneous_request(1)) == h(
        "68 0C 0C 68 73 01 00 A2 03 05 01 00 00 C0 C1 C2 62 16"
    )
    assert VariableFrame(0x73, 34572, login_request(1, 7).encode()).encode() == h(
        "68 0D 0D 68 73 0C 87 B7 01 06 01 00 00 07 00 00 00 CC 16"
    )


def test_header_fields() -> None:
    asdu = Asdu.decode(h("B7 01 47 01 00 00 07 00 00 00"))
    assert asdu.type_id == TypeId.C_AC_NA_2
    assert asdu.cause == Cause.ACTIVATION_CONFIRMATION
    assert asdu.negative
    assert not asdu.test
    assert asdu.describe() == "C_AC_NA_2 cause ACTIVATION_CONFIRMATION negative"
    assert Asdu(250, 63, 1).describe() == "250 cause 63"
    assert Asdu(1, 5, 1, test=True).encode()[2] == 0x85
    with pytest.raises(ProtocolError, match="shorter than its header"):
        Asdu.decode(b"\xb7\x01")
    with pytest.raises(ValueError, match="point address"):
        Asdu(1, 5, 70000)
    with pytest.raises(ValueError, match="object count"):
        Asdu(1, 5, 1, count=200)
    with pytest.raises(ValueError, match="32 bits"):
        login_request(1, 2**32)
    assert requested_objects(instantaneous_request(1)) == (192, 193, 194)


def test_identity_frames() -> None:
    frame = decode_frame(h("68 0f 0f 68 08 01 00 47 01 05 01 00 00 24 42 c6 12 e1 02 78 16"))
    assert isinstance(frame, VariableFrame)
    identity = decode_identity(Asdu.decode(frame.asdu))
    assert identity == MeterIdentity(66, 48304838, 4, 2002)
    assert identity.standard_date == "04/2002"
    other = decode_identity(Asdu(71, 5, 1, body=h("04 fb a2 97 42 24")))
    assert (other.manufacturer_code, other.serial_number) == (251, 608343970)
    assert encode_identity(identity) == h("24 42 c6 12 e1 02")
    with pytest.raises(ProtocolError, match="identity"):
        decode_identity(Asdu(71, 5, 1, body=b"\x24"))


def test_clock() -> None:
    asdu = Asdu(72, 5, 1, count=1, body=h("00 90 25 8b 7c 08 13"))
    assert decode_clock(asdu, MADRID) == datetime(2019, 8, 28, 11, 37, 36, tzinfo=MADRID)
    with pytest.raises(ProtocolError, match="clock"):
        decode_clock(Asdu(72, 5, 1, body=b"\x00"), MADRID)


def test_gisce_instantaneous_values() -> None:
    values = decode_instant_values(Asdu(163, 5, 1, count=3, body=GISCE_R_IN_VA_2), MADRID)
    reading = to_reading(values)
    assert reading.timestamp == datetime(2021, 4, 14, 18, 55, tzinfo=MADRID)
    assert reading.active_energy_import == 255842
    assert reading.active_energy_export == 69586
    assert (
        reading.reactive_energy_q1,
        reading.reactive_energy_q2,
        reading.reactive_energy_q3,
        reading.reactive_energy_q4,
    ) == (45465, 9566, 413, 2822)
    assert (reading.active_power, reading.reactive_power, reading.power_factor) == (8, 3, 0.922)
    assert (reading.active_power_l1, reading.active_power_l2, reading.active_power_l3) == (2, 3, 2)
    assert (reading.reactive_power_l2, reading.power_factor_l2) == (1, 0.517)
    assert (reading.current_l1, reading.current_l2, reading.current_l3) == (1.2, 1.3, 1.2)
    assert (reading.voltage_l1, reading.voltage_l2, reading.voltage_l3) == (238.9, 238.9, 237.5)


def test_csharp_phase_vector_is_invalid() -> None:
    block = PhaseBlock.decode(h("ec 03 00 34 09 00 80"))
    assert block == PhaseBlock(current_deciamps=1004, voltage_decivolts=2356, invalid=True)
    reading = to_reading(InstantValues(phases=(block, block, block)))
    assert reading.current_l1 is None
    assert reading.voltage_l1 is None


def test_sign_bits_and_invalid_powers() -> None:
    exporting = PowerBlock(3, 2, 832, exporting=True, reactive_negative=True)
    raw = exporting.encode()
    assert raw[7] & 0x0C == 0x0C
    decoded = PowerBlock.decode(raw)
    assert (decoded.signed_active(), decoded.signed_reactive()) == (-3.0, -2.0)
    invalid = PowerBlock.decode(PowerBlock(1, 1, 1000, invalid=True).encode())
    assert (invalid.signed_active(), invalid.signed_reactive(), invalid.power_factor()) == (
        None,
        None,
        None,
    )


def test_invalid_energy_register_and_suspect_bits(caplog: pytest.LogCaptureFixture) -> None:
    body = bytearray(GISCE_R_IN_VA_2[:30])
    body[1:5] = (0x80000005).to_bytes(4, "little")  # invalid A+
    body[5:9] = (0x08000001).to_bytes(4, "little")  # bit 27 set on A-
    with caplog.at_level(logging.DEBUG):
        values = decode_instant_values(Asdu(163, 5, 1, count=1, body=bytes(body)), MADRID)
    assert values.energy is not None
    assert values.energy[0] is None
    assert values.energy[1] == 0x08000001
    assert "bits 27-30" in caplog.text
    reading = to_reading(values)
    assert reading.active_energy_import is None
    assert "voltage_l1" not in instant_signals(values)  # object absent: not delivered


@pytest.mark.parametrize(
    ("count", "body", "message"),
    [
        (2, GISCE_R_IN_VA_2[:30], "fewer objects"),
        (1, b"\xc5" + bytes(29), "unknown object 197"),
        (1, GISCE_R_IN_VA_2[:20], "cut short"),
    ],
)
def test_malformed_instantaneous_values(count: int, body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_instant_values(Asdu(163, 5, 1, count=count, body=body), MADRID)


def test_signal_keys_and_units() -> None:
    assert len(IEC102_SIGNALS) == 24
    assert set(SIGNALS) >= IEC102_SIGNALS
    assert SIGNALS["active_energy_import"].unit is Unit.KWH
    assert SIGNALS["reactive_energy_q3"].unit is Unit.KVARH
    assert SIGNALS["active_power_l2"].unit is Unit.KW
    assert SIGNALS["reactive_power"].unit is Unit.KVAR
    assert SIGNALS["power_factor_l1"].unit is None
    assert SIGNALS["current_l3"].unit is Unit.AMPERE
    assert SIGNALS["voltage_l1"].unit is Unit.VOLT
    assert SIGNALS["voltage_l2"].phase == 2
    assert SIGNALS["active_energy_import"].is_register


_power = st.builds(
    PowerBlock,
    st.integers(0, 0xFFFFFF),
    st.integers(0, 0xFFFFFF),
    st.integers(0, 1000),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
_phase = st.builds(PhaseBlock, st.integers(0, 0xFFFFFF), st.integers(0, 0x3FFFFFFF), st.booleans())
_energy = st.tuples(*[st.one_of(st.none(), st.integers(0, 0x3FFFFFFF))] * 6)


@given(
    st.one_of(st.none(), _energy),
    st.one_of(st.none(), st.tuples(_power, _power, _power, _power)),
    st.one_of(st.none(), st.tuples(_phase, _phase, _phase)),
)
def test_instantaneous_values_round_trip(
    energy: tuple[int | None, ...] | None,
    powers: tuple[PowerBlock, ...] | None,
    phases: tuple[PhaseBlock, ...] | None,
) -> None:
    when = datetime(2026, 7, 1, 12, 30, tzinfo=MADRID)
    values = InstantValues(energy=energy, powers=powers, phases=phases)
    count, body = encode_instant_values(values, MADRID, when)
    decoded = decode_instant_values(Asdu(163, 5, 1, count=count, body=body), MADRID)
    stamp = when if count else None
    assert decoded == InstantValues(energy=energy, powers=powers, phases=phases, timestamp=stamp)


@given(st.integers(0, 127), st.binary(max_size=200))
def test_instantaneous_decoder_raises_only_protocol_error(count: int, body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_instant_values(Asdu(163, 5, 1, count=count, body=body), MADRID)


# --- Integrated totals and range requests -------------------------------------------
#: M_IT_TG_2 from the notes (A.6): addr 7000, record 11, 2009-09-18 01:00 summer time.
IT_TG_FRAME = h(
    "68 3E 3E 68 08 58 1B 08 08 05 01 00 0B 01 18 01 00 00 00 02 6E 1F 03 00 00 03 04 00"
    " 00 00 00 04 00 00 00 00 00 05 CC BE 00 00 00 06 98 0D 00 00 00 07 00 00 00 00 80 08"
    " 00 00 00 00 80 00 81 B2 09 09 E1 16"
)


def test_integrated_totals_vector() -> None:
    frame = decode_frame(IT_TG_FRAME)
    assert isinstance(frame, VariableFrame)
    asdu = Asdu.decode(frame.asdu)
    assert (asdu.type_id, asdu.cause, asdu.record_address) == (TypeId.M_IT_TG_2, 5, 11)
    decoded = decode_integrated_totals(asdu, MADRID)
    assert [t.value for t in decoded.totals] == [280, 204654, 4, 0, 48844, 3480, 0, 0]
    assert [t.invalid for t in decoded.totals] == [False] * 6 + [True] * 2
    assert decoded.period_end == datetime(2009, 9, 18, 1, 0, tzinfo=MADRID)
    count, body = encode_integrated_totals(decoded.totals, decoded.period_end, MADRID)
    assert (count, body[:-5]) == (8, asdu.body[:-5])


def test_load_profile_request_matches_gisce_body() -> None:
    start = datetime(2018, 7, 1, 1, 0, tzinfo=MADRID)
    end = datetime(2018, 8, 1, 0, 0, tzinfo=MADRID)
    asdu = integrated_totals_request(1, start, end, MADRID)
    assert (asdu.type_id, asdu.cause, asdu.count) == (TypeId.C_CI_NU_2, Cause.ACTIVATION, 1)
    assert asdu.record_address == RecordAddress.HOURLY
    assert asdu.body == h("01 08 00 81 e1 07 12 00 80 61 08 12")
    absolute = integrated_totals_request(
        7000, start, end, MADRID, incremental=False, last=TotalObject.REACTIVE_Q4
    )
    assert absolute.type_id == TypeId.C_CI_NT_2
    wanted = decode_range_request(absolute, MADRID)
    assert (wanted.first_object, wanted.last_object, wanted.start, wanted.end) == (1, 6, start, end)
    with pytest.raises(ValueError, match="after last"):
        integrated_totals_request(
            1, start, end, MADRID, first=TotalObject.RESERVE_1, last=TotalObject.ACTIVE_IMPORT
        )


def test_short_totals_and_range_bodies_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="integrated totals"):
        decode_integrated_totals(Asdu(8, 5, 1, count=2, body=bytes(12)), MADRID)
    with pytest.raises(ProtocolError, match="range request"):
        decode_range_request(Asdu(123, 6, 1, count=1, body=bytes(5)), MADRID)
    assert IntegratedTotal(1, 5).invalid is False


def test_short_clock_body_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="clock body"):
        decode_clock(Asdu(72, 5, 1, body=bytes(3)), MADRID)
