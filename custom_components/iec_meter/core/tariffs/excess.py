"""Estimated excess-power charge of a month ("facturación por potencia demandada").

Circular CNMC 3/2020 Art. 9.4.b, in our words. Which formula applies follows the
measuring point's type, not the tariff:
- types 4 and 5 (≤ 50 kW in every period), the maxímetro: the meter keeps only the
  highest quarter-hour demand per period, and each kW above the contract costs twice
  the excess price: F = Σ_p t · 2 · (Pd_p - Pc_p);
- types 1 to 3, quarter-hourly: F = Σ_p K_p · t · √(Σ_j (Pd_j - Pc_p)²) over the
  quarter hours j of period p whose demand exceeds the contract; without quarter-hour
  values, the hour's mean demand stands for its four quarters.
The excess price t (€/kW) and the K_p coefficients are set each year by the CNMC, so
they are settings; K_p defaults to the power price of p over that of P1.
2.0TD supplies with an ICP breaker are never billed for excess: the breaker cuts first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from math import sqrt

from .calendar import TariffCalendar
from .model import Period

_QUARTER = timedelta(minutes=15)


class ExcessMethod(StrEnum):
    """Which formula bills the excess."""

    MAXIMETER = "maximeter"
    QUARTER_HOURLY = "quarter_hourly"


@dataclass(frozen=True)
class ExcessTerm:
    """The excess price (€/kW), the contracted powers (kW) and the K coefficients."""

    price_eur_per_kw: float
    contracted: Mapping[Period, float]
    k: Mapping[Period, float] | None = None

    def k_of(self, period: Period) -> float:
        """K_p of the period (1 where no coefficients are set)."""
        return 1.0 if self.k is None else self.k.get(period, 1.0)


def k_from_power_prices(prices: Mapping[Period, float]) -> dict[Period, float]:
    """K_p = power price of period p / power price of P1."""
    first = prices[Period.P1]
    return {period: price / first for period, price in prices.items()}


def maximeter_excess(term: ExcessTerm, max_demand: Mapping[Period, float]) -> float:
    """Types 4 and 5: twice the excess price for each kW of the period's maximum above contract."""
    return sum(
        term.price_eur_per_kw * 2.0 * (demand - term.contracted[period])
        for period, demand in max_demand.items()
        if period in term.contracted and demand > term.contracted[period]
    )


def quarter_hourly_excess(term: ExcessTerm, demands: Iterable[tuple[Period, float]]) -> float:
    """Types 1 to 3, from (power period, quarter-hour demand in kW) pairs."""
    squares: dict[Period, float] = {}
    for period, demand in demands:
        contracted = term.contracted.get(period)
        if contracted is not None and demand > contracted:
            squares[period] = squares.get(period, 0.0) + (demand - contracted) ** 2
    return sum(
        term.k_of(period) * term.price_eur_per_kw * sqrt(total) for period, total in squares.items()
    )


def quarter_demands(
    calendar: TariffCalendar, rows: Iterable[tuple[datetime, float, timedelta]]
) -> list[tuple[Period, float]]:
    """Quarter-hour demands (kW) from profile rows of (start, kWh, interval).

    A quarter-hour row's demand is its energy x 4; an hourly row stands for four
    quarters at its mean demand, as the circular prescribes when quarter values lack.
    """
    demands: list[tuple[Period, float]] = []
    for start, kwh, interval in rows:
        quarters = max(1, round(interval / _QUARTER))
        demand = kwh / (interval.total_seconds() / 3600.0)
        for quarter in range(quarters):
            demands.append((calendar.power_period(start + quarter * _QUARTER), demand))
    return demands


def maximum_demands(demands: Iterable[tuple[Period, float]]) -> dict[Period, float]:
    """The highest demand per power period, as a maxímetro keeps it."""
    highest: dict[Period, float] = {}
    for period, demand in demands:
        highest[period] = max(demand, highest.get(period, demand))
    return highest
