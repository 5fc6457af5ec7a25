"""``python -m custom_components.iec_meter read``: read a meter once from a shell.

What a user runs to check wiring, addresses and password before setting up Home
Assistant. Exit status: 0 read, 1 unreachable / silent / protocol trouble, 2 password
rejected. Needs only the protocol core (no Home Assistant imports).
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

from .protocol.errors import (
    AuthenticationRejected,
    CannotConnect,
    MeterBusy,
    MeterError,
    NoResponse,
    NotSupported,
)
from .protocol.iec102 import Iec102Client, MeterAddress, MeterSnapshot, Timing
from .protocol.iec102.constants import (
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_RETRIES,
    DEFAULT_TIME_ZONE,
)
from .protocol.iec102.timecodec import now_in
from .protocol.reading import SIGNAL_KEYS, SIGNAL_UNITS
from .protocol.transport import BAUDRATES, BYTESIZES, PARITIES, LineSettings

#: What to check, by error: the point of this command is to find out.
_HINTS: dict[type[MeterError], str] = {
    CannotConnect: "check the port path or the converter's host and port, and that "
    "nothing else (another program, Home Assistant) has the port open",
    NoResponse: "check the link address, baud rate, parity and wiring",
    MeterBusy: "another client may be talking to the meter; try again later",
    NotSupported: "this meter does not offer that request",
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_AUTH = 2
_MS = 1000


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the ``read`` command."""
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.iec_meter",
        description="Read an electricity meter once (IEC 60870-5-102, REE profile).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("read", help="read identity, clock and instantaneous values")
    read.add_argument(
        "--url",
        required=True,
        help="serial port (/dev/ttyUSB0), socket://host:port or rfc2217://host:port",
    )
    read.add_argument("--baudrate", type=int, default=9600, choices=BAUDRATES)
    read.add_argument("--bytesize", type=int, default=8, choices=BYTESIZES)
    read.add_argument("--parity", default="N", choices=PARITIES, help="N, E or O")
    read.add_argument("--stopbits", type=float, default=1.0, choices=(1.0, 2.0))
    read.add_argument("--link-address", type=int, default=1, help="link address (DER)")
    read.add_argument("--point-address", type=int, default=1, help="measuring point address")
    read.add_argument("--password", type=int, default=1, help="read-only password (number)")
    read.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_REQUEST_TIMEOUT_MS / _MS,
        help="seconds to wait for each answer (default %(default)s)",
    )
    read.add_argument("--retries", type=int, default=DEFAULT_RETRIES, help="tries after the first")
    read.add_argument(
        "--settle-delay", type=float, default=0.0, help="seconds to wait after connecting"
    )
    read.add_argument("--time-zone", default=DEFAULT_TIME_ZONE, help="zone of the meter clock")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.add_argument(
        "--verbose", "-v", action="store_true", help="log every frame (password masked)"
    )
    return parser


async def read_meter(args: argparse.Namespace) -> MeterSnapshot:
    """Connect, read everything once, log out and close."""
    line = LineSettings(
        url=args.url,
        baudrate=args.baudrate,
        bytesize=args.bytesize,
        parity=args.parity,
        stopbits=args.stopbits,
        settle_delay=args.settle_delay,
    )
    meter = MeterAddress(args.link_address, args.point_address, args.password)
    timing = Timing(request_timeout_ms=round(args.timeout * _MS), retries=args.retries)
    client = Iec102Client.for_line(line, meter, timing=timing, tz=ZoneInfo(args.time_zone))
    async with client:
        return await client.read_snapshot()


def snapshot_json(snapshot: MeterSnapshot) -> dict[str, Any]:
    """The JSON document of ``--json``: the 24 signals, identity, timestamp and clock."""
    document: dict[str, Any] = dict(snapshot.reading.values())
    identity = snapshot.identity
    document["identity"] = (
        None
        if identity is None
        else {
            "manufacturer_code": identity.manufacturer_code,
            "serial_number": identity.serial_number,
            "standard_date": identity.standard_date,
        }
    )
    document["timestamp"] = _iso(snapshot.reading.timestamp)
    document["clock"] = _iso(snapshot.clock)
    return document


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def print_table(snapshot: MeterSnapshot, out: TextIO) -> None:
    """Human-readable report: identity, clock and one line per signal."""
    identity = snapshot.identity
    lines = []
    if identity is not None:
        lines += [
            f"Manufacturer code  {identity.manufacturer_code}",
            f"Serial number      {identity.serial_number}",
            f"Standard date      {identity.standard_date}",
        ]
    if snapshot.clock is not None:
        drift = (snapshot.clock - now_in(snapshot.clock.tzinfo or ZoneInfo("UTC"))).total_seconds()
        lines.append(f"Meter clock        {snapshot.clock:%Y-%m-%d %H:%M:%S %Z} ({drift:+.0f} s)")
    if snapshot.reading.timestamp is not None:
        lines.append(f"Values at          {snapshot.reading.timestamp:%Y-%m-%d %H:%M %Z}")
    lines.append("")
    width = max(len(key) for key in SIGNAL_KEYS)
    lines.append(f"{'signal':<{width}}  {'value':>12}  unit")
    lines.append(f"{'-' * width}  {'-' * 12}  ----")
    values = snapshot.reading.values()
    for key in SIGNAL_KEYS:
        value = values[key]
        text = "invalid" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")
        lines.append(f"{key:<{width}}  {text:>12}  {SIGNAL_UNITS[key].value}")
    out.write("\n".join(lines) + "\n")


async def run(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        ZoneInfo(args.time_zone)
        snapshot = await read_meter(args)
    except AuthenticationRejected as err:
        print(f"error: password rejected: {err}", file=sys.stderr)
        print("hint: check the read-only password (a number)", file=sys.stderr)
        return EXIT_AUTH
    except MeterError as err:
        hint = next((text for kind, text in _HINTS.items() if isinstance(err, kind)), None)
        print(f"error: {err}", file=sys.stderr)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, ZoneInfoNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        json.dump(snapshot_json(snapshot), sys.stdout)
        sys.stdout.write("\n")
    else:
        print_table(snapshot, sys.stdout)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m custom_components.iec_meter``."""
    return asyncio.run(run(argv))
