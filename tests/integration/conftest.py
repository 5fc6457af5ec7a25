"""Fixtures for the Home Assistant side: the real simulator and config entries for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
import copy
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from homeassistant.components.repairs import RepairsFlowManager, repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowHandler
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension

from custom_components.iec_meter.const import (
    CONF_BILLING_CONTRACT,
    CONF_CONTENT_TIMEOUT,
    CONF_DATA,
    CONF_DEVICE,
    CONF_INTER_REQUEST_DELAY,
    CONF_PROFILE,
    CONF_PROTOCOL,
    CONF_RECONNECT_DELAY,
    CONF_REQUEST_TIMEOUT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_SETTLE_DELAY,
    CONF_SIGNALS,
    CONF_TIME_ZONE,
    DOMAIN,
    PROFILE_OFF,
    SUBENTRY_METER,
)
from custom_components.iec_meter.core.iec102.driver import (
    LINK_ADDRESS,
    MANUFACTURER_CODE,
    PASSWORD,
    POINT_ADDRESS,
    SERIAL_NUMBER,
    STANDARD_DATE,
)
from custom_components.iec_meter.core.iec102.signals import IEC102_SIGNALS
from custom_components.iec_meter.core.iec62056.driver import (
    DEVICE_ADDRESS,
    ECHO,
    FIELDS,
    MANUFACTURER,
    MAX_BAUDRATE,
    MODE,
    MODEL,
    POLL_DELAY_MS,
    SERIAL,
    STRIP_PARITY,
    T2_MS,
    WAKE_UP,
)
from custom_components.iec_meter.core.model import SIGNALS
from simulator.iec102_meter import MeterConfig
from simulator.iec62056_line import Iec62056Line, Iec62056LineOptions
from simulator.iec62056_meter import Iec62056MeterConfig, SimulatedIec62056Meter
from simulator.line import MeterLine
from simulator.meter_model import MeterModel
from tests.conftest import MADRID, make_line
from tests.integration import frontend_rules

#: Fixed meter clock so values and snapshots repeat.
METER_TIME = datetime(2026, 6, 21, 13, 0, tzinfo=MADRID)

FAST_OPTIONS = {
    # Records are off unless a test is about them (they add reads to every setup).
    CONF_PROFILE: PROFILE_OFF,
    CONF_BILLING_CONTRACT: 0,
    CONF_SCAN_INTERVAL: 30,
    CONF_REQUEST_TIMEOUT: 200,
    CONF_RETRIES: 1,
    CONF_INTER_REQUEST_DELAY: 0,
    CONF_RECONNECT_DELAY: 1000,
    CONF_CONTENT_TIMEOUT: 2000,
    CONF_SETTLE_DELAY: 0.0,
}


@pytest.fixture(autouse=True)
def _custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/iec_meter."""


@pytest.fixture(autouse=True)
def _forms_a_browser_can_send(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every form a flow serves in any test must be one the frontend fills and sends.

    The frontend's initial-data rule is replayed on it (tests/integration/frontend_rules.py):
    every default must reach the data the form starts with, inside sections too, or the
    user would have to type it (and the frontend refuses the form until they do).
    """
    original = FlowHandler.async_show_form

    def checked(self: FlowHandler, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result.get("data_schema") is not None:
            schema = frontend_rules.serialized(result["data_schema"])
            data = frontend_rules.initial_data(schema)
            lost = frontend_rules.defaults_lost(schema, data)
            assert not lost, f"step {result['step_id']}: the frontend drops defaults {lost}"
        return result

    monkeypatch.setattr(FlowHandler, "async_show_form", checked)


@dataclass
class Simulated:
    """A running simulated line and its URL."""

    line: MeterLine
    url: str


def signals_of(phases: int = 3) -> list[str]:
    """The IEC 102 signals a meter with that many phases delivers."""
    return sorted(key for key in IEC102_SIGNALS if phases == 3 or SIGNALS[key].phase is None)


def meter_record(link: int = 1, password: int = 1, phases: int = 3) -> dict[str, Any]:
    """Subentry data of a simulated meter, as the config flow stores it."""
    return {
        LINK_ADDRESS: link,
        POINT_ADDRESS: 1,
        PASSWORD: password,
        CONF_TIME_ZONE: "Europe/Madrid",
        MANUFACTURER_CODE: 66,
        SERIAL_NUMBER: 48_300_000 + link,
        STANDARD_DATE: "04/2002",
        CONF_SIGNALS: signals_of(phases),
        CONF_DATA: [],
    }


def meter_subentry(title: str, link: int = 1, password: int = 1, phases: int = 3) -> dict[str, Any]:
    return {
        "data": meter_record(link, password, phases),
        "subentry_type": SUBENTRY_METER,
        "title": title,
        "unique_id": f"66-{48_300_000 + link}",
    }


#: Two meters on one bus: House (link 1, password 1) and Garage (link 2, password 2).
TWO_METERS = [MeterConfig(link_address=1), MeterConfig(link_address=2, password=2)]


def house_and_garage(url: str) -> MockConfigEntry:
    """An entry for the two meters of TWO_METERS."""
    return make_entry(url, meter_subentry("House"), meter_subentry("Garage", link=2, password=2))


@pytest.fixture
def meter_configs() -> list[MeterConfig]:
    """Meters on the simulated line (override in a test module for a bus)."""
    return [MeterConfig()]


@pytest.fixture
async def simulated(meter_configs: list[MeterConfig]) -> AsyncIterator[Simulated]:
    """A line over TCP with copies of the configs: a test that changes its meter (a new
    password, another serial) must not change the shared parametrized value for later tests."""
    line = make_line(copy.deepcopy(meter_configs), clock=lambda: METER_TIME)
    url = await line.start_tcp()
    try:
        yield Simulated(line, url)
    finally:
        await line.stop()


def make_entry(url: str, *subentries: dict[str, Any], options: dict[str, Any] | None = None):
    return MockConfigEntry(
        domain=DOMAIN,
        title=url.removeprefix("socket://"),
        data={CONF_PROTOCOL: "iec102", CONF_DEVICE: url},
        options=options or dict(FAST_OPTIONS),
        minor_version=2,
        subentries_data=list(subentries) or [meter_subentry("House")],
    )


def added_entry(hass: HomeAssistant, url: str) -> tuple[MockConfigEntry, str]:
    """A one-meter entry added but not set up, and its meter's subentry id: the test puts
    the registries in the state a restart finds, then sets the entry up."""
    entry = make_entry(url)
    entry.add_to_hass(hass)
    return entry, next(iter(entry.subentries))


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def start_fix_flow(
    hass: HomeAssistant, issue_id: str
) -> tuple[RepairsFlowManager, Mapping[str, Any]]:
    """The repair's fix flow as the user opens it (Settings → Repairs); its first step."""
    assert await async_setup_component(hass, "repairs", {})
    await hass.async_block_till_done()
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager, await manager.async_init(DOMAIN, data={"issue_id": issue_id})


# --- IEC 62056-21 ------------------------------------------------------------------------

TARIFFS = ("", "_t1", "_t2")
PHASE_QUANTITIES = ("active_power", "current", "voltage", "power_factor")
#: The standard signals a simulated three-phase IEC 62056-21 meter delivers.
IEC62056_SIGNALS = sorted(
    [
        *(f"active_energy_{way}{tariff}" for way in ("import", "export") for tariff in TARIFFS),
        *(f"reactive_energy_q{quadrant}" for quadrant in range(1, 5)),
        *("active_power", "reactive_power", "power_factor", "frequency"),
        *("max_demand", "max_demand_time"),
        *(f"{quantity}_l{phase}" for quantity in PHASE_QUANTITIES for phase in (1, 2, 3)),
    ]
)

#: Meter settings as the flow stores them, fast enough for tests (t2 at its minimum).
IEC62056_SETTINGS: dict[str, Any] = {
    DEVICE_ADDRESS: "",
    MODE: "C",
    MAX_BAUDRATE: "0",
    T2_MS: 200,
    WAKE_UP: False,
    ECHO: False,
    STRIP_PARITY: False,
    POLL_DELAY_MS: 0,
}

#: Timing options for IEC 62056-21 entries in tests: a readout is a few exchanges.
FAST_62056_OPTIONS = {
    **FAST_OPTIONS,
    CONF_SCAN_INTERVAL: 60,
    CONF_REQUEST_TIMEOUT: 500,
    CONF_RETRIES: 0,
}


@dataclass
class Simulated62056:
    """A running simulated IEC 62056-21 line and its URL."""

    line: Iec62056Line
    url: str


@pytest.fixture
def iec62056_meters() -> list[Iec62056MeterConfig]:
    """Meters on the simulated IEC 62056-21 line (override in a test for a bus)."""
    return [Iec62056MeterConfig()]


@pytest.fixture
async def simulated_62056(
    iec62056_meters: list[Iec62056MeterConfig],
) -> AsyncIterator[Simulated62056]:
    """An IEC 62056-21 line over TCP, not paced (a readout takes a fraction of a second).

    The meters get copies of the configs, as in ``simulated``.
    """
    meters = [
        SimulatedIec62056Meter(
            config,
            MADRID,
            lambda: METER_TIME,
            MeterModel(three_phase=config.three_phase, seed=index + 1),
        )
        for index, config in enumerate(copy.deepcopy(iec62056_meters))
    ]
    line = Iec62056Line(meters, Iec62056LineOptions(pace=False))
    url = await line.start_tcp()
    try:
        yield Simulated62056(line, url)
    finally:
        await line.stop()


def iec62056_subentry(
    title: str = "House", address: str = "", serial: str = "12345678", data: list[str] | None = None
) -> dict[str, Any]:
    """Subentry of a simulated IEC 62056-21 meter, as the config flow stores it."""
    fields: dict[str, Any] = {
        "manufacturer_id": "ISk",
        "identification": "5MT174-SIM",
        "baud_char": "5",
    }
    if address:
        fields["device_address"] = address
    fields["serial_address"] = "C.1.0"
    return {
        "data": {
            **IEC62056_SETTINGS,
            DEVICE_ADDRESS: address,
            MANUFACTURER: "ISk",
            SERIAL: serial,
            MODEL: "5MT174-SIM",
            FIELDS: fields,
            CONF_SIGNALS: IEC62056_SIGNALS,
            CONF_DATA: data or [],
        },
        "subentry_type": SUBENTRY_METER,
        "title": title,
        "unique_id": f"ISk-{serial}",
    }


def make_62056_entry(
    url: str, *subentries: dict[str, Any], options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A connection entry of the IEC 62056-21 protocol (one meter by default)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=url.removeprefix("socket://"),
        data={CONF_PROTOCOL: "iec62056", CONF_DEVICE: url},
        options=dict(FAST_62056_OPTIONS) if options is None else options,
        minor_version=2,
        subentries_data=list(subentries) or [iec62056_subentry()],
    )


@pytest.fixture(autouse=True)
def _no_deprecation_reports(caplog: pytest.LogCaptureFixture):
    """Fail a test when Home Assistant reports our integration using a deprecated API."""
    yield
    reports = [
        record.getMessage()
        for record in caplog.get_records("call")
        if "iec_meter" in record.getMessage()
        and ("deprecat" in record.getMessage().lower() or "Detected that" in record.getMessage())
    ]
    assert not reports, f"Home Assistant reported deprecated use: {reports}"


class _SnapshotExtension(AmberSnapshotExtension):
    """Plain amber files in tests/integration/snapshots, whatever the plugin version.

    The two ends of our Home Assistant range ship different syrupy versions and
    snapshot extensions; tests hand this one plain data (see ``plain``).
    """

    snapshot_dirname = "snapshots"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(_SnapshotExtension)


def plain(value: Any) -> Any:
    """Enums to their values and keys to strings, so every version serializes alike."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value
