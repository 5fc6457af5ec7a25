"""Euros next to the load profile: ``iec_meter:<meter>_cost`` and ``_compensation``.

The Energy dashboard cannot price an external statistic (since 2026.4 it refuses an
entity or fixed price for one and asks for ``stat_cost``), so the meter's profile
statistics get cost statistics of their own, hourly, with a continuous ``sum``:

* ``_cost``: grid consumption, energy term plus the hour's share of the power term,
  taxes applied;
* ``_compensation``: what the exported energy earns, after the monthly cap.

Both are computed from the profile's own hourly rows (``_active_energy_import`` and
``_active_energy_export``) with :func:`.core.tariffs.cost.price_hours`, so they follow
the same rules: an hour without energy gets no row, an hour whose energy arrives late
is priced when it arrives, and writing the same hours again writes the same rows. A run
always starts at the first hour of the local month it rewrites, because the
compensation cap is monthly. A price entity's price of an hour is that entity's own
hourly long-term mean; an hour it has none for is left unpriced and counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.components.recorder.tasks import SynchronizeTask
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .core.tariffs.cost import CostPlan, EnergyHour, HourCost, HourlyPrices, price_hours
from .profile_import import statistic_id, sum_metadata
from .tariff_settings import CostSettings

HOUR: Final = timedelta(hours=1)
CURRENCY: Final = "EUR"
#: How long to wait for the recorder to write what is queued before pricing.
SETTLE_TIMEOUT_S: Final = 60
COST: Final = "cost"
COMPENSATION: Final = "compensation"
IMPORT: Final = "active_energy_import"
EXPORT: Final = "active_energy_export"
#: Cents are what a bill shows; six decimals keep the sums exact enough across years.
DECIMALS: Final = 6


async def rows_written(hass: HomeAssistant) -> None:
    """Wait until every statistics row queued so far is in the database.

    The recorder's own ``async_block_till_done`` returns at once when its queue is
    empty, which it also is while its thread is still writing the last task taken;
    a synchronize task queued behind that work ends only after it.
    """
    recorder = get_instance(hass)
    future: asyncio.Future[None] = hass.loop.create_future()
    recorder.queue_task(SynchronizeTask(future))
    async with asyncio.timeout(SETTLE_TIMEOUT_S):
        await future


@dataclass(frozen=True, slots=True)
class CostRun:
    """What one run priced: its first hour, hours priced and hours left unpriced."""

    first_hour: datetime | None
    hours: int
    unpriced_hours: int


class CostStatistics:
    """Writes one meter's cost and compensation statistics from its profile statistics."""

    def __init__(
        self, hass: HomeAssistant, meter_id: str, title: str, settings: CostSettings
    ) -> None:
        """Price the profile of ``meter_id`` (its statistics already imported)."""
        self.hass = hass
        self.title = title
        self.settings = settings
        self.ids = {
            series: statistic_id(meter_id, series)
            for series in (IMPORT, EXPORT, COST, COMPENSATION)
        }

    async def async_update(self, changed_from: datetime | None = None) -> CostRun:
        """Price every hour from the month of ``changed_from`` (else of the last cost row)."""
        recorder = get_instance(self.hass)
        await rows_written(self.hass)
        run, rows = await recorder.async_add_executor_job(self._price, changed_from)
        for series, series_rows in rows.items():
            if series_rows:
                async_add_external_statistics(self.hass, self._metadata(series), series_rows)
        return run

    # --- in the recorder's executor -------------------------------------------------------
    def _price(
        self, changed_from: datetime | None
    ) -> tuple[CostRun, dict[str, list[StatisticData]]]:
        start = self._first_hour(changed_from)
        if start is None:
            return CostRun(None, 0, 0), {}
        start = self._month_start(start)
        energy = self._energy(start)
        hours = sorted(set(energy[IMPORT]) | set(energy[EXPORT]))
        plan = self._plan(start)
        costs = price_hours(
            plan,
            [
                EnergyHour(hour, energy[IMPORT].get(hour, 0.0), energy[EXPORT].get(hour, 0.0))
                for hour in hours
            ],
        )
        stored = self._stored(start)
        rows = {
            COST: _running(costs, lambda cost: cost.cost_eur, stored[COST]),
            COMPENSATION: _running(costs, lambda cost: cost.compensation_eur, stored[COMPENSATION]),
        }
        unpriced = sum(cost.unpriced for cost in costs)
        return CostRun(start, len(costs), unpriced), rows

    def _first_hour(self, changed_from: datetime | None) -> datetime | None:
        """Where pricing starts: after the newest priced hour, or earlier if asked."""
        stat_id = self.ids[COST]
        last = get_last_statistics(self.hass, 1, stat_id, False, {"sum"}).get(stat_id)
        after: datetime | None
        if last:
            after = dt_util.utc_from_timestamp(last[0]["start"]) + HOUR
        else:
            after = self._oldest_energy_hour()
        starts = [hour for hour in (changed_from, after) if hour is not None]
        return min(starts, default=None)

    def _oldest_energy_hour(self) -> datetime | None:
        found = statistics_during_period(
            self.hass, datetime.fromtimestamp(0, dt_util.UTC), None,
            {self.ids[IMPORT], self.ids[EXPORT]}, "hour", None, {"state"},
        )  # fmt: skip
        starts = [row["start"] for rows in found.values() for row in rows[:1]]
        return dt_util.utc_from_timestamp(min(starts)) if starts else None

    def _month_start(self, hour: datetime) -> datetime:
        local = self.settings.plan.calendar.local(hour)
        first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return first.astimezone(dt_util.UTC)

    def _energy(self, start: datetime) -> dict[str, dict[datetime, float]]:
        """The profile's import and export per hour from ``start`` on (kWh)."""
        ids = {self.ids[IMPORT], self.ids[EXPORT]}
        found = statistics_during_period(self.hass, start, None, ids, "hour", None, {"state"})
        return {
            series: {
                dt_util.utc_from_timestamp(row["start"]): row.get("state") or 0.0
                for row in found.get(self.ids[series], [])
            }
            for series in (IMPORT, EXPORT)
        }

    def _stored(self, start: datetime) -> dict[str, float]:
        """Each cost series' sum before ``start``."""
        bases = {}
        for series in (COST, COMPENSATION):
            stat_id = self.ids[series]
            rows = statistics_during_period(
                self.hass, start, None, {stat_id}, "hour", None, {"state", "sum"}
            ).get(stat_id, [])
            if rows:  # every row was written as the sum before it plus its state
                bases[series] = round(
                    (rows[0].get("sum") or 0.0) - (rows[0].get("state") or 0.0), DECIMALS
                )
                continue
            last = get_last_statistics(self.hass, 1, stat_id, False, {"sum"}).get(stat_id)
            bases[series] = float(last[0].get("sum") or 0.0) if last else 0.0
        return bases

    def _plan(self, start: datetime) -> CostPlan:
        """The plan, with an entity's recorded hourly means where prices come from one."""
        settings, plan = self.settings, self.settings.plan
        energy = self._entity_prices(settings.price_entity, start)
        compensation = self._entity_prices(settings.compensation_entity, start)
        return CostPlan(
            calendar=plan.calendar,
            energy_prices=energy or plan.energy_prices,
            power=plan.power,
            compensation_prices=compensation or plan.compensation_prices,
            tax_percent=plan.tax_percent,
        )

    def _entity_prices(self, entity_id: str | None, start: datetime) -> HourlyPrices | None:
        if entity_id is None:
            return None
        found = statistics_during_period(
            self.hass, start, None, {entity_id}, "hour", None, {"mean"}
        ).get(entity_id, [])
        return HourlyPrices(
            {
                dt_util.utc_from_timestamp(row["start"]): mean
                for row in found
                if (mean := row.get("mean")) is not None
            }
        )

    def _metadata(self, series: str) -> StatisticMetaData:
        name = f"{self.title} {series} (meter profile)"
        return sum_metadata(self.ids[series], name, CURRENCY, None)


def _running(
    costs: list[HourCost], amount: Callable[[HourCost], float], base: float
) -> list[StatisticData]:
    """Rows whose ``sum`` carries on from ``base``; ``state`` is the hour's euros."""
    rows: list[StatisticData] = []
    total = base
    for cost in costs:
        euros = round(amount(cost), DECIMALS)
        total = round(total + euros, DECIMALS)
        rows.append(StatisticData(start=cost.start, state=euros, sum=total))
    return rows
