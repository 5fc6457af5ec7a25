"""How close an IEC 62056-21 readout comes to the wire-time limit of its line.

Starts the simulator as its own process, pacing every answer at the speed the protocol
is at, and reads it with the client:

* mode C: sign-on at 300 baud, switched to 9600 for the data. Served on a pseudo-
  terminal, since a raw TCP converter cannot change speed (the client would then ask
  the meter to stay at the converter's speed);
* mode A: everything at 300 baud, over TCP.

The limit is what the protocol itself costs: every byte at 10 bits (7E1) at the speed
it travels at, the meter's reaction time before each answer, and t2 before the mode C
acknowledgement. The ratio measured / limit is the client's own overhead.

Run: ``.venv/bin/python benchmarks/iec62056_read.py [--reads 3] [--t2-ms 300]``
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
from custom_components.iec_meter.core.iec62056 import (  # noqa: E402
    Iec62056Client,
    Iec62056Settings,
    Mode,
)
from custom_components.iec_meter.core.iec62056.messages import (  # noqa: E402
    option_select,
    sign_on_request,
)
from custom_components.iec_meter.core.timing import Timing  # noqa: E402
from custom_components.iec_meter.core.transport import LineSettings  # noqa: E402

#: Bits a 7E1 character takes on the wire (start, 7 data, parity, stop).
BITS_PER_BYTE = LineSettings("7E1", bytesize=7, parity="E").bits_per_byte
START = 300


def start_simulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "iec62056", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    ready = process.stdout.readline().split()
    if not ready or ready[0] != "READY":
        process.kill()
        raise SystemExit("simulator did not start")
    return process, ready[1]


async def one_read(url: str, mode: Mode, t2_ms: int) -> tuple[float, float]:
    """Measured time and wire-time limit of one readout."""
    # 8N1 takes 10 bits a character like 7E1; some kernels refuse parity on a pty.
    line = LineSettings(url, baudrate=START)
    bus = Bus(line, Timing(request_timeout_ms=2500, retries=0))
    settings = Iec62056Settings(mode=mode, t2_ms=t2_ms, poll_delay_ms=0)
    client = Iec62056Client(bus, settings, ZoneInfo("UTC"))
    try:
        await bus.run(bus.ensure_open)
        start = time.perf_counter()
        await client.read_values()
        elapsed = time.perf_counter() - start
        readout = client.last_readout
        assert readout is not None
        received = bus.transport.bytes_received
    finally:
        await bus.close()
    ident = readout.identification
    ident_bytes = len(ident.encode())
    sign_on = len(sign_on_request())
    bound = (sign_on + ident_bytes) * BITS_PER_BYTE / START + ident.reaction_time
    if mode is Mode.C:
        bound += t2_ms / 1000 + len(option_select(readout.baudrate)) * BITS_PER_BYTE / START
    bound += ident.reaction_time + (received - ident_bytes) * BITS_PER_BYTE / readout.baudrate
    return elapsed, bound


def report(name: str, results: list[tuple[float, float]], target: float) -> bool:
    measured = statistics.median(elapsed for elapsed, _ in results)
    bound = statistics.median(limit for _, limit in results)
    ratio = measured / bound
    verdict = "ok" if ratio <= target else "ABOVE TARGET"
    print(
        f"{name:<26} measured {measured * 1000:8.1f} ms   wire limit {bound * 1000:8.1f} ms"
        f"   ratio {ratio:.3f} (target <= {target})  {verdict}   [median of {len(results)}]"
    )
    return ratio <= target


def startup_seconds(python: str, runs: int = 5) -> float:
    """Median wall time of ``read --help``, a whole process start to exit."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [python, "-m", "custom_components.iec_meter", "read", "--help"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report_startup(core_python: Path) -> None:
    """``read --help`` with Home Assistant installed (this interpreter) and without it."""
    with_ha = startup_seconds(sys.executable)
    print(
        f"read --help   {with_ha * 1000:7.1f} ms with Home Assistant installed ({sys.executable})"
    )
    if core_python.exists():
        alone = startup_seconds(str(core_python))
        print(f"read --help   {alone * 1000:7.1f} ms with only serialx installed ({core_python})")
    else:
        print(f"read --help   (no {core_python}: scripts/check-standalone makes it)")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3)
    parser.add_argument("--t2-ms", type=int, default=300)
    parser.add_argument(
        "--core-python",
        type=Path,
        default=ROOT / ".venv-core" / "bin" / "python",
        help="an interpreter whose environment has only serialx",
    )
    args = parser.parse_args()
    report_startup(args.core_python)
    ok = True
    process, url = start_simulator("--pty", "--mode", "C", "--baud", "9600")
    try:
        results = [await one_read(url, Mode.C, args.t2_ms) for _ in range(args.reads)]
    finally:
        process.terminate()
        process.wait(timeout=10)
    ok = report("mode C 300 -> 9600 (pty)", results, 1.2) and ok
    process, url = start_simulator("--tcp", "127.0.0.1:0", "--mode", "A")
    try:
        results = [await one_read(url, Mode.A, args.t2_ms) for _ in range(max(1, args.reads // 3))]
    finally:
        process.terminate()
        process.wait(timeout=10)
    ok = report("mode A 300 (tcp)", results, 1.1) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
