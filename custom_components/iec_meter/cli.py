"""``python -m custom_components.iec_meter read``: read a meter once from a shell.

What a user runs to check wiring, addresses and password before setting up Home
Assistant, or to look at what the meter stored: its load profile (``--profile``), its
billing periods (``--billing``) and contracted powers (``--contracted-powers``). Exit
status: 0 read, 1 unreachable / silent / protocol trouble / a record the meter does not
keep / a bad time range, 2 password rejected (and argparse's usage errors). Needs only
the protocol core and serialx (no Home Assistant).

Each protocol's meter settings become options named after them (``link_address`` →
``--link-address``), so the command offers exactly what the driver needs.

The meter's times are read in ``--time-zone``; without it, in the protocol's own default
(IEC 102: Europe/Madrid, the legal time Spanish utility meters keep whatever the machine
says) or else in this machine's local zone, which is what a user compares an IEC 62056-21
meter's time stamps with.

Live values pass the core's plausibility guard, as in Home Assistant, but one read has no
history: a register's first reading waits there for a second read that agrees, which
would double every read (an IEC 62056-21 readout at 300 baud takes half a minute) to
confirm a number printed once. So here only what one reading can show is checked: each
measurement within its physical bounds, each register finite and not negative. A value
outside them is read once more; implausible again, it is left out (a note on stderr, and
the ``withheld`` list of ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import json
import logging
import os
import sys
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.bus import Bus
from .core.driver import Driver, FieldKind, MeterClient, SettingField
from .core.drivers import DEFAULT_PROTOCOL, DRIVERS, get_driver
from .core.errors import AuthenticationRejected, MeterError, NotSupported
from .core.iec62056.constants import (
    DEFAULT_MAX_READOUT_BYTES,
    MAX_MESSAGE_BYTES,
    MIN_READOUT_BYTES,
)
from .core.iec62056.driver import MAX_READOUT_BYTES, Iec62056Driver
from .core.model import SIGNALS, DeviceClass, Identity, Snapshot
from .core.plausibility import (
    MAX_CURRENT_A,
    MAX_POWER_KW,
    MAX_VOLTAGE_V,
    Limits,
    PlausibilityGuard,
    Reason,
    Rejection,
    limits_from,
)
from .core.records import (
    BILLING_FIELDS,
    BILLING_TOTAL,
    CONTRACTS,
    PROFILE_SERIES,
    BillingPeriod,
    PeriodFlag,
    ProfileKind,
    ProfilePeriod,
)
from .core.tariffs.calendar import TariffCalendar
from .core.timing import DEFAULT_CONTENT_TIMEOUT_MS, DEFAULT_RETRIES, Timing
from .core.transport import BAUDRATES, BYTESIZES, PARITIES, LineSettings
from .tariff_command import (
    add_tariff_options,
    add_tariff_parser,
    calendar_of,
    profile_periods,
    run_tariff,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_AUTH = 2
_MS = 1000
#: The option (and setting) that names the zone of the meter's clock.
TIME_ZONE: Final = "time_zone"
#: Where the machine's zone is set when ``TZ`` is not (a link into the zone database).
LOCALTIME: Final = "/etc/localtime"
_LOCAL: Final = "this machine's local zone"
#: The option that raises the bound of a measurement (the others have fixed bounds).
_LIMIT_OPTIONS: Final = {
    DeviceClass.POWER: MAX_POWER_KW,
    DeviceClass.REACTIVE_POWER: MAX_POWER_KW,
    DeviceClass.VOLTAGE: MAX_VOLTAGE_V,
    DeviceClass.CURRENT: MAX_CURRENT_A,
}
#: How ``--start`` and ``--end`` are written: the meter's wall time, to the minute.
WALL_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M"
#: Profiles ``--profile`` reads.
PROFILE_CHOICES: Final = (ProfileKind.HOURLY.value, ProfileKind.QUARTER_HOURLY.value)
#: ``--billing``: the period under way (133) or the stored closures of a range (134).
BILLING_CURRENT: Final = "current"
BILLING_CLOSURES: Final = "closures"
#: Contract ``--billing`` and ``--contracted-powers`` read when none is given.
DEFAULT_CONTRACT: Final = 1


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def _add_field(group: argparse._ArgumentGroup, field: SettingField, seen: set[str]) -> None:
    if field.key in seen:
        return
    seen.add(field.key)
    kwargs: dict[str, Any] = {"default": None, "dest": field.key}
    if field.kind in (FieldKind.NUMBER, FieldKind.SECRET):
        kwargs["type"] = int
    elif field.kind is FieldKind.BOOLEAN:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif field.kind is FieldKind.SELECT and not field.custom:
        kwargs["choices"] = field.options
    shown = "" if field.default is None else f" (default {field.default})"
    group.add_argument(_option(field.key), help=f"{field.key.replace('_', ' ')}{shown}", **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the ``read`` command."""
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.iec_meter",
        description="Read an electricity meter once (IEC 60870-5-102 REE, IEC 62056-21).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser(
        "read",
        help="read identity, clock and current values, or the meter's records",
        description="Read identity, clock and current values; or, with --profile, --billing "
        "or --contracted-powers, only that record of the meter.",
    )
    read.add_argument(
        "--protocol", choices=list(DRIVERS), default=DEFAULT_PROTOCOL, help="default %(default)s"
    )
    read.add_argument(
        "--url",
        required=True,
        help="serial port (/dev/ttyUSB0), socket://host:port or rfc2217://host:port",
    )
    line = read.add_argument_group("line (defaults: the protocol's usual settings)")
    line.add_argument("--baudrate", type=int, choices=BAUDRATES)
    line.add_argument("--bytesize", type=int, choices=BYTESIZES)
    line.add_argument("--parity", choices=PARITIES, help="N, E or O")
    line.add_argument("--stopbits", type=float, choices=(1.0, 2.0))
    line.add_argument(
        "--timeout", type=float, help="seconds to wait for each answer (default: the protocol's)"
    )
    line.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="tries after the first")
    line.add_argument(
        "--settle-delay", type=float, default=0.0, help="seconds to wait after connecting"
    )
    line.add_argument(
        "--content-timeout",
        type=float,
        default=DEFAULT_CONTENT_TIMEOUT_MS / _MS,
        help='seconds a meter may keep answering "no data yet" (default %(default)g)',
    )
    read.add_argument(
        _option(TIME_ZONE),
        dest=TIME_ZONE,
        help="zone of the meter's clock and time stamps, e.g. Europe/Madrid (default: "
        f"{_zone_defaults()}; this machine's zone is {zone_name(local_zone())})",
    )
    seen: set[str] = {TIME_ZONE}  # one option for every protocol, above
    for driver in DRIVERS.values():
        group = read.add_argument_group(f"{driver.title} meter")
        for field in driver.meter_fields:
            _add_field(group, field, seen)
        if isinstance(driver, Iec62056Driver):
            group.add_argument(
                _option(MAX_READOUT_BYTES),
                type=int,
                dest=MAX_READOUT_BYTES,
                help="largest data message accepted, bytes; it also sets how long the "
                f"message may take ({MIN_READOUT_BYTES}-{MAX_MESSAGE_BYTES}, default "
                f"{DEFAULT_MAX_READOUT_BYTES})",
            )
    _add_limit_options(read)
    _add_record_options(read)
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.add_argument(
        "--verbose", "-v", action="store_true", help="log every frame (passwords masked)"
    )
    add_tariff_parser(commands)
    return parser


def _add_limit_options(read: argparse.ArgumentParser) -> None:
    limits = Limits()
    group = read.add_argument_group(
        "plausibility (live values)",
        "A measurement outside its bounds (power within the maximum power either way), or "
        "a register negative or not a number, is read once more and left out if it is "
        "implausible again: a note on stderr, and --json lists it under withheld.",
    )
    for key, default, what in (
        (MAX_POWER_KW, limits.max_power_kw, "largest active or reactive power, kW"),
        (MAX_VOLTAGE_V, limits.max_voltage_v, "largest voltage, V"),
        (MAX_CURRENT_A, limits.max_current_a, "largest current, A"),
    ):
        group.add_argument(_option(key), type=float, dest=key, help=f"{what} (default {default:g})")


def _zone_defaults() -> str:
    """Each protocol's default zone, as the help of ``--time-zone`` names them."""
    named = []
    for driver in DRIVERS.values():
        zone = next((f.default for f in driver.meter_fields if f.key == TIME_ZONE), None)
        named.append(f"{driver.title} {zone or _LOCAL}")
    return ", ".join(named)


def local_zone() -> tzinfo:
    """This machine's time zone: ``TZ``, else the zone ``/etc/localtime`` links to.

    Without a zone name (a ``TZ`` rule such as ``CET-1CEST``, a copied zone file) the
    zone file's rules, else the C library's present offset (no daylight-saving change).
    """
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, ZoneInfoNotFoundError):
            return _present_offset()
    key = os.path.realpath(LOCALTIME).partition("/zoneinfo/")[2]
    try:
        if key:
            return ZoneInfo(key)
        with open(LOCALTIME, "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return _present_offset()


def _present_offset() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def zone_name(zone: tzinfo) -> str:
    """A zone as the user would write it (``Europe/Madrid``; ``UTC+01:00`` for an offset)."""
    return str(zone.key) if isinstance(zone, ZoneInfo) else str(zone)


def wall_time(text: str) -> datetime:
    """A naive wall time written YYYY-MM-DDTHH:MM (the zone is attached later)."""
    try:
        return datetime.strptime(text, WALL_TIME_FORMAT)  # noqa: DTZ007 - zone attached later
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected the meter's wall time as YYYY-MM-DDTHH:MM, got {text!r}"
        ) from None


def _add_record_options(read: argparse.ArgumentParser) -> None:
    records = read.add_argument_group(
        "records (instead of identity, clock and values)",
        "Read one of the meter's records; --profile, --billing and --contracted-powers "
        "exclude each other. Times are the meter's wall time in --time-zone, written "
        "YYYY-MM-DDTHH:MM; a time that occurs twice (the October change) is its first, "
        "summer-time occurrence, and a time the spring change skips is an hour later. "
        "Energies in kWh / kvarh, powers in kW.",
    )
    which = records.add_mutually_exclusive_group()
    which.add_argument(
        "--profile",
        choices=PROFILE_CHOICES,
        help="the load profile: the periods whose end lies in [--start, --end]",
    )
    which.add_argument(
        "--billing",
        choices=(BILLING_CURRENT, BILLING_CLOSURES),
        help="the billing period under way, or the closures whose end lies in "
        "[--start, --end]; per tariff period (0 the total, 1..6 P1..P6)",
    )
    which.add_argument(
        "--contracted-powers",
        action="store_true",
        help="the contracted power of each tariff period",
    )
    records.add_argument(
        "--contract",
        type=int,
        choices=CONTRACTS,
        help=f"contract of --billing and --contracted-powers (default {DEFAULT_CONTRACT})",
    )
    records.add_argument("--start", type=wall_time, help="first period end, YYYY-MM-DDTHH:MM")
    records.add_argument("--end", type=wall_time, help="last period end, YYYY-MM-DDTHH:MM")
    records.add_argument(
        "--absolute",
        action="store_true",
        help="--profile: the registers at each period's end instead of the period's energy",
    )
    add_tariff_options(records, "--profile: add each period's tariff period (P1..P6) under")


def _settings(driver: Driver[Any], args: argparse.Namespace) -> dict[str, Any]:
    """The driver's meter settings: the options given, else the fields' defaults."""
    values: dict[str, Any] = {}
    for field in driver.meter_fields:
        value = getattr(args, field.key, None)
        if value is None:
            value = field.default
        if value is None and field.kind in (FieldKind.NUMBER, FieldKind.SECRET):
            value = 1  # the usual link/point address and password of a test meter
        values[field.key] = value
    readout = getattr(args, MAX_READOUT_BYTES, None)
    if readout is not None:
        # A setting of stored data without a form field yet: only this option sets it.
        if not isinstance(driver, Iec62056Driver):
            raise ValueError(
                f"{_option(MAX_READOUT_BYTES)} applies to --protocol {Iec62056Driver.name} only"
            )
        values[MAX_READOUT_BYTES] = readout
    return values


def _meter_zone(values: dict[str, Any], args: argparse.Namespace) -> tzinfo:
    """The zone of the meter's clock: the option, else the driver's, else the machine's."""
    # The option applies to every protocol (not only to those with a time zone field).
    name = args.time_zone or values.get(TIME_ZONE)
    return local_zone() if name is None else ZoneInfo(str(name))


def _bus(driver: Driver[Any], args: argparse.Namespace) -> Bus:
    """The line the options describe (not opened yet)."""
    defaults = driver.line_defaults
    line = LineSettings(
        url=args.url,
        baudrate=args.baudrate or defaults.baudrate,
        bytesize=args.bytesize or defaults.bytesize,
        parity=args.parity or defaults.parity,
        stopbits=args.stopbits or float(defaults.stopbits),
        settle_delay=args.settle_delay,
    )
    timeout_ms = (
        driver.default_request_timeout_ms if args.timeout is None else round(args.timeout * _MS)
    )
    timing = Timing(
        request_timeout_ms=timeout_ms,
        retries=args.retries,
        content_timeout_ms=round(args.content_timeout * _MS),
    )
    return Bus(line, timing)


@dataclass(frozen=True, slots=True)
class MeterRead:
    """What one read of the live values returned, and what the guard left out of it."""

    snapshot: Snapshot
    #: Each signal left out, with the value it rejected last (the re-read's).
    withheld: dict[str, Rejection]
    limits: Limits
    #: The read again of doubtful values failed (they were left out after one read).
    reread_failed: bool = False


def _limits(args: argparse.Namespace) -> Limits:
    return limits_from(
        {key: getattr(args, key, None) for key in (MAX_POWER_KW, MAX_VOLTAGE_V, MAX_CURRENT_A)}
    )


async def read_meter(args: argparse.Namespace) -> MeterRead:
    """Connect, read everything once through the guard, log out and close."""
    driver = get_driver(args.protocol)
    values = _settings(driver, args)
    zone = _meter_zone(values, args)
    settings = driver.settings(values)
    guard = PlausibilityGuard(_limits(args), single_read=True)
    async with _bus(driver, args) as bus:
        client = driver.client(bus, settings, zone)
        client.guard = guard
        snapshot = await client.read_snapshot()
    withheld = {key: guard.last_rejections[key] for key in sorted(guard.withheld)}
    return MeterRead(snapshot, withheld, guard.limits, guard.failed_rereads > 0)


# --- the meter's records ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """The record ``read`` asks for, its range as aware times, and the contract.

    One of ``profile`` (with ``absolute``) and ``billing`` is set, or neither for the
    contracted powers.
    """

    profile: ProfileKind | None
    absolute: bool
    billing: str | None
    contract: int
    start: datetime | None
    end: datetime | None
    #: ``--tariff``: the calendar that names each profile period's tariff period.
    calendar: TariffCalendar | None = None


@dataclass(frozen=True, slots=True)
class Records:
    """What a records read asked for and returned (only the record asked for is set)."""

    query: RecordQuery
    profile: list[ProfilePeriod] | None = None
    billing: list[BillingPeriod] | None = None
    contracted_powers: dict[int, float] | None = None


def wants_records(args: argparse.Namespace) -> bool:
    """Whether the options ask for a record instead of identity, clock and values."""
    return bool(args.profile or args.billing or args.contracted_powers)


def localize(wall: datetime, zone: tzinfo) -> datetime:
    """A naive wall time in ``zone``: a repeated hour is its first (summer) occurrence.

    A time the spring change skips is read with the offset before the change (an hour
    later on the clock); the round trip through UTC gives it its real offset.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def record_query(args: argparse.Namespace, zone: tzinfo) -> RecordQuery:
    """Check the record options together; ValueError says what is wrong."""
    ranged = args.profile is not None or args.billing == BILLING_CLOSURES
    if ranged and (args.start is None or args.end is None):
        what = f"--profile {args.profile}" if args.profile else "--billing closures"
        raise ValueError(f"{what} needs --start and --end (YYYY-MM-DDTHH:MM)")
    if not ranged and (args.start is not None or args.end is not None):
        raise ValueError("--start and --end apply to --profile and --billing closures only")
    if args.absolute and not args.profile:
        raise ValueError("--absolute applies to --profile only")
    if args.contract is not None and args.profile:
        raise ValueError("--contract applies to --billing and --contracted-powers only")
    if args.tariff is not None and not args.profile:
        raise ValueError("--tariff applies to --profile only")
    start = None if args.start is None else localize(args.start, zone)
    end = None if args.end is None else localize(args.end, zone)
    if start is not None and end is not None and start > end:
        raise ValueError(
            f"--start {start.isoformat()} is after --end {end.isoformat()}: nothing to read"
        )
    return RecordQuery(
        profile=None if args.profile is None else ProfileKind(args.profile),
        absolute=args.absolute,
        billing=args.billing,
        contract=DEFAULT_CONTRACT if args.contract is None else args.contract,
        start=start,
        end=end,
        calendar=calendar_of(args),
    )


async def _read_record(client: MeterClient[Any], query: RecordQuery) -> Records:
    # The client gets instants in UTC: two times of the repeated October hour compare
    # by their wall time when they share the meter's zone, and chunks step by instants.
    start = None if query.start is None else query.start.astimezone(UTC)
    end = None if query.end is None else query.end.astimezone(UTC)
    if query.profile is not None and start is not None and end is not None:
        periods = await client.read_profile(query.profile, start, end, absolute=query.absolute)
        return Records(query, profile=periods)
    if query.billing is not None:
        return Records(query, billing=await client.read_billing(query.contract, start, end))
    powers = await client.read_contracted_powers(query.contract)
    return Records(query, contracted_powers=powers)


async def read_records(args: argparse.Namespace) -> Records:
    """Connect, read the one record asked for (nothing else), log out and close."""
    driver = get_driver(args.protocol)
    if not driver.keeps_records:
        raise NotSupported(f"{driver.title} meters keep no records this command can read")
    values = _settings(driver, args)
    zone = _meter_zone(values, args)
    settings = driver.settings(values)
    query = record_query(args, zone)
    async with _bus(driver, args) as bus:
        return await _read_record(driver.client(bus, settings, zone), query)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def identity_json(driver: Driver[Any], identity: Identity) -> dict[str, Any]:
    """The ``identity`` of ``--json``: manufacturer, ident (model) and serial.

    The same three keys for every protocol, except the one that predates the choice
    (:data:`DEFAULT_PROTOCOL`, IEC 102), whose first release printed its own identity
    fields (manufacturer code, serial number, standard date): scripts read those.
    """
    if driver.name == DEFAULT_PROTOCOL:
        return dict(identity.fields)
    return {
        "manufacturer": identity.manufacturer,
        "ident": identity.model,
        "serial": identity.serial,
    }


def snapshot_json(
    driver: Driver[Any], snapshot: Snapshot, withheld: Sequence[str] = ()
) -> dict[str, Any]:
    """The document of ``--json``: the signals delivered, identity, time tags and data.

    ``withheld``: the signals the meter sent but the guard found implausible twice (left
    out of the signals). ``obis`` (protocols that label their values): every value by
    the address the meter gave it, as it came, ``{"value": number or text, "unit": text
    or null}``.
    """
    reading = snapshot.reading
    document: dict[str, Any] = {key: _plain(value) for key, value in reading.values.items()}
    identity = snapshot.identity
    document["identity"] = None if identity is None else identity_json(driver, identity)
    document["timestamp"] = _plain(reading.timestamp)
    document["clock"] = _plain(snapshot.clock)
    document["withheld"] = list(withheld)
    if driver.labelled_data or reading.data:
        document["obis"] = {
            address: {"value": item.value, "unit": item.unit}
            for address, item in reading.data.items()
        }
    return document


def _text(value: Any, precision: int | None) -> str:
    if value is None:
        return "invalid"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M %Z}"
    if isinstance(value, float):
        return f"{value:.{max(precision or 0, 3)}f}".rstrip("0").rstrip(".")
    return str(value)


def print_table(
    driver: Driver[Any], snapshot: Snapshot, out: TextIO, withheld: Collection[str] = ()
) -> None:
    """Human-readable report: identity, clock and one line per signal and labelled value.

    A signal in ``withheld`` (found implausible) reads "withheld" instead of its value.
    """
    head: list[tuple[str, str]] = []
    identity = snapshot.identity
    if identity is not None:
        head += [
            (name.replace("_", " ").capitalize(), str(v)) for name, v in identity.fields.items()
        ]
    if snapshot.clock is not None:
        drift = (snapshot.clock - datetime.now(snapshot.clock.tzinfo)).total_seconds()
        head.append(("Meter clock", f"{snapshot.clock:%Y-%m-%d %H:%M:%S %Z} ({drift:+.0f} s)"))
    reading = snapshot.reading
    if reading.timestamp is not None:
        head.append(("Values at", f"{reading.timestamp:%Y-%m-%d %H:%M %Z}"))
    width = max((len(label) for label, _ in head), default=0)
    lines = [f"{label:<{width}}  {value}" for label, value in head]
    keys = [key for key in SIGNALS if key in driver.signals or key in reading.values]
    keys += [key for key in withheld if key not in keys]
    texts = {
        key: _text(reading.values[key], SIGNALS[key].precision)
        if key in reading.values
        else "withheld"
        if key in withheld
        else "not provided"
        for key in keys
    }
    width = max(len(key) for key in keys)
    value = max(14, *(len(text) for text in texts.values()))  # a time stamp is wider
    lines += [
        "",
        f"{'signal':<{width}}  {'value':>{value}}  unit",
        f"{'-' * width}  {'-' * value}  ----",
    ]
    lines += [
        f"{key:<{width}}  {texts[key]:>{value}}  {SIGNALS[key].unit or ''}".rstrip() for key in keys
    ]
    if reading.data:
        width = max(len(address) for address in reading.data)
        lines += ["", f"{'address':<{width}}  {'value':>14}  unit"]
        lines += [
            f"{address:<{width}}  {item.value!s:>14}  {item.unit or ''}"
            for address, item in reading.data.items()
        ]
    out.write("\n".join(lines) + "\n")


def _number(value: float | None) -> float | int | None:
    """A register value as JSON prints it: whole values as integers."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _record_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return _number(value)
    return value


def period_flags(period: ProfilePeriod) -> list[str]:
    """Names of the flags set on any series of the period, in :class:`PeriodFlag` order."""
    flags = period.all_flags
    return [flag.value for flag in PeriodFlag if flag in flags]


def profile_json(
    periods: Sequence[ProfilePeriod], query: RecordQuery | None = None
) -> dict[str, Any]:
    """``{"profile": [...]}``: each period's end, its six series, its flags (and period)."""
    rows: list[dict[str, Any]] = [
        {
            "end": period.end.isoformat(),
            **{key: _number(period.values.get(key)) for key in PROFILE_SERIES},
            "flags": period_flags(period),
        }
        for period in periods
    ]
    if query is not None:
        for row, name in zip(rows, _tariff_periods(query, periods), strict=False):
            row["period"] = name
    return {"profile": rows}


def _tariff_periods(query: RecordQuery, periods: Sequence[ProfilePeriod]) -> list[str]:
    """Each period's tariff period under ``--tariff`` (none without it)."""
    if query.calendar is None or query.profile is None:
        return []
    return profile_periods(query.calendar, periods, query.profile.period)


def billing_json(periods: Sequence[BillingPeriod]) -> dict[str, Any]:
    """``{"billing": [...]}``: one object per tariff period, keys as :data:`BILLING_FIELDS`."""
    return {
        "billing": [
            {key: _record_value(getattr(period, key)) for key in BILLING_FIELDS}
            for period in periods
        ]
    }


def contracted_powers_json(powers: dict[int, float]) -> dict[str, Any]:
    """``{"contracted_powers": {"1": kW, ...}}`` (JSON keys are text)."""
    return {"contracted_powers": {str(period): _number(kw) for period, kw in powers.items()}}


def records_json(records: Records) -> dict[str, Any]:
    """The document of ``--json`` for the record that was read."""
    if records.profile is not None:
        return profile_json(records.profile, records.query)
    if records.billing is not None:
        return billing_json(records.billing)
    return contracted_powers_json(records.contracted_powers or {})


def _cell(value: float | None) -> str:
    number = _number(value)
    if number is None:
        return "invalid"
    if isinstance(number, int):
        return str(number)
    return f"{number:.3f}".rstrip("0").rstrip(".")


def _when(value: datetime | None) -> str:
    """A record's time in the meter's zone with its offset, to the minute."""
    return "-" if value is None else value.isoformat(sep=" ", timespec="minutes")


def _render(
    header: Sequence[str], rows: Sequence[Sequence[str]], left: frozenset[int]
) -> list[str]:
    """Header, rule and rows; the columns in ``left`` (text) aligned left, numbers right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            f"{text:<{width}}" if i in left else f"{text:>{width}}"
            for i, (text, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), line(["-" * width for width in widths]), *map(line, rows)]


#: Column titles of the profile table, one per series of :data:`PROFILE_SERIES`.
_PROFILE_COLUMNS: Final = (
    "import kWh",
    "export kWh",
    "Q1 kvarh",
    "Q2 kvarh",
    "Q3 kvarh",
    "Q4 kvarh",
)


def _span(query: RecordQuery) -> str:
    return f"{_when(query.start)} to {_when(query.end)}"


def print_profile(query: RecordQuery, periods: Sequence[ProfilePeriod], out: TextIO) -> None:
    """One row per period: its end (local time and offset), the six series, the flags."""
    kind = str(query.profile).capitalize()
    what = "registers at the end" if query.absolute else "energy"
    lines = [f"{kind} load profile: {what} of the periods ending {_span(query)}", ""]
    if not periods:
        lines.append("The meter sent no period for this range.")
    else:
        rows = [
            [
                _when(period.end),
                *(_cell(period.values.get(key)) for key in PROFILE_SERIES),
                ",".join(period_flags(period)),
            ]
            for period in periods
        ]
        titles = ["end", *_PROFILE_COLUMNS, "flags"]
        if names := _tariff_periods(query, periods):
            titles.append(str(query.calendar.tariff) if query.calendar else "period")
            for row, name in zip(rows, names, strict=True):
                row.append(name)
        lines += _render(titles, rows, frozenset({0, 7}))
    out.write("\n".join(lines) + "\n")


def _period_label(period: int) -> str:
    return "Total" if period == BILLING_TOTAL else f"P{period}"


#: Column titles of the billing table ("+": the energy within the billing period).
_BILLING_COLUMNS: Final = (
    "period",
    "start",
    "end",
    "active kWh",
    "active +",
    "inductive kvarh",
    "inductive +",
    "capacitive kvarh",
    "capacitive +",
    "max kW",
    "max at",
    "excess kW",
)


def print_billing(query: RecordQuery, periods: Sequence[BillingPeriod], out: TextIO) -> None:
    """One row per billing object: Total or P1..P6, its dates, energies and demand."""
    if query.billing == BILLING_CLOSURES:
        what = f"billing closures ending {_span(query)}"
    else:
        what = "current billing period"
    lines = [f"Contract {query.contract}, {what}", ""]
    if not periods:
        lines.append("The meter sent no billing period.")
    else:
        rows = [
            [
                _period_label(item.period),
                _when(item.start),
                _when(item.end),
                _cell(item.active_energy),
                _cell(item.active_energy_increment),
                _cell(item.reactive_inductive_energy),
                _cell(item.reactive_inductive_energy_increment),
                _cell(item.reactive_capacitive_energy),
                _cell(item.reactive_capacitive_energy_increment),
                _cell(item.max_demand),
                _when(item.max_demand_time),
                _cell(item.excess_power),
            ]
            for item in periods
        ]
        lines += _render(_BILLING_COLUMNS, rows, frozenset({0, 1, 2, 10}))
        lines += ["", "+: the energy within the billing period; max: the highest demand, and when."]
    out.write("\n".join(lines) + "\n")


def print_contracted_powers(query: RecordQuery, powers: dict[int, float], out: TextIO) -> None:
    """One row per tariff period: P1..P6 and its contracted power."""
    rows = [[_period_label(period), _cell(kw)] for period, kw in powers.items()]
    lines = [f"Contract {query.contract}, contracted powers", ""]
    lines += _render(["period", "kW"], rows, frozenset({0}))
    out.write("\n".join(lines) + "\n")


def print_records(records: Records, out: TextIO) -> None:
    """The human-readable table of the record that was read."""
    query = records.query
    if records.profile is not None:
        print_profile(query, records.profile, out)
    elif records.billing is not None:
        print_billing(query, records.billing, out)
    else:
        print_contracted_powers(query, records.contracted_powers or {}, out)


#: How the IEC 62056-21 client names its readout cap when a data message passes it.
_READOUT_CAP: Final = "(the readout size limit)"


def _hint(err: MeterError) -> str | None:
    """The error's hint; the option to raise where the readout cap stopped a read."""
    if _READOUT_CAP in str(err):
        return (
            f"The meter's readout is longer than the cap: raise {_option(MAX_READOUT_BYTES)} "
            f"(up to {MAX_MESSAGE_BYTES})."
        )
    return err.hint


def _fail(err: Exception | str, hint: str | None) -> None:
    print(f"error: {err}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


async def run(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "tariff":
        try:
            run_tariff(args, sys.stdout)
        except ValueError as err:
            _fail(err, None)
            return EXIT_FAILED
        return EXIT_OK
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        report = await _read_report(args)
    except AuthenticationRejected as err:
        _fail(f"password rejected: {err}", err.hint)
        return EXIT_AUTH
    except MeterError as err:
        _fail(err, _hint(err))
        return EXIT_FAILED
    except (ValueError, ZoneInfoNotFoundError) as err:
        _fail(err, None)
        return EXIT_FAILED
    report(sys.stdout)
    return EXIT_OK


async def _read_report(args: argparse.Namespace) -> Callable[[TextIO], None]:
    """Read what the options ask for; return what prints it (JSON or a table)."""
    if wants_records(args):
        records = await read_records(args)
        if args.json:
            return lambda out: _dump(records_json(records), out)
        return lambda out: print_records(records, out)
    if args.tariff is not None:
        raise ValueError("--tariff applies to --profile only")
    read = await read_meter(args)
    driver = get_driver(args.protocol)
    again = "reading it once more failed" if read.reread_failed else "so was it when read again"
    for key, rejection in read.withheld.items():
        why, hint = _rejected(rejection, read.limits)
        print(f"note: {key} left out as implausible: {why}, and {again}{hint}", file=sys.stderr)
    snapshot, withheld = read.snapshot, list(read.withheld)
    if args.json:
        return lambda out: _dump(snapshot_json(driver, snapshot, withheld), out)
    return lambda out: print_table(driver, snapshot, out, withheld)


def _rejected(rejection: Rejection, limits: Limits) -> tuple[str, str]:
    """Why the guard left a value out, and the option that would let it through."""
    signal = SIGNALS[rejection.signal]
    unit = f" {signal.unit}" if signal.unit else ""
    value = f"{rejection.value:g}{unit}"
    if rejection.reason != Reason.OUT_OF_RANGE:
        # Judged beside the read's other values, not alone (the guard's other rules).
        return f"{value} ({rejection.reason.replace('_', ' ')})", ""
    ranges = limits.accepted(signal)
    if ranges is None:  # a register: the only bounds of one read
        return f"{value} is negative or not a number", ""
    option = _LIMIT_OPTIONS.get(signal.device_class)
    hint = f" ({_option(option)} raises the bound)" if option else ""
    accepted = " or ".join(f"{low:g} to {high:g}" for low, high in ranges)
    return f"{value} is outside {accepted}{unit}", hint


def _dump(document: dict[str, Any], out: TextIO) -> None:
    json.dump(document, out)
    out.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m custom_components.iec_meter``."""
    try:
        return asyncio.run(run(argv))
    except BrokenPipeError:
        # The reader left early (``| head``): nothing is wrong with the meter. Point
        # stdout at nothing so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
