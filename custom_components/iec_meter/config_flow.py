"""Config flow: a connection (config entry) and its meters (config subentries).

A homeowner goes through one flow: the kind of meter (protocol), for IEC 102 the utility
(its usual settings pre-fill the forms), the connection (serial port or network
converter) and the first meter; the flow proves the meter by reading it before anything
is saved. For a meter that labels its values (IEC 62056-21) the user then ticks which of
them to expose, when adding the meter and again when reconfiguring it. "Add meter" adds
more meters on the same connection. Reconfigure changes the connection or a meter without
losing entities or history; for a meter with a load profile (IEC 102) it ends with the
tariff and prices that turn the profile into cost statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .compat import form_schema
from .connection import default_options, driver_of
from .const import (
    CONF_BACKFILL_DAYS,
    CONF_BILLING_CONTRACT,
    CONF_CONTENT_TIMEOUT,
    CONF_DATA,
    CONF_DEVICE,
    CONF_INTER_REQUEST_DELAY,
    CONF_INTERFACE,
    CONF_LOCK_LIMIT,
    CONF_NAME,
    CONF_PARITY,
    CONF_PORT,
    CONF_PROFILE,
    CONF_PROTOCOL,
    CONF_RECONNECT_DELAY,
    CONF_REQUEST_TIMEOUT,
    CONF_RETRIES,
    CONF_SCAN_INTERVAL,
    CONF_SETTLE_DELAY,
    CONF_SIGNALS,
    CONF_TIME_ZONE,
    CONF_UTILITY,
    DOMAIN,
    MAX_CONTENT_TIMEOUT_MS,
    MAX_DELAY_OPTION_MS,
    MAX_RETRIES_OPTION,
    MAX_SCAN_INTERVAL_S,
    MAX_SETTLE_DELAY_S,
    MIN_SCAN_INTERVAL_S,
    SUBENTRY_GATEWAY,
    SUBENTRY_METER,
)
from .core.driver import Driver
from .core.drivers import DEFAULT_PROTOCOL, DRIVERS
from .core.model import SIGNALS, Snapshot
from .core.timing import MAX_REQUEST_TIMEOUT_MS, MIN_RECONNECT_DELAY_MS, MIN_REQUEST_TIMEOUT_MS
from .core.transport import is_network_url
from .data import IecMeterConfigEntry
from .schemas import (
    InvalidSecret,
    box,
    choices,
    connection_title,
    gateway_data,
    gateway_schema,
    kept_title,
    meter_data,
    meter_schema,
    network_defaults,
    network_schema,
    network_url,
    preset_schema,
    record_options_schema,
    serial_data,
    serial_schema,
    tariff_data,
    tariff_form_values,
    tariff_schema,
)
from .tariff_settings import CONF_TARIFF, cost_settings
from .validation import (
    check_gateway,
    check_new_meter,
    check_opens,
    delivered_signals,
    loaded_bus,
    meter_record,
    meter_unique_id,
    probe,
)


async def _entered(
    driver: Driver[Any], user_input: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, Any] | None:
    """The meter settings entered, or None with the field's error (password, time zone)."""
    try:
        settings = meter_data(driver, user_input)
    except InvalidSecret as err:
        errors[err.key] = "invalid_password"
        return None
    zone = settings.get(CONF_TIME_ZONE)
    if zone is not None and await dt_util.async_get_time_zone(str(zone)) is None:
        errors[CONF_TIME_ZONE] = "invalid_time_zone"
        return None
    return settings


def protocol_step(step: str, driver: Driver[Any]) -> str:
    """The step id of a form whose texts differ by protocol (the serial and meter forms).

    Home Assistant translates a form by its step id, and a description placeholder is
    shown as it is, untranslated: so each protocol's form has an id of its own, and so
    its own text in every language. IEC 102 keeps the plain ids it always had; another
    protocol's is ``<step>_<protocol>``, submitted to the method of that name.
    """
    return step if driver.name == DEFAULT_PROTOCOL else f"{step}_{driver.name}"


def _preset(driver: Driver[Any], name: str | None) -> Mapping[str, Any]:
    return driver.presets.get(name or "", {})


def _data_schema(
    driver: Driver[Any], snapshot: Snapshot, current: Mapping[str, Any] | None = None
) -> Any:
    """Tick boxes: the standard signals found, the other values.

    A new meter starts with the usual signals ticked; a meter reconfigured (``current``,
    its subentry data) with what it has ticked now. A value ticked before that the meter
    did not send this time stays in the list, so it is never dropped without the user's say.
    """
    reading = snapshot.reading
    standard = driver.standard_data(reading)
    signals = delivered_signals(snapshot)
    others = sorted(address for address in reading.data if address not in standard)
    if current is None:
        ticked = [key for key in signals if SIGNALS[key].enabled]
        ticked_data: list[str] = []
    else:
        ticked = sorted(key for key in current.get(CONF_SIGNALS, ()) if key in SIGNALS)
        ticked_data = sorted(current.get(CONF_DATA, ()))
        signals = sorted({*signals, *ticked})
        others = sorted({*others, *ticked_data})
    return form_schema(
        {
            # Shown by their entity names; the other data sets by their addresses.
            vol.Optional(CONF_SIGNALS, default=ticked): choices(signals, CONF_SIGNALS),
            vol.Optional(CONF_DATA, default=ticked_data): choices(others),
        }
    )


def _value_unique_ids(meter_id: str, record: Mapping[str, Any]) -> set[str]:
    """Unique ids of the sensors of a meter's ticked values (signals and data sets)."""
    return {
        *(f"{meter_id}_{key}" for key in record.get(CONF_SIGNALS, ())),
        *(f"{meter_id}_data_{address}" for address in record.get(CONF_DATA, ())),
    }


def follow_ticks(
    hass: HomeAssistant, meter_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """Enable the sensors of values newly ticked, disable those of values newly unticked.

    A sensor's "enabled by default" only counts when it is first registered, so a change of
    ticks on reconfigure is carried to the entity registry here. Only a changed tick moves
    a sensor, and only as far as the integration's own mark goes:

    - newly unticked: an enabled sensor is disabled *by the integration*; one the user had
      already disabled keeps the user's mark;
    - newly ticked: a sensor the integration disabled (unticked before, at setup or at an
      earlier reconfigure) is enabled; one the user disabled in the entity settings stays
      disabled, for the user to enable there.

    A value whose tick did not change is left alone, so a sensor the user enabled or
    disabled by hand keeps that choice through any number of reconfigurations. A sensor
    not registered yet needs nothing: it is registered with its tick as its default.
    """
    registry = er.async_get(hass)
    old = _value_unique_ids(meter_id, before)
    new = _value_unique_ids(meter_id, after)
    for unique_id in sorted(old ^ new):
        entity_id = registry.async_get_entity_id("sensor", DOMAIN, unique_id)
        if entity_id is None:
            continue
        entity = registry.async_get(entity_id)
        assert entity is not None
        if unique_id in new and entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION:
            registry.async_update_entity(entity_id, disabled_by=None)
        elif unique_id in old and entity.disabled_by is None:
            registry.async_update_entity(
                entity_id, disabled_by=er.RegistryEntryDisabler.INTEGRATION
            )


class IecMeterConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a connection and its first meter."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with no choices made."""
        self._protocol = next(iter(DRIVERS))
        self._preset: str | None = None
        self._connection: dict[str, Any] = {}
        self._name = ""
        self._pending: tuple[dict[str, Any], Snapshot] | None = None

    @property
    def _driver(self) -> Driver[Any]:
        return DRIVERS[self._protocol]

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
        """Meters and gateways are subentries of their connection."""
        return {SUBENTRY_METER: MeterSubentryFlow, SUBENTRY_GATEWAY: GatewaySubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Which kind of meter: the protocol it speaks."""
        return self.async_show_menu(step_id="user", menu_options=list(DRIVERS))

    async def async_step_iec102(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Spanish utility meter with IEC 102 (REE) telemetering."""
        return await self._protocol_chosen("iec102")

    async def async_step_iec62056(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A meter with an optical port read by an IEC 62056-21 head."""
        return await self._protocol_chosen("iec62056")

    async def _protocol_chosen(self, protocol: str) -> ConfigFlowResult:
        """Presets (a utility's usual settings) first where the protocol has them."""
        self._protocol = protocol
        if self._driver.presets:
            return await self.async_step_utility()
        return await self.async_step_connection()

    async def async_step_utility(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the utility (it pre-fills the meter's usual settings)."""
        if user_input is not None:
            self._preset = user_input[CONF_UTILITY]
            return await self.async_step_connection()
        return self.async_show_form(step_id="utility", data_schema=preset_schema(self._driver))

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Serial port (or optical probe), or a network converter."""
        return self.async_show_menu(step_id="connection", menu_options=["serial", "network"])

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A local serial port or optical probe."""
        errors: dict[str, str] = {}
        if self.source == SOURCE_RECONFIGURE:
            self._protocol = driver_of(self._get_reconfigure_entry().data).name
        if user_input is not None:
            result = await self._accept_connection(serial_data(user_input), errors)
            if result is not None:
                return result
            defaults: Mapping[str, Any] = user_input
        elif self.source == SOURCE_RECONFIGURE and not is_network_url(
            self._get_reconfigure_entry().data[CONF_DEVICE]
        ):
            defaults = self._get_reconfigure_entry().data
        else:
            preset = _preset(self._driver, self._preset)
            defaults = {CONF_PARITY: preset[CONF_PARITY]} if CONF_PARITY in preset else {}
        return self.async_show_form(
            step_id=protocol_step("serial", self._driver),
            data_schema=await serial_schema(self.hass, self._driver, defaults),
            errors=errors,
        )

    async def async_step_serial_iec62056(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The serial form with the texts of IEC 62056-21 (see ``protocol_step``)."""
        return await self.async_step_serial(user_input)

    async def async_step_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A TCP serial converter (raw TCP, or RFC 2217)."""
        errors: dict[str, str] = {}
        defaults: Mapping[str, Any] = {}
        if self.source == SOURCE_RECONFIGURE:
            self._protocol = driver_of(self._get_reconfigure_entry().data).name
        if user_input is not None:
            url = network_url(user_input)
            if url is None:
                errors["base"] = "invalid_url"
            else:
                result = await self._accept_connection({CONF_DEVICE: url}, errors)
                if result is not None:
                    return result
            defaults = user_input
        elif self.source == SOURCE_RECONFIGURE:
            device = str(self._get_reconfigure_entry().data[CONF_DEVICE])
            defaults = network_defaults(device, self._driver)
        return self.async_show_form(
            step_id="network", data_schema=network_schema(self._driver, defaults), errors=errors
        )

    async def _accept_connection(
        self, data: dict[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Check the line opens; continue to the meter, or save a reconfiguration."""
        data = {CONF_PROTOCOL: self._protocol, **data}
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if any(
                other.data.get(CONF_DEVICE) == data[CONF_DEVICE]
                for other in self._async_current_entries()
                if other.entry_id != entry.entry_id
            ):
                return self.async_abort(reason="already_configured")
            # The running connection holds the port exclusively: release it first.
            bus = loaded_bus(entry)
            if bus is not None:
                await bus.close()
            error = await check_opens(data, entry.options)
            if error is None:
                return self.async_update_and_abort(
                    entry, data=data, title=kept_title(entry.title, entry.data, data)
                )
        else:
            self._async_abort_entries_match({CONF_DEVICE: data[CONF_DEVICE]})
            error = await check_opens(data, default_options(self._driver))
            if error is None:
                self._connection = data
                return await self.async_step_meter()
        errors["base"] = error
        return None

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The first meter: its settings, proven by reading the meter."""
        driver = self._driver
        errors: dict[str, str] = {}
        if user_input is not None and (settings := await _entered(driver, user_input, errors)):
            meter = await check_new_meter(self.hass, None, self._connection, settings)
            if meter.duplicate:
                return self.async_abort(reason="meter_already_configured")
            if meter.snapshot is not None and meter.settings is not None:
                self._name = str(user_input[CONF_NAME])
                self._pending = (meter.settings, meter.snapshot)
                if driver.labelled_data:
                    return await self.async_step_values()
                return self._create(meter_record(driver, meter.settings, meter.snapshot))
            errors["base"] = str(meter.error)
        defaults = user_input or _preset(driver, self._preset)
        return self.async_show_form(
            step_id=protocol_step("meter", driver),
            data_schema=meter_schema(driver, defaults, self.hass.config.time_zone),
            errors=errors,
        )

    async def async_step_meter_iec62056(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The meter form with the texts of IEC 62056-21 (see ``protocol_step``)."""
        return await self.async_step_meter(user_input)

    async def async_step_values(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Which of the values the meter sent become sensors."""
        assert self._pending is not None
        settings, snapshot = self._pending
        if user_input is not None:
            return self._create(meter_record(self._driver, settings, snapshot, user_input))
        return self.async_show_form(
            step_id="values", data_schema=_data_schema(self._driver, snapshot)
        )

    def _create(self, record: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(
            title=connection_title(self._connection),
            data=self._connection,
            options=default_options(self._driver),
            subentries=[
                {
                    "subentry_type": SUBENTRY_METER,
                    "title": self._name,
                    "unique_id": meter_unique_id(self._driver, record),
                    "data": record,
                }
            ],
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
                    CONF_CONTENT_TIMEOUT: int(user_input[CONF_CONTENT_TIMEOUT]),
                    CONF_SETTLE_DELAY: float(user_input[CONF_SETTLE_DELAY]),
                    CONF_LOCK_LIMIT: int(user_input[CONF_LOCK_LIMIT]),
                    **_record_options(user_input),
                }
            )
        driver = driver_of(self.config_entry.data)
        current = {**default_options(driver), **self.config_entry.options}
        records = record_options_schema(current) if driver.keeps_records else {}
        schema = form_schema(
            {
                vol.Required(CONF_SCAN_INTERVAL, default=current[CONF_SCAN_INTERVAL]): box(
                    MIN_SCAN_INTERVAL_S, MAX_SCAN_INTERVAL_S, "s"
                ),
                vol.Required(CONF_REQUEST_TIMEOUT, default=current[CONF_REQUEST_TIMEOUT]): box(
                    MIN_REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS, "ms"
                ),
                vol.Required(CONF_RETRIES, default=current[CONF_RETRIES]): box(
                    0, MAX_RETRIES_OPTION
                ),
                vol.Required(
                    CONF_INTER_REQUEST_DELAY, default=current[CONF_INTER_REQUEST_DELAY]
                ): box(0, MAX_DELAY_OPTION_MS, "ms"),
                vol.Required(CONF_RECONNECT_DELAY, default=current[CONF_RECONNECT_DELAY]): box(
                    MIN_RECONNECT_DELAY_MS, MAX_DELAY_OPTION_MS, "ms"
                ),
                vol.Required(CONF_CONTENT_TIMEOUT, default=current[CONF_CONTENT_TIMEOUT]): box(
                    MIN_REQUEST_TIMEOUT_MS, MAX_CONTENT_TIMEOUT_MS, "ms"
                ),
                vol.Required(CONF_SETTLE_DELAY, default=current[CONF_SETTLE_DELAY]): box(
                    0, MAX_SETTLE_DELAY_S, "s", step=0.1
                ),
                vol.Required(CONF_LOCK_LIMIT, default=current[CONF_LOCK_LIMIT]): box(
                    0, MAX_DELAY_OPTION_MS, "ms"
                ),
                **records,
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)


def _record_options(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The record options entered, where the form had them."""
    if CONF_PROFILE not in user_input:
        return {}
    return {
        CONF_PROFILE: str(user_input[CONF_PROFILE]),
        CONF_BACKFILL_DAYS: int(user_input[CONF_BACKFILL_DAYS]),
        CONF_BILLING_CONTRACT: int(user_input[CONF_BILLING_CONTRACT]),
    }


class MeterSubentryFlow(ConfigSubentryFlow):
    """Add a meter to a connection, or change one."""

    def __init__(self) -> None:
        """Start with no preset."""
        self._preset: str | None = None
        self._name = ""
        self._pending: tuple[dict[str, Any], Snapshot] | None = None
        self._record: dict[str, Any] | None = None

    @property
    def _driver(self) -> Driver[Any]:
        return driver_of(self._get_entry().data)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose the utility of the new meter, where the protocol has presets."""
        driver = self._driver
        if not driver.presets:
            return await self.async_step_meter()
        if user_input is not None:
            self._preset = user_input[CONF_UTILITY]
            return await self.async_step_meter()
        return self.async_show_form(step_id="user", data_schema=preset_schema(driver))

    async def async_step_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Settings of the new meter, proven by reading it."""
        entry: IecMeterConfigEntry = self._get_entry()
        driver = self._driver
        errors: dict[str, str] = {}
        if user_input is not None and (settings := await _entered(driver, user_input, errors)):
            meter = await check_new_meter(self.hass, entry, entry.data, settings)
            if meter.duplicate:
                return self.async_abort(reason="meter_already_configured")
            if meter.snapshot is not None and meter.settings is not None:
                self._name = str(user_input[CONF_NAME])
                self._pending = (meter.settings, meter.snapshot)
                if driver.labelled_data:
                    return await self.async_step_values()
                return self._create(meter_record(driver, meter.settings, meter.snapshot))
            errors["base"] = str(meter.error)
        return self.async_show_form(
            step_id=protocol_step("meter", driver),
            data_schema=meter_schema(
                driver, user_input or _preset(driver, self._preset), self.hass.config.time_zone
            ),
            errors=errors,
        )

    async def async_step_meter_iec62056(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The meter form with the texts of IEC 62056-21 (see ``protocol_step``)."""
        return await self.async_step_meter(user_input)

    async def async_step_values(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which of the values the meter sent become sensors (a new meter or a reconfigured one)."""
        assert self._pending is not None
        settings, snapshot = self._pending
        reconfiguring = self.source == SOURCE_RECONFIGURE
        current = self._get_reconfigure_subentry().data if reconfiguring else None
        if user_input is not None:
            record = meter_record(self._driver, settings, snapshot, user_input)
            if current is None:
                return self._create(record)
            return await self._reconfigured({**current, **record})
        return self.async_show_form(
            step_id="values", data_schema=_data_schema(self._driver, snapshot, current)
        )

    async def _reconfigured(self, record: dict[str, Any]) -> SubentryFlowResult:
        """Save a reconfigured meter, after its tariff step if it has a load profile."""
        if not self._driver.keeps_records:
            return self._update(record)
        self._record = record
        return await self.async_step_tariff()

    async def async_step_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Tariff and prices that turn the meter's load profile into cost statistics.

        "No tariff" removes the settings; others are checked as the hub will read them,
        and what is wrong is shown with the form kept as typed.
        """
        assert self._record is not None
        record = self._record
        errors: dict[str, str] = {}
        reason = ""
        if user_input is not None:
            settings = tariff_data(user_input)
            if settings is None:
                return self._update({k: v for k, v in record.items() if k != CONF_TARIFF})
            try:
                cost_settings({CONF_TARIFF: settings})
            except ValueError as err:
                errors["base"] = "invalid_tariff"
                reason = str(err)
            else:
                return self._update({**record, CONF_TARIFF: settings})
        values = user_input or tariff_form_values(record.get(CONF_TARIFF))
        return self.async_show_form(
            step_id="tariff",
            data_schema=tariff_schema(values),
            errors=errors,
            description_placeholders={"reason": reason},
        )

    def _update(self, record: dict[str, Any]) -> SubentryFlowResult:
        """Save a reconfigured meter; its sensors follow the change of ticks."""
        entry: IecMeterConfigEntry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        follow_ticks(self.hass, str(subentry.unique_id), subentry.data, record)
        return self.async_update_and_abort(entry, subentry, data=record)

    def _create(self, record: dict[str, Any]) -> SubentryFlowResult:
        return self.async_create_entry(
            title=self._name, data=record, unique_id=meter_unique_id(self._driver, record)
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a meter's settings (addresses, password, clock time zone...).

        The meter is read with the new settings; a meter that labels its values then gets
        the values step again, with its current ticks and what it sent this time; a meter
        with a load profile the tariff step.
        """
        entry: IecMeterConfigEntry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        driver = self._driver
        errors: dict[str, str] = {}
        if user_input is not None and (settings := await _entered(driver, user_input, errors)):
            snapshot, error = await probe(self.hass, entry, entry.data, settings)
            if snapshot is not None:
                chosen = {key: subentry.data.get(key, []) for key in (CONF_SIGNALS, CONF_DATA)}
                record = {**subentry.data, **meter_record(driver, settings, snapshot, chosen)}
                if meter_unique_id(driver, record) != subentry.unique_id:
                    return self.async_abort(reason="wrong_meter")
                if driver.labelled_data:
                    self._pending = (settings, snapshot)
                    return await self.async_step_values()
                return await self._reconfigured(record)
            errors["base"] = str(error)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=meter_schema(
                driver, user_input or subentry.data, self.hass.config.time_zone, with_name=False
            ),
            errors=errors,
        )


class GatewaySubentryFlow(ConfigSubentryFlow):
    """Add a pass-through gateway to a connection, or change one."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Port, interface, priority and inactivity timeout of a new gateway."""
        return await self._form("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a gateway (it restarts with the connection)."""
        return await self._form("reconfigure", user_input, self._get_reconfigure_subentry())

    async def _form(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        current: ConfigSubentry | None,
    ) -> SubentryFlowResult:
        entry: IecMeterConfigEntry = self._get_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = gateway_data(user_input)
            error = await check_gateway(self.hass, entry, data, current)
            if error is None:
                title = f"Gateway {data[CONF_INTERFACE]}:{data[CONF_PORT]}"
                if current is None:
                    return self.async_create_entry(title=title, data=data)
                return self.async_update_and_abort(entry, current, data=data, title=title)
            errors["base"] = error
        defaults: Mapping[str, Any] = user_input or (current.data if current else {})
        return self.async_show_form(
            step_id=step_id, data_schema=gateway_schema(defaults), errors=errors
        )
