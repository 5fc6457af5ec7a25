"""Sensors of a meter with a tariff: the period now, its price, and the load of the contract.

Only a meter whose subentry holds tariff settings (:mod:`.tariff_settings`) gets them:

* **Energy period** (P1..P6): the period of this hour by the tariff's calendar. A fact of
  the calendar, so it stays available while the meter does not answer.
* **Energy price** (€/kWh, taxes included): the fixed price of the period now, for users
  who price the live energy sensors in the Energy dashboard. Not created when prices come
  from an entity: that entity is the price already.
* **Contracted load** (%): live active power over the contracted power of the power
  period now. Above 100 % a 2.0TD supply's ICP breaker is about to cut, and a 3.0TD
  supply's maxímetro is recording an excess; the blueprint warns before that.

They refresh with every poll of the meter, so a new period shows within one scan
interval of the hour.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import PERCENTAGE
from homeassistant.util import dt as dt_util

from .coordinator import IecMeterCoordinator
from .core.model import Snapshot
from .core.tariffs.model import Period
from .entity import IecMeterEntity
from .tariff_settings import CostSettings, cost_settings


def now() -> datetime:
    """The time the sensors are computed for (a test moves it)."""
    return dt_util.utcnow()


#: Unit of the price sensor, as the Energy dashboard expects a price entity's.
PRICE_UNIT = "EUR/kWh"


def tariff_entities(coordinator: IecMeterCoordinator) -> list[SensorEntity]:
    """The tariff sensors of one meter; none without (usable) tariff settings."""
    try:
        settings = cost_settings(coordinator.subentry.data)
    except (ValueError, KeyError):
        return []  # the hub has logged why when it set the meter up
    if settings is None:
        return []
    entities: list[SensorEntity] = [EnergyPeriodSensor(coordinator, settings)]
    if settings.price_entity is None:
        entities.append(EnergyPriceSensor(coordinator, settings))
    power = settings.plan.power
    if power is not None and power.contracted:
        entities.append(ContractedLoadSensor(coordinator, settings))
    return entities


class _TariffSensor(IecMeterEntity, SensorEntity):
    """A sensor computed from the meter's tariff settings."""

    def __init__(self, coordinator: IecMeterCoordinator, settings: CostSettings, key: str) -> None:
        """Bind the settings; ``key`` names the entity (and its translation)."""
        super().__init__(coordinator, key)
        self._attr_translation_key = key
        self.settings = settings

    @property
    def _period(self) -> Period:
        return self.settings.plan.calendar.energy_period(now())


class EnergyPeriodSensor(_TariffSensor):
    """The energy period of this hour."""

    _attr_device_class = SensorDeviceClass.ENUM

    def __init__(self, coordinator: IecMeterCoordinator, settings: CostSettings) -> None:
        """Options are the tariff's periods, in lower case as state translations want."""
        super().__init__(coordinator, settings, "energy_period")
        periods = settings.plan.calendar.tariff.energy_periods
        self._attr_options = [f"p{number}" for number in range(1, periods + 1)]

    @property
    def available(self) -> bool:
        """The calendar's, not the meter's: known while the meter is silent."""
        return True

    @property
    def native_value(self) -> str:
        """``p1`` .. ``p6``."""
        return self._period.value.lower()


class EnergyPriceSensor(_TariffSensor):
    """The fixed energy price of this hour's period, taxes included."""

    _attr_native_unit_of_measurement = PRICE_UNIT
    _attr_suggested_display_precision = 4

    def __init__(self, coordinator: IecMeterCoordinator, settings: CostSettings) -> None:
        """Price of the plan's fixed prices."""
        super().__init__(coordinator, settings, "energy_price")

    @property
    def available(self) -> bool:
        """A setting, known while the meter is silent."""
        return True

    @property
    def native_value(self) -> float | None:
        """The period's price x the tax factor; None for a period left without a price."""
        plan = self.settings.plan
        price = plan.energy_prices.price(now(), self._period)
        return None if price is None else round(price * plan.tax_factor, 6)


class ContractedLoadSensor(_TariffSensor):
    """Live active power as a share of the contracted power of this hour's power period."""

    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: IecMeterCoordinator, settings: CostSettings) -> None:
        """Needs the contracted powers of the settings."""
        super().__init__(coordinator, settings, "contracted_load")

    @property
    def native_value(self) -> float | None:
        """Power / contracted power x 100; None without a reading or a contract for now."""
        data: Snapshot | None = self.coordinator.data
        power = None if data is None else data.reading.values.get("active_power")
        plan = self.settings.plan
        contracted = None
        if plan.power is not None:
            period = plan.calendar.power_period(now())
            contracted = plan.power.contracted.get(period)
        if not isinstance(power, int | float) or not contracted:
            return None
        return round(100.0 * max(power, 0.0) / contracted, 1)
