"""``read --profile / --billing / --contracted-powers`` against the simulator process.

The simulator runs with a fixed clock, so the meter's history (and every number below)
is the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import datetime, timedelta
import io
import json
import os
import sys
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter import cli
from custom_components.iec_meter.core.errors import NotSupported
from custom_components.iec_meter.core.records import (
    BILLING_FIELDS,
    PROFILE_SERIES,
    PeriodFlag,
    ProfileKind,
    ProfilePeriod,
)
from simulator.tariff import CONTRACTED_KW

from .test_read_command import ENV, ROOT, simulator, without_home_assistant

MADRID = ZoneInfo("Europe/Madrid")
#: The simulated meter's clock, frozen (its local wall time). Its history then has,
#: counted back from this day: an invalid hour ending 2025-10-31 19:00, an incomplete
#: one ending 2025-10-21 04:00, a clock synchronisation in the hour ending 2025-11-05
#: 09:00 and a gap (hours ending 11:00 to 13:00) on 2025-11-10.
NOW = "2025-11-20T12:30"
#: Keys of one profile period, in the contract's order.
PERIOD_KEYS = ["end", *PROFILE_SERIES, "flags"]
#: Every flag a period may list, in the contract's order.
FLAG_ORDER = [
    "invalid",
    "adjusted",
    "overflow",
    "time_sync",
    "parameter_change",
    "intrusion",
    "incomplete",
]


@contextlib.asynccontextmanager
async def meter(*extra: str) -> AsyncIterator[str]:
    """The simulated IEC 102 meter (password 7) with its fixed clock; yields its URL."""
    async with simulator(
        "iec102", "--tcp", "127.0.0.1:0", "--password", "7", "--now", NOW, *extra
    ) as url:
        yield url


async def read_json(capsys: pytest.CaptureFixture[str], url: str, *options: str) -> Any:
    """Run ``read ... --json`` and return the document (the command must succeed)."""
    status = await cli.run(["read", "--url", url, "--password", "7", *options, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    return json.loads(captured.out)


async def read_table(capsys: pytest.CaptureFixture[str], url: str, *options: str) -> list[str]:
    """Run ``read ...`` (a table) and return its lines."""
    status = await cli.run(["read", "--url", url, "--password", "7", *options])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out.splitlines()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _minutes(stamp: str) -> str:
    """An ISO time as the tables show it: to the minute, with its offset."""
    return datetime.fromisoformat(stamp).isoformat(sep=" ", timespec="minutes")


def _offset(stamp: str) -> timedelta | None:
    return datetime.fromisoformat(stamp).utcoffset()


# --- errors ---------------------------------------------------------------------------------


async def test_start_after_end_exits_1_before_connecting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No meter at this URL: the range is refused before any connection is tried.
    status = await cli.run(
        ["read", "--url", "/dev/does-not-exist", "--profile", "hourly",
         "--start", "2025-01-02T00:00", "--end", "2025-01-01T00:00"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert captured.err == (
        "error: --start 2025-01-02T00:00:00+01:00 is after --end 2025-01-01T00:00:00+01:00: "
        "nothing to read\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--profile", "hourly"], "--profile hourly needs --start and --end"),
        (["--profile", "quarter-hourly", "--start", "2025-01-01T00:00"], "needs --start and --end"),
        (["--billing", "closures", "--end", "2025-01-01T00:00"], "--billing closures needs"),
        (["--billing", "current", "--start", "2025-01-01T00:00"], "--start and --end apply to"),
        (["--contracted-powers", "--end", "2025-01-01T00:00"], "--start and --end apply to"),
        (["--billing", "current", "--absolute"], "--absolute applies to --profile only"),
        (
            ["--profile", "hourly", "--start", "2025-01-01T00:00", "--end", "2025-01-01T01:00",
             "--contract", "2"],
            "--contract applies to --billing and --contracted-powers only",
        ),
    ],
)  # fmt: skip
async def test_options_that_do_not_go_together_exit_1(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await cli.run(["read", "--url", "/dev/does-not-exist", *options])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert "does-not-exist" not in captured.err  # refused before connecting


@pytest.mark.parametrize(
    "options",
    [
        ["--profile", "hourly", "--billing", "current"],
        ["--billing", "current", "--contracted-powers"],
        ["--profile", "hourly", "--contracted-powers"],
    ],
)
def test_record_options_exclude_each_other(
    options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["read", "--url", "x", *options])
    assert exit_info.value.code == 2  # argparse's usage error
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["2025-01-01", "2025-01-01 00:00", "2025-01-01T00:00+01:00"])
def test_a_time_must_be_a_wall_time_to_the_minute(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["read", "--url", "x", "--start", text])
    assert "expected the meter's wall time as YYYY-MM-DDTHH:MM" in capsys.readouterr().err


async def test_a_protocol_without_records_exits_1_with_the_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for options in (
        ["--profile", "hourly", "--start", "2025-01-01T00:00", "--end", "2025-01-01T01:00"],
        ["--billing", "current"],
        ["--contracted-powers"],
    ):
        status = await cli.run(
            ["read", "--protocol", "iec62056", "--url", "/dev/does-not-exist", *options]
        )
        captured = capsys.readouterr()
        assert status == 1
        assert captured.out == ""
        assert captured.err == (
            "error: IEC 62056-21 meters keep no records this command can read\n"
            f"hint: {NotSupported.hint}\n"
        )


def test_help_explains_the_records_and_the_october_hour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["read", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "--profile {hourly,quarter-hourly}",
        "--billing {current,closures}",
        "--contracted-powers",
        "--contract {1,2,3}",
        "--absolute",
        "YYYY-MM-DDTHH:MM",
        "exclude each other",
        "first, summer-time occurrence",
        "--time-zone",
    ):
        assert text in out, text


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("2025-10-26T02:00", "2025-10-26T02:00:00+02:00"),  # twice: the first (summer) one
        ("2025-10-26T02:59", "2025-10-26T02:59:00+02:00"),
        ("2025-10-26T03:00", "2025-10-26T03:00:00+01:00"),
        ("2025-03-30T02:30", "2025-03-30T03:30:00+02:00"),  # skipped: an hour later
        ("2025-07-01T12:00", "2025-07-01T12:00:00+02:00"),
        ("2025-01-01T00:00", "2025-01-01T00:00:00+01:00"),
    ],
)
def test_wall_times_are_localized_in_the_meter_zone(wall: str, expected: str) -> None:
    naive = datetime.strptime(wall, cli.WALL_TIME_FORMAT)  # noqa: DTZ007 - a wall time
    assert cli.localize(naive, MADRID).isoformat() == expected


def _ends(first: str, count: int, step: timedelta) -> list[str]:
    """``count`` period ends from ``first`` (ISO), stepping by elapsed time, in Madrid."""
    start = datetime.fromisoformat(first)
    return [(start + step * index).astimezone(MADRID).isoformat() for index in range(count)]


# --- load profile -----------------------------------------------------------------------------


async def test_profile_json_contract(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An IEC 102 meter keeps Spain's legal time: its default zone, whatever the machine's.
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    async with meter() as url:
        document = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-18T10:00", "--end", "2025-11-18T13:00",
        )  # fmt: skip
    assert list(document) == ["profile"]
    periods = document["profile"]
    assert [period["end"] for period in periods] == [
        "2025-11-18T10:00:00+01:00",
        "2025-11-18T11:00:00+01:00",
        "2025-11-18T12:00:00+01:00",
        "2025-11-18T13:00:00+01:00",
    ]
    for period in periods:
        assert list(period) == PERIOD_KEYS
        assert period["flags"] == []
        for key in PROFILE_SERIES:
            # The meter's registers are whole kWh / kvarh: printed as integers.
            assert type(period[key]) is int, key
            assert period[key] >= 0
    assert any(
        period["active_energy_import"] or period["active_energy_export"] for period in periods
    )


async def test_profile_of_the_october_day_has_25_hours_and_two_2_oclock_ends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with meter() as url:
        day = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-26T01:00", "--end", "2025-10-27T00:00",
        )  # fmt: skip
        # "02:00" occurs twice: as --end it is the first (summer) one.
        until_two = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-26T01:00", "--end", "2025-10-26T02:00",
        )  # fmt: skip
    ends = [period["end"] for period in day["profile"]]
    assert ends == _ends("2025-10-26T01:00:00+02:00", 25, timedelta(hours=1))
    assert ends[:4] == [
        "2025-10-26T01:00:00+02:00",
        "2025-10-26T02:00:00+02:00",
        "2025-10-26T02:00:00+01:00",
        "2025-10-26T03:00:00+01:00",
    ]
    assert ends[-1] == "2025-10-27T00:00:00+01:00"
    assert all(period["flags"] == [] for period in day["profile"])
    assert until_two["profile"] == day["profile"][:2]


async def test_an_invalid_period_is_null_and_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-31T18:00", "--end", "2025-10-31T20:00",
        )  # fmt: skip
        incomplete = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-21T04:00", "--end", "2025-10-21T04:00",
        )  # fmt: skip
        synchronised = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-05T09:00", "--end", "2025-11-05T09:00",
        )  # fmt: skip
    before, invalid, after = document["profile"]
    assert invalid == {
        "end": "2025-10-31T19:00:00+01:00",
        **dict.fromkeys(PROFILE_SERIES),
        "flags": ["invalid"],
    }
    assert list(invalid) == PERIOD_KEYS
    for period in (before, after):
        assert period["flags"] == []
        assert all(type(period[key]) is int for key in PROFILE_SERIES)
    # Flags that leave the values readable: the values stay.
    (period,) = incomplete["profile"]
    assert period["flags"] == ["incomplete"]
    assert all(type(period[key]) is int for key in PROFILE_SERIES)
    (period,) = synchronised["profile"]
    assert period["end"] == "2025-11-05T09:00:00+01:00"
    assert period["flags"] == ["time_sync"]


async def test_hours_the_meter_lost_are_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-10T10:00", "--end", "2025-11-10T14:00",
        )  # fmt: skip
    assert [period["end"] for period in document["profile"]] == [
        "2025-11-10T10:00:00+01:00",
        "2025-11-10T14:00:00+01:00",
    ]


async def test_a_range_after_the_meter_clock_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-20T13:00", "--end", "2025-11-20T15:00",
        )  # fmt: skip
        table = await read_table(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-20T13:00", "--end", "2025-11-20T15:00",
        )  # fmt: skip
    assert document == {"profile": []}
    assert "The meter sent no period for this range." in table


async def test_absolute_registers_grow_by_the_increments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    span = ("--start", "2025-10-26T00:00", "--end", "2025-10-26T06:00")
    async with meter() as url:
        increments = await read_json(capsys, url, "--profile", "hourly", *span)
        registers = await read_json(capsys, url, "--profile", "hourly", *span, "--absolute")
    assert [p["end"] for p in registers["profile"]] == [p["end"] for p in increments["profile"]]
    assert len(registers["profile"]) == 8  # 00:00 to 06:00 with the repeated 02:00
    for previous, period, increment in zip(
        registers["profile"], registers["profile"][1:], increments["profile"][1:], strict=False
    ):
        assert list(period) == PERIOD_KEYS
        for key in PROFILE_SERIES:
            assert type(period[key]) is int
            assert period[key] - previous[key] == increment[key], (period["end"], key)
    assert registers["profile"][0]["active_energy_import"] > 1000  # a register, not an hour


async def test_quarter_hours_add_up_to_the_hours(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        quarters = await read_json(
            capsys, url, "--profile", "quarter-hourly",
            "--start", "2025-10-26T01:15", "--end", "2025-10-26T04:00",
        )  # fmt: skip
        hours = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-26T02:00", "--end", "2025-10-26T04:00",
        )  # fmt: skip
    ends = [period["end"] for period in quarters["profile"]]
    assert ends == _ends("2025-10-26T01:15:00+02:00", 16, timedelta(minutes=15))
    assert "2025-10-26T02:15:00+02:00" in ends
    assert "2025-10-26T02:15:00+01:00" in ends
    for period in quarters["profile"]:
        assert list(period) == PERIOD_KEYS
    for index, hour in enumerate(hours["profile"]):
        four = quarters["profile"][4 * index : 4 * index + 4]
        assert four[-1]["end"] == hour["end"]
        for key in PROFILE_SERIES:
            assert sum(quarter[key] for quarter in four) == hour[key], (hour["end"], key)


async def test_profile_table(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        lines = await read_table(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-26T01:00", "--end", "2025-10-26T03:00",
        )  # fmt: skip
        invalid = await read_table(
            capsys, url, "--profile", "hourly", "--absolute",
            "--start", "2025-10-31T19:00", "--end", "2025-10-31T19:00",
        )  # fmt: skip
        document = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-10-26T01:00", "--end", "2025-10-26T03:00",
        )  # fmt: skip
    assert lines[0] == (
        "Hourly load profile: energy of the periods ending 2025-10-26 01:00+02:00 "
        "to 2025-10-26 03:00+01:00"
    )
    header = lines[2].split()
    assert header == [
        "end", "import", "kWh", "export", "kWh", "Q1", "kvarh", "Q2", "kvarh", "Q3", "kvarh",
        "Q4", "kvarh", "flags",
    ]  # fmt: skip
    rows = lines[4:]
    assert [row[:22] for row in rows] == [
        "2025-10-26 01:00+02:00",
        "2025-10-26 02:00+02:00",
        "2025-10-26 02:00+01:00",
        "2025-10-26 03:00+01:00",
    ]
    for row, period in zip(rows, document["profile"], strict=True):
        assert row.split()[2:] == [str(period[key]) for key in PROFILE_SERIES]
    assert invalid[0].startswith("Hourly load profile: registers at the end of the periods")
    assert invalid[4].split() == ["2025-10-31", "19:00+01:00", *["invalid"] * 7]


# --- billing and contracted powers --------------------------------------------------------


def _check_billing_object(item: dict[str, Any], period: int) -> None:
    assert list(item) == list(BILLING_FIELDS)
    assert item["contract"] == 1
    assert item["period"] == period
    for key in BILLING_FIELDS[4:11] + BILLING_FIELDS[12:]:
        assert type(item[key]) is int, key  # whole kWh, kvarh and kW
    if item["max_demand"]:
        assert _offset(item["max_demand_time"]) in (timedelta(hours=1), timedelta(hours=2))
    else:
        assert item["max_demand_time"] is None  # no demand, no date


async def test_billing_current_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(capsys, url, "--billing", "current")
        same = await read_json(capsys, url, "--billing", "current", "--contract", "1")
    assert list(document) == ["billing"]
    objects = document["billing"]
    assert [item["period"] for item in objects] == [0, 1, 2, 3, 4, 5, 6]
    for period, item in enumerate(objects):
        _check_billing_object(item, period)
        assert item["start"] == "2025-11-01T00:00:00+01:00"
        assert item["end"] is None  # under way: the meter leaves its end empty
    total, *tariff = objects
    for key in ("active_energy", "active_energy_increment"):
        assert total[key] == sum(item[key] for item in tariff), key
    assert all(item["active_energy_increment"] > 0 for item in tariff[:3])  # P1..P3 used
    assert all(item["active_energy"] == 0 for item in tariff[3:])  # P4..P6 empty
    assert total["max_demand"] == max(item["max_demand"] for item in tariff)
    assert same == document


async def test_billing_closures_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(
            capsys, url, "--billing", "closures",
            "--start", "2025-09-01T00:00", "--end", "2025-11-01T00:00",
        )  # fmt: skip
        register = await read_json(
            capsys, url, "--profile", "hourly", "--absolute",
            "--start", "2025-11-01T00:00", "--end", "2025-11-01T00:00",
        )  # fmt: skip
    objects = document["billing"]
    assert len(objects) == 3 * 7  # three monthly closures, Total and P1..P6 each
    assert [item["period"] for item in objects] == [0, 1, 2, 3, 4, 5, 6] * 3
    for index, item in enumerate(objects):
        _check_billing_object(item, index % 7)
    closures = [(item["start"], item["end"]) for item in objects[::7]]
    assert closures == [
        ("2025-08-01T00:00:00+02:00", "2025-09-01T00:00:00+02:00"),
        ("2025-09-01T00:00:00+02:00", "2025-10-01T00:00:00+02:00"),
        ("2025-10-01T00:00:00+02:00", "2025-11-01T00:00:00+01:00"),
    ]
    for index, item in enumerate(objects):
        assert (item["start"], item["end"]) == closures[index // 7]
    # The closure's total is the profile's import register at the same instant.
    october = objects[14]
    assert october["active_energy"] == register["profile"][0]["active_energy_import"]


async def test_billing_table(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(capsys, url, "--billing", "current")
        lines = await read_table(capsys, url, "--billing", "current")
        closures = await read_table(
            capsys, url, "--billing", "closures",
            "--start", "2025-10-15T00:00", "--end", "2025-11-15T00:00",
        )  # fmt: skip
        nothing = await read_table(
            capsys, url, "--billing", "closures",
            "--start", "2025-11-02T00:00", "--end", "2025-11-15T00:00",
        )  # fmt: skip
    assert lines[0] == "Contract 1, current billing period"
    assert lines[2].split() == [
        "period", "start", "end", "active", "kWh", "active", "+", "inductive", "kvarh",
        "inductive", "+", "capacitive", "kvarh", "capacitive", "+", "max", "kW", "max", "at",
        "excess", "kW",
    ]  # fmt: skip
    rows = [line.split() for line in lines[4:11]]
    assert [row[0] for row in rows] == ["Total", "P1", "P2", "P3", "P4", "P5", "P6"]
    for row, item in zip(rows, document["billing"], strict=True):
        assert row[1:3] == ["2025-11-01", "00:00+01:00"]
        assert row[3] == "-"  # no end yet
        values = [str(item[key]) for key in BILLING_FIELDS[4:11]]
        assert row[4:11] == values
        when = item["max_demand_time"]
        shown = ["-"] if when is None else _minutes(when).split()
        assert row[11:-1] == shown
        assert row[-1] == str(item["excess_power"])
    assert lines[-1].startswith("+: the energy within the billing period")
    assert closures[0] == (
        "Contract 1, billing closures ending 2025-10-15 00:00+02:00 to 2025-11-15 00:00+01:00"
    )
    assert closures[4].split()[:5] == [
        "Total", "2025-10-01", "00:00+02:00", "2025-11-01", "00:00+01:00",
    ]  # fmt: skip
    assert nothing[2] == "The meter sent no billing period."


async def test_contracted_powers(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(capsys, url, "--contracted-powers")
        again = await read_json(capsys, url, "--contracted-powers", "--contract", "1")
        lines = await read_table(capsys, url, "--contracted-powers")
    expected = {str(period): kw for period, kw in CONTRACTED_KW.items()}
    assert document == {"contracted_powers": expected}
    assert list(document["contracted_powers"]) == ["1", "2", "3"]
    assert all(type(kw) is int for kw in document["contracted_powers"].values())
    assert again == document
    assert lines[0] == "Contract 1, contracted powers"
    assert [line.split() for line in lines[2:]] == [
        ["period", "kW"],
        ["------", "--"],
        *([f"P{period}", str(kw)] for period, kw in CONTRACTED_KW.items()),
    ]


async def test_records_read_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    """A meter that refuses identity, clock and values still gives its records."""
    refusing = ("--unsupported", "100", "--unsupported", "103", "--unsupported", "162")
    async with meter(*refusing) as url:
        powers = await read_json(capsys, url, "--contracted-powers")
        billing = await read_json(capsys, url, "--billing", "current")
        profile = await read_json(
            capsys, url, "--profile", "hourly",
            "--start", "2025-11-18T10:00", "--end", "2025-11-18T10:00",
        )  # fmt: skip
        status = await cli.run(["read", "--url", url, "--password", "7"])
    assert set(powers["contracted_powers"]) == {"1", "2", "3"}
    assert len(billing["billing"]) == 7
    assert len(profile["profile"]) == 1
    assert status == 1  # the plain read needs what the meter refuses
    assert "requested ASDU type not available" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("type_id", "options"),
    [
        ("123", ["--profile", "hourly", "--start", "2025-11-18T10:00", "--end", "2025-11-18T11:00"]),
        ("122", ["--profile", "quarter-hourly", "--absolute", "--start", "2025-11-18T10:00",
                 "--end", "2025-11-18T11:00"]),
        ("133", ["--billing", "current"]),
        ("134", ["--billing", "closures", "--start", "2025-09-01T00:00",
                 "--end", "2025-11-01T00:00"]),
        ("144", ["--contracted-powers"]),
    ],
)  # fmt: skip
async def test_a_type_the_meter_lacks_exits_1_with_the_hint(
    type_id: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    async with meter("--unsupported", type_id) as url:
        status = await cli.run(["read", "--url", url, "--password", "7", *options, "--json"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    first, hint = captured.err.splitlines()
    assert first.startswith("error: ")
    assert first.endswith("requested ASDU type not available")
    assert hint == f"hint: {NotSupported.hint}"


async def test_a_contract_the_meter_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        billing = await read_json(capsys, url, "--billing", "current", "--contract", "2")
        status = await cli.run(
            ["read", "--url", url, "--password", "7", "--contracted-powers", "--contract", "3"]
        )
    captured = capsys.readouterr()
    assert billing == {"billing": []}
    assert status == 1
    assert "requested data record not available" in captured.err
    assert f"hint: {NotSupported.hint}" in captured.err


async def test_records_as_a_module_without_home_assistant() -> None:
    async with meter() as url:
        document = await without_home_assistant(
            "read", "--url", url, "--password", "7", "--billing", "current", "--json"
        )
    assert [item["period"] for item in document["billing"]] == [0, 1, 2, 3, 4, 5, 6]


# --- pieces -----------------------------------------------------------------------------------


def test_flags_are_listed_once_in_a_fixed_order() -> None:
    end = datetime(2025, 1, 1, tzinfo=MADRID)
    period = ProfilePeriod(
        end,
        dict.fromkeys(PROFILE_SERIES, 1.0),
        {
            "active_energy_import": frozenset({PeriodFlag.INCOMPLETE, PeriodFlag.ADJUSTED}),
            "reactive_energy_q4": frozenset({PeriodFlag.INTRUSION, PeriodFlag.INVALID}),
            "active_energy_export": frozenset({PeriodFlag.ADJUSTED}),
        },
    )
    assert cli.period_flags(period) == ["invalid", "adjusted", "intrusion", "incomplete"]
    assert [flag.value for flag in PeriodFlag] == FLAG_ORDER


def test_numbers_are_integers_when_whole() -> None:
    period = ProfilePeriod(
        datetime(2025, 1, 1, 1, tzinfo=MADRID),
        {"active_energy_import": 2.0, "active_energy_export": 0.25, "reactive_energy_q1": None},
    )
    document = cli.profile_json([period])
    assert document == {
        "profile": [
            {
                "end": "2025-01-01T01:00:00+01:00",
                "active_energy_import": 2,
                "active_energy_export": 0.25,
                "reactive_energy_q1": None,
                "reactive_energy_q2": None,  # a series the meter did not send
                "reactive_energy_q3": None,
                "reactive_energy_q4": None,
                "flags": [],
            }
        ]
    }
    assert type(document["profile"][0]["active_energy_import"]) is int
    assert cli.contracted_powers_json({1: 4.6, 2: 10.0}) == {
        "contracted_powers": {"1": 4.6, "2": 10}
    }


def test_a_table_shows_fractions_to_the_watt_hour() -> None:
    query = cli.RecordQuery(
        profile=ProfileKind.QUARTER_HOURLY,
        absolute=False,
        billing=None,
        contract=1,
        start=datetime(2025, 1, 1, 0, 15, tzinfo=MADRID),
        end=datetime(2025, 1, 1, 0, 15, tzinfo=MADRID),
    )
    period = ProfilePeriod(
        datetime(2025, 1, 1, 0, 15, tzinfo=MADRID),
        {"active_energy_import": 0.25, "active_energy_export": 1 / 3, "reactive_energy_q1": 2.0},
    )
    out = io.StringIO()
    cli.print_records(cli.Records(query, profile=[period]), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Quarter-hourly load profile: energy of the periods ending")
    assert lines[4].split() == [
        "2025-01-01", "00:15+01:00", "0.25", "0.333", "2", "invalid", "invalid", "invalid",
    ]  # fmt: skip


async def test_a_reader_that_leaves_early_is_no_error() -> None:
    """``read ... | head``: the command stops quietly, without a traceback."""
    reader, writer = os.pipe()
    async with meter() as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "custom_components.iec_meter", "read",
            "--url", url, "--password", "7", "--contracted-powers", "--json",
            cwd=ROOT,
            stdout=writer,
            stderr=asyncio.subprocess.PIPE,
            env=ENV,
        )  # fmt: skip
        # The reader is gone before the command writes anything (it connects first).
        os.close(writer)
        os.close(reader)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err
