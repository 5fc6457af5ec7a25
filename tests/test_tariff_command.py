"""``tariff`` and ``read --profile --tariff``: the periods a user checks against a bill."""

from __future__ import annotations

import json

import pytest

from custom_components.iec_meter import cli

from .test_read_command import without_home_assistant
from .test_read_records import meter, read_json


async def tariff(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    status = await cli.run(["tariff", *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


async def test_json_contract_on_the_october_day(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = await tariff(
        capsys, "--tariff", "2.0TD", "--start", "2026-10-25", "--end", "2026-10-26", "--json"
    )
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert list(document) == ["tariff", "zone", "hours"]
    assert (document["tariff"], document["zone"]) == ("2.0TD", "peninsula")
    hours = document["hours"]
    assert len(hours) == 25 + 24
    assert hours[0] == {
        "start": "2026-10-25T00:00:00+02:00",
        "energy_period": "P3",
        "power_period": "P2",
    }
    assert [hour["start"] for hour in hours[2:4]] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    monday_ten = hours[25 + 10]  # Monday 26 October, 10:00: punta
    assert monday_ten == {
        "start": "2026-10-26T10:00:00+01:00",
        "energy_period": "P1",
        "power_period": "P1",
    }


async def test_table_of_a_zone(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = await tariff(
        capsys, "--tariff", "3.0TD", "--zone", "canarias",
        "--start", "2026-07-01", "--end", "2026-07-01",
    )  # fmt: skip
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "3.0TD Canarias: hour start, energy period, power period"
    assert len(lines) == 1 + 24
    assert lines[1 + 10] == "2026-07-01T10:00:00+01:00  P1  P1"  # Canary summer time
    assert lines[1 + 8] == "2026-07-01T08:00:00+01:00  P3  P3"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--start", "2026-02-01", "--end", "2026-01-01"], "--end is before --start"),
        (["--start", "2020-01-01", "--end", "2029-01-01"], "longer than 1830 days"),
    ],
)
async def test_ranges_it_refuses(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    status, out, err = await tariff(capsys, "--tariff", "3.0TD", *options)
    assert (status, out) == (1, "")
    assert message in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tariff", "3.0TD", "--start", "2026-13-01", "--end", "2026-12-01"], "is not a date"),
        (["--start", "2026-01-01", "--end", "2026-01-02"], "--tariff"),
        (["--tariff", "4.0TD", "--start", "2026-01-01", "--end", "2026-01-02"], "invalid choice"),
    ],
)
def test_bad_options_say_what_is_wrong(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["tariff", *options])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


async def test_profile_rows_carry_their_period(capsys: pytest.CaptureFixture[str]) -> None:
    async with meter() as url:
        document = await read_json(
            capsys, url, "--profile", "hourly", "--tariff", "3.0TD",
            "--start", "2025-11-18T09:00", "--end", "2025-11-18T11:00",
        )  # fmt: skip
        status = await cli.run(
            ["read", "--url", url, "--password", "7", "--profile", "hourly", "--tariff", "2.0TD",
             "--start", "2025-11-18T09:00", "--end", "2025-11-18T11:00"]
        )  # fmt: skip
        table = capsys.readouterr().out
    # A Tuesday in November (media alta): the hour ending 09:00 starts at 08:00 (P3),
    # the next two are peak (P2).
    assert [row["period"] for row in document["profile"]] == ["P3", "P2", "P2"]
    assert status == 0
    rows = [line.split() for line in table.splitlines() if line.startswith("2025-11-18")]
    assert "2.0TD" in table
    assert [row[-1] for row in rows] == ["P2", "P2", "P1"]  # 08-10 llano, 10-11 punta


async def test_tariff_applies_to_the_profile_only(capsys: pytest.CaptureFixture[str]) -> None:
    status = await cli.run(["read", "--url", "/dev/null", "--tariff", "2.0TD"])
    assert status == 1
    assert "--tariff applies to --profile only" in capsys.readouterr().err


async def test_as_a_module_without_home_assistant() -> None:
    document = await without_home_assistant(
        "tariff", "--tariff", "6.1TD", "--zone", "melilla",
        "--start", "2026-01-06", "--end", "2026-01-06", "--json",
    )  # fmt: skip
    assert {hour["energy_period"] for hour in document["hours"]} == {"P6"}  # Epiphany
