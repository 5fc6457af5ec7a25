"""How close an IEC 102 read comes to the wire-time limit of a 9600 baud line.

Starts the simulator as its own process (9600 baud pacing, 20 ms answer latency, like a
meter behind a serial line) and measures:

* a full read: connect, link status, reset, login, instantaneous values, logout;
* a steady-state poll: instantaneous values on the session kept open.

The limit is what the line itself costs: every byte sent and received at 10 bits per
byte, plus the meter's latency once per exchange. The ratio measured / limit is the
client's own overhead; the target is <= 1.15.

Run: ``.venv/bin/python benchmarks/iec102_read.py [--baud 9600] [--latency-ms 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
import statistics
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.iec_meter.core.bus import Bus  # noqa: E402
from custom_components.iec_meter.core.iec102.client import Iec102Client  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from custom_components.iec_meter.core.transport import LineSettings  # noqa: E402

TARGET = 1.15
MADRID = ZoneInfo("Europe/Madrid")


def start_simulator(baud: int, latency_ms: float, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """The simulator in its own process (its pacing must not share our event loop)."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "simulator", "iec102", "--tcp", "127.0.0.1:0",
            "--baud", str(baud), "--latency-ms", str(latency_ms), *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    ready = process.stdout.readline().split()
    if not ready or ready[0] != "READY":
        process.kill()
        raise SystemExit("simulator did not start")
    return process, ready[1]


def limit(line: LineSettings, bytes_on_wire: int, exchanges: int, latency: float) -> float:
    """Wire time of the bytes (the simulator paces 10 bits a byte, as 8N1) plus latency."""
    return bytes_on_wire * line.bits_per_byte / line.baudrate + exchanges * latency


async def full_read(line: LineSettings, latency: float) -> tuple[float, float]:
    start = time.perf_counter()
    async with Bus(line) as bus:  # connect ... logout, close
        client = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID, keep_session=False)
        await client.read_values()
    elapsed = time.perf_counter() - start
    wire = bus.transport.bytes_sent + bus.transport.bytes_received
    return elapsed, limit(line, wire, client.session.round_trips, latency)


async def steady_polls(line: LineSettings, latency: float, count: int) -> list[tuple[float, float]]:
    results = []
    async with Bus(line) as bus:
        client = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        await client.read_values()  # open the session
        transport, session = bus.transport, client.session
        for _ in range(count):
            before = (transport.bytes_sent + transport.bytes_received, session.round_trips)
            start = time.perf_counter()
            await client.read_values()
            elapsed = time.perf_counter() - start
            wire = transport.bytes_sent + transport.bytes_received - before[0]
            results.append((elapsed, limit(line, wire, session.round_trips - before[1], latency)))
    return results


def report(name: str, results: list[tuple[float, float]]) -> bool:
    measured = statistics.median(elapsed for elapsed, _ in results)
    bound = statistics.median(bound for _, bound in results)
    ratio = measured / bound
    verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
    print(
        f"{name:<13} measured {measured * 1000:7.1f} ms   wire limit {bound * 1000:7.1f} ms"
        f"   ratio {ratio:.3f} (target <= {TARGET})  {verdict}   [median of {len(results)}]"
    )
    return ratio <= TARGET


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--full-reads", type=int, default=5)
    parser.add_argument("--polls", type=int, default=20)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    process, url = start_simulator(args.baud, args.latency_ms)
    try:
        print(f"simulator {url} at {args.baud} baud, {args.latency_ms:g} ms latency")
        line = LineSettings(url, baudrate=args.baud)
        fulls = [await full_read(line, latency) for _ in range(args.full_reads)]
        polls = await steady_polls(line, latency, args.polls)
    finally:
        process.terminate()
        process.wait(timeout=10)
    ok = report("full read", fulls)
    ok = report("steady poll", polls) and ok
    saved = statistics.median(e for e, _ in fulls) / statistics.median(e for e, _ in polls)
    print(f"keeping the session open makes a poll {saved:.1f}x faster than a full read")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
