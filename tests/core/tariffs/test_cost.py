"""Cost of a profile, against cases worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from math import sqrt
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.tariffs.calendar import TariffCalendar
from custom_components.iec_meter.core.tariffs.cost import (
    CostPlan,
    EnergyHour,
    FixedPrices,
    HourlyPrices,
    PowerTerm,
    hours_in_year,
    month_totals,
    net_hour,
    price_hours,
)
from custom_components.iec_meter.core.tariffs.excess import (
    ExcessTerm,
    k_from_power_prices,
    maximeter_excess,
    maximum_demands,
    quarter_demands,
    quarter_hourly_excess,
)
from custom_components.iec_meter.core.tariffs.model import Period, Tariff

MADRID = ZoneInfo("Europe/Madrid")
CALENDAR = TariffCalendar(Tariff.TD_2_0)
PRICES = FixedPrices({Period.P1: 0.20, Period.P2: 0.15, Period.P3: 0.10})
POWER = PowerTerm(
    prices={Period.P1: 30.0, Period.P2: 1.5}, contracted={Period.P1: 4.6, Period.P2: 4.6}
)


def day_of(day: date, kwh: float = 1.0, export: float = 0.0) -> list[EnergyHour]:
    return [EnergyHour(hour.start, kwh, export) for hour in CALENDAR.hours(day, day)]


@pytest.mark.parametrize(
    ("day", "hours", "energy"),
    [
        (date(2026, 3, 29), 23, 2.30),  # spring forward, a Sunday: all valle
        (date(2026, 10, 25), 25, 2.50),  # fall back, a Sunday: all valle
        (date(2026, 10, 12), 24, 2.40),  # Fiesta Nacional on a Monday: all valle
        (date(2026, 10, 13), 24, 3.60),  # a Tuesday: 8 h each of punta, llano, valle
    ],
)
def test_a_day_of_one_kwh_an_hour(day: date, hours: int, energy: float) -> None:
    costs = price_hours(CostPlan(CALENDAR, PRICES, POWER), day_of(day))
    assert len(costs) == hours
    assert sum(cost.energy_eur or 0 for cost in costs) == pytest.approx(energy)
    # 144.90 EUR a year (30 x 4.6 + 1.5 x 4.6) spread over the 8760 hours of 2026.
    assert sum(cost.power_eur for cost in costs) == pytest.approx(hours * 144.9 / 8760)
    assert all(not cost.unpriced and cost.compensation_eur == 0 for cost in costs)


def test_power_share_in_a_leap_year() -> None:
    assert hours_in_year(CALENDAR, datetime(2028, 6, 1, tzinfo=UTC)) == 8784
    assert (
        hours_in_year(CALENDAR, datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 8760
    )  # 00:30 local, 2027


def test_export_above_the_energy_term_is_capped_monthly() -> None:
    rows = []
    for day in range(1, 29):  # February 2026
        rows.append(EnergyHour(datetime(2026, 2, day, 0, tzinfo=MADRID), 1.0))  # valle, 0.10
        rows.append(EnergyHour(datetime(2026, 2, day, 12, tzinfo=MADRID), 0.0, 5.0))
    plan = CostPlan(CALENDAR, PRICES, compensation_prices=FixedPrices(dict.fromkeys(Period, 0.05)))
    costs = price_hours(plan, rows)
    assert all(cost.compensation_eur >= 0 for cost in costs)
    # The first export (0.25 EUR) is paid up to the 0.10 EUR bought so far; the rest
    # waits until the next day's purchase makes room.
    assert costs[1].compensation_eur == pytest.approx(0.10)
    assert costs[2].compensation_eur == pytest.approx(0.10)
    (month,) = month_totals(CALENDAR, costs)
    assert month.month == date(2026, 2, 1)
    assert month.energy_eur == pytest.approx(2.80)
    assert month.compensation_uncapped_eur == pytest.approx(7.00)
    assert month.compensation_eur == pytest.approx(2.80)
    assert month.total_eur == pytest.approx(0.0)
    assert (month.import_kwh, month.export_kwh, month.hours) == (28.0, 140.0, 56)
    assert month.energy_kwh_by_period == {Period.P3: 28.0, Period.P1: 0.0}


def test_the_cap_starts_again_each_month() -> None:
    rows = [
        EnergyHour(datetime(2026, 1, 31, 12, tzinfo=MADRID), 0.0, 10.0),
        EnergyHour(datetime(2026, 2, 2, 0, tzinfo=MADRID), 1.0),
    ]
    plan = CostPlan(CALENDAR, PRICES, compensation_prices=FixedPrices(dict.fromkeys(Period, 0.05)))
    costs = price_hours(plan, rows)
    assert [cost.compensation_eur for cost in costs] == [
        0.0,
        0.0,
    ]  # January's surplus never carries over
    january, february = month_totals(CALENDAR, costs)
    assert january.compensation_uncapped_eur == pytest.approx(0.5)
    assert february.energy_eur == pytest.approx(0.10)


def test_hourly_net_balance_and_taxes() -> None:
    assert net_hour(EnergyHour(datetime(2026, 1, 7, tzinfo=UTC), 2.0, 0.5)) == (1.5, 0.0)
    assert net_hour(EnergyHour(datetime(2026, 1, 7, tzinfo=UTC), 0.5, 2.0)) == (0.0, 1.5)
    start = datetime(2026, 1, 7, 10, tzinfo=MADRID)  # punta
    (cost,) = price_hours(
        CostPlan(CALENDAR, PRICES, POWER, tax_percent=21.0), [EnergyHour(start, 2.0, 0.5)]
    )
    assert cost.energy_eur == pytest.approx(1.5 * 0.20 * 1.21)
    assert cost.power_eur == pytest.approx(144.9 / 8760 * 1.21)
    assert cost.cost_eur == pytest.approx(cost.energy_eur + cost.power_eur)
    assert (cost.energy_period, cost.power_period) == (Period.P1, Period.P1)


def test_an_hour_without_a_recorded_price_is_left_unpriced() -> None:
    first = datetime(2026, 1, 7, 10, tzinfo=MADRID)
    second = first + timedelta(hours=1)
    hourly = HourlyPrices({first.astimezone(UTC): 0.25})  # keys in another offset still match
    plan = CostPlan(CALENDAR, hourly, compensation_prices=hourly)
    costs = price_hours(plan, [EnergyHour(second, 0.0, 1.0), EnergyHour(first, 1.0)])
    assert [cost.start for cost in costs] == [first, second]  # time order
    assert costs[0].energy_eur == pytest.approx(0.25)
    assert costs[1].energy_eur is None
    assert costs[1].unpriced  # its export needed a price
    assert costs[1].cost_eur == 0.0
    (month,) = month_totals(CALENDAR, costs)
    assert month.unpriced_hours == 1
    # A fixed plan leaves a period out: that hour is unpriced too.
    (gap,) = price_hours(
        CostPlan(CALENDAR, FixedPrices({Period.P2: 0.1})), [EnergyHour(first, 1.0)]
    )
    assert gap.unpriced


def test_maximeter_excess_types_4_and_5() -> None:
    term = ExcessTerm(price_eur_per_kw=1.4, contracted={Period.P1: 10.0, Period.P2: 10.0})
    # Only P1 is exceeded, by 2.5 kW: 2 x 1.4 x 2.5.
    assert maximeter_excess(term, {Period.P1: 12.5, Period.P2: 9.0}) == pytest.approx(7.0)
    assert maximeter_excess(term, {Period.P3: 99.0}) == 0.0  # not a contracted period


def test_quarter_hourly_excess_types_1_to_3() -> None:
    prices = {Period.P1: 20.0, Period.P2: 10.0}
    term = ExcessTerm(1.4, {Period.P1: 50.0, Period.P2: 50.0}, k=k_from_power_prices(prices))
    assert term.k == {Period.P1: 1.0, Period.P2: 0.5}
    demands = [(Period.P1, 52.0), (Period.P1, 53.0), (Period.P1, 50.0), (Period.P2, 54.0)]
    assert quarter_hourly_excess(term, demands) == pytest.approx(
        1.0 * 1.4 * sqrt(4 + 9) + 0.5 * 1.4 * sqrt(16)
    )
    assert ExcessTerm(1.0, {}).k_of(Period.P3) == 1.0


def test_quarter_demands_from_hourly_and_quarter_rows() -> None:
    calendar = TariffCalendar(Tariff.TD_3_0)
    start = datetime(2026, 1, 7, 8, tzinfo=MADRID)  # 08:00 P2, 09:00 P1 in January
    hourly = quarter_demands(calendar, [(start, 10.0, timedelta(hours=1))])
    assert hourly == [(Period.P2, 10.0)] * 4
    quarters = quarter_demands(
        calendar, [(start + timedelta(minutes=60), 2.5, timedelta(minutes=15))]
    )
    assert quarters == [(Period.P1, 10.0)]
    assert maximum_demands(hourly + quarters + [(Period.P1, 12.0)]) == {
        Period.P2: 10.0,
        Period.P1: 12.0,
    }
