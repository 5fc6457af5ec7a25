"""Config flow: a connection (config entry) and its meters (config subentries).

A homeowner goes through one flow: utility, connection (serial port or network
converter), first meter; the flow proves the meter by reading its identity and one set
of values before anything is saved. "Add meter" adds more meters on the same connection.
Reconfigure changes the connection or a meter without losing entities or history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
import serialx
import voluptuous as vol

from .compat import form_schema
from .connection import (
    MeterConnection,
    check_line_opens,
    line_settings,
    meter_address,
    meter_zone,
    probe_line,
    timing,
)
from .const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_DEVICE,
    CONF_HOST,
    CONF_INTER_REQUEST_DELAY,
    CONF_LINK_ADDRESS,
    CONF_MANUFACTURER_CODE,
    CONF_NAME,
    CONF_PARITY,
    CONF_PASSWORD,
    CONF_PHASES,
    CONF_POINT_ADDRESS,
    CONF_PORT,
    CONF_RECONNECT_DELAY,
    CONF_REQUEST_TIMEOUT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_SERIAL_NUMBER,
    CONF_SETTLE_DELAY,
    CONF_STANDARD_DATE,
    CONF_STOPBITS,
    CONF_TIME_ZONE,
    CONF_UTILITY,
    DEFAULT_BAUDRATE,
    DEFAULT_BYTESIZE,
    DEFAULT_OPTIONS,
    DEFAULT_PARITY,
    DEFAULT_STOPBITS,
    DEFAULT_TCP_PORT,
    DEFAULT_UTILITY,
    DOMAIN,
    LOGGER,
    MAX_DELAY_OPTION_MS,
    MAX_RETRIES_OPTION,
    MAX_SCAN_INTERVAL_S,
    MAX_SETTLE_DELAY_S,
    MIN_SCAN_INTERVAL_S,
    SUBENTRY_METER,
    TIME_ZONES,
    UTILITY_PRESETS,
)
from .data import IecMeterConfigEntry
from .protocol.errors import (
    AuthenticationRejected,
    CannotConnect,
    MeterBusy,
    MeterError,
    NoResponse,
    NotSupported,
)
from .protocol.iec102 import MeterSnapshot
from .protocol.iec102.constants import (
    DEFAULT_TIME_ZONE,
    LINK_ADDRESS_MAX,
    MAX_REQUEST_TIMEOUT_MS,
    MIN_RECONNECT_DELAY_MS,
    MIN_REQUEST_TIMEOUT_MS,
    PASSWORD_MAX,
    POINT_ADDRESS_MAX,
)
from .protocol.transport import BAUDRATES, BYTESIZES, NETWORK_SCHEMES, PARITIES

if TYPE_CHECKING:
    from .compat import FormSchema

_TCP_PORT_MAX = 65535
_THREE_PHASES = 3

# --- selectors -----------------------------------------------------------------------


def _box(minimum: float, maximum: float, unit: str | None = None, step: float = 1) -> Any:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _select(options: list[str], key: str, custom: bool = False) -> Any:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options,
            translation_key=key,
            mode=selector.SelectSelectorMode.DROPDOWN,
            custom_value=custom,
        )
    )


UTILITY_SCHEMA = form_schema(
    {
        vol.Required(CONF_UTILITY, default=DEFAULT_UTILITY): _select(
            list(UTILITY_PRESETS), CONF_UTILITY
        )
    }
)


async def _port_field(hass: HomeAssistant) -> Any:
    """Home Assistant's serial port selector where it can work (2026.5+), else a list.

    The list offers the ports present (stable by-id paths where the system has them)
    and accepts a typed path, for a port that is not plugged in yet or a URL.
    """
    port_selector = getattr(selector, "SerialPortSelector", None)
    # The selector lists ports through the usb integration, part of default_config.
    if port_selector is not None and "usb" in hass.config.components:
        return port_selector()
    ports = await serialx.async_list_serial_ports()
    options = [
        selector.SelectOptionDict(
            value=port.device,
            label=f"{port.device} - {port.description}" if port.description else port.device,
        )
        for port in ports
    ]
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, custom_value=True, mode=selector.SelectSelectorMode.DROPDOWN
        )
    )


async def _serial_schema(hass: HomeAssistant, defaults: Mapping[str, Any]) -> FormSchema:
    return form_schema(
        {
            vol.Required(CONF_DEVICE, default=defaults.get(CONF_DEVICE, vol.UNDEFINED)): (
                await _port_field(hass)
            ),
            vol.Required(
                CONF_BAUDRATE, default=str(defaults.get(CONF_BAUDRATE, DEFAULT_BAUDRATE))
            ): _select([str(rate) for rate in BAUDRATES], CONF_BAUDRATE),
            vol.Required(
                CONF_BYTESIZE, default=str(defaults.get(CONF_BYTESIZE, DEFAULT_BYTESIZE))
            ): _select([str(size) for size in BYTESIZES], CONF_BYTESIZE),
            vol.Required(CONF_PARITY, default=defaults.get(CONF_PARITY, DEFAULT_PARITY)): _select(
                list(PARITIES), CONF_PARITY
            ),
            vol.Required(
                CONF_STOPBITS, default=str(int(defaults.get(CONF_STOPBITS, DEFAULT_STOPBITS)))
            ): _select(["1", "2"], CONF_STOPBITS),
        }
    )


def _network_schema(defaults: Mapping[str, Any]) -> FormSchema:
    return form_schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_TCP_PORT)): _box(
                1, _TCP_PORT_MAX
            ),
        }
    )


def _meter_schema(defaults: Mapping[str, Any], with_name: bool = True) -> FormSchema:
    def default(key: str) -> Any:
        value = defaults.get(key)
        return vol.UNDEFINED if value is None else value

    fields: dict[Any, Any] = {}
    if with_name:
        fields[vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "Electricity meter"))] = str
    fields[vol.Required(CONF_LINK_ADDRESS, default=default(CONF_LINK_ADDRESS))] = _box(
        0, LINK_ADDRESS_MAX
    )
    fields[vol.Required(CONF_POINT_ADDRESS, default=default(CONF_POINT_ADDRESS))] = _box(
        0, POINT_ADDRESS_MAX
    )
    fields[vol.Required(CONF_PASSWORD, default=default(CONF_PASSWORD))] = _box(0, PASSWORD_MAX)
    fields[
        vol.Required(CONF_TIME_ZONE, default=defaults.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE))
    ] = _select(list(TIME_ZONES), CONF_TIME_ZONE, custom=True)
    return form_schema(fields)


def _preset_defaults(utility: str) -> dict[str, Any]:
    preset = UTILITY_PRESETS[utility]
    return {CONF_POINT_ADDRESS: preset.point_address, CONF_PASSWORD: preset.password}


# --- connection helpers -----------------------------------------------------------


def _serial_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    return {
        CONF_DEVICE: str(user_input[CONF_DEVICE]).strip(),
        CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]),
        CONF_BYTESIZE: int(user_input[CONF_BYTESIZE]),
        CONF_PARITY: str(user_input[CONF_PARITY]),
        CONF_STOPBITS: int(user_input[CONF_STOPBITS]),
    }


def _network_url(user_input: Mapping[str, Any]) -> str | None:
    """``socket://host:port`` from the form, or the URL typed as host; None if invalid."""
    host = str(user_input[CONF_HOST]).strip()
    if "://" in host:
        parsed = urlparse(host)
        if not host.startswith(NETWORK_SCHEMES) or not parsed.hostname or parsed.port is None:
            return None
        return host
    if not host:
        return None
    return f"socket://{host}:{int(user_input[CONF_PORT])}"


def _is_network(device: str) -> bool:
    return device.startswith(NETWORK_SCHEMES)


def _network_defaults(device: str) -> dict[str, Any]:
    parsed = urlparse(device)
    if parsed.scheme == "socket" and parsed.hostname:
        return {CONF_HOST: parsed.hostname, CONF_PORT: parsed.port or DEFAULT_TCP_PORT}
    return {CONF_HOST: device}


async def _check_opens(data: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    try:
        await check_line_opens(line_settings(data, options))
    except CannotConnect as err:
        LOGGER.debug("cannot open %s: %s", data[CONF_DEVICE], err)
        return "cannot_connect"
    return None


def _loaded_runtime_connection(entry: ConfigEntry | None) -> MeterConnection | None:
    if entry is not None and entry.state is ConfigEntryState.LOADED:
        connection: MeterConnection = entry.runtime_data.connection
        return connection
    return None


async def _probe_meter(
    hass: HomeAssistant,
    entry: ConfigEntry | None,
    connection_data: Mapping[str, Any],
    meter_data: Mapping[str, Any],
) -> tuple[MeterSnapshot | None, str | None]:
    """Read the meter's identity and one set of values; the error key if that fails.

    A loaded entry's own connection is used (the port is opened exclusively, so a
    second open would fail); otherwise the line is opened just for the probe.
    """
    options = entry.options if entry is not None else DEFAULT_OPTIONS
    address = meter_address(meter_data)
    zone = meter_zone(meter_data)
    try:
        connection = _loaded_runtime_connection(entry)
        if connection is not None:
            snapshot = await connection.probe(address, zone)
        else:
            snapshot = await probe_line(
                line_settings(connection_data, options), timing(options), address, zone
            )
    except AuthenticationRejected:
        return None, "invalid_auth"
    except CannotConnect:
        return None, "cannot_connect"
    except NoResponse:
        return None, "no_response"
    except MeterBusy:
        return None, "meter_busy"
    except NotSupported:
        return None, "not_supported"
    except MeterError as err:
        LOGGER.debug("probe failed: %s", err)
        return None, "protocol_error"
    except Exception:  # noqa: BLE001 - the user gets "unknown error", the log the trace
        LOGGER.exception("Unexpected error while reading the meter")
        return None, "unknown"
    return snapshot, None


def _meter_record(user_input: Mapping[str, Any], snapshot: MeterSnapshot) -> dict[str, Any]:
    identity = snapshot.identity
    assert identity is not None
    reading = snapshot.reading
    single = reading.voltage_l2 is None and reading.voltage_l3 is None
    return {
        CONF_LINK_ADDRESS: int(user_input[CONF_LINK_ADDRESS]),
        CONF_POINT_ADDRESS: int(user_input[CONF_POINT_ADDRESS]),
        CONF_PASSWORD: int(user_input[CONF_PASSWORD]),
        CONF_TIME_ZONE: str(user_input.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE)),
        CONF_MANUFACTURER_CODE: identity.manufacturer_code,
        CONF_SERIAL_NUMBER: identity.serial_number,
        CONF_STANDARD_DATE: identity.standard_date,
        CONF_PHASES: 1 if single else _THREE_PHASES,
    }


@dataclass(frozen=True, slots=True)
class _NewMeter:
    """Outcome of checking a meter to add: its record, a form error, or a duplicate."""

    record: dict[str, Any] | None = None
    error: str | None = None
    duplicate: bool = False


async def _check_new_meter(
    hass: HomeAssistant,
    entry: ConfigEntry | None,
    connection_data: Mapping[str, Any],
    user_input: Mapping[str, Any],
) -> _NewMeter:
    snapshot, error = await _probe_meter(hass, entry, connection_data, user_input)
    if snapshot is None:
        return _NewMeter(error=error)
    record = _meter_record(user_input, snapshot)
    if _meter_configured(hass, meter_unique_id(record)):
        return _NewMeter(duplicate=True)
    return _NewMeter(record=record)


def meter_unique_id(record: Mapping[str, Any]) -> str:
    """Manufacturer code and serial number identify a meter anywhere."""
    return f"{record[CONF_MANUFACTURER_CODE]}-{record[CONF_SERIAL_NUMBER]}"


def _meter_configured(hass: HomeAssistant, unique_id: str) -> bool:
    return any(
        subentry.unique_id == unique_id
        for entry in hass.config_entries.async_entries(DOMAIN)
        for subentry in entry.subentries.values()
    )


def _connection_title(data: Mapping[str, Any]) -> str:
    device = str(data[CONF_DEVICE])
    return device.split("://", 1)[1] if "://" in device else device


# --- config flow ------------------------------------------------------------------------


class IecMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a connection and its first meter."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with no choices made."""
        self._utility = DEFAULT_UTILITY
        self._connection: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> IecMeterOptionsFlow:
        """Timing options of the connection."""
        return IecMeterOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Meters are subentries of their connection."""
        return {SUBENTRY_METER: MeterSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the utility (it pre-fills the meter's usual settings)."""
        if user_input is not None:
            self._utility = user_input[CONF_UTILITY]
            return await self.async_step_connection()
        return self.async_show_form(step_id="user", data_schema=UTILITY_SCHEMA)

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Serial port (or optical probe), or a network converter."""
        return self.async_show_menu(step_id="connection", menu_options=["serial", "network"])

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A local serial port or optical probe."""
        errors: dict[str, str] = {}
        reconfiguring = self.source == SOURCE_RECONFIGURE
        if user_input is not None:
            data = _serial_data(user_input)
            result = await self._accept_connection(data, errors)
            if result is not None:
                return result
            defaults: Mapping[str, Any] = user_input
        elif reconfiguring and not _is_network(self._get_reconfigure_entry().data[CONF_DEVICE]):
            defaults = self._get_reconfigure_entry().data
        else:
            defaults = {CONF_PARITY: UTILITY_PRESETS[self._utility].parity}
        return self.async_show_form(
            step_id="serial", data_schema=await _serial_schema(self.hass, defaults), errors=errors
        )

    async def async_step_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A TCP serial converter (raw TCP, or RFC 2217)."""
        errors: dict[str, str] = {}
        defaults: Mapping[str, Any] = {}
        if user_input is not None:
            url = _network_url(user_input)
            if url is None:
                errors["base"] = "invalid_url"
            else:
                result = await self._accept_connection({CONF_DEVICE: url}, errors)
                if result is not None:
                    return result
            defaults = user_input
        elif self.source == SOURCE_RECONFIGURE:
            device = str(self._get_reconfigure_entry().data[CONF_DEVICE])
            defaults = _network_defaults(device) if _is_network(device) else {}
        return self.async_show_form(
            step_id="network", data_schema=_network_schema(defaults), errors=errors
        )

    async def _accept_connection(
        self, data: dict[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Check the line opens; continue to the meter, or save a reconfiguration."""
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if any(
                other.data.get(CONF_DEVICE) == data[CONF_DEVICE]
                for other in self._async_current_entries()
                if other.entry_id != entry.entry_id
            ):
                return self.async_abort(reason="already_configured")
            # The running connection holds the port exclusively: release it first.
            connection = _loaded_runtime_connection(entry)
            if connection is not None:
                await connection.close()
            error = await _check_opens(data, entry.options)
            if error is None:
                return self.async_update_and_abort(entry, data=data, title=_connection_title(data))
        else:
            self._async_abort_entries_match({CONF_DEVICE: data[CONF_DEVICE]})
            error = await _check_opens(data, DEFAULT_OPTIONS)
            if error is None:
                self._connection = data
                return await self.async_step_meter()
        errors["base"] = error
        return None

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The first meter: addresses and password, proven by reading the meter."""
        errors: dict[str, str] = {}
        if user_input is not None:
            meter = await _check_new_meter(self.hass, None, self._connection, user_input)
            if meter.duplicate:
                return self.async_abort(reason="meter_already_configured")
            if meter.record is not None:
                return self.async_create_entry(
                    title=_connection_title(self._connection),
                    data=self._connection,
                    options=dict(DEFAULT_OPTIONS),
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_METER,
                            "title": str(user_input[CONF_NAME]),
                            "unique_id": meter_unique_id(meter.record),
                            "data": meter.record,
                        }
                    ],
                )
            errors["base"] = str(meter.error)
        return self.async_show_form(
            step_id="meter",
            data_schema=_meter_schema(user_input or _preset_defaults(self._utility)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the port, the converter's address or the serial settings."""
        return self.async_show_menu(step_id="reconfigure", menu_options=["serial", "network"])


class IecMeterOptionsFlow(OptionsFlow):
    """Polling and timing of a connection (all its meters)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every timing option."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_SCAN_INTERVAL: int(user_input[CONF_SCAN_INTERVAL]),
                    CONF_REQUEST_TIMEOUT: int(user_input[CONF_REQUEST_TIMEOUT]),
                    CONF_RETRIES: int(user_input[CONF_RETRIES]),
                    CONF_INTER_REQUEST_DELAY: int(user_input[CONF_INTER_REQUEST_DELAY]),
                    CONF_RECONNECT_DELAY: int(user_input[CONF_RECONNECT_DELAY]),
                    CONF_SETTLE_DELAY: float(user_input[CONF_SETTLE_DELAY]),
                }
            )
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        schema = form_schema(
            {
                vol.Required(CONF_SCAN_INTERVAL, default=current[CONF_SCAN_INTERVAL]): _box(
                    MIN_SCAN_INTERVAL_S, MAX_SCAN_INTERVAL_S, "s"
                ),
                vol.Required(CONF_REQUEST_TIMEOUT, default=current[CONF_REQUEST_TIMEOUT]): _box(
                    MIN_REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS, "ms"
                ),
                vol.Required(CONF_RETRIES, default=current[CONF_RETRIES]): _box(
                    0, MAX_RETRIES_OPTION
                ),
                vol.Required(
                    CONF_INTER_REQUEST_DELAY, default=current[CONF_INTER_REQUEST_DELAY]
                ): _box(0, MAX_DELAY_OPTION_MS, "ms"),
                vol.Required(CONF_RECONNECT_DELAY, default=current[CONF_RECONNECT_DELAY]): _box(
                    MIN_RECONNECT_DELAY_MS, MAX_DELAY_OPTION_MS, "ms"
                ),
                vol.Required(CONF_SETTLE_DELAY, default=current[CONF_SETTLE_DELAY]): _box(
                    0, MAX_SETTLE_DELAY_S, "s", step=0.1
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)


class MeterSubentryFlow(ConfigSubentryFlow):
    """Add a meter to a connection, or change one."""

    def __init__(self) -> None:
        """Start with the default utility."""
        self._utility = DEFAULT_UTILITY

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose the utility of the new meter."""
        if user_input is not None:
            self._utility = user_input[CONF_UTILITY]
            return await self.async_step_meter()
        return self.async_show_form(step_id="user", data_schema=UTILITY_SCHEMA)

    async def async_step_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Addresses and password of the new meter, proven by reading it."""
        entry: IecMeterConfigEntry = self._get_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            meter = await _check_new_meter(self.hass, entry, entry.data, user_input)
            if meter.duplicate:
                return self.async_abort(reason="meter_already_configured")
            if meter.record is not None:
                return self.async_create_entry(
                    title=str(user_input[CONF_NAME]),
                    data=meter.record,
                    unique_id=meter_unique_id(meter.record),
                )
            errors["base"] = str(meter.error)
        return self.async_show_form(
            step_id="meter",
            data_schema=_meter_schema(user_input or _preset_defaults(self._utility)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a meter's addresses, password or clock time zone."""
        entry: IecMeterConfigEntry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            snapshot, error = await _probe_meter(self.hass, entry, entry.data, user_input)
            if snapshot is not None:
                record = _meter_record(user_input, snapshot)
                if meter_unique_id(record) != subentry.unique_id:
                    return self.async_abort(reason="wrong_meter")
                return self.async_update_and_abort(entry, subentry, data=record)
            errors["base"] = str(error)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_meter_schema(user_input or subentry.data, with_name=False),
            errors=errors,
        )
