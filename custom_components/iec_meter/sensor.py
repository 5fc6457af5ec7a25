"""Sensors for the signals a meter delivers, its chosen labelled values, and its clock.

Descriptions come from the core's one signal table, keyed by signal id, and a meter gets
entities only for the signals it delivered when it was set up. A value the meter flags
invalid is unknown, not unavailable.

Every value has passed the core's plausibility guard (:mod:`.core.plausibility`), so a
value shown is the truth as far as it can be known. Energy registers are TOTAL_INCREASING
and feed the Energy dashboard: the guard never approves a zero or a step backwards of a
register on its own, and when it leaves a register out of a poll the sensor keeps its last
value (a register's last approved value is still a true lower bound; a measurement left
out is unknown for that poll, as one the meter left out).

A genuine step backwards reaches Home Assistant only after the meter has confirmed it
over at least two polls (a meter exchanged or reset): Home Assistant's statistics take a
drop of more than 10 % as a new meter cycle, counted from zero, so the new meter's whole
register is added to the sum once; a smaller drop is subtracted from the sum and logged
as a dip by Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .billing_sensor import async_setup_billing
from .const import CONF_DATA
from .coordinator import IecMeterCoordinator
from .core.gateway import Gateway
from .core.model import SIGNALS, DataValue, Signal, Snapshot
from .data import IecMeterConfigEntry
from .entity import IecMeterEntity
from .gateway_entity import GatewayEntity
from .profile_sensor import profile_entities
from .tariff_sensor import tariff_entities

# Coordinator-fed, read-only: no limit on parallel updates.
PARALLEL_UPDATES = 0

type SensorValue = float | str | datetime | None

#: Units of labelled values that Home Assistant knows how to classify (exact spelling:
#: "MWh" is mega, "mWh" milli).
_UNIT_CLASSES: dict[str, SensorDeviceClass] = {
    **dict.fromkeys(("Wh", "kWh", "MWh"), SensorDeviceClass.ENERGY),
    **dict.fromkeys(("varh", "kvarh"), SensorDeviceClass.REACTIVE_ENERGY),
    **dict.fromkeys(("W", "kW", "MW"), SensorDeviceClass.POWER),
    **dict.fromkeys(("var", "kvar"), SensorDeviceClass.REACTIVE_POWER),
    **dict.fromkeys(("VA", "kVA"), SensorDeviceClass.APPARENT_POWER),
    **dict.fromkeys(("V", "kV"), SensorDeviceClass.VOLTAGE),
    **dict.fromkeys(("A", "mA"), SensorDeviceClass.CURRENT),
    "Hz": SensorDeviceClass.FREQUENCY,
}
#: Endings of energy units, known or not (kVAh, Mvarh): registers that only grow.
_ENERGY_UNIT_ENDINGS = ("wh", "varh", "vah")


@dataclass(frozen=True, kw_only=True)
class IecMeterSensorDescription(SensorEntityDescription):
    """A meter sensor and how to get its value from a poll."""

    value_fn: Callable[[Snapshot], SensorValue]


def signal_description(
    signal: Signal, chosen: bool | None = None, precision: int | None = None
) -> IecMeterSensorDescription:
    """The description of one signal of the core's table.

    Where the user ticked the values (``chosen`` given), the ticked ones start enabled and
    the others disabled; otherwise the table says. ``precision`` is the decimals the
    driver says the meter's values carry (the table's when not given).
    """
    key = signal.key
    return IecMeterSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass(signal.device_class),
        native_unit_of_measurement=None if signal.unit is None else str(signal.unit),
        state_class=None if signal.state_class is None else SensorStateClass(signal.state_class),
        suggested_display_precision=signal.precision if precision is None else precision,
        entity_registry_enabled_default=signal.enabled if chosen is None else chosen,
        value_fn=lambda data: data.reading.get(key),
    )


def data_description(address: str, item: DataValue | None) -> IecMeterSensorDescription:
    """A labelled value the user chose, named by its address as the meter prints it.

    A number keeps the meter's unit as sent, known to Home Assistant or not ("kVA",
    "h"), and its digits; an energy unit makes a register, any other a measurement.
    Text (a status word, a serial number) is shown as it is, without unit or class.
    """

    def text(data: Snapshot) -> SensorValue:
        found = data.reading.data.get(address)
        return None if found is None else found.value

    if item is None or isinstance(item.value, str) or item.unit is None:
        return IecMeterSensorDescription(key=f"data_{address}", name=address, value_fn=text)

    def number(data: Snapshot) -> SensorValue:
        # Text where a number was (a meter's error mark) is unknown, not a broken state.
        found = data.reading.data.get(address)
        return None if found is None or isinstance(found.value, str) else found.value

    unit = item.unit
    energy = unit.strip().lower().endswith(_ENERGY_UNIT_ENDINGS)
    return IecMeterSensorDescription(
        key=f"data_{address}",
        name=address,
        device_class=_UNIT_CLASSES.get(unit),
        native_unit_of_measurement=unit,
        state_class=SensorStateClass.TOTAL_INCREASING if energy else SensorStateClass.MEASUREMENT,
        suggested_display_precision=item.decimals,
        value_fn=number,
    )


CLOCK_SENSORS: tuple[IecMeterSensorDescription, ...] = (
    IecMeterSensorDescription(
        key="meter_clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # A new state (and a logbook line) at every read; the drift says what matters.
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.clock,
    ),
    IecMeterSensorDescription(
        key="clock_drift",
        translation_key="clock_drift",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Whole seconds: a drift of -0.3 s is shown as 0 s, not "-0 s".
        value_fn=lambda data: None if data.clock_drift is None else round(data.clock_drift),
    ),
)


def _descriptions(coordinator: IecMeterCoordinator) -> list[IecMeterSensorDescription]:
    record = coordinator.subentry.data
    driver = coordinator.config_entry.runtime_data.driver
    # Where the user ticked the values (labelled data), what they ticked starts enabled.
    ticked = driver.labelled_data
    reading = coordinator.data.reading if coordinator.data else None
    descriptions = [
        signal_description(
            s, (s.key in coordinator.wanted) if ticked else None, driver.precision(s.key, reading)
        )
        for s in SIGNALS.values()
        if s.key in coordinator.offered
    ]
    data = reading.data if reading else {}
    for address in record.get(CONF_DATA, ()):
        descriptions.append(data_description(address, data.get(address)))
    if coordinator.client.has_clock:
        descriptions.extend(CLOCK_SENSORS)
    return descriptions


class ScanStateSensor(IecMeterEntity, SensorEntity):
    """Whether the meter is polled, or off scan after failing repeatedly (auto-demotion)."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = ["on_scan", "off_scan"]  # noqa: RUF012 - Home Assistant's attribute
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "scan_state"

    def __init__(self, coordinator: IecMeterCoordinator) -> None:
        """Bind to the meter."""
        super().__init__(coordinator, "scan_state")

    @property
    def available(self) -> bool:
        """Most telling exactly when the meter's values are unavailable."""
        return True

    @property
    def native_value(self) -> str:
        """``on_scan`` or ``off_scan``."""
        return "on_scan" if self.coordinator.scan.on_scan else "off_scan"


class GatewayClientSensor(GatewayEntity, SensorEntity):
    """The address of the program connected through the gateway (or the last one)."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self, entry: IecMeterConfigEntry, subentry: ConfigSubentry, gateway: Gateway
    ) -> None:
        """Bind to the gateway."""
        super().__init__(entry, subentry, gateway, "gateway_client")

    @property
    def native_value(self) -> str | None:
        """``host:port`` of the current client, else of the last one."""
        return self.gateway.client_address or self.gateway.last_client


class GatewayHeldSinceSensor(GatewayEntity, SensorEntity):
    """When the current client got the line (unknown while nobody holds it)."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self, entry: IecMeterConfigEntry, subentry: ConfigSubentry, gateway: Gateway
    ) -> None:
        """Bind to the gateway."""
        super().__init__(entry, subentry, gateway, "gateway_held_since")

    @property
    def native_value(self) -> datetime | None:
        """The moment the line was handed over."""
        held = self.gateway.held_seconds
        return None if held is None else dt_util.utcnow() - timedelta(seconds=held)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IecMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One set of sensors per meter, attached to the meter's subentry."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        entities: list[SensorEntity] = [
            IecMeterEnergySensor(coordinator, description)
            if description.state_class is SensorStateClass.TOTAL_INCREASING
            else IecMeterSensor(coordinator, description)
            for description in _descriptions(coordinator)
        ]
        entities.append(ScanStateSensor(coordinator))
        entities.extend(profile_entities(entry, subentry_id))
        entities.extend(tariff_entities(coordinator))
        async_add_entities(entities, config_subentry_id=subentry_id)
    for subentry_id, gateway in entry.runtime_data.gateways.items():
        subentry = entry.subentries[subentry_id]
        async_add_entities(
            [
                GatewayClientSensor(entry, subentry, gateway),
                GatewayHeldSinceSensor(entry, subentry, gateway),
            ],
            config_subentry_id=subentry_id,
        )
    async_setup_billing(entry, async_add_entities)


class IecMeterSensor(IecMeterEntity, SensorEntity):
    """A value read from the meter."""

    entity_description: IecMeterSensorDescription

    def __init__(
        self, coordinator: IecMeterCoordinator, description: IecMeterSensorDescription
    ) -> None:
        """Bind the description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> SensorValue:
        """The latest value; None (unknown) when the meter flagged it invalid."""
        data: Snapshot | None = self.coordinator.data
        if data is None:
            return None
        return self.entity_description.value_fn(data)


class IecMeterEnergySensor(IecMeterSensor, RestoreSensor):
    """An energy register: what the guard approved, kept while the guard withholds one.

    It restores nothing itself; it is a RestoreSensor so Home Assistant keeps its last
    value and unit, which the coordinator hands the guard as a baseline to check.
    """

    _held: float | None = None

    async def async_added_to_hass(self) -> None:
        """Take the value of the poll made before the entity was added."""
        await super().async_added_to_hass()
        self._hold()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._hold()
        super()._handle_coordinator_update()

    def _hold(self) -> None:
        if self.entity_description.key in self.coordinator.withheld:
            return
        value = super().native_value
        self._held = value if isinstance(value, float) else None

    @property
    def native_value(self) -> float | None:
        """The last register value the guard approved (None: flagged invalid)."""
        return self._held
