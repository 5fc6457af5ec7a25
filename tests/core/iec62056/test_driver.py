"""The IEC 62056-21 driver: settings, identity, unique id, standard data."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.iec62056 import Iec62056Client, Iec62056Driver, Mode
from custom_components.iec_meter.core.model import SIGNALS, DataValue, Identity, Reading
from custom_components.iec_meter.core.transport import LineSettings

DRIVER = Iec62056Driver()


def test_defaults() -> None:
    settings = DRIVER.settings({})
    assert settings.mode is Mode.C
    assert settings.device_address == ""
    assert settings.initial_baudrate == 0  # the line's speed, 300 by default
    assert DRIVER.line_defaults.baudrate == 300
    assert settings.t2_ms == 300
    assert DRIVER.line_defaults.bytesize == 7
    assert DRIVER.line_defaults.parity == "E"
    assert DRIVER.default_request_timeout_ms == 2500
    assert DRIVER.labelled_data
    assert DRIVER.signals <= set(SIGNALS)
    assert {field.key for field in DRIVER.meter_fields} >= {
        "device_address",
        "mode",
        "max_baudrate",
    }


def test_settings_from_form_text() -> None:
    settings = DRIVER.settings(
        {
            "device_address": " 12345678 ",
            "mode": "b",
            "initial_baudrate": "300",
            "max_baudrate": "9600",
            "t2_ms": 500.0,
            "wake_up": "yes",
            "echo": True,
            "strip_parity": "off",
            "poll_delay_ms": "",
        }
    )
    assert settings.device_address == "12345678"
    assert settings.mode is Mode.B
    assert settings.max_baudrate == 9600
    assert settings.t2_ms == 500
    assert settings.wake_up and settings.echo and not settings.strip_parity
    assert settings.poll_delay_ms == 200
    assert settings.max_readout_bytes == 32 * 1024  # the default bound of a readout
    assert DRIVER.settings({"max_readout_bytes": "65536"}).max_readout_bytes == 65536
    assert DRIVER.settings({"device_address": 42}).device_address == "42"
    assert "mode B" in DRIVER.describe(settings)


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "E"},
        {"device_address": "a!"},
        {"device_address": ["x"]},
        {"initial_baudrate": "fast"},
        {"initial_baudrate": 110},
        {"max_baudrate": 38400},
        {"t2_ms": 100},
        {"t2_ms": 1.5},
        {"t2_ms": True},
        {"poll_delay_ms": -1},
        {"wake_up": "maybe"},
        {"max_readout_bytes": 100},
        {"max_readout_bytes": 10**7},
    ],
)
def test_bad_settings(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        DRIVER.settings(data)


def test_unique_id_and_identity_round_trip() -> None:
    settings = DRIVER.settings({"device_address": "7"})
    with_serial = Identity("ISk", "123", "MT174", fields={"serial_address": "C.1.0"})
    assert DRIVER.unique_id(with_serial, settings) == "ISk-123"
    without = Identity("LGZ", "7", "ZMD310", fields={})
    assert DRIVER.unique_id(without, settings) == "LGZ-ZMD310-7"
    assert DRIVER.stored_identity(DRIVER.identity_record(with_serial)) == with_serial
    assert DRIVER.stored_identity({"manufacturer": "A", "serial": "1"}) == Identity("A", "1")


def test_standard_data() -> None:
    reading = Reading(
        data={
            "1.8.0": DataValue(1.0, "kWh"),
            "1.8.0*01": DataValue(1.0, "kWh"),
            "F.F": DataValue("0"),
            "1.6.0_2": DataValue("2301011200"),
        }
    )
    assert DRIVER.standard_data(reading) == {"1.8.0", "1.6.0_2"}


async def test_client_factory() -> None:
    bus = Bus(LineSettings("socket://127.0.0.1:1"))
    client = DRIVER.client(bus, DRIVER.settings({}), ZoneInfo("UTC"))
    assert isinstance(client, Iec62056Client)
    assert client.diagnostics()["readouts"] == 0
