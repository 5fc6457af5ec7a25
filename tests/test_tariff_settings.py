"""Tariff settings as stored in a meter's subentry, into a cost plan; bad ones say why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.iec_meter.core.tariffs.excess import ExcessMethod
from custom_components.iec_meter.core.tariffs.model import Period, Tariff, Zone
from custom_components.iec_meter.tariff_settings import cost_settings, with_meter_powers

MOMENT = datetime(2026, 1, 7, 9, tzinfo=UTC)  # 10:00 in Madrid, a working day


def test_no_tariff_is_no_costs() -> None:
    assert cost_settings({}) is None
    assert cost_settings({"tariff": None}) is None


def test_a_full_three_period_contract() -> None:
    settings = cost_settings(
        {
            "tariff": {
                "tariff": "3.0TD",
                "zone": "canarias",
                "energy_prices": {"P1": 0.2, "P6": 0.08},
                "power_prices": {"P1": 20, "P2": 10},
                "contracted_powers": {"P1": 30, "P2": 30},
                "compensation_price": 0.05,
                "tax_percent": 21,
            }
        }
    )
    assert settings is not None
    plan = settings.plan
    assert (plan.calendar.tariff, plan.calendar.zone) == (Tariff.TD_3_0, Zone.CANARIAS)
    assert plan.energy_prices.price(MOMENT, Period.P6) == 0.08
    assert plan.power is not None and plan.power.yearly_eur == 900.0
    assert plan.compensation_prices is not None
    assert plan.compensation_prices.price(MOMENT, Period.P3) == 0.05
    assert plan.tax_factor == pytest.approx(1.21)
    assert (settings.price_entity, settings.compensation_entity) == (None, None)


def test_prices_from_entities() -> None:
    settings = cost_settings(
        {
            "tariff": {
                "tariff": "2.0TD",
                "price_entity": "sensor.pvpc",
                "compensation_entity": "sensor.surplus",
            }
        }
    )
    assert settings is not None
    assert (settings.price_entity, settings.compensation_entity) == (
        "sensor.pvpc",
        "sensor.surplus",
    )
    assert settings.plan.calendar.zone is Zone.PENINSULA
    assert settings.plan.power is None and settings.plan.compensation_prices is None


@pytest.mark.parametrize(
    ("tariff", "message"),
    [
        ({"tariff": "2.0TD"}, "energy_prices or a price_entity"),
        ({"tariff": "2.0TD", "energy_prices": {"P4": 0.1}}, "2.0TD has no period P4"),
        ({"tariff": "2.0TD", "energy_prices": {"P1": -1}}, "P1 must be a number of at least 0"),
        ({"tariff": "2.0TD", "energy_prices": [0.1]}, "expected prices per period"),
        (
            {"tariff": "2.0TD", "energy_prices": {"P1": 0.1}, "power_prices": {"P3": 1}},
            "no period P3",
        ),
        ({"tariff": "2.0TD", "price_entity": "pvpc"}, "expected an entity id"),
        (
            {"tariff": "2.0TD", "price_entity": "sensor.p", "compensation_price": "x"},
            "compensation_price",
        ),
        (
            {"tariff": "2.0TD", "price_entity": "sensor.p", "tax_percent": 150},
            "tax_percent must be 0 to 100",
        ),
        ({"tariff": "9.9TD"}, "9.9TD"),
        ("3.0TD", "expected an object"),
    ],
)
def test_unusable_settings_say_why(tariff: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cost_settings({"tariff": tariff})


def test_excess_price_and_method() -> None:
    raw = {"tariff": "3.0TD", "energy_prices": {"P1": 0.2}}
    plain = cost_settings({"tariff": raw})
    assert plain is not None and plain.excess_price is None
    settings = cost_settings(
        {"tariff": {**raw, "excess_price": 1.4, "excess_method": "quarter_hourly"}}
    )
    assert settings is not None
    assert (settings.excess_price, settings.excess_method) == (1.4, ExcessMethod.QUARTER_HOURLY)
    with pytest.raises(ValueError, match="excess_price"):
        cost_settings({"tariff": {**raw, "excess_price": -1}})
    with pytest.raises(ValueError, match="quarterly"):
        cost_settings({"tariff": {**raw, "excess_method": "quarterly"}})


def test_the_meters_contracted_powers_fill_in_only_what_was_not_entered() -> None:
    raw = {"tariff": "2.0TD", "energy_prices": {"P1": 0.2}, "power_prices": {"P1": 30, "P2": 2}}
    settings = cost_settings({"tariff": raw})
    assert settings is not None
    filled = with_meter_powers(settings, {1: 4.6, 2: 4.6, 3: 4.6})  # P3 beyond 2.0TD's two
    assert filled.plan.power is not None
    assert filled.plan.power.contracted == {Period.P1: 4.6, Period.P2: 4.6}
    assert with_meter_powers(settings, {}) is settings
    assert with_meter_powers(settings, {3: 5.0, 1: 0.0}) is settings
    entered = cost_settings({"tariff": {**raw, "contracted_powers": {"P1": 3.3, "P2": 3.3}}})
    assert entered is not None and with_meter_powers(entered, {1: 9.9}) is entered
    no_term = cost_settings({"tariff": {"tariff": "2.0TD", "energy_prices": {"P1": 0.2}}})
    assert no_term is not None and with_meter_powers(no_term, {1: 4.6}) is no_term
