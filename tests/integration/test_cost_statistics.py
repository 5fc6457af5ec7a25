"""Cost and compensation statistics from the profile's statistics, in a real recorder.

The profile rows are written as the importer writes them (external statistics with a
running sum); the cost writer prices them. Cases: a first run, a second run that
carries the sum on, a new writer (a restart) that does the same, the same hours again,
an hour that arrives late, a price entity with an hour it never recorded, and the
monthly compensation cap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    async_import_statistics,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.iec_meter.core.tariffs.calendar import TariffCalendar
from custom_components.iec_meter.core.tariffs.cost import CostPlan, FixedPrices, PowerTerm
from custom_components.iec_meter.core.tariffs.model import Period, Tariff
from custom_components.iec_meter.cost_statistics import (
    COMPENSATION,
    COST,
    EXPORT,
    IMPORT,
    CostStatistics,
)
from custom_components.iec_meter.profile_import import statistic_id
from custom_components.iec_meter.tariff_settings import CostSettings

METER = "66-48300001"
MADRID = ZoneInfo("Europe/Madrid")
HOUR = timedelta(hours=1)
CALENDAR = TariffCalendar(Tariff.TD_2_0)
PRICES = FixedPrices({Period.P1: 0.20, Period.P2: 0.15, Period.P3: 0.10})
#: 87.60 EUR a year: exactly 0.01 EUR an hour in 2026.
POWER = PowerTerm({Period.P1: 87.6}, {Period.P1: 1.0})
PLAN = CostPlan(
    CALENDAR, PRICES, POWER, compensation_prices=FixedPrices(dict.fromkeys(Period, 0.05))
)
PRICE_ENTITY = "sensor.electricity_price"


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


@pytest.fixture(autouse=True)
def _quiet_sql(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")


def write_profile(hass: HomeAssistant, series: str, hours: dict[datetime, float]) -> None:
    """Rows as the importer writes them: hourly, with a running sum from the first."""
    total, rows = 0.0, []
    for start in sorted(hours):
        total += hours[start]
        rows.append({"start": start, "state": hours[start], "sum": total})
    metadata: Any = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": f"House {series}",
        "source": "iec_meter",
        "statistic_id": statistic_id(METER, series),
        "unit_of_measurement": "kWh",
        "unit_class": "energy",
    }
    async_add_external_statistics(hass, metadata, rows)


async def rows_of(hass: HomeAssistant, series: str) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    stat_id = statistic_id(METER, series)
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, datetime(2020, 1, 1, tzinfo=UTC), None, {stat_id},
        "hour", None, {"state", "sum"},
    )  # fmt: skip
    return [
        {
            "start": dt_util.utc_from_timestamp(row["start"]),
            "state": row["state"],
            "sum": row["sum"],
        }
        for row in found.get(stat_id, [])
    ]


def hours_from(first: datetime, count: int) -> list[datetime]:
    return [first.astimezone(UTC) + HOUR * step for step in range(count)]


def assert_continuous(rows: list[dict[str, Any]]) -> None:
    total = rows[0]["sum"] - rows[0]["state"]
    for row in rows:
        total += row["state"]
        assert row["sum"] == pytest.approx(total)


async def price(hass: HomeAssistant, settings: CostSettings | None = None, **kwargs: Any) -> Any:
    settings = settings or CostSettings(PLAN)
    run = await CostStatistics(hass, METER, "House", settings).async_update(**kwargs)
    await async_wait_recording_done(hass)
    return run


async def test_cost_sum_is_continuous_across_runs_and_a_restart(
    recorder_mock: Any, hass: HomeAssistant
) -> None:
    # Tuesday 6 October 2026 from midnight, Madrid: 1 kWh every hour, for two days.
    first = hours_from(datetime(2026, 10, 6, tzinfo=MADRID), 48)
    write_profile(hass, IMPORT, dict.fromkeys(first[:24], 1.0))
    run = await price(hass)
    assert (run.hours, run.unpriced_hours) == (24, 0)
    assert run.first_hour == datetime(2026, 9, 30, 22, tzinfo=UTC)  # 1 October, local
    day = await rows_of(hass, COST)
    # 8 h valle x 0.10 + 8 h llano x 0.15 + 8 h punta x 0.20, plus 24 x 0.01 power.
    assert day[-1]["sum"] == pytest.approx(3.60 + 0.24)
    write_profile(hass, IMPORT, dict.fromkeys(first, 1.0))
    await price(hass)  # a new writer: as after a restart, it reads where it stopped
    rows = await rows_of(hass, COST)
    assert len(rows) == 48
    assert_continuous(rows)
    assert rows[-1]["sum"] == pytest.approx(2 * 3.84)
    before = rows
    await price(hass, changed_from=first[0])  # the same hours again
    assert await rows_of(hass, COST) == before


async def test_a_late_hour_rewrites_the_sums_after_it(
    recorder_mock: Any, hass: HomeAssistant
) -> None:
    hours = hours_from(datetime(2026, 10, 7, tzinfo=MADRID), 24)
    late = hours[10]  # 10:00 local, punta
    write_profile(hass, IMPORT, {hour: 1.0 for hour in hours if hour != late})
    await price(hass)
    rows = await rows_of(hass, COST)
    assert late not in [row["start"] for row in rows]  # no row without energy
    write_profile(hass, IMPORT, dict.fromkeys(hours, 1.0))
    await price(hass, changed_from=late)
    rows = await rows_of(hass, COST)
    assert [row["start"] for row in rows] == hours
    assert_continuous(rows)
    assert rows[-1]["sum"] == pytest.approx(3.84)


async def test_a_price_entity_prices_from_its_hourly_means(
    recorder_mock: Any, hass: HomeAssistant
) -> None:
    hours = hours_from(datetime(2026, 10, 7, tzinfo=MADRID), 6)
    write_profile(hass, IMPORT, dict.fromkeys(hours, 2.0))
    metadata: Any = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": "Price",
        "source": "recorder",
        "statistic_id": PRICE_ENTITY,
        "unit_of_measurement": "EUR/kWh",
        "unit_class": None,
    }
    recorded = [
        {"start": hour, "mean": 0.1 * (step + 1), "min": 0.0, "max": 1.0}
        for step, hour in enumerate(hours)
        if step != 3  # the entity recorded nothing for this hour
    ]
    async_import_statistics(hass, metadata, recorded)
    plan = CostPlan(CALENDAR, FixedPrices({}))
    run = await price(hass, CostSettings(plan, price_entity=PRICE_ENTITY))
    assert (run.hours, run.unpriced_hours) == (6, 1)
    rows = await rows_of(hass, COST)
    assert [row["state"] for row in rows] == pytest.approx([0.2, 0.4, 0.6, 0.0, 1.0, 1.2])


async def test_compensation_is_capped_by_the_months_energy_term(
    recorder_mock: Any, hass: HomeAssistant
) -> None:
    night = hours_from(datetime(2026, 10, 7, tzinfo=MADRID), 1)[0]  # valle, 0.10
    noon = hours_from(datetime(2026, 10, 7, 12, tzinfo=MADRID), 1)[0]
    write_profile(hass, IMPORT, {night: 1.0})
    write_profile(hass, EXPORT, {noon: 10.0})  # worth 0.50, capped at 0.10
    await price(hass)
    rows = await rows_of(hass, COMPENSATION)
    assert [(row["start"], row["state"]) for row in rows] == [
        (night, 0.0),
        (noon, pytest.approx(0.10)),
    ]
    cost = await rows_of(hass, COST)
    assert [row["state"] for row in cost] == pytest.approx(
        [0.11, 0.01]
    )  # the export hour's power share


async def test_nothing_to_price_writes_nothing(recorder_mock: Any, hass: HomeAssistant) -> None:
    run = await price(hass)
    assert (run.first_hour, run.hours) == (None, 0)
    assert await rows_of(hass, COST) == []
