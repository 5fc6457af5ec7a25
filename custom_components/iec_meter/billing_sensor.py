"""Sensors for a meter's billing: current period, last closure, contracted powers.

The registers of a billing period start again at every closure, so they are not
lifetime counters. The energy within the current period is a TOTAL whose last_reset is
the period's start: Home Assistant's own way of a total that resets, so long-term
statistics add each period's energy once. The last closure's values stay put for a
month; they get no state class (statistics of a constant say nothing), nor does the
contracted power, a setting of the contract (diagnostic). The maximum demand of the
current period is a power (MEASUREMENT: its long-term maximum shows how the period's
peak built up).

Which tariff periods get entities comes from what the meter answered: a three-period
tariff gets P1-P3 and the totals, a contract the meter holds no data for gets nothing.
Entities are added as the data first warrants them, so a meter that could not be read at
setup gets its billing sensors after its first good read, and a closure that appears
later brings its own sensors then.

Enabled by default is what the bill charges for: the current period's active energy
(total and per tariff period), the maximum demand per period, the total excess power and
the contracted powers (diagnostic; they give the maximum demand its meaning). A
three-period tariff thus starts with 11 of its 27 sensors; the details start disabled:
when each maximum occurred, reactive energy, excess power per period and the last
closure's values (they sit unchanged for a month and are on the paper bill). That keeps
the device page short and the Energy dashboard's picker down to the energies worth
adding. Names are short (20 characters at most in every language) with the tariff period
first ("P1 max demand"), so a name cut off on the device page still says which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfPower, UnitOfReactiveEnergy
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .billing import BillingCoordinator, BillingData
from .const import CONF_DEVICE
from .core.records import BILLING_TOTAL, BillingPeriod
from .data import IecMeterConfigEntry
from .entity import device_info

type BillingValue = float | datetime | None


@dataclass(frozen=True, kw_only=True)
class BillingSensorDescription(SensorEntityDescription):
    """A billing sensor, how to get its value, and (current period) its last reset."""

    value_fn: Callable[[BillingData], BillingValue]
    last_reset_fn: Callable[[BillingData], datetime | None] | None = None


def _suffix(period: int) -> str:
    return "" if period == BILLING_TOTAL else f"_p{period}"


def _placeholders(period: int) -> dict[str, str] | None:
    return None if period == BILLING_TOTAL else {"period": f"P{period}"}


def _translation_key(name: str, period: int) -> str:
    return name if period == BILLING_TOTAL else f"{name}_period"


def _field(source: str, period: int, name: str) -> Callable[[BillingData], BillingValue]:
    """A field of one tariff period of the current period or of the last closure."""

    def value(data: BillingData) -> BillingValue:
        record: BillingPeriod | None = getattr(data, source).get(period)
        result: BillingValue = None if record is None else getattr(record, name)
        return result

    return value


def _period_start(period: int) -> Callable[[BillingData], datetime | None]:
    """The current billing period's start (the last closure's end if the meter left it out)."""

    def start(data: BillingData) -> datetime | None:
        record = data.current.get(period)
        if record is not None and record.start is not None:
            return record.start
        return data.closure_end

    return start


def current_energy(
    name: str, period: int, device_class: SensorDeviceClass, unit: str, *, enabled: bool
) -> BillingSensorDescription:
    """Energy within the current billing period: a total reset at each closure."""
    return BillingSensorDescription(
        key=f"{name}{_suffix(period)}",
        entity_registry_enabled_default=enabled,
        translation_key=_translation_key(f"billing_{name}", period),
        translation_placeholders=_placeholders(period),
        device_class=device_class,
        native_unit_of_measurement=unit,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=0,
        value_fn=_field("current", period, f"{name}_increment"),
        last_reset_fn=_period_start(period),
    )


def power(
    key: str,
    translation_key: str,
    period: int,
    value_fn: Callable[[BillingData], BillingValue],
    state_class: SensorStateClass | None = None,
    entity_category: EntityCategory | None = None,
    *,
    enabled: bool = True,
) -> BillingSensorDescription:
    """A power in whole kW of one tariff period (or the total)."""
    return BillingSensorDescription(
        key=key,
        entity_registry_enabled_default=enabled,
        translation_key=translation_key,
        translation_placeholders=_placeholders(period),
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=state_class,
        entity_category=entity_category,
        suggested_display_precision=0,
        value_fn=value_fn,
    )


def current_descriptions(data: BillingData) -> list[BillingSensorDescription]:
    """The current billing period's sensors for the tariff periods in use."""
    if not data.in_force:
        return []
    periods = data.periods
    descriptions = [
        current_energy(
            "active_energy",
            p,
            SensorDeviceClass.ENERGY,
            UnitOfEnergy.KILO_WATT_HOUR,
            enabled=True,
        )
        for p in [BILLING_TOTAL, *periods]
    ]
    descriptions.extend(
        current_energy(
            name,
            BILLING_TOTAL,
            SensorDeviceClass.REACTIVE_ENERGY,
            UnitOfReactiveEnergy.KILO_VOLT_AMPERE_REACTIVE_HOUR,
            enabled=False,
        )
        for name in ("reactive_inductive_energy", "reactive_capacitive_energy")
    )
    for p in periods:
        descriptions.append(
            power(
                f"max_demand_p{p}",
                "billing_max_demand_period",
                p,
                _field("current", p, "max_demand"),
                SensorStateClass.MEASUREMENT,
            )
        )
        descriptions.append(
            BillingSensorDescription(
                key=f"max_demand_time_p{p}",
                translation_key="billing_max_demand_time_period",
                translation_placeholders=_placeholders(p),
                device_class=SensorDeviceClass.TIMESTAMP,
                entity_registry_enabled_default=False,
                value_fn=_field("current", p, "max_demand_time"),
            )
        )
    descriptions.extend(
        power(
            f"excess_power{_suffix(p)}",
            _translation_key("billing_excess_power", p),
            p,
            _field("current", p, "excess_power"),
            SensorStateClass.MEASUREMENT,
            enabled=p == BILLING_TOTAL,
        )
        for p in [BILLING_TOTAL, *periods]
    )
    return descriptions


def closure_descriptions(data: BillingData) -> list[BillingSensorDescription]:
    """The last closure: when it ended, its energy and maximum demand per period."""
    if not data.closure:
        return []
    periods = data.closure_periods
    descriptions = [
        BillingSensorDescription(
            key="closure_end",
            translation_key="billing_closure_end",
            device_class=SensorDeviceClass.TIMESTAMP,
            entity_registry_enabled_default=False,
            value_fn=lambda data: data.closure_end,
        )
    ]
    descriptions.extend(
        BillingSensorDescription(
            key=f"closure_active_energy{_suffix(p)}",
            translation_key=_translation_key("billing_closure_active_energy", p),
            translation_placeholders=_placeholders(p),
            device_class=SensorDeviceClass.ENERGY,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=0,
            entity_registry_enabled_default=False,
            value_fn=_field("closure", p, "active_energy_increment"),
        )
        for p in [BILLING_TOTAL, *periods]
    )
    descriptions.extend(
        power(
            f"closure_max_demand_p{p}",
            "billing_closure_max_demand_period",
            p,
            _field("closure", p, "max_demand"),
            enabled=False,
        )
        for p in periods
    )
    return descriptions


def _power(period: int) -> Callable[[BillingData], BillingValue]:
    return lambda data: data.contracted_powers.get(period)


def power_descriptions(data: BillingData) -> list[BillingSensorDescription]:
    """The contracted power of each tariff period that has one."""
    return [
        power(
            f"contracted_power_p{p}",
            "billing_contracted_power_period",
            p,
            _power(p),
            entity_category=EntityCategory.DIAGNOSTIC,
        )
        for p in data.power_periods
    ]


def billing_descriptions(data: BillingData | None) -> list[BillingSensorDescription]:
    """Every billing sensor the data warrants."""
    if data is None:
        return []
    return [*current_descriptions(data), *closure_descriptions(data), *power_descriptions(data)]


class BillingSensor(CoordinatorEntity[BillingCoordinator], SensorEntity):
    """One value of a meter's billing, on the meter's device."""

    _attr_has_entity_name = True
    entity_description: BillingSensorDescription

    def __init__(
        self, coordinator: BillingCoordinator, description: BillingSensorDescription
    ) -> None:
        """Bind the description and attach to the meter's device."""
        super().__init__(coordinator)
        self.entity_description = description
        subentry = coordinator.subentry
        entry = coordinator.config_entry
        meter_id = str(subentry.unique_id)
        self._attr_unique_id = f"{meter_id}_billing_{description.key}"
        self._attr_device_info = device_info(
            meter_id,
            subentry.title,
            entry.runtime_data.driver.stored_identity(subentry.data),
            entry.data[CONF_DEVICE],
        )

    @property
    def native_value(self) -> BillingValue:
        """The value of the last read; unknown when the meter left it out or flagged it."""
        data: BillingData | None = self.coordinator.data
        return None if data is None else self.entity_description.value_fn(data)

    @property
    def last_reset(self) -> datetime | None:
        """Start of the current billing period, for the energies within it."""
        data: BillingData | None = self.coordinator.data
        reset = self.entity_description.last_reset_fn
        return None if data is None or reset is None else reset(data)


class _BillingEntities:
    """Adds a meter's billing sensors as its data first warrants each of them."""

    def __init__(
        self,
        coordinator: BillingCoordinator,
        add_entities: AddConfigEntryEntitiesCallback,
        subentry_id: str,
    ) -> None:
        self.coordinator = coordinator
        self.add_entities = add_entities
        self.subentry_id = subentry_id
        self.added: set[str] = set()

    def entities(self) -> list[SensorEntity]:
        """New entities for what the data now warrants (each key only once)."""
        new: list[SensorEntity] = []
        for description in billing_descriptions(self.coordinator.data):
            if description.key not in self.added:
                self.added.add(description.key)
                new.append(BillingSensor(self.coordinator, description))
        return new

    @callback
    def add_new(self) -> None:
        """Coordinator listener: add what a read made warranted."""
        if new := self.entities():
            self.add_entities(new, config_subentry_id=self.subentry_id)


@callback
def async_setup_billing(
    entry: IecMeterConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add each meter's billing sensors now and whenever a read warrants more.

    The listener also keeps the coordinator reading on its schedule while a meter has
    no billing entity yet (a coordinator without listeners is never refreshed).
    """
    for subentry_id, coordinator in entry.runtime_data.billing.items():
        adder = _BillingEntities(coordinator, async_add_entities, subentry_id)
        adder.add_new()
        entry.async_on_unload(coordinator.async_add_listener(adder.add_new))
