"""The profile against the closures: the differences a user is warned about."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.tariffs.calendar import TariffCalendar
from custom_components.iec_meter.core.tariffs.model import Period, Tariff
from custom_components.iec_meter.core.tariffs.reconcile import profile_by_period, reconcile

MADRID = ZoneInfo("Europe/Madrid")
CALENDAR = TariffCalendar(Tariff.TD_2_0)
NOVEMBER = date(2026, 11, 1)


def november(skip: frozenset[datetime] = frozenset()) -> list[tuple[datetime, float]]:
    first = datetime(2026, 11, 1, tzinfo=MADRID).astimezone(ZoneInfo("UTC"))
    hours = [first + timedelta(hours=step) for step in range(30 * 24)]
    return [(hour, 1.0) for hour in hours if hour not in skip]


def test_a_whole_month_sums_to_its_closure() -> None:
    sums = profile_by_period(CALENDAR, november())
    # November 2026: 21 working days (none a holiday: 1 Nov is a Sunday) of 8 h each
    # period, and 9 non-working days all valle.
    assert sums == {
        (NOVEMBER, Period.P1): 21 * 8.0,
        (NOVEMBER, Period.P2): 21 * 8.0,
        (NOVEMBER, Period.P3): 21 * 8.0 + 9 * 24.0,
    }
    closures = {(NOVEMBER, period): kwh for (_, period), kwh in sums.items()}
    differences = reconcile(CALENDAR, november(), closures)
    assert [d.period for d in differences] == [Period.P1, Period.P2, Period.P3]
    assert all(d.difference_kwh == 0 and not d.alarming for d in differences)


def test_hours_the_profile_misses_show_in_their_period() -> None:
    tuesday = datetime(2026, 11, 3, 10, tzinfo=MADRID)  # punta
    gap = frozenset((tuesday + timedelta(hours=s)).astimezone(ZoneInfo("UTC")) for s in range(4))
    closures = {(NOVEMBER, Period.P1): 168.0, (NOVEMBER, Period.P2): 168.0}
    p1, p2 = reconcile(CALENDAR, november(gap), closures)
    assert (p1.profile_kwh, p1.difference_kwh) == (164.0, -4.0)
    assert p1.percent == pytest.approx(-100 * 4 / 168)
    assert p1.alarming  # 2.4 % short
    assert p2.difference_kwh == 0 and not p2.alarming


def test_a_period_billed_nothing() -> None:
    (nothing,) = reconcile(CALENDAR, [], {(NOVEMBER, Period.P1): 0.0})
    assert nothing.percent is None and not nothing.alarming
    (extra,) = reconcile(CALENDAR, november(), {(NOVEMBER, Period.P1): 0.0})
    assert extra.percent is None and extra.alarming
