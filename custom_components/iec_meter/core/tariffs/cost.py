"""What the hours of a load profile cost under an access tariff: pure functions.

The bill is energy per period x price, plus contracted power x power price, minus the
compensation for exported energy (RD 244/2019 "compensación simplificada"), which can
never exceed the month's energy term. These are estimates, not a bill: taxes are one
percentage applied to every amount, and regulated prices are what the user enters.

Rules, in our words:
- exported and imported energy of a clock hour are netted first (the hourly net
  balance), so an hour either imports or exports;
- the year's power term (Σ price x contracted power, €/kW·year) is spread evenly over
  the hours of the year, so every hour with data carries its share;
- an hour without a price is left unpriced and counted, never priced with a guess;
- the compensation cap is monthly (local calendar month): the compensation summed
  since the first of the month never exceeds the energy term summed since then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from .calendar import TariffCalendar
from .model import Period


class PriceSource(Protocol):
    """A price in €/kWh for the hour that starts at ``start``, or None if unknown."""

    def price(self, start: datetime, period: Period) -> float | None:
        """The price of that hour, which falls in ``period``."""
        ...


@dataclass(frozen=True)
class FixedPrices:
    """One price per period (€/kWh), as a fixed-price contract states them."""

    per_period: Mapping[Period, float]

    def price(self, start: datetime, period: Period) -> float | None:
        """The period's price; None for a period the contract leaves out."""
        return self.per_period.get(period)


@dataclass(frozen=True)
class HourlyPrices:
    """A price per hour (€/kWh), keyed by the hour's start (any zone, compared in UTC)."""

    by_hour: Mapping[datetime, float]
    _utc: dict[datetime, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index by UTC once, so lookups do not depend on the offset keys were given in."""
        object.__setattr__(
            self, "_utc", {start.astimezone(UTC): value for start, value in self.by_hour.items()}
        )

    def price(self, start: datetime, period: Period) -> float | None:
        """The recorded price of that hour; None where nothing was recorded."""
        return self._utc.get(start.astimezone(UTC))


@dataclass(frozen=True)
class PowerTerm:
    """Contracted power per power period (kW) and its yearly price (€/kW·year)."""

    prices: Mapping[Period, float]
    contracted: Mapping[Period, float]

    @property
    def yearly_eur(self) -> float:
        """FP = Σ price x contracted power over the tariff's power periods."""
        contracted = self.contracted
        return sum(price * contracted.get(period, 0.0) for period, price in self.prices.items())


@dataclass(frozen=True)
class CostPlan:
    """Everything that prices a profile: calendar, prices, contract and taxes."""

    calendar: TariffCalendar
    energy_prices: PriceSource
    power: PowerTerm | None = None
    compensation_prices: PriceSource | None = None
    #: One percentage added to every amount (electricity tax and VAT, simplified).
    tax_percent: float = 0.0

    @property
    def tax_factor(self) -> float:
        """1 + the tax percentage."""
        return 1.0 + self.tax_percent / 100.0


@dataclass(frozen=True, slots=True)
class EnergyHour:
    """Energy of one profile hour as the meter measured it (kWh)."""

    start: datetime
    import_kwh: float
    export_kwh: float = 0.0


@dataclass(frozen=True, slots=True)
class HourCost:
    """The euros of one hour, taxes included.

    ``energy_eur`` is None when the hour has no energy price. ``compensation_eur`` is
    what the monthly cap lets through in this hour: it can be paid in a later hour of
    the month than the export, once enough energy has been bought to cover it.
    """

    start: datetime
    energy_period: Period
    power_period: Period
    import_kwh: float
    export_kwh: float
    energy_eur: float | None
    power_eur: float
    compensation_eur: float
    #: The export's value before the cap (0 where its price is unknown).
    surplus_eur: float
    #: A price this hour needed (energy for its import, compensation for its export)
    #: was not known.
    unpriced: bool

    @property
    def cost_eur(self) -> float:
        """Grid consumption cost: energy term (0 where unpriced) plus power share."""
        return (self.energy_eur or 0.0) + self.power_eur


@dataclass(frozen=True, slots=True)
class MonthCost:
    """The totals of one local calendar month, taxes included."""

    month: date
    hours: int
    unpriced_hours: int
    import_kwh: float
    export_kwh: float
    energy_eur: float
    power_eur: float
    compensation_eur: float
    #: Compensation before the cap, to show how much of the export went unpaid.
    compensation_uncapped_eur: float
    energy_kwh_by_period: dict[Period, float]

    @property
    def total_eur(self) -> float:
        """Energy + power - compensation (excess power is estimated apart)."""
        return self.energy_eur + self.power_eur - self.compensation_eur


def net_hour(hour: EnergyHour) -> tuple[float, float]:
    """Import and export after the hourly net balance: at most one is non-zero."""
    net = hour.import_kwh - hour.export_kwh
    return max(net, 0.0), max(-net, 0.0)


def hours_in_year(calendar: TariffCalendar, start: datetime) -> int:
    """Hours of the local year ``start`` falls in: 8784 in a leap year, else 8760."""
    year = calendar.local(start).year
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days * 24


def price_hours(plan: CostPlan, hours: Iterable[EnergyHour]) -> list[HourCost]:
    """The euros of every hour, in time order.

    To cap compensation right, the hours of a month must start at the first hour
    of that month; a caller rewriting from a later hour starts again from the month's
    first hour.
    """
    calendar, factor = plan.calendar, plan.tax_factor
    yearly = plan.power.yearly_eur if plan.power else 0.0
    priced: list[HourCost] = []
    month: tuple[int, int] | None = None
    energy_sum = surplus_sum = paid_sum = 0.0
    for hour in sorted(hours, key=lambda row: row.start):
        periods = calendar.hour(hour.start)
        local = calendar.local(hour.start)
        if (local.year, local.month) != month:
            month = (local.year, local.month)
            energy_sum = surplus_sum = paid_sum = 0.0
        imported, exported = net_hour(hour)
        price = plan.energy_prices.price(hour.start, periods.energy_period)
        energy = None if price is None else imported * price
        unpriced = energy is None and imported > 0.0
        energy_sum += energy or 0.0
        surplus = 0.0
        if plan.compensation_prices is not None:
            export_price = plan.compensation_prices.price(hour.start, periods.energy_period)
            if export_price is None:
                unpriced = unpriced or exported > 0.0
            else:
                surplus = exported * export_price
        surplus_sum += surplus
        capped = min(surplus_sum, energy_sum)
        compensation, paid_sum = capped - paid_sum, capped
        share = yearly / hours_in_year(calendar, hour.start)
        priced.append(
            HourCost(
                start=hour.start,
                energy_period=periods.energy_period,
                power_period=periods.power_period,
                import_kwh=imported,
                export_kwh=exported,
                energy_eur=None if energy is None else energy * factor,
                power_eur=share * factor,
                compensation_eur=compensation * factor,
                surplus_eur=surplus * factor,
                unpriced=unpriced,
            )
        )
    return priced


def month_totals(calendar: TariffCalendar, costs: Iterable[HourCost]) -> list[MonthCost]:
    """Sum priced hours per local calendar month, oldest first."""
    months: dict[date, list[HourCost]] = {}
    for cost in costs:
        local = calendar.local(cost.start)
        months.setdefault(date(local.year, local.month, 1), []).append(cost)
    totals = []
    for month, rows in sorted(months.items()):
        by_period: dict[Period, float] = {}
        for row in rows:
            by_period[row.energy_period] = by_period.get(row.energy_period, 0.0) + row.import_kwh
        totals.append(
            MonthCost(
                month=month,
                hours=len(rows),
                unpriced_hours=sum(row.unpriced for row in rows),
                import_kwh=sum(row.import_kwh for row in rows),
                export_kwh=sum(row.export_kwh for row in rows),
                energy_eur=sum(row.energy_eur or 0.0 for row in rows),
                power_eur=sum(row.power_eur for row in rows),
                compensation_eur=sum(row.compensation_eur for row in rows),
                compensation_uncapped_eur=sum(row.surplus_eur for row in rows),
                energy_kwh_by_period=by_period,
            )
        )
    return totals
