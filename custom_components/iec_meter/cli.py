"""``python -m custom_components.iec_meter read``: read a meter once from a shell.

What a user runs to check wiring, addresses and password before setting up Home
Assistant. Exit status: 0 read, 1 unreachable / silent / protocol trouble, 2 password
rejected. Needs only the protocol core and serialx (no Home Assistant).

Each protocol's meter settings become options named after them (``link_address`` →
``--link-address``), so the command offers exactly what the driver needs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import datetime
import json
import logging
import sys
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.bus import Bus
from .core.driver import Driver, FieldKind, SettingField
from .core.drivers import DEFAULT_PROTOCOL, DRIVERS, get_driver
from .core.errors import AuthenticationRejected, MeterError
from .core.model import SIGNALS, Identity, Snapshot
from .core.timing import DEFAULT_CONTENT_TIMEOUT_MS, DEFAULT_RETRIES, Timing
from .core.transport import BAUDRATES, BYTESIZES, PARITIES, LineSettings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_AUTH = 2
_MS = 1000
#: Zone of the meter's clock when neither the option nor the driver names one.
_DEFAULT_ZONE = "UTC"


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
    read = commands.add_parser("read", help="read identity, clock and current values")
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
    seen: set[str] = set()
    for driver in DRIVERS.values():
        group = read.add_argument_group(f"{driver.title} meter")
        for field in driver.meter_fields:
            _add_field(group, field, seen)
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.add_argument(
        "--verbose", "-v", action="store_true", help="log every frame (passwords masked)"
    )
    return parser


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
    return values


async def read_meter(args: argparse.Namespace) -> Snapshot:
    """Connect, read everything once, log out and close."""
    driver = get_driver(args.protocol)
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
    settings = _settings(driver, args)
    # The option applies to every protocol (not only to those with a time zone field).
    zone = ZoneInfo(str(args.time_zone or settings.get("time_zone") or _DEFAULT_ZONE))
    async with Bus(line, timing) as bus:
        client = driver.client(bus, driver.settings(settings), zone)
        return await client.read_snapshot()


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


def snapshot_json(driver: Driver[Any], snapshot: Snapshot) -> dict[str, Any]:
    """The document of ``--json``: the signals delivered, identity, time tags and data.

    ``obis`` (protocols that label their values): every value by the address the meter
    gave it, ``{"value": number or text, "unit": text or null}``.
    """
    reading = snapshot.reading
    document: dict[str, Any] = {key: _plain(value) for key, value in reading.values.items()}
    identity = snapshot.identity
    document["identity"] = None if identity is None else identity_json(driver, identity)
    document["timestamp"] = _plain(reading.timestamp)
    document["clock"] = _plain(snapshot.clock)
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


def print_table(driver: Driver[Any], snapshot: Snapshot, out: TextIO) -> None:
    """Human-readable report: identity, clock and one line per signal and labelled value."""
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
    texts = {
        key: _text(reading.values[key], SIGNALS[key].precision)
        if key in reading.values
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


def _fail(err: Exception | str, hint: str | None) -> None:
    print(f"error: {err}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


async def run(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        snapshot = await read_meter(args)
    except AuthenticationRejected as err:
        _fail(f"password rejected: {err}", err.hint)
        return EXIT_AUTH
    except MeterError as err:
        _fail(err, err.hint)
        return EXIT_FAILED
    except (ValueError, ZoneInfoNotFoundError) as err:
        _fail(err, None)
        return EXIT_FAILED
    driver = get_driver(args.protocol)
    if args.json:
        json.dump(snapshot_json(driver, snapshot), sys.stdout)
        sys.stdout.write("\n")
    else:
        print_table(driver, snapshot, sys.stdout)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m custom_components.iec_meter``."""
    return asyncio.run(run(argv))
