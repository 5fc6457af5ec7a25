"""Data-set parser and OBIS mapping, with property tests."""

from __future__ import annotations

from datetime import datetime
import string
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from custom_components.iec_meter.core.iec62056.datasets import (
    DataSet,
    RawValue,
    parse_data_block,
    parse_number,
    split_address,
)
from custom_components.iec_meter.core.iec62056.messages import bcc, data_message, decode_block
from custom_components.iec_meter.core.iec62056.obis import (
    current_code,
    labelled_data,
    parse_stamp,
    serial_number,
    signals,
    standard_addresses,
)
from custom_components.iec_meter.core.model import SIGNALS, DataValue

TZ = ZoneInfo("Europe/Madrid")

READOUT = """\
0-0:C.1.0(72432595)
F.F(00000000)
1-0:1.8.0(009487.172*kWh)
1.8.1(0001234,5*kWh)
2.8.0(12.5*MWh)
5.8.0(100*kvarh)
1.7.0(1500*W)
2.7.0(0.000*kW)
21.7.0(1.0*kW)
42.7.0(0.5*kW)
3.7.0(0.2*kvar)
4.7.0(0.7*kvar)
32.7.0(230.1*V)
31.7.0(5.5*A)
13.7.0(0.98)
14.7.0(50.01*Hz)
1.6.0(1.234*kW)(2301011200)
1.8.0*24(0147238.4*kWh)
1.8.0&03(0147000.0*kWh)
0.9.1(120000)
0.9.2(240115)
0.2.0(V1.0)(extra)
(continued)
bad line without value
unclosed(value
!
"""


def test_parses_a_readout_and_counts_bad_lines() -> None:
    parsed = parse_data_block(READOUT)
    assert parsed.skipped == 2
    addresses = [data_set.address for data_set in parsed.data_sets]
    assert addresses[0] == "0-0:C.1.0"
    assert "1.8.0*24" in addresses
    version = parsed.data_sets[-1]
    assert version.address == "0.2.0"
    assert [value.text for value in version.values] == ["V1.0", "extra", "continued"]


def test_maps_signals() -> None:
    parsed = parse_data_block(READOUT)
    values, stamp = signals(parsed.data_sets, TZ)
    assert values["active_energy_import"] == 9487.172
    assert values["active_energy_import_t1"] == 1234.5
    assert values["active_energy_export"] == 12500.0
    assert values["reactive_energy_q1"] == 100.0
    assert values["active_power"] == 1.5
    assert values["active_power_l1"] == 1.0
    assert values["active_power_l2"] == -0.5
    assert values["reactive_power"] == -0.5
    assert values["voltage_l1"] == 230.1
    assert values["current_l1"] == 5.5
    assert values["power_factor"] == 0.98
    assert values["frequency"] == 50.01
    assert values["max_demand"] == 1.234
    assert values["max_demand_time"] == datetime(2023, 1, 1, 12, 0, tzinfo=TZ)
    assert stamp == datetime(2024, 1, 15, 12, 0, tzinfo=TZ)
    assert set(values) <= set(SIGNALS)
    assert serial_number(parsed.data_sets) == ("72432595", "0-0:C.1.0")


def test_labelled_data_keeps_text_and_history() -> None:
    data = labelled_data(parse_data_block(READOUT).data_sets)
    assert data["F.F"] == DataValue("00000000")
    assert data["0-0:C.1.0"] == DataValue("72432595")
    assert data["1.8.0*24"] == DataValue(147238.4, "kWh")
    assert data["1.6.0_2"] == DataValue("2301011200")
    assert data["13.7.0"] == DataValue(0.98)
    standard = standard_addresses(data)
    assert "1-0:1.8.0" in standard
    assert "1.6.0_2" in standard
    assert "1.8.0*24" not in standard
    assert "F.F" not in standard
    assert "0.2.0_2" not in standard


def test_invalid_quantities_and_missing_pairs() -> None:
    sets = parse_data_block(
        "2.7.0(1.5*kW)\n1.8.0(----)\n1.6.0(x)(9913011200)\n3.7.0(x)\n"
    ).data_sets
    values, stamp = signals(sets, TZ)
    assert values["active_power"] == -1.5
    assert values["active_energy_import"] is None
    assert values["max_demand"] is None
    assert values["max_demand_time"] is None  # month 13
    assert values["reactive_power"] is None
    assert stamp is None
    assert serial_number(sets) is None


def test_helpers() -> None:
    assert parse_number("0001234,5") == 1234.5
    assert parse_number("-.5") == -0.5
    assert parse_number("1e5") is None
    assert split_address("1-0:1.8.0*24") == ("1-0:1.8.0", "24")
    assert split_address("1.8.0&01") == ("1.8.0", "01")
    assert current_code("1-0:1.8.0") == "1.8.0"
    assert current_code("1.8.0*01") is None
    assert parse_stamp("230101120030", TZ) == datetime(2023, 1, 1, 12, 0, 30, tzinfo=TZ)
    assert parse_stamp("2301", TZ) is None


# --- properties --------------------------------------------------------------------
_address_chars = string.ascii_letters + string.digits + ".:-*&_"
_value_chars = string.ascii_letters + string.digits + ".,:- "
addresses = st.text(_address_chars, min_size=1, max_size=20)
raw_values = st.builds(
    RawValue,
    st.text(_value_chars, max_size=20),
    st.none() | st.text(string.ascii_letters, min_size=1, max_size=5),
)
data_sets = st.builds(DataSet, addresses, st.lists(raw_values, min_size=1, max_size=3).map(tuple))


@given(st.text())
def test_parser_never_raises(text: str) -> None:
    parsed = parse_data_block(text)
    assert parsed.skipped >= 0
    labelled_data(parsed.data_sets)
    signals(parsed.data_sets, TZ)


@given(st.lists(data_sets, max_size=10))
def test_round_trip(generated: list[DataSet]) -> None:
    text = "\r\n".join(data_set.encode() for data_set in generated) + "\r\n!\r\n"
    parsed = parse_data_block(text)
    assert parsed.skipped == 0
    assert list(parsed.data_sets) == generated


@given(st.lists(data_sets, max_size=10))
def test_framed_round_trip(generated: list[DataSet]) -> None:
    raw = data_message([data_set.encode() for data_set in generated])
    assert bcc(raw[1:-1]) == raw[-1]
    assert list(parse_data_block(decode_block(raw).text).data_sets) == generated


@given(st.binary())
def test_bcc_is_seven_bit_and_self_cancelling(data: bytes) -> None:
    check = bcc(data)
    assert 0 <= check < 0x80
    assert bcc(data + bytes((check,))) == 0
