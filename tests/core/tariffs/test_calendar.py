"""The tariff calendar against hour tables written out here, month by month.

The expected tables are spelled hour by hour (24 digits a month, local hour 00 first),
the way the regulation's summaries print them, not in the calendar's own encoding, so
a slip in either shows.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.tariffs.calendar import TariffCalendar, is_working_day
from custom_components.iec_meter.core.tariffs.model import Period, Tariff, Zone

PENINSULA_2_0TD = "333333332211112222111122"
CEUTA_MELILLA_2_0TD = "333333332221111222211112"
POWER_2_0TD = "222222221111111111111111"
ENERGY_2_0TD = {
    Zone.PENINSULA: PENINSULA_2_0TD,
    Zone.BALEARES: PENINSULA_2_0TD,
    Zone.CANARIAS: PENINSULA_2_0TD,
    Zone.CEUTA: CEUTA_MELILLA_2_0TD,
    Zone.MELILLA: CEUTA_MELILLA_2_0TD,
}

#: Working days, January to December.
SIX_PERIODS = {
    Zone.PENINSULA: (
        "666666662111112222111122",
        "666666662111112222111122",
        "666666663222223333222233",
        "666666665444445555444455",
        "666666665444445555444455",
        "666666664333334444333344",
        "666666662111112222111122",
        "666666664333334444333344",
        "666666664333334444333344",
        "666666665444445555444455",
        "666666663222223333222233",
        "666666662111112222111122",
    ),
    Zone.BALEARES: (
        "666666664433333444333344",
        "666666664433333444333344",
        "666666665544444555444455",
        "666666665544444555444455",
        "666666663322222333222233",
        "666666662211111222111122",
        "666666662211111222111122",
        "666666662211111222111122",
        "666666662211111222111122",
        "666666663322222333222233",
        "666666665544444555444455",
        "666666664433333444333344",
    ),
    Zone.CANARIAS: (
        "666666664422222444222244",
        "666666664422222444222244",
        "666666664422222444222244",
        "666666665544444555444455",
        "666666665544444555444455",
        "666666665544444555444455",
        "666666663311111333111133",
        "666666663311111333111133",
        "666666663311111333111133",
        "666666663311111333111133",
        "666666663322222333222233",
        "666666663322222333222233",
    ),
    Zone.CEUTA: (
        "666666664411111444411114",
        "666666664411111444411114",
        "666666664422222444422224",
        "666666665533333555533335",
        "666666665533333555533335",
        "666666665533333555533335",
        "666666663322222333322223",
        "666666664411111444411114",
        "666666664411111444411114",
        "666666663322222333322223",
        "666666664422222444422224",
        "666666664422222444422224",
    ),
    Zone.MELILLA: (
        "666666662211111222211112",
        "666666663322222333322223",
        "666666665544444555544445",
        "666666665544444555544445",
        "666666665544444555544445",
        "666666664433333444433334",
        "666666662211111222211112",
        "666666662211111222211112",
        "666666662211111222211112",
        "666666664433333444433334",
        "666666664433333444433334",
        "666666663322222333322223",
    ),
}

#: The fixed dates that fall on a weekday, per year: the only holidays that change a period.
WEEKDAY_HOLIDAYS = {
    2025: {"01-01", "01-06", "05-01", "08-15", "12-08", "12-25"},
    2026: {"01-01", "01-06", "05-01", "10-12", "12-08", "12-25"},
    2027: {"01-01", "01-06", "10-12", "11-01", "12-06", "12-08"},
}
GOOD_FRIDAYS = (date(2025, 4, 18), date(2026, 4, 3), date(2027, 3, 26))
LOCAL = {
    Zone.PENINSULA: "Europe/Madrid",
    Zone.BALEARES: "Europe/Madrid",
    Zone.CANARIAS: "Atlantic/Canary",
    Zone.CEUTA: "Africa/Ceuta",
    Zone.MELILLA: "Africa/Ceuta",
}


def working(day: date) -> bool:
    return day.weekday() < 5 and day.strftime("%m-%d") not in WEEKDAY_HOLIDAYS[day.year]


def expected(tariff: Tariff, zone: Zone, local: datetime) -> tuple[str, str]:
    if tariff is Tariff.TD_2_0:
        if not working(local.date()):
            return "P3", "P2"
        return f"P{ENERGY_2_0TD[zone][local.hour]}", f"P{POWER_2_0TD[local.hour]}"
    period = f"P{SIX_PERIODS[zone][local.month - 1][local.hour]}" if working(local.date()) else "P6"
    return period, period


@pytest.mark.parametrize("year", sorted(WEEKDAY_HOLIDAYS))
@pytest.mark.parametrize("zone", list(Zone))
@pytest.mark.parametrize("tariff", [Tariff.TD_2_0, Tariff.TD_3_0, Tariff.TD_6_1])
def test_every_hour_of_a_year(tariff: Tariff, zone: Zone, year: int) -> None:
    calendar = TariffCalendar(tariff, zone)
    hours = list(calendar.hours(date(year, 1, 1), date(year, 12, 31)))
    assert len(hours) == 8760
    wrong = []
    for hour in hours:
        local = hour.start.astimezone(ZoneInfo(LOCAL[zone]))
        got = (str(hour.energy_period), str(hour.power_period))
        if got != expected(tariff, zone, local):
            wrong.append((local.isoformat(), got, expected(tariff, zone, local)))
    assert wrong == []


def test_every_six_period_tariff_shares_one_calendar() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for offset in range(0, 8760, 7):
        moment = start + timedelta(hours=offset)
        periods = {TariffCalendar(t, Zone.CANARIAS).hour(moment) for t in list(Tariff)[1:]}
        assert len({(p.energy_period, p.power_period) for p in periods}) == 1


@pytest.mark.parametrize("day", GOOD_FRIDAYS)
def test_good_friday_is_a_working_day(day: date) -> None:
    assert is_working_day(day)
    calendar = TariffCalendar(Tariff.TD_2_0)
    noon = datetime(day.year, day.month, day.day, 11, tzinfo=ZoneInfo("Europe/Madrid"))
    assert calendar.energy_period(noon) is Period.P1


def test_epiphany_on_a_weekday_is_all_night() -> None:
    calendar = TariffCalendar(Tariff.TD_3_0)
    hours = list(calendar.hours(date(2026, 1, 6), date(2026, 1, 6)))  # a Tuesday
    assert {hour.energy_period for hour in hours} == {Period.P6}
    normal = list(calendar.hours(date(2026, 1, 7), date(2026, 1, 7)))
    assert Counter(hour.energy_period for hour in normal) == {
        Period.P6: 8,
        Period.P1: 9,
        Period.P2: 7,
    }


@pytest.mark.parametrize(
    ("day", "count"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 3, 30), 24)]
)
def test_daylight_saving_days(day: date, count: int) -> None:
    calendar = TariffCalendar(Tariff.TD_2_0)
    hours = list(calendar.hours(day, day))
    assert len(hours) == count
    starts = [hour.start.isoformat() for hour in hours]
    assert len(set(starts)) == count
    if count == 25:  # 02:00 occurs twice, first in summer time
        assert "2026-10-25T02:00:00+02:00" in starts
        assert "2026-10-25T02:00:00+01:00" in starts
    if count == 23:
        assert not any(start.startswith("2026-03-29T02:") for start in starts)
    if count == 24:  # the Monday after: the period table is read on the new clock
        assert hours[10].energy_period is Period.P1
        assert hours[10].start.utcoffset() == timedelta(hours=2)


def test_an_hour_belongs_to_its_local_start() -> None:
    calendar = TariffCalendar(Tariff.TD_2_0)
    # 09:00 UTC is 10:00 in Madrid (winter): punta; 09:00 in Canarias: llano.
    moment = datetime(2026, 1, 7, 9, tzinfo=UTC)
    assert calendar.energy_period(moment) is Period.P1
    assert TariffCalendar(Tariff.TD_2_0, Zone.CANARIAS).energy_period(moment) is Period.P2
    # A naive time is taken as UTC.
    assert calendar.energy_period(moment.replace(tzinfo=None)) is Period.P1
    # A quarter hour takes the period of its hour.
    quarter = datetime(2026, 1, 7, 9, 45, tzinfo=UTC)
    assert calendar.hour(quarter).energy_period is Period.P1


def test_tariff_words() -> None:
    assert (Tariff.TD_2_0.energy_periods, Tariff.TD_2_0.power_periods) == (3, 2)
    assert (Tariff.TD_6_4.energy_periods, Tariff.TD_6_4.power_periods) == (6, 6)
    assert Period.of(4) is Period.P4
    assert Period.P5.number == 5
