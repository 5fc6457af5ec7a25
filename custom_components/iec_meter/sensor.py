"""Sensors for the 24 signals of a meter, plus its clock and clock drift.

Energy registers are TOTAL_INCREASING in kWh and feed the Energy dashboard; a zero or a
step backwards is a glitch (a bad read, a meter reset to factory values) and is dropped
and logged rather than recorded as a meter reset. A value the meter flags invalid is
unknown, not unavailable; phases a single-phase meter lacks get no entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfReactiveEnergy,
    UnitOfReactivePower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_PHASES, LOGGER
from .coordinator import IecMeterCoordinator, MeterData
from .data import IecMeterConfigEntry
from .entity import IecMeterEntity

# Coordinator-fed, read-only: no limit on parallel updates.
PARALLEL_UPDATES = 0

type SensorValue = float | datetime | None


@dataclass(frozen=True, kw_only=True)
class IecMeterSensorDescription(SensorEntityDescription):
    """A meter sensor: how to get its value, and which phase it belongs to."""

    value_fn: Callable[[MeterData], SensorValue]
    #: 2 or 3 for values a single-phase meter does not have.
    phase: int | None = None


def _signal(key: str) -> Callable[[MeterData], SensorValue]:
    def value(data: MeterData) -> SensorValue:
        result: float | None = getattr(data.reading, key)
        return result

    return value


def _phase_of(key: str) -> int | None:
    for phase in (2, 3):
        if key.endswith(f"_l{phase}"):
            return phase
    return None


def _energy(key: str, enabled: bool = True) -> IecMeterSensorDescription:
    reactive = key.startswith("reactive")
    return IecMeterSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.REACTIVE_ENERGY if reactive else SensorDeviceClass.ENERGY,
        native_unit_of_measurement=(
            UnitOfReactiveEnergy.KILO_VOLT_AMPERE_REACTIVE_HOUR
            if reactive
            else UnitOfEnergy.KILO_WATT_HOUR
        ),
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        entity_registry_enabled_default=enabled,
        value_fn=_signal(key),
    )


def _measurement(
    key: str,
    device_class: SensorDeviceClass,
    unit: str | None,
    precision: int,
    enabled: bool,
) -> IecMeterSensorDescription:
    return IecMeterSensorDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        native_unit_of_measurement=unit,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=precision,
        entity_registry_enabled_default=enabled,
        value_fn=_signal(key),
        phase=_phase_of(key),
    )


_PHASES = ("_l1", "_l2", "_l3")

SENSORS: tuple[IecMeterSensorDescription, ...] = (
    _energy("active_energy_import"),
    _energy("active_energy_export"),
    *(_energy(f"reactive_energy_q{quadrant}", enabled=False) for quadrant in (1, 2, 3, 4)),
    _measurement("active_power", SensorDeviceClass.POWER, UnitOfPower.KILO_WATT, 0, True),
    *(
        _measurement(f"active_power{p}", SensorDeviceClass.POWER, UnitOfPower.KILO_WATT, 0, False)
        for p in _PHASES
    ),
    *(
        _measurement(
            f"reactive_power{suffix}",
            SensorDeviceClass.REACTIVE_POWER,
            UnitOfReactivePower.KILO_VOLT_AMPERE_REACTIVE,
            0,
            False,
        )
        for suffix in ("", *_PHASES)
    ),
    _measurement("power_factor", SensorDeviceClass.POWER_FACTOR, None, 2, True),
    *(
        _measurement(f"power_factor{p}", SensorDeviceClass.POWER_FACTOR, None, 2, False)
        for p in _PHASES
    ),
    *(
        _measurement(
            f"current{p}", SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, 1, True
        )
        for p in _PHASES
    ),
    *(
        _measurement(
            f"voltage{p}", SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, 1, True
        )
        for p in _PHASES
    ),
    IecMeterSensorDescription(
        key="meter_clock",
        translation_key="meter_clock",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
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
        value_fn=lambda data: data.clock_drift,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IecMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One set of sensors per meter, attached to the meter's subentry."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        phases = int(coordinator.subentry.data.get(CONF_PHASES, 3))
        entities: list[SensorEntity] = []
        for description in SENSORS:
            if description.phase is not None and description.phase > phases:
                continue
            if description.state_class is SensorStateClass.TOTAL_INCREASING:
                entities.append(IecMeterEnergySensor(coordinator, description))
            else:
                entities.append(IecMeterSensor(coordinator, description))
        async_add_entities(entities, config_subentry_id=subentry_id)


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
        data: MeterData | None = self.coordinator.data
        if data is None:
            return None
        return self.entity_description.value_fn(data)


class IecMeterEnergySensor(IecMeterSensor, RestoreSensor):
    """An energy register that never records a zero or a step backwards."""

    _last_good: float | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last good register so a glitch right after a restart is caught."""
        await super().async_added_to_hass()
        restored = await self.async_get_last_sensor_data()
        if restored is not None and isinstance(restored.native_value, int | float):
            self._last_good = float(restored.native_value)
        self._accept(self._current())

    @callback
    def _handle_coordinator_update(self) -> None:
        self._accept(self._current())
        super()._handle_coordinator_update()

    def _current(self) -> float | None:
        data: MeterData | None = self.coordinator.data
        if data is None:
            return None
        value = self.entity_description.value_fn(data)
        return value if isinstance(value, float) else None

    def _accept(self, value: float | None) -> None:
        if value is None:
            return
        last = self._last_good
        if value <= 0 or (last is not None and value < last):
            LOGGER.info(
                "%s: ignored register value %s (last good %s): zero or backwards",
                self.entity_id,
                value,
                last,
            )
            return
        self._last_good = value

    @property
    def native_value(self) -> float | None:
        """The last good register value."""
        if self._current() is None:
            return None
        return self._last_good
