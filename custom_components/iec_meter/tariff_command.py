"""The ``tariff`` command, and the ``--tariff`` of ``read --profile``.

``tariff`` prints the period of every hour of a date range under a Spanish access
tariff, so a user can check the calendar against their bill. Like ``read`` it needs
only the standard library (the calendar lives in :mod:`.core.tariffs`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, timedelta
import json
from typing import Any, TextIO

from .core.records import ProfilePeriod
from .core.tariffs.calendar import TariffCalendar
from .core.tariffs.model import Tariff, Zone

#: Longest range ``tariff`` prints, so a typo in a year cannot flood the terminal.
MAX_DAYS = 366 * 5


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_tariff_options(
    parser: argparse._ActionsContainer, what: str, *, required: bool = False
) -> None:
    """``--tariff`` and ``--zone``: the choice of calendar, shared by both commands."""
    parser.add_argument(
        "--tariff",
        choices=[str(tariff) for tariff in Tariff],
        required=required,
        help=f"{what} this Spanish access tariff",
    )
    parser.add_argument(
        "--zone",
        choices=[str(zone) for zone in Zone],
        default=str(Zone.PENINSULA),
        help="--tariff: electrical zone of the supply (default peninsula)",
    )


def add_tariff_parser(commands: Any) -> None:
    """Register ``tariff`` among the subcommands."""
    tariff = commands.add_parser(
        "tariff",
        help="print the tariff period of every hour of a date range",
        description="Print the energy and power period of every hour from the start of "
        "--start to the end of --end (local time of the zone), under a Spanish access "
        "tariff. Saturdays, Sundays and the nine fixed-date national holidays are all "
        "in the cheapest period; Good Friday and regional holidays are working days.",
    )
    add_tariff_options(tariff, "the periods of", required=True)
    tariff.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD")
    tariff.add_argument("--end", type=_day, required=True, help="last day, YYYY-MM-DD")
    tariff.add_argument("--json", action="store_true", help="print JSON instead of a table")


def calendar_of(args: argparse.Namespace) -> TariffCalendar | None:
    """The calendar ``--tariff`` and ``--zone`` choose; None without ``--tariff``."""
    if args.tariff is None:
        return None
    return TariffCalendar(Tariff(args.tariff), Zone(args.zone))


def tariff_document(calendar: TariffCalendar, first: date, last: date) -> dict[str, Any]:
    """The JSON of ``tariff --json``."""
    return {
        "tariff": str(calendar.tariff),
        "zone": str(calendar.zone),
        "hours": [
            {
                "start": hour.start.isoformat(),
                "energy_period": str(hour.energy_period),
                "power_period": str(hour.power_period),
            }
            for hour in calendar.hours(first, last)
        ],
    }


def run_tariff(args: argparse.Namespace, out: TextIO) -> None:
    """Print the periods; raise ValueError for a range the command refuses."""
    calendar = TariffCalendar(Tariff(args.tariff), Zone(args.zone))
    first, last = args.start, args.end
    if last < first:
        raise ValueError("--end is before --start")
    if (last - first) > timedelta(days=MAX_DAYS):
        raise ValueError(f"the range is longer than {MAX_DAYS} days")
    if args.json:
        json.dump(tariff_document(calendar, first, last), out)
        out.write("\n")
        return
    zone = str(calendar.zone).capitalize()
    out.write(f"{calendar.tariff} {zone}: hour start, energy period, power period\n")
    for hour in calendar.hours(first, last):
        out.write(f"{hour.start.isoformat()}  {hour.energy_period}  {hour.power_period}\n")


def profile_periods(
    calendar: TariffCalendar, periods: Sequence[ProfilePeriod], length: timedelta
) -> list[str]:
    """The energy period of each profile row: that of the row's start (its end - length)."""
    return [str(calendar.energy_period(period.end - length)) for period in periods]
