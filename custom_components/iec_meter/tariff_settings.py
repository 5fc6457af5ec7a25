"""A meter's tariff settings, as stored in its subentry, into what prices its hours.

Stored under ``tariff`` in the meter's subentry data; a meter without it ("no tariff",
the default) gets no cost statistics and nothing changes for it. Prices are in €/kWh,
power prices in €/kW and year, contracted powers in kW, per period ("P1".."P6")::

    {"tariff": "3.0TD", "zone": "peninsula",
     "energy_prices": {"P1": 0.18, ...}  or  "price_entity": "sensor.pvpc",
     "power_prices": {"P1": 30.7, ...}, "contracted_powers": {"P1": 15, ...},
     "compensation_price": 0.05  or  "compensation_entity": "sensor.surplus",
     "excess_price": 1.4064, "excess_method": "maximeter" | "quarter_hourly",
     "tax_percent": 26.4,
     "since": "2026-11-01",
     "earlier": [{...older settings, each with its own "since"...}]}

``since`` is the local date from which these settings price the hours (absent: every
hour); ``earlier`` keeps the settings they replaced, oldest first, so that a price
change never reprices the hours before it applies. ``excess_price`` (€/kW, absent: no
excess estimate) and the method are what the CNMC sets and the measuring point's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from .core.tariffs.calendar import TariffCalendar
from .core.tariffs.cost import CostPlan, FixedPrices, PowerTerm
from .core.tariffs.excess import ExcessMethod
from .core.tariffs.model import Period, Tariff, Zone

#: Key of the tariff settings in a meter's subentry data.
CONF_TARIFF: Final = "tariff"


@dataclass(frozen=True)
class CostSettings:
    """How one meter's hours are priced: the plan, and where prices live if not in it."""

    plan: CostPlan
    #: An entity whose hourly mean (€/kWh) prices energy, instead of the plan's prices.
    price_entity: str | None = None
    #: The same for the compensation of exported energy.
    compensation_entity: str | None = None
    #: The excess-power price (€/kW); None: no excess estimate.
    excess_price: float | None = None
    #: Which formula bills the excess (the measuring point's type).
    excess_method: ExcessMethod = ExcessMethod.MAXIMETER


def _per_period(raw: Any, what: str, tariff: Tariff, count: int) -> dict[Period, float]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what}: expected prices per period, got {raw!r}")
    values: dict[Period, float] = {}
    for key, value in raw.items():
        period = Period(key)
        if period.number > count:
            raise ValueError(f"{what}: {tariff} has no period {period}")
        if not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{what}: {period} must be a number of at least 0, got {value!r}")
        values[period] = float(value)
    return values


def _entity(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or "." not in value:
        raise ValueError(f"{key}: expected an entity id, got {value!r}")
    return value


def cost_settings(data: Mapping[str, Any]) -> CostSettings | None:
    """The meter's cost settings; None for "no tariff". ValueError says what is wrong."""
    raw = data.get(CONF_TARIFF)
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"tariff settings: expected an object, got {raw!r}")
    tariff = Tariff(raw["tariff"])
    calendar = TariffCalendar(tariff, Zone(raw.get("zone", Zone.PENINSULA)))
    energy_entity = _entity(raw, "price_entity")
    energy = _per_period(
        raw.get("energy_prices", {}), "energy_prices", tariff, tariff.energy_periods
    )
    if energy_entity is None and not energy:
        raise ValueError("tariff settings need energy_prices or a price_entity")
    power = None
    if "power_prices" in raw:
        power = PowerTerm(
            _per_period(raw["power_prices"], "power_prices", tariff, tariff.power_periods),
            _per_period(
                raw.get("contracted_powers", {}), "contracted_powers", tariff, tariff.power_periods
            ),
        )
    compensation_entity = _entity(raw, "compensation_entity")
    compensation = raw.get("compensation_price")
    if compensation is not None and (not isinstance(compensation, int | float) or compensation < 0):
        raise ValueError(f"compensation_price must be at least 0, got {compensation!r}")
    tax = raw.get("tax_percent", 0.0)
    if not isinstance(tax, int | float) or not 0 <= tax <= 100:
        raise ValueError(f"tax_percent must be 0 to 100, got {tax!r}")
    excess = raw.get("excess_price")
    if excess is not None and (not isinstance(excess, int | float) or excess < 0):
        raise ValueError(f"excess_price must be at least 0, got {excess!r}")
    method = ExcessMethod(raw.get("excess_method", ExcessMethod.MAXIMETER))
    plan = CostPlan(
        calendar=calendar,
        energy_prices=FixedPrices(energy),
        power=power,
        compensation_prices=(
            None
            if compensation is None
            else FixedPrices(dict.fromkeys(Period, float(compensation)))
        ),
        tax_percent=float(tax),
    )
    return CostSettings(
        plan,
        energy_entity,
        compensation_entity,
        None if excess is None else float(excess),
        method,
    )


def with_meter_powers(settings: CostSettings, powers: Mapping[int, float]) -> CostSettings:
    """The settings with the meter's own contracted powers where none were entered.

    ``powers`` is what the meter keeps (ASDU 144: tariff period number to kW). Entered
    powers always win: the user may know of a contract change the meter has not had yet.
    Without power prices there is no power term to complete, so nothing changes.
    """
    plan = settings.plan
    term = plan.power
    count = plan.calendar.tariff.power_periods
    if term is None or term.contracted or not powers:
        return settings
    contracted = {
        Period.of(number): float(kw) for number, kw in powers.items() if 1 <= number <= count and kw
    }
    if not contracted:
        return settings
    return replace(settings, plan=replace(plan, power=PowerTerm(term.prices, contracted)))
