"""How an IEC 62056-21 meter is shown: its maker's name and its values' digits."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.iec102.driver import Iec102Driver
from custom_components.iec_meter.core.iec62056 import Iec62056Driver
from custom_components.iec_meter.core.iec62056.client import Readout, identity_of, reading_of
from custom_components.iec_meter.core.iec62056.datasets import parse_data_block
from custom_components.iec_meter.core.iec62056.messages import parse_identification
from custom_components.iec_meter.core.iec62056.obis import decimals
from custom_components.iec_meter.core.model import DataValue, Reading

DRIVER = Iec62056Driver()
TZ = ZoneInfo("Europe/Madrid")
BLOCK = "\r\n".join(
    (
        "C.1.0(72432595)",
        "1.8.0(0012345.678*kWh)",
        "2.8.0(0002345,6*kWh)",  # a comma as the decimal mark
        "5.8.0(0000123*kvarh)",
        "1-0:1.7.0(01.234*kW)",
        "2.7.0(0000.0*W)",
        "32.7.0(230.1*V)",
        "13.7.0(0.98)",
        "1.6.0(0012345*W)",  # whole W: 3 decimals in kW
        "14.7.0(0.05*MW)",  # a mega unit: two decimals fewer, never below none
        "F.F(00000000)",
        "!",
    )
)


def readout(ident: str = "/LGZ5ZMD4104407.B32\r\n") -> Readout:
    return Readout(parse_identification(ident.encode()), parse_data_block(BLOCK).data_sets, 0, 9600)


@pytest.mark.parametrize(
    ("flag_id", "name"),
    [
        ("LGZ", "Landis+Gyr"),
        ("ISk", "Iskraemeco"),
        ("elS", "Elster"),
        ("XYZ", "XYZ"),  # not in our table: the letters themselves
        ("QQq", "QQQ"),  # the lowercase third letter only says "fast"
    ],
)
def test_the_flag_id_names_the_maker_whatever_its_case(flag_id: str, name: str) -> None:
    identity = identity_of(readout(f"/{flag_id}5METER\r\n"), DRIVER.settings({}))
    assert identity.manufacturer == flag_id  # as sent: ids and unique ids use it
    assert identity.manufacturer_name == name
    stored = DRIVER.stored_identity(DRIVER.identity_record(identity))
    assert stored.manufacturer_name == name
    assert stored == identity  # the name is derived: it never tells two meters apart


def test_an_unlisted_flag_id_read_or_stored_names_the_maker_by_its_letters() -> None:
    identity = identity_of(readout("/XYz5METER\r\n"), DRIVER.settings({}))
    assert identity.manufacturer_name == "XYZ"  # what the device shows as manufacturer
    stored = DRIVER.stored_identity({"manufacturer": "XYz", "serial": "1", "model": "METER"})
    assert stored.manufacturer_name == "XYZ"


def test_no_flag_id_no_maker() -> None:
    stored = DRIVER.stored_identity({"manufacturer": "", "serial": "1"})
    assert stored.manufacturer_name is None


def test_an_iec102_meter_has_no_name_for_its_code() -> None:
    driver = Iec102Driver()
    stored = driver.stored_identity({"manufacturer_code": 66, "serial_number": 1})
    assert stored.manufacturer == "66"
    assert stored.manufacturer_name is None


@pytest.mark.parametrize(
    ("text", "digits"), [("012345.678", 3), ("2345,6", 1), ("0000123", 0), (" 1. ", 0)]
)
def test_decimals_as_written(text: str, digits: int) -> None:
    assert decimals(text) == digits


def test_data_values_keep_their_digits_but_compare_by_value() -> None:
    reading = reading_of(readout(), TZ)
    assert reading.data["1.8.0"] == DataValue(12345.678, "kWh")
    assert reading.data["1.8.0"].decimals == 3
    assert reading.data["F.F"].decimals is None  # text


def test_each_signal_shows_the_digits_the_meter_wrote() -> None:
    reading = reading_of(readout(), TZ)
    shown = {key: DRIVER.precision(key, reading) for key in reading.values}
    assert shown == {
        "active_energy_import": 3,
        "active_energy_export": 1,
        "reactive_energy_q1": 0,
        "active_power": 4,  # the finer of 1-0:1.7.0 (kW, 3) and 2.7.0 (W, 1 -> 4 in kW)
        "voltage_l1": 1,
        "power_factor": 2,
        "max_demand": 3,
        "frequency": 0,
    }


def test_without_a_readout_the_protocols_resolution() -> None:
    assert DRIVER.precision("active_energy_import") == 3  # Wh
    assert DRIVER.precision("active_power", Reading()) == 3  # W
    assert DRIVER.precision("voltage_l1") == 1  # the signal table's
    assert Iec102Driver().precision("active_power") == 0  # whole kW
