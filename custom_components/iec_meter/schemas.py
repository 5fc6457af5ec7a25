"""The forms of the flows, built from the core's descriptions of line and meter settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
import serialx
import voluptuous as vol

from .compat import form_schema
from .const import (
    BILLING_CONTRACT_CHOICES,
    CONF_AUTO_DEMOTION,
    CONF_BACKFILL_DAYS,
    CONF_BAUDRATE,
    CONF_BILLING_CONTRACT,
    CONF_BYTESIZE,
    CONF_DEMOTION_DELAY,
    CONF_DEMOTION_FAILURES,
    CONF_DEVICE,
    CONF_HOST,
    CONF_INACTIVITY_TIMEOUT,
    CONF_INTERFACE,
    CONF_NAME,
    CONF_PARITY,
    CONF_PORT,
    CONF_PRIORITY,
    CONF_PROFILE,
    CONF_PROTOCOL,
    CONF_STOPBITS,
    CONF_UTILITY,
    MAX_BACKFILL_DAYS,
    PROFILE_CHOICES,
)
from .core.demotion import (
    DEFAULT_DELAY_MS,
    DEFAULT_FAILURES,
    MAX_DELAY_MS,
    MAX_FAILURES,
    MIN_DELAY_MS,
)
from .core.driver import Driver, FieldKind, SettingField
from .core.drivers import DRIVERS
from .core.gateway import (
    DEFAULT_HOST,
    DEFAULT_INACTIVITY_TIMEOUT_MS,
    DEFAULT_PORT,
    PRIORITY_MAX,
    PRIORITY_MIN,
)
from .core.tariffs.model import Period, Tariff, Zone
from .core.transport import BAUDRATES, BYTESIZES, NETWORK_SCHEMES, is_network_url
from .tariff_settings import CONF_TARIFF

if TYPE_CHECKING:
    from .compat import FormSchema

_TCP_PORT_MAX = 65535


def box(
    minimum: float, maximum: float, unit: str | None = None, step: float | Literal["any"] = 1
) -> Any:
    """A number entered in a box."""
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


#: What Home Assistant accepts as the key of a translated option (hassfest's rule).
_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def translatable(options: Iterable[str]) -> bool:
    """True if every option can be a translation key (``selector.<key>.options.<value>``)."""
    return all(_TRANSLATION_KEY.match(option) for option in options)


def dropdown(options: Iterable[str], key: str | None, custom: bool = False) -> Any:
    """A choice from a list (translated under ``selector.<key>``), or free text."""
    config = selector.SelectSelectorConfig(
        options=list(options), mode=selector.SelectSelectorMode.DROPDOWN, custom_value=custom
    )
    if key is not None:
        config["translation_key"] = key
    return selector.SelectSelector(config)


def choices(options: Iterable[str], key: str | None = None) -> Any:
    """Tick boxes for a list of values: translated under ``selector.<key>``, or as they are."""
    config = selector.SelectSelectorConfig(
        options=list(options), multiple=True, mode=selector.SelectSelectorMode.LIST
    )
    if key is not None:
        config["translation_key"] = key
    return selector.SelectSelector(config)


def record_options_schema(current: Mapping[str, Any]) -> dict[Any, Any]:
    """Options of the meters' records: profile to import, backfill, billing contract."""
    return {
        vol.Required(CONF_PROFILE, default=current[CONF_PROFILE]): dropdown(
            PROFILE_CHOICES, CONF_PROFILE
        ),
        vol.Required(CONF_BACKFILL_DAYS, default=current[CONF_BACKFILL_DAYS]): box(
            0, MAX_BACKFILL_DAYS, "d"
        ),
        vol.Required(CONF_BILLING_CONTRACT, default=str(current[CONF_BILLING_CONTRACT])): dropdown(
            BILLING_CONTRACT_CHOICES, CONF_BILLING_CONTRACT
        ),
    }


def preset_schema(driver: Driver[Any]) -> FormSchema:
    """Choose one of the protocol's presets (a utility's usual settings)."""
    presets = list(driver.presets)
    return form_schema(
        {vol.Required(CONF_UTILITY, default=presets[-1]): dropdown(presets, CONF_UTILITY)}
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


#: The parity choices of the serial form (translated keys) and the letter each one stores.
PARITY_CHOICES: dict[str, str] = {"none": "N", "even": "E", "odd": "O"}
_PARITY_OF_LETTER = {letter: choice for choice, letter in PARITY_CHOICES.items()}


def parity_choice(parity: str) -> str:
    """The form's choice for a stored parity letter (a choice stays as it is)."""
    return _PARITY_OF_LETTER.get(parity, parity)


def parity_letter(choice: str) -> str:
    """The parity letter stored for the form's choice (a letter stays as it is)."""
    return PARITY_CHOICES.get(choice, choice)


async def serial_schema(
    hass: HomeAssistant, driver: Driver[Any], defaults: Mapping[str, Any]
) -> FormSchema:
    """Port and byte format; defaults from the protocol, a preset or the entry."""
    line = driver.line_defaults

    def default(key: str, value: Any) -> Any:
        return str(defaults.get(key, value))

    return form_schema(
        {
            vol.Required(CONF_DEVICE, default=defaults.get(CONF_DEVICE, vol.UNDEFINED)): (
                await _port_field(hass)
            ),
            vol.Required(CONF_BAUDRATE, default=default(CONF_BAUDRATE, line.baudrate)): dropdown(
                [str(rate) for rate in BAUDRATES], CONF_BAUDRATE
            ),
            vol.Required(CONF_BYTESIZE, default=default(CONF_BYTESIZE, line.bytesize)): dropdown(
                [str(size) for size in BYTESIZES], CONF_BYTESIZE
            ),
            vol.Required(
                CONF_PARITY, default=parity_choice(default(CONF_PARITY, line.parity))
            ): dropdown(list(PARITY_CHOICES), CONF_PARITY),
            vol.Required(
                CONF_STOPBITS, default=str(int(defaults.get(CONF_STOPBITS, line.stopbits)))
            ): dropdown(["1", "2"], CONF_STOPBITS),
        }
    )


def network_schema(driver: Driver[Any], defaults: Mapping[str, Any]) -> FormSchema:
    """Host and port of a TCP converter."""
    return form_schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(
                CONF_PORT, default=defaults.get(CONF_PORT, driver.line_defaults.tcp_port)
            ): box(1, _TCP_PORT_MAX),
        }
    )


def setting_selector(field: SettingField) -> Any:
    """How one meter setting is entered: a secret in a masked box."""
    if field.kind is FieldKind.SECRET:
        return selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
        )
    if field.kind is FieldKind.NUMBER:
        return box(
            field.minimum if field.minimum is not None else 0,
            field.maximum if field.maximum is not None else 2**32 - 1,
        )
    if field.kind is FieldKind.SELECT:
        # Options that cannot be translation keys (a mode letter, a time zone) are shown
        # as they are, and stored as chosen or typed; the field's description explains them.
        key = field.key if translatable(field.options) else None
        return dropdown(field.options, key, custom=field.custom)
    if field.kind is FieldKind.BOOLEAN:
        return bool
    return str


#: The collapsed part of a meter form holding the settings most meters never need.
ADVANCED = "advanced"

#: Settings every meter has, whatever its protocol: what to do when it keeps failing.
COMMON_METER_FIELDS: tuple[SettingField, ...] = (
    SettingField(CONF_AUTO_DEMOTION, FieldKind.BOOLEAN, True, advanced=True),
    SettingField(
        CONF_DEMOTION_FAILURES,
        FieldKind.NUMBER,
        DEFAULT_FAILURES,
        1,
        MAX_FAILURES,
        advanced=True,
    ),
    SettingField(
        CONF_DEMOTION_DELAY,
        FieldKind.NUMBER,
        DEFAULT_DELAY_MS,
        MIN_DELAY_MS,
        MAX_DELAY_MS,
        advanced=True,
    ),
)


def meter_fields(driver: Driver[Any]) -> tuple[SettingField, ...]:
    """Every setting of one meter: the protocol's, then the common ones."""
    return (*driver.meter_fields, *COMMON_METER_FIELDS)


def meter_schema(
    driver: Driver[Any], defaults: Mapping[str, Any], default_zone: str, with_name: bool = True
) -> FormSchema:
    """The protocol's meter settings (and a name for a new meter); rare ones folded away."""
    # A form sent back with an error nests the folded part: its values are kept too.
    defaults = unfolded(defaults)

    def default(field: SettingField) -> Any:
        value = defaults.get(field.key, field.default)
        if value is None and field.key == "time_zone":
            value = default_zone
        if value is None:
            return vol.UNDEFINED
        # A masked box holds text; the stored password is a number.
        return str(value) if field.kind is FieldKind.SECRET else value

    def add(fields: dict[Any, Any], field: SettingField) -> None:
        marker = vol.Optional if field.kind is FieldKind.TEXT else vol.Required
        fields[marker(field.key, default=default(field))] = setting_selector(field)

    fields: dict[Any, Any] = {}
    advanced: dict[Any, Any] = {}
    if with_name:
        fields[vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "Electricity meter"))] = str
    for field in meter_fields(driver):
        add(advanced if field.advanced else fields, field)
    if advanced:
        # No default on the section itself: the frontend takes a section's default as its
        # whole initial data and would then never fill the defaults of the fields inside
        # it (and refuse the form for them). Optional, so a flow-API client may leave the
        # folded part out and get its defaults.
        fields[vol.Optional(ADVANCED)] = section(form_schema(advanced), {"collapsed": True})
    return form_schema(fields)


def unfolded(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """A meter form's values with the folded part's values beside the others."""
    return {**user_input, **user_input.get(ADVANCED, {})}


class InvalidSecret(ValueError):
    """A password that the meter's protocol cannot take (e.g. letters where a number goes)."""

    def __init__(self, key: str) -> None:
        """Say which field."""
        super().__init__(key)
        self.key = key


def secret_value(field: SettingField, entered: Any) -> int:
    """A numeric password typed into its masked box, checked against its range."""
    text = str(entered).strip()
    low = field.minimum if field.minimum is not None else 0
    high = field.maximum if field.maximum is not None else 2**32 - 1
    if not text.isdecimal() or not low <= int(text) <= high:
        raise InvalidSecret(field.key)
    return int(text)


def meter_data(driver: Driver[Any], user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entered meter settings (the folded part unfolded), numbers as numbers.

    Raises :class:`InvalidSecret` for a password its protocol cannot take.
    """
    entered = unfolded(user_input)
    data: dict[str, Any] = {}
    for field in meter_fields(driver):
        value = entered.get(field.key, field.default)
        if field.kind is FieldKind.SECRET and value is not None:
            value = secret_value(field, value)
        elif field.kind is FieldKind.NUMBER and value is not None:
            value = int(value)
        elif field.kind is FieldKind.TEXT:
            value = str(value or "").strip()
        data[field.key] = value
    return data


def serial_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Connection data of a serial port from its form."""
    return {
        CONF_DEVICE: str(user_input[CONF_DEVICE]).strip(),
        CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]),
        CONF_BYTESIZE: int(user_input[CONF_BYTESIZE]),
        CONF_PARITY: parity_letter(str(user_input[CONF_PARITY])),
        CONF_STOPBITS: int(user_input[CONF_STOPBITS]),
    }


def network_url(user_input: Mapping[str, Any]) -> str | None:
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


def network_defaults(device: str, driver: Driver[Any]) -> dict[str, Any]:
    """The network form's fields from a stored URL."""
    if not is_network_url(device):
        return {}
    parsed = urlparse(device)
    if parsed.scheme == "socket" and parsed.hostname:
        return {CONF_HOST: parsed.hostname, CONF_PORT: parsed.port or driver.line_defaults.tcp_port}
    return {CONF_HOST: device}


def connection_place(data: Mapping[str, Any]) -> str:
    """Where a connection is: its port path or converter address."""
    device = str(data[CONF_DEVICE])
    return device.split("://", 1)[1] if "://" in device else device


def connection_title(data: Mapping[str, Any]) -> str:
    """A connection's name: its protocol and place (the user can rename it)."""
    return f"{DRIVERS[data[CONF_PROTOCOL]].title} · {connection_place(data)}"


def kept_title(current: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The title after a reconfiguration: a name the user gave stays, ours follows the data."""
    ours = (connection_title(old), connection_place(old))
    return connection_title(new) if current in ours else current


#: Where a gateway listens: this machine only (the default), or every interface. Shown as
#: they are (an address is no translation key); the field's description explains them.
GATEWAY_INTERFACES = ("127.0.0.1", "0.0.0.0")  # noqa: S104 - offered, never the default
MAX_INACTIVITY_TIMEOUT_MS = 3_600_000


def gateway_schema(defaults: Mapping[str, Any]) -> FormSchema:
    """Port, network interface, priority and inactivity timeout of a gateway."""
    return form_schema(
        {
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): box(
                1, _TCP_PORT_MAX
            ),
            vol.Required(
                CONF_INTERFACE, default=defaults.get(CONF_INTERFACE, DEFAULT_HOST)
            ): dropdown(GATEWAY_INTERFACES, None, custom=True),
            vol.Required(CONF_PRIORITY, default=defaults.get(CONF_PRIORITY, PRIORITY_MIN)): box(
                PRIORITY_MIN, PRIORITY_MAX
            ),
            vol.Required(
                CONF_INACTIVITY_TIMEOUT,
                default=defaults.get(CONF_INACTIVITY_TIMEOUT, DEFAULT_INACTIVITY_TIMEOUT_MS),
            ): box(0, MAX_INACTIVITY_TIMEOUT_MS, "ms"),
        }
    )


def gateway_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """A gateway subentry's data from its form."""
    return {
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_INTERFACE: str(user_input[CONF_INTERFACE]).strip(),
        CONF_PRIORITY: int(user_input[CONF_PRIORITY]),
        CONF_INACTIVITY_TIMEOUT: int(user_input[CONF_INACTIVITY_TIMEOUT]),
    }


#: The tariff step's choice of no tariff (no cost statistics), and the access tariffs by
#: slugs of their names (hassfest takes only slugs as option keys), to the names stored.
NO_TARIFF = "none"
TARIFF_CHOICES: dict[str, str] = {
    tariff.value.lower().replace(".", "_"): tariff.value for tariff in Tariff
}
_CHOICE_OF_TARIFF = {name: choice for choice, name in TARIFF_CHOICES.items()}
CONF_ZONE = "zone"
CONF_PRICE_SOURCE = "price_source"
CONF_PRICE_ENTITY = "price_entity"
CONF_COMPENSATION_PRICE = "compensation_price"
CONF_TAX_PERCENT = "tax_percent"
#: Where energy is priced: the prices typed per period, or an entity's hourly mean.
PRICE_SOURCES = ("fixed", "entity")
#: The collapsed part of the tariff form with the numbers per period.
PRICES = "prices"
#: Stored per-period settings, the prefix of their form fields, their unit and maximum.
_PER_PERIOD: tuple[tuple[str, str, str, float], ...] = (
    ("energy_prices", "energy", "€/kWh", 10),
    ("power_prices", "power", "€/kW·year", 1000),
    ("contracted_powers", "contracted", "kW", 100_000),
)


def tariff_form_values(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tariff form's values (folded part beside the others) for stored settings."""
    if not stored:
        return {}
    values: dict[str, Any] = {
        CONF_TARIFF: _CHOICE_OF_TARIFF.get(str(stored.get(CONF_TARIFF)), NO_TARIFF),
        CONF_ZONE: stored.get(CONF_ZONE, Zone.PENINSULA.value),
        CONF_PRICE_SOURCE: "entity" if stored.get(CONF_PRICE_ENTITY) else "fixed",
        CONF_TAX_PERCENT: stored.get(CONF_TAX_PERCENT, 0),
    }
    for key in (CONF_PRICE_ENTITY, CONF_COMPENSATION_PRICE):
        if stored.get(key) is not None:
            values[key] = stored[key]
    for group, prefix, _unit, _maximum in _PER_PERIOD:
        for period, value in stored.get(group, {}).items():
            values[f"{prefix}_{str(period).lower()}"] = value
    return values


def tariff_schema(values: Mapping[str, Any]) -> FormSchema:
    """Tariff, zone, price source and taxes; the numbers per period folded away.

    Optional numbers show their value as a suggestion, not a default, so that a cleared
    box stays empty. The folded part has no default of its own (see ``meter_schema``).
    """
    values = unfolded_prices(values)

    def optional(key: str) -> Any:
        return vol.Optional(key, description={"suggested_value": values.get(key)})

    prices: dict[Any, Any] = {}
    for _group, prefix, unit, maximum in _PER_PERIOD:
        for period in Period:
            key = f"{prefix}_{period.value.lower()}"
            prices[optional(key)] = box(0, maximum, unit, step="any")
    return form_schema(
        {
            vol.Required(CONF_TARIFF, default=values.get(CONF_TARIFF, NO_TARIFF)): dropdown(
                [NO_TARIFF, *TARIFF_CHOICES], CONF_TARIFF
            ),
            vol.Required(CONF_ZONE, default=values.get(CONF_ZONE, Zone.PENINSULA.value)): (
                dropdown([zone.value for zone in Zone], CONF_ZONE)
            ),
            vol.Required(
                CONF_PRICE_SOURCE, default=values.get(CONF_PRICE_SOURCE, PRICE_SOURCES[0])
            ): dropdown(PRICE_SOURCES, CONF_PRICE_SOURCE),
            optional(CONF_PRICE_ENTITY): selector.EntitySelector(
                selector.EntitySelectorConfig(domain="sensor")
            ),
            vol.Optional(PRICES): section(form_schema(prices), {"collapsed": True}),
            optional(CONF_COMPENSATION_PRICE): box(0, 10, "€/kWh", step="any"),
            vol.Required(CONF_TAX_PERCENT, default=values.get(CONF_TAX_PERCENT, 0)): box(
                0, 100, "%", step="any"
            ),
        }
    )


def unfolded_prices(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """A tariff form's values with the folded part's values beside the others."""
    return {**user_input, **user_input.get(PRICES, {})}


def tariff_data(user_input: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tariff settings to store from the form; None for "no tariff".

    Only the tariff's own periods are kept (2.0TD: three energy, two power periods), and
    for an entity as price source no energy prices; ``cost_settings`` checks the rest.
    """
    entered = unfolded_prices(user_input)
    choice = str(entered.get(CONF_TARIFF, NO_TARIFF))
    if choice == NO_TARIFF:
        return None
    tariff = Tariff(TARIFF_CHOICES[choice])
    counts = {
        "energy_prices": tariff.energy_periods,
        "power_prices": tariff.power_periods,
        "contracted_powers": tariff.power_periods,
    }
    if entered.get(CONF_PRICE_SOURCE) == "entity":
        counts.pop("energy_prices")
    settings: dict[str, Any] = {
        CONF_TARIFF: tariff.value,
        CONF_ZONE: str(entered.get(CONF_ZONE, Zone.PENINSULA.value)),
    }
    if "energy_prices" not in counts and entered.get(CONF_PRICE_ENTITY):
        settings[CONF_PRICE_ENTITY] = str(entered[CONF_PRICE_ENTITY])
    for group, prefix, _unit, _maximum in _PER_PERIOD:
        if group not in counts:
            continue
        periods: dict[str, float] = {}
        for number in range(1, counts[group] + 1):
            value = entered.get(f"{prefix}_p{number}")
            if value is not None:
                periods[Period.of(number).value] = float(value)
        if periods:
            settings[group] = periods
    if entered.get(CONF_COMPENSATION_PRICE) is not None:
        settings[CONF_COMPENSATION_PRICE] = float(entered[CONF_COMPENSATION_PRICE])
    settings[CONF_TAX_PERCENT] = float(entered.get(CONF_TAX_PERCENT, 0))
    return settings
