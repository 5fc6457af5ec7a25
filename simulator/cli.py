"""Command line of the simulator.

``python -m simulator iec102 --tcp 127.0.0.1:0`` serves one meter and prints exactly one
line ``READY <url>`` on stdout once it accepts connections; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
import logging
import signal
import sys
from zoneinfo import ZoneInfo

from custom_components.iec_meter.cli import localize, wall_time
from custom_components.iec_meter.core.iec102.constants import DEFAULT_TIME_ZONE
from custom_components.iec_meter.core.iec102.timecodec import now_in

from . import iec62056_line
from .iec102_meter import DEFAULT_HISTORY_DAYS, MeterConfig, SimulatedMeter
from .line import Faults, LineOptions, MeterLine
from .meter_model import MeterModel

_LOGGER = logging.getLogger("simulator")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of days (1 or more), got {text!r}"
        )
    return int(text)


def _meter_spec(text: str) -> MeterConfig:
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected LINK,POINT,PASSWORD (three numbers), got {text!r}"
        )
    link, point, password = (int(part) for part in parts)
    return MeterConfig(link_address=link, point_address=point, password=password)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m simulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Simulated electricity meters."
    )
    protocols = parser.add_subparsers(dest="protocol", required=True)
    iec102 = protocols.add_parser("iec102", help="IEC 60870-5-102 (REE) meter(s)")
    where = iec102.add_mutually_exclusive_group()
    where.add_argument(
        "--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP (port 0: any free)"
    )
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal")
    iec102.add_argument("--link-address", type=int, default=1)
    iec102.add_argument("--point-address", type=int, default=1)
    iec102.add_argument("--password", type=int, default=1)
    iec102.add_argument(
        "--meter",
        type=_meter_spec,
        action="append",
        metavar="LINK,POINT,PASSWORD",
        help="a meter on the bus (repeat for several); replaces the three options above",
    )
    iec102.add_argument("--serial-number", type=int, default=0, help="equipment id (one meter)")
    iec102.add_argument("--manufacturer", type=int, default=66, help="manufacturer code")
    iec102.add_argument("--single-phase", action="store_true", help="no L2/L3 values")
    iec102.add_argument("--time-zone", default=DEFAULT_TIME_ZONE)
    iec102.add_argument(
        "--clock-offset", type=float, default=0.0, help="meter clock drift in seconds"
    )
    iec102.add_argument("--session-timeout", type=float, default=0.0, help="0: never")
    iec102.add_argument(
        "--now",
        type=wall_time,
        metavar="YYYY-MM-DDTHH:MM",
        help="freeze the meter's clock at this local time (records the same on every run)",
    )
    iec102.add_argument(
        "--history-days",
        type=_days,
        default=DEFAULT_HISTORY_DAYS,
        metavar="N",
        help="days of load profile and billing the meter keeps, back from its clock",
    )
    iec102.add_argument("--peak-load-kw", type=float, default=6.0)
    iec102.add_argument("--peak-solar-kw", type=float, default=4.0)
    iec102.add_argument("--baud", type=int, default=0, help="pace bytes at N baud (10 bits)")
    iec102.add_argument("--latency-ms", type=float, default=0.0, help="answer delay")
    iec102.add_argument("--seed", type=int, default=1)
    faults = iec102.add_argument_group("faults")
    faults.add_argument("--drop-after", type=int, default=0, metavar="N")
    faults.add_argument("--corrupt-every", type=int, default=0, metavar="N")
    faults.add_argument("--silent-every", type=int, default=0, metavar="N")
    faults.add_argument("--garbage-every", type=int, default=0, metavar="N")
    faults.add_argument(
        "--header-noise-every",
        type=int,
        default=0,
        metavar="N",
        help="damage the length byte of every Nth answer that carries data",
    )
    faults.add_argument(
        "--babble",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stream random bytes for SECONDS after each connection",
    )
    faults.add_argument(
        "--no-data", action="store_true", help='answer every class 2 poll with "no data"'
    )
    faults.add_argument(
        "--dead",
        type=int,
        action="append",
        default=[],
        metavar="LINK",
        help="the meter at this link address never answers, like a dead one (repeatable)",
    )
    faults.add_argument("--reject-login", action="store_true")
    faults.add_argument(
        "--no-history-faults",
        action="store_true",
        help="a perfect history: no gap, invalid, incomplete or synchronised hour",
    )
    faults.add_argument(
        "--unsupported",
        type=int,
        action="append",
        default=[],
        metavar="TYPE_ID",
        help='answer "type not available" to this request type (repeatable)',
    )
    faults.add_argument(
        "--never-send",
        type=int,
        action="append",
        default=[],
        choices=(192, 193, 194),
        metavar="OBJECT",
        help="leave this instantaneous object out of every answer (repeatable)",
    )
    faults.add_argument(
        "--omit-phases-every",
        type=int,
        default=0,
        metavar="N",
        help="leave voltages and currents (194) out of every Nth answer",
    )
    iec102.add_argument("--verbose", "-v", action="store_true")
    iec62056_line.add_arguments(
        protocols.add_parser("iec62056", help="IEC 62056-21 meter(s), modes A to D")
    )
    return parser


def build_line(args: argparse.Namespace) -> MeterLine:
    """The meters and line the arguments describe."""
    tz: tzinfo = ZoneInfo(args.time_zone)
    offset = timedelta(seconds=args.clock_offset)
    frozen: datetime | None = None
    if args.now is not None:
        # Through UTC so that a wall time in the spring gap becomes a real instant.
        frozen = localize(args.now, tz)

    def clock() -> datetime:
        return (frozen or now_in(tz)) + offset

    configs: list[MeterConfig] = args.meter or [
        MeterConfig(
            link_address=args.link_address,
            point_address=args.point_address,
            password=args.password,
            serial_number=args.serial_number,
        )
    ]
    unknown = set(args.dead) - {config.link_address for config in configs}
    if unknown:
        raise ValueError(f"--dead {min(unknown)}: no meter with that link address on the bus")
    meters = []
    for index, config in enumerate(configs):
        config.manufacturer_code = args.manufacturer
        config.three_phase = not args.single_phase
        config.session_timeout = args.session_timeout
        model = MeterModel(
            peak_load_kw=args.peak_load_kw,
            peak_solar_kw=args.peak_solar_kw,
            seed=args.seed + index,
        )
        meters.append(
            SimulatedMeter(
                config,
                tz,
                clock,
                reject_login=args.reject_login,
                unsupported=frozenset(args.unsupported),
                model=model,
                never_send=frozenset(args.never_send),
                omit_phases_every=args.omit_phases_every,
                dead=config.link_address in args.dead,
                history_days=args.history_days,
                history_faults=not args.no_history_faults,
            )
        )
    options = LineOptions(
        baud=args.baud,
        latency_ms=args.latency_ms,
        seed=args.seed,
        faults=Faults(
            drop_after=args.drop_after,
            corrupt_every=args.corrupt_every,
            silent_every=args.silent_every,
            garbage_every=args.garbage_every,
            header_noise_every=args.header_noise_every,
            babble=args.babble,
            no_data=args.no_data,
        ),
    )
    return MeterLine(meters, options)


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (by default: until SIGINT or SIGTERM)."""
    if stop is None:
        # Handlers first: a caller may signal as soon as it has read READY.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    line = iec62056_line.build_line(args) if args.protocol == "iec62056" else build_line(args)
    if args.pty:
        url = await line.start_pty()
    else:
        host, port = args.tcp or ("127.0.0.1", 4001)
        url = await line.start_tcp(host, port)
    print(f"READY {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await line.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.protocol == "iec102":
        try:
            build_line(args)  # refuse inconsistent options before anything is served
        except ValueError as err:
            parser.error(str(err))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(args))
    return 0
