"""Every branch of the config, options, subentry and reconfigure flows (real simulator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from homeassistant import data_entry_flow
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import serialx

from custom_components.iec_meter import schemas, validation
from custom_components.iec_meter.compat import form_schema
from custom_components.iec_meter.connection import default_options
from custom_components.iec_meter.const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_DATA,
    CONF_DEVICE,
    CONF_HOST,
    CONF_NAME,
    CONF_OFFERED,
    CONF_PARITY,
    CONF_PORT,
    CONF_PROTOCOL,
    CONF_SIGNALS,
    CONF_STOPBITS,
    CONF_TIME_ZONE,
    CONF_UTILITY,
    DOMAIN,
    SUBENTRY_METER,
)
from custom_components.iec_meter.core.driver import FieldKind, SettingField
from custom_components.iec_meter.core.drivers import get_driver
from custom_components.iec_meter.core.iec102.driver import (
    LINK_ADDRESS as CONF_LINK_ADDRESS,
    PASSWORD as CONF_PASSWORD,
    POINT_ADDRESS as CONF_POINT_ADDRESS,
)
from custom_components.iec_meter.core.iec62056.driver import (
    DEVICE_ADDRESS,
    MODE,
    POLL_DELAY_MS,
    T2_MS,
)
from custom_components.iec_meter.schemas import kept_title
from custom_components.iec_meter.tariff_settings import CONF_TARIFF
from simulator.iec102_meter import MeterConfig
from simulator.line import Faults
from tests.conftest import make_line, serving
from tests.scripted import scripted_meter

from .conftest import (
    FAST_OPTIONS,
    IEC62056_SETTINGS,
    IEC62056_SIGNALS,
    Simulated,
    Simulated62056,
    iec62056_subentry,
    make_62056_entry,
    make_entry,
    meter_subentry,
    setup_entry,
    signals_of,
)

METER = {CONF_NAME: "House", CONF_LINK_ADDRESS: 1, CONF_POINT_ADDRESS: 1, CONF_PASSWORD: "1"}
#: The reconfigure form of the simulated IEC 62056-21 meter, as its user sends it.
SETTINGS_62056 = {
    DEVICE_ADDRESS: "",
    MODE: "C",
    "advanced": {T2_MS: IEC62056_SETTINGS[T2_MS], POLL_DELAY_MS: 0},
}
DEFAULT_OPTIONS = default_options(get_driver("iec102"))


def host_port(url: str) -> dict[str, Any]:
    host, port = url.removeprefix("socket://").split(":")
    return {CONF_HOST: host, CONF_PORT: int(port)}


def form_defaults(result: dict[str, Any]) -> dict[str, Any]:
    """The pre-filled values of a form, those of its folded sections included."""
    defaults: dict[str, Any] = {}
    for key, value in result["data_schema"].schema.items():
        if isinstance(value, data_entry_flow.section):
            defaults.update(form_defaults({"data_schema": value.schema}))
        elif callable(key.default):
            defaults[str(key)] = key.default()
    return defaults


async def start(hass: HomeAssistant, utility: str = "other") -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["iec102", "iec62056"]
    result = await choose(hass, result, "iec102")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "utility"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_UTILITY: utility}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "connection"
    return result


async def choose(hass: HomeAssistant, result: dict[str, Any], step: str) -> dict[str, Any]:
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": step})


async def configure(hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]):
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


async def test_network_meter_end_to_end(hass: HomeAssistant, simulated: Simulated) -> None:
    result = await choose(hass, await start(hass), "network")
    assert result["step_id"] == "network"
    result = await configure(hass, result, host_port(simulated.url))
    assert result["step_id"] == "meter"
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "IEC 60870-5-102 (REE) · " + simulated.url.removeprefix("socket://")
    assert result["data"] == {CONF_PROTOCOL: "iec102", CONF_DEVICE: simulated.url}
    assert result["options"] == DEFAULT_OPTIONS
    entry = result["result"]
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_METER
    assert subentry.title == "House"
    assert subentry.unique_id == "66-48300001"
    assert len(subentry.data[CONF_SIGNALS]) == 24
    assert subentry.data[CONF_TIME_ZONE] == "Europe/Madrid"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.house_energy_import") is not None


async def test_url_typed_as_host(hass: HomeAssistant, simulated: Simulated) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, {CONF_HOST: simulated.url, CONF_PORT: 4001})
    assert result["step_id"] == "meter"


@pytest.mark.parametrize("host", ["http://example.org:80", "socket://nohost", "  "])
async def test_invalid_network_address(
    hass: HomeAssistant, simulated: Simulated, host: str
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, {CONF_HOST: host, CONF_PORT: 4001})
    assert result["errors"] == {"base": "invalid_url"}
    result = await configure(hass, result, host_port(simulated.url))
    assert result["step_id"] == "meter"


async def test_network_cannot_connect_then_recovers(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, {CONF_HOST: "127.0.0.1", CONF_PORT: 1})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await configure(hass, result, host_port(simulated.url))
    assert result["step_id"] == "meter"


async def test_serial_meter_over_a_pty(hass: HomeAssistant) -> None:
    line = make_line([MeterConfig(password=7)])
    async with serving(line, pty=True) as path:
        result = await start(hass, "iberdrola")
        result = await choose(hass, result, "serial")
        assert result["step_id"] == "serial"
        bad = {CONF_DEVICE: "/dev/does-not-exist", CONF_BAUDRATE: "9600", CONF_BYTESIZE: "8",
               CONF_PARITY: "none", CONF_STOPBITS: "1"}  # fmt: skip
        result = await configure(hass, result, bad)
        assert result["errors"] == {"base": "cannot_connect"}
        # Linux pseudo-terminals refuse parity once reopened: keep N for the pty.
        result = await configure(hass, result, {**bad, CONF_DEVICE: path})
        assert result["step_id"] == "meter"
        schema_defaults = form_defaults(result)
        assert schema_defaults[CONF_PASSWORD] == "7"  # Iberdrola preset
        result = await configure(hass, result, {**METER, CONF_PASSWORD: "7"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            CONF_PROTOCOL: "iec102", CONF_DEVICE: path, CONF_BAUDRATE: 9600, CONF_BYTESIZE: 8,
            CONF_PARITY: "N", CONF_STOPBITS: 1,
        }  # fmt: skip
        entry = result["result"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_iec62056_meter_over_a_pty_with_its_own_forms(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    """IEC 62056-21 gets serial and meter forms of its own (their texts are its own)."""
    line = simulated_62056.line
    path = await line.start_pty()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await choose(hass, await choose(hass, result, "iec62056"), "serial")
    assert result["step_id"] == "serial_iec62056"
    defaults = form_defaults(result)
    assert (defaults[CONF_BAUDRATE], defaults[CONF_BYTESIZE]) == ("300", "7")
    assert (defaults[CONF_PARITY], defaults[CONF_STOPBITS]) == ("even", "1")
    bad = {**defaults, CONF_DEVICE: "/dev/does-not-exist"}
    result = await configure(hass, result, bad)
    assert result["step_id"] == "serial_iec62056"
    assert result["errors"] == {"base": "cannot_connect"}
    # Linux pseudo-terminals refuse parity once reopened: 8N1 for the pty.
    line_8n1 = {CONF_BYTESIZE: "8", CONF_PARITY: "none"}
    result = await configure(hass, result, {**bad, **line_8n1, CONF_DEVICE: path})
    assert result["step_id"] == "meter_iec62056"
    result = await configure(hass, result, {CONF_NAME: "House", **SETTINGS_62056})
    assert result["step_id"] == "values"
    result = await configure(hass, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_serial_defaults_follow_the_utility(hass: HomeAssistant) -> None:
    result = await choose(hass, await start(hass, "endesa"), "serial")
    defaults = form_defaults(result)
    assert defaults[CONF_PARITY] == "even"  # the preset's "E", as the form's choice
    assert defaults[CONF_BAUDRATE] == "9600"


@dataclass
class FakePort:
    device: str
    description: str


async def test_port_list_fallback_and_selector(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = [FakePort("/dev/serial/by-id/usb-FTDI-if00", "FT232R"), FakePort("/dev/ttyS0", "")]

    async def list_ports() -> list[FakePort]:
        return ports

    monkeypatch.setattr(serialx, "async_list_serial_ports", list_ports)
    monkeypatch.delattr(selector, "SerialPortSelector", raising=False)
    result = await choose(hass, await start(hass), "serial")
    field = next(v for k, v in result["data_schema"].schema.items() if str(k) == CONF_DEVICE)
    assert isinstance(field, selector.SelectSelector)
    options = field.config["options"]
    assert options[0] == {"value": ports[0].device, "label": f"{ports[0].device} - FT232R"}
    assert options[1] == {"value": "/dev/ttyS0", "label": "/dev/ttyS0"}
    assert field.config["custom_value"] is True

    class PortSelector(selector.TextSelector):
        """Stands in for Home Assistant 2026.5's SerialPortSelector."""

    monkeypatch.setattr(selector, "SerialPortSelector", PortSelector, raising=False)
    hass.config.components.add("usb")
    result = await choose(hass, await start(hass), "serial")
    field = next(v for k, v in result["data_schema"].schema.items() if str(k) == CONF_DEVICE)
    assert isinstance(field, PortSelector)


async def test_connection_already_configured(hass: HomeAssistant, simulated: Simulated) -> None:
    await setup_entry(hass, make_entry(simulated.url))
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("meter", "error"),
    [
        ({CONF_LINK_ADDRESS: 9}, "no_response"),
        ({CONF_PASSWORD: "2"}, "invalid_auth"),
        ({CONF_POINT_ADDRESS: 5}, "not_supported"),
    ],
)
async def test_meter_errors_then_recover(
    hass: HomeAssistant, simulated: Simulated, meter: dict[str, Any], error: str
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))
    result = await configure(hass, result, {**METER, **meter})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_meter_step_errors_from_odd_meters(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "default_options", lambda driver: FAST_OPTIONS)
    busy = FakeLine(lambda frame: bytes.fromhex("10 01 01 00 02 16"))
    negative = FakeLine(_short_identity())
    for fake, error in ((busy, "meter_busy"), (negative, "protocol_error")):
        async with scripted_meter(fake.script) as (url, _):
            result = await choose(hass, await start(hass), "network")
            result = await configure(hass, result, host_port(url))
            result = await configure(hass, result, METER)
            assert result["errors"] == {"base": error}
            hass.config_entries.flow.async_abort(result["flow_id"])


@dataclass
class FakeLine:
    script: Any


def _short_identity() -> Any:
    """A meter that logs in but answers the identity request with a cut-short body."""
    from custom_components.iec_meter.core.iec102.asdu import Asdu  # noqa: PLC0415
    from custom_components.iec_meter.core.iec102.frames import (  # noqa: PLC0415
        FixedFrame,
        VariableFrame,
    )

    answers = [Asdu(183, 7, 1, count=1, body=b"\x01\0\0\0"), Asdu(71, 5, 1, count=1, body=b"\x24")]

    last: dict[str, Any] = {}

    def script(frame: Any) -> bytes:
        if frame.function == 9:
            return FixedFrame(0x0B, 1).encode()
        if frame.function in (0, 3):
            return FixedFrame(0x00, 1).encode()
        # A request repeated with the same FCB gets the same answer, as from a real meter.
        if last.get("control") == frame.control:
            return bytes(last["answer"])
        if answers:
            answer = VariableFrame(0x08, 1, answers.pop(0).encode()).encode()
        else:
            answer = FixedFrame(0x09, 1).encode()
        last.update(control=frame.control, answer=answer)
        return answer

    return script


async def test_meter_unexpected_error_and_lost_connection(
    hass: HomeAssistant, simulated: Simulated, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(validation, "probe_meter", broken)
        result = await configure(hass, result, METER)
    assert result["errors"] == {"base": "unknown"}
    await simulated.line.stop()  # the converter went away between the steps
    result = await configure(hass, result, METER)
    assert result["errors"] == {"base": "cannot_connect"}


async def test_meter_already_configured(hass: HomeAssistant, simulated: Simulated) -> None:
    await setup_entry(hass, make_entry("socket://127.0.0.1:9", meter_subentry("House")))
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "meter_already_configured"


async def test_options_flow(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    new = {"scan_interval": 10, "request_timeout": 500, "retries": 2, "inter_request_delay": 50,
           "reconnect_delay": 5000, "content_timeout": 9000, "settle_delay": 0.5,
           "lock_limit": 0, "profile": "off", "backfill_days": 30,
           "billing_contract": "0"}  # fmt: skip
    result = await hass.config_entries.options.async_configure(result["flow_id"], new)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {**new, "billing_contract": 0}
    assert entry.state is ConfigEntryState.LOADED
    connection = entry.runtime_data.bus
    assert connection.timing.request_timeout_ms == 500
    assert connection.timing.content_timeout_ms == 9000
    assert connection.transport.settings.settle_delay == 0.5


async def test_reconfigure_network_connection(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    other = make_line()
    async with serving(other) as new_url:
        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.MENU
        result = await choose(hass, result, "network")
        assert result["step_id"] == "network"
        defaults = form_defaults(result)
        assert defaults == host_port(simulated.url)
        result = await configure(hass, result, {CONF_HOST: "127.0.0.1", CONF_PORT: 1})
        assert result["errors"] == {"base": "cannot_connect"}
        result = await configure(hass, result, host_port(new_url))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_DEVICE] == new_url
        # Titled by the address alone (a first-release entry): now by protocol and place.
        assert entry.title == "IEC 60870-5-102 (REE) · " + new_url.removeprefix("socket://")
        assert entry.state is ConfigEntryState.LOADED
        assert hass.states.get("sensor.house_energy_import").state != "unavailable"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_a_connection_in_use(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    await setup_entry(hass, make_entry("socket://127.0.0.1:9", meter_subentry("Other", link=5)))
    result = await choose(hass, await entry.start_reconfigure_flow(hass), "network")
    result = await configure(hass, result, {CONF_HOST: "socket://127.0.0.1:9", CONF_PORT: 1})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_serial_connection(hass: HomeAssistant) -> None:
    line = make_line()
    async with serving(line, pty=True) as path:
        entry = make_entry(path)
        entry.add_to_hass(hass)  # not loaded: the flow opens the port itself
        result = await choose(hass, await entry.start_reconfigure_flow(hass), "serial")
        assert result["step_id"] == "serial"
        assert form_defaults(result)[CONF_BAUDRATE] == "9600"
        data = {CONF_DEVICE: path, CONF_BAUDRATE: "19200", CONF_BYTESIZE: "8",
                CONF_PARITY: "none", CONF_STOPBITS: "2"}  # fmt: skip
        result = await configure(hass, result, data)
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_BAUDRATE] == 19200
        assert entry.data[CONF_STOPBITS] == 2
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_rfc2217_shows_the_url(hass: HomeAssistant) -> None:
    entry = make_entry("rfc2217://192.0.2.10:4001")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    network = await choose(hass, result, "network")
    assert form_defaults(network)[CONF_HOST] == "rfc2217://192.0.2.10:4001"


async def test_reconfigure_can_switch_between_serial_and_network(hass: HomeAssistant) -> None:
    serial_entry = make_entry("/dev/ttyUSB7")
    serial_entry.add_to_hass(hass)
    network = await choose(hass, await serial_entry.start_reconfigure_flow(hass), "network")
    assert CONF_HOST not in form_defaults(network)
    network_entry = make_entry("socket://192.0.2.10:4001")
    network_entry.add_to_hass(hass)
    serial = await choose(hass, await network_entry.start_reconfigure_flow(hass), "serial")
    assert form_defaults(serial)[CONF_PARITY] == "none"


# --- meters as subentries ---------------------------------------------------------------


@pytest.mark.parametrize(
    "meter_configs",
    [[MeterConfig(link_address=1), MeterConfig(link_address=2, password=2, three_phase=False)]],
)
async def test_add_a_second_meter(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_UTILITY: "naturgy"}
    )
    assert result["step_id"] == "meter"
    garage = {CONF_NAME: "Garage", CONF_LINK_ADDRESS: 2, CONF_POINT_ADDRESS: 1, CONF_PASSWORD: "9"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], garage)
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**garage, CONF_PASSWORD: "2"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(entry.subentries) == 2
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.garage_voltage_l1") is not None
    assert hass.states.get("sensor.garage_voltage_l2") is None  # single phase
    # The same meter again is refused.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_UTILITY: "other"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**garage, CONF_PASSWORD: "2"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "meter_already_configured"


@pytest.mark.parametrize(
    "meter_configs", [[MeterConfig(link_address=1, password=3), MeterConfig(link_address=2)]]
)
async def test_reconfigure_a_meter(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url, meter_subentry("House")))
    (subentry_id,) = entry.subentries
    assert hass.states.get("sensor.house_energy_import").state == "unavailable"  # password 1

    async def reconfigure(data: dict[str, Any]) -> dict[str, Any]:
        result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
        assert result["step_id"] == "reconfigure"
        return await hass.config_entries.subentries.async_configure(result["flow_id"], data)

    fields = {CONF_LINK_ADDRESS: 1, CONF_POINT_ADDRESS: 1, CONF_TIME_ZONE: "Atlantic/Canary"}
    result = await reconfigure({**fields, CONF_PASSWORD: "4"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await reconfigure({**fields, CONF_LINK_ADDRESS: 2, CONF_PASSWORD: "1"})
    assert result["reason"] == "wrong_meter"
    result = await reconfigure({**fields, CONF_PASSWORD: "3"})
    assert result["step_id"] == "tariff"  # a meter with a load profile: its tariff next
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].data[CONF_PASSWORD] == 3
    assert CONF_TARIFF not in entry.subentries[subentry_id].data
    assert entry.subentries[subentry_id].data[CONF_TIME_ZONE] == "Atlantic/Canary"
    assert hass.states.get("sensor.house_energy_import").state != "unavailable"


async def test_reconfigure_an_iec62056_meter_offers_its_values_again(
    hass: HomeAssistant, simulated_62056: Simulated62056
) -> None:
    """The values step comes back with the current ticks; the sensors follow a change.

    Only a changed tick moves a sensor, and a sensor the user disabled by hand stays so.
    """
    ticked = ["active_energy_import", "active_power", "current_l1", "voltage_l1"]
    t2 = IEC62056_SETTINGS[T2_MS]
    meter = iec62056_subentry(data=["F.F", "C.99"])
    stale = [key for key in IEC62056_SIGNALS if key != "reactive_power"]  # as sent long ago
    meter["data"] = {**meter["data"], CONF_SIGNALS: ticked, CONF_OFFERED: stale}
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url, meter))
    (subentry_id,) = entry.subentries
    registry = er.async_get(hass)

    def disabled_by(entity_id: str) -> er.RegistryEntryDisabler | None:
        entity = registry.async_get(entity_id)
        assert entity is not None, entity_id
        return entity.disabled_by

    integration, user = er.RegistryEntryDisabler.INTEGRATION, er.RegistryEntryDisabler.USER
    assert disabled_by("sensor.house_voltage_l2") is integration  # unticked at setup
    assert registry.async_get_entity_id("sensor", DOMAIN, "ISk-12345678_reactive_power") is None
    # By hand: Frequency enabled (never ticked), Voltage L1 and Current L1 disabled.
    registry.async_update_entity("sensor.house_frequency", disabled_by=None)
    registry.async_update_entity("sensor.house_voltage_l1", disabled_by=user)
    registry.async_update_entity("sensor.house_current_l1", disabled_by=user)
    await hass.async_block_till_done()

    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], SETTINGS_62056)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "values"
    schema = {str(key): (key, value) for key, value in result["data_schema"].schema.items()}
    signals_key, signals_field = schema[CONF_SIGNALS]
    data_key, data_field = schema[CONF_DATA]
    assert signals_key.default() == ticked  # the meter's current choice
    assert data_key.default() == ["C.99", "F.F"]
    assert signals_field.config["options"] == IEC62056_SIGNALS  # as sent now
    # What the meter sends now, and the data set ticked before that it no longer sends.
    assert {"1.8.0*24", "F.F", "C.99"} <= set(data_field.config["options"])

    # Untick energy import (enabled), Voltage L1 (disabled by the user) and F.F; tick
    # Voltage L2 (disabled by the integration), Reactive power (never registered) and
    # 1.8.0*24; Current L1 stays ticked (disabled by the user), Frequency unticked.
    new = ["active_power", "current_l1", "reactive_power", "voltage_l2"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_SIGNALS: new, CONF_DATA: ["1.8.0*24"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    record = entry.subentries[subentry_id].data
    assert record[CONF_SIGNALS] == new
    assert record[CONF_DATA] == ["1.8.0*24"]
    assert record[CONF_OFFERED] == IEC62056_SIGNALS  # refreshed from the read
    assert record[T2_MS] == t2
    # Enabling an entity reloads the entry once more, 30 s later: let both reloads run.
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    assert disabled_by("sensor.house_energy_import") is integration
    assert hass.states.get("sensor.house_energy_import") is None
    assert disabled_by("sensor.house_voltage_l2") is None
    assert 220 < float(hass.states.get("sensor.house_voltage_l2").state) < 240
    assert disabled_by("sensor.house_voltage_l1") is user  # keeps the user's mark
    assert disabled_by("sensor.house_current_l1") is user  # tick unchanged: left alone
    assert disabled_by("sensor.house_frequency") is None  # tick unchanged: left alone
    assert disabled_by("sensor.house_power") is None
    assert disabled_by("sensor.house_f_f") is integration  # unticked data set
    assert float(hass.states.get("sensor.house_1_8_0_24").state) == 11110.5
    # A sensor first registered now starts as ticked.
    reactive = registry.async_get_entity_id("sensor", DOMAIN, "ISk-12345678_reactive_power")
    assert reactive is not None
    assert disabled_by(reactive) is None

    # Ticking energy import again enables it: the integration had disabled it.
    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], SETTINGS_62056)
    assert form_defaults(result) == {CONF_SIGNALS: new, CONF_DATA: ["1.8.0*24"]}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_SIGNALS: [*new, "active_energy_import"], CONF_DATA: []}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert disabled_by("sensor.house_energy_import") is None
    assert disabled_by("sensor.house_1_8_0_24") is integration
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert float(hass.states.get("sensor.house_energy_import").state) == 12345.0
    assert await hass.config_entries.async_unload(entry.entry_id)


#: The meter form of the simulated IEC 102 meter on reconfigure, as its user sends it.
RECONFIGURE_102 = {CONF_LINK_ADDRESS: 1, CONF_POINT_ADDRESS: 1, CONF_PASSWORD: "1"}


def form_values(result: dict[str, Any]) -> dict[str, Any]:
    """What a form starts with: defaults and suggested values, folded sections included."""
    values: dict[str, Any] = {}
    for key, value in result["data_schema"].schema.items():
        if isinstance(value, data_entry_flow.section):
            values.update(form_values({"data_schema": value.schema}))
        elif callable(key.default):
            values[str(key)] = key.default()
        elif (key.description or {}).get("suggested_value") is not None:
            values[str(key)] = key.description["suggested_value"]
    return values


async def test_reconfigure_an_iec102_meter_sets_its_tariff(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """The tariff step: none, fixed prices, an entity, an error, and what it shows again."""
    entry = await setup_entry(hass, make_entry(simulated.url, meter_subentry("House")))
    (subentry_id,) = entry.subentries
    subentries = hass.config_entries.subentries

    async def tariff_step() -> dict[str, Any]:
        result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
        result = await subentries.async_configure(result["flow_id"], RECONFIGURE_102)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "tariff"
        return result

    def stored() -> Any:
        return entry.subentries[subentry_id].data.get(CONF_TARIFF)

    result = await tariff_step()
    assert form_values(result) == {
        "tariff": "none", "zone": "peninsula", "price_source": "fixed", "tax_percent": 0
    }  # fmt: skip
    tariff = selectors(result["data_schema"])["tariff"]
    assert tariff.config["options"] == [
        "none", "2_0td", "3_0td", "6_1td", "6_2td", "6_3td", "6_4td"
    ]  # fmt: skip
    assert schemas.translatable(tariff.config["options"])
    # Fixed prices: only 2.0TD's periods are kept (energy P1-P3, power P1-P2).
    fixed = {
        "tariff": "2_0td",
        "zone": "canarias",
        "price_source": "fixed",
        "prices": {
            "energy_p1": 0.18, "energy_p2": 0.12, "energy_p3": 0.08, "energy_p4": 0.5,
            "power_p1": 30.7, "power_p2": 1.4, "power_p3": 9.0,
            "contracted_p1": 4.6, "contracted_p2": 4.6,
        },
        "compensation_price": 0.05,
        "tax_percent": 26.4,
    }  # fmt: skip
    result = await subentries.async_configure(result["flow_id"], fixed)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert stored() == {
        "tariff": "2.0TD",
        "zone": "canarias",
        "energy_prices": {"P1": 0.18, "P2": 0.12, "P3": 0.08},
        "power_prices": {"P1": 30.7, "P2": 1.4},
        "contracted_powers": {"P1": 4.6, "P2": 4.6},
        "compensation_price": 0.05,
        "tax_percent": 26.4,
    }
    assert entry.state is ConfigEntryState.LOADED
    # A second reconfigure shows the stored settings.
    result = await tariff_step()
    shown = {**{k: v for k, v in fixed.items() if k != "prices"}, **fixed["prices"]}
    for extra in ("energy_p4", "power_p3"):
        del shown[extra]
    assert form_values(result) == shown

    # An entity as price source: the fixed energy prices go.
    entity = {"tariff": "3_0td", "zone": "peninsula", "price_source": "entity",
              "price_entity": "sensor.pvpc", "prices": {"energy_p1": 0.2}, "tax_percent": 0}  # fmt: skip
    result = await subentries.async_configure(result["flow_id"], entity)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert stored() == {
        "tariff": "3.0TD", "zone": "peninsula", "price_entity": "sensor.pvpc", "tax_percent": 0.0
    }  # fmt: skip
    result = await tariff_step()
    assert form_values(result) == {
        "tariff": "3_0td", "zone": "peninsula", "price_source": "entity",
        "price_entity": "sensor.pvpc", "tax_percent": 0.0,
    }  # fmt: skip

    # An entity source without its entity: the reason is shown, the input kept.
    bad = {"tariff": "6_1td", "zone": "baleares", "price_source": "entity",
           "prices": {"power_p6": 2.5}, "tax_percent": 10}  # fmt: skip
    result = await subentries.async_configure(result["flow_id"], bad)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tariff"
    assert result["errors"] == {"base": "invalid_tariff"}
    assert "price_entity" in result["description_placeholders"]["reason"]
    assert form_values(result) == {
        "tariff": "6_1td", "zone": "baleares", "price_source": "entity",
        "power_p6": 2.5, "tax_percent": 10,
    }  # fmt: skip
    assert stored()["tariff"] == "3.0TD"  # nothing saved

    # None removes the settings.
    result = await subentries.async_configure(result["flow_id"], {**bad, "tariff": "none"})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert CONF_TARIFF not in entry.subentries[subentry_id].data
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- the forms' building blocks ---------------------------------------------------------


def test_dropdown_translated_or_shown_as_is() -> None:
    translated = schemas.dropdown(["none", "even"], CONF_PARITY)
    assert translated.config["translation_key"] == CONF_PARITY
    plain_list = schemas.dropdown(["N", "E"], None)
    assert "translation_key" not in plain_list.config
    assert plain_list.config["options"] == ["N", "E"]


def selectors(schema: Any) -> dict[str, Any]:
    """The select fields of a form, those of its folded sections included."""
    found: dict[str, Any] = {}
    for key, value in schema.schema.items():
        if isinstance(value, data_entry_flow.section):
            found.update(selectors(value.schema))
        elif isinstance(value, selector.SelectSelector):
            found[str(key)] = value
    return found


async def test_form_choices_are_translation_keys_and_entries_keep_their_values(
    hass: HomeAssistant,
) -> None:
    """hassfest only takes slugs as option keys: other values are shown as they are.

    The stored values stay what they were (parity "E", mode "C", a time zone, an
    address), the forms show the stored value chosen, and typed values still pass.
    """
    serial = {CONF_DEVICE: "/dev/ttyUSB7", CONF_BAUDRATE: 9600, CONF_BYTESIZE: 8,
              CONF_PARITY: "E", CONF_STOPBITS: 1}  # fmt: skip
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PROTOCOL: "iec102", **serial})
    entry.add_to_hass(hass)
    result = await choose(hass, await entry.start_reconfigure_flow(hass), "serial")
    assert form_defaults(result)[CONF_PARITY] == "even"
    parity = selectors(result["data_schema"])[CONF_PARITY]
    assert parity.config["options"] == ["none", "even", "odd"]
    assert parity.config["translation_key"] == CONF_PARITY
    form = {**serial, CONF_BAUDRATE: "9600", CONF_BYTESIZE: "8", CONF_STOPBITS: "1"}
    for choice, letter in (("none", "N"), ("even", "E"), ("odd", "O")):
        assert schemas.serial_data({**form, CONF_PARITY: choice})[CONF_PARITY] == letter

    iec102, iec62056 = get_driver("iec102"), get_driver("iec62056")
    stored = {CONF_TIME_ZONE: "Atlantic/Canary"}
    zone_form = schemas.meter_schema(iec102, stored, "Europe/Madrid", with_name=False)
    assert form_defaults({"data_schema": zone_form})[CONF_TIME_ZONE] == "Atlantic/Canary"
    zone = selectors(zone_form)[CONF_TIME_ZONE]
    assert "translation_key" not in zone.config
    assert zone.config["custom_value"] is True
    typed = {CONF_LINK_ADDRESS: 1, CONF_POINT_ADDRESS: 1, CONF_PASSWORD: "1",
             CONF_TIME_ZONE: "Europe/Lisbon"}  # fmt: skip
    assert schemas.meter_data(iec102, zone_form(typed))[CONF_TIME_ZONE] == "Europe/Lisbon"
    mode_form = schemas.meter_schema(iec62056, {"mode": "A"}, "Europe/Madrid")
    assert form_defaults({"data_schema": mode_form})["mode"] == "A"
    mode = selectors(mode_form)["mode"]
    assert mode.config["options"] == ["A", "B", "C", "D"]
    assert "translation_key" not in mode.config
    assert schemas.meter_data(iec62056, {"mode": "D"})["mode"] == "D"
    gateway_form = schemas.gateway_schema({"interface": "0.0.0.0"})
    assert form_defaults({"data_schema": gateway_form})["interface"] == "0.0.0.0"
    assert "translation_key" not in selectors(gateway_form)["interface"].config

    # Every translated choice of every form is a key hassfest accepts.
    forms = [result["data_schema"], zone_form, mode_form, gateway_form]
    records = form_schema(schemas.record_options_schema(default_options(iec102)))
    forms += [schemas.preset_schema(iec102), records]
    for form in forms:
        for field in selectors(form).values():
            if "translation_key" in field.config:
                assert schemas.translatable(field.config["options"]), field.config


def test_a_time_zone_setting_without_default_gets_home_assistants() -> None:
    driver = SimpleNamespace(
        meter_fields=(SettingField(CONF_TIME_ZONE, FieldKind.SELECT, None, options=("UTC",)),)
    )
    zone = "Atlantic/Canary"
    schema = schemas.meter_schema(driver, {}, zone, with_name=False)  # type: ignore[arg-type]
    assert form_defaults({"data_schema": schema})[CONF_TIME_ZONE] == zone
    # A stored zone wins.
    schema = schemas.meter_schema(driver, {CONF_TIME_ZONE: "UTC"}, zone)  # type: ignore[arg-type]
    assert form_defaults({"data_schema": schema})[CONF_TIME_ZONE] == "UTC"


# --- entry versions (the flow's VERSION and MINOR_VERSION) --------------------------------


async def test_an_entry_of_a_newer_minor_version_is_used_as_it_is(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_PROTOCOL: "iec102", CONF_DEVICE: simulated.url},
        options=dict(FAST_OPTIONS),
        minor_version=3,
        subentries_data=[meter_subentry("House")],
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 3
    assert entry.data == {CONF_PROTOCOL: "iec102", CONF_DEVICE: simulated.url}
    assert hass.states.get("sensor.house_energy_import") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_migration_keeps_the_signals_a_meter_already_lists(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    # A 1.1 entry one of whose meters already lists its signals (a migration cut short).
    listed = {**meter_subentry("House"), "data": {**meter_subentry("House")["data"]}}
    listed["data"][CONF_SIGNALS] = ["active_energy_import"]
    garage = meter_subentry("Garage", link=2, password=2)
    del garage["data"][CONF_SIGNALS]
    garage["data"]["phases"] = 1
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_DEVICE: simulated.url},
        options=dict(FAST_OPTIONS),
        minor_version=1,
        subentries_data=[listed, garage],
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 2
    assert entry.data == {CONF_PROTOCOL: "iec102", CONF_DEVICE: simulated.url}
    house, single = entry.subentries.values()
    assert house.data[CONF_SIGNALS] == ["active_energy_import"]  # left as it was
    assert single.data[CONF_SIGNALS] == signals_of(phases=1)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"corrupt_every": 1}, "damaged_answers"),
        ({"no_data": True}, "no_data"),
    ],
)
async def test_meter_that_answers_but_never_usefully(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, faults: dict[str, Any], error: str
) -> None:
    monkeypatch.setattr(
        validation, "default_options", lambda driver: {**FAST_OPTIONS, "content_timeout": 300}
    )
    line = make_line(faults=Faults(**faults))
    async with serving(line) as url:
        result = await choose(hass, await start(hass), "network")
        result = await configure(hass, result, host_port(url))
        result = await configure(hass, result, METER)
        assert result["errors"] == {"base": error}
        hass.config_entries.flow.async_abort(result["flow_id"])


async def test_a_password_that_is_not_a_number_is_a_field_error(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))
    result = await configure(hass, result, {**METER, CONF_PASSWORD: "one"})
    assert result["step_id"] == "meter"
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}
    # What was typed stays in the form; nothing was sent to the meter.
    result = await configure(hass, result, {**METER, CONF_PASSWORD: "4294967296"})
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}
    result = await configure(hass, result, METER)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_mistyped_time_zone_is_a_field_error(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    result = await choose(hass, await start(hass), "network")
    result = await configure(hass, result, host_port(simulated.url))
    result = await configure(hass, result, {**METER, CONF_TIME_ZONE: "Europe/Madird"})
    assert result["errors"] == {CONF_TIME_ZONE: "invalid_time_zone"}
    result = await configure(hass, result, {**METER, CONF_TIME_ZONE: "Atlantic/Canary"})
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_a_connection_keeps_the_name_its_user_gave_it() -> None:
    old = {CONF_PROTOCOL: "iec102", CONF_DEVICE: "socket://10.0.0.5:4001"}
    new = {CONF_PROTOCOL: "iec102", CONF_DEVICE: "/dev/ttyUSB0"}
    assert kept_title("IEC 60870-5-102 (REE) · 10.0.0.5:4001", old, new) == (
        "IEC 60870-5-102 (REE) · /dev/ttyUSB0"
    )
    assert kept_title("Shop meter room", old, new) == "Shop meter room"
