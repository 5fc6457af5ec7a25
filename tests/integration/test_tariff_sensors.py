"""The sensors of a meter with a tariff: period, price and load of the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.iec_meter import tariff_sensor
from custom_components.iec_meter.const import DOMAIN

from .conftest import Simulated, make_entry, meter_subentry, setup_entry

#: Wednesday 7 January 2026, 10:30 in Madrid: 2.0TD punta (energy P1, power P1).
PUNTA = datetime(2026, 1, 7, 9, 30, tzinfo=UTC)
#: Saturday 10 January 2026, 12:00 in Madrid: valle all day (energy P3, power P2).
SATURDAY = datetime(2026, 1, 10, 11, tzinfo=UTC)
TARIFF: dict[str, Any] = {
    "tariff": "2.0TD",
    "energy_prices": {"P1": 0.20, "P2": 0.15},  # no price for valle
    "power_prices": {"P1": 30.0, "P2": 1.5},
    "contracted_powers": {"P1": 4.0, "P2": 8.0},
    "tax_percent": 10,
}


def house(tariff: Any) -> dict[str, Any]:
    subentry = meter_subentry("House")
    subentry["data"] = {**subentry["data"], "tariff": tariff}
    return subentry


def state_of(hass: HomeAssistant, key: str) -> Any:
    unique_id = f"66-48300001_{key}"
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    assert found is not None, unique_id
    return hass.states.get(found)


async def refresh(hass: HomeAssistant, entry: Any) -> None:
    (coordinator,) = entry.runtime_data.coordinators.values()
    await coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_period_price_and_load_follow_the_calendar(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    (meter,) = simulated.line.meters
    meter.model.peak_solar_kw = 0.0  # the meter's noon draws from the grid
    with patch.object(tariff_sensor, "now", return_value=PUNTA):
        entry = await setup_entry(hass, make_entry(simulated.url, house(TARIFF)))
        period = state_of(hass, "energy_period")
        assert period.state == "p1"
        assert period.attributes["options"] == ["p1", "p2", "p3"]
        assert float(state_of(hass, "energy_price").state) == pytest.approx(0.22)
        power = float(state_of(hass, "active_power").state)
        assert power > 0
        load = float(state_of(hass, "contracted_load").state)
        assert load == pytest.approx(100 * power / 4.0, abs=0.05)
        assert state_of(hass, "contracted_load").attributes["unit_of_measurement"] == "%"
    with patch.object(tariff_sensor, "now", return_value=SATURDAY):
        await refresh(hass, entry)
        assert state_of(hass, "energy_period").state == "p3"
        assert state_of(hass, "energy_price").state == "unknown"  # valle has no price
        power = float(state_of(hass, "active_power").state)
        load = float(state_of(hass, "contracted_load").state)
        assert load == pytest.approx(100 * power / 8.0, abs=0.05)  # valle's contract
        meter.model.peak_load_kw, meter.model.peak_solar_kw = 0.0, 6.0  # exporting
        await refresh(hass, entry)
        assert float(state_of(hass, "active_power").state) < 0
        assert float(state_of(hass, "contracted_load").state) == 0.0
        # The calendar and the prices stay known when the meter stops answering.
        meter.dead = True
        await refresh(hass, entry)
        assert state_of(hass, "active_power").state == STATE_UNAVAILABLE
        assert state_of(hass, "energy_period").state == "p3"
        assert state_of(hass, "contracted_load").state == STATE_UNAVAILABLE


async def test_prices_from_an_entity_make_no_price_sensor(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    tariff = {"tariff": "3.0TD", "price_entity": "sensor.pvpc"}
    await setup_entry(hass, make_entry(simulated.url, house(tariff)))
    registry = er.async_get(hass)
    ids = {entry.unique_id for entry in registry.entities.values()}
    assert "66-48300001_energy_period" in ids
    assert "66-48300001_energy_price" not in ids
    assert "66-48300001_contracted_load" not in ids  # no contracted powers given
    assert state_of(hass, "energy_period").attributes["options"] == [f"p{n}" for n in range(1, 7)]


@pytest.mark.parametrize("tariff", [None, {"tariff": "2.0TD"}])
async def test_no_or_unusable_tariff_makes_no_tariff_sensors(
    hass: HomeAssistant, simulated: Simulated, tariff: Any
) -> None:
    await setup_entry(hass, make_entry(simulated.url, house(tariff)))
    ids = {entry.unique_id for entry in er.async_get(hass).entities.values()}
    assert not {f"66-48300001_{key}" for key in ("energy_period", "energy_price")} & ids
