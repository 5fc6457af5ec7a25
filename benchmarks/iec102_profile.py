"""A year of hourly load profile: read time against the wire, import time, memory.

Starts the simulator as its own process (9600 baud pacing, 20 ms answer latency, like a
meter behind a serial line, with a year and more of history) and measures:

* reading one year of hourly profile (8760 periods) the way the integration does: in
  chunks, each its own turn of the bus, the session kept open. The limit is what the
  line itself costs: every byte sent and received at 10 bits per byte, plus the meter's
  latency once per exchange; the goal is measured / limit <= 1.2;
* importing that year into Home Assistant's recorder (a real recorder on SQLite in a
  temporary directory): six series of hourly rows written as external statistics, from
  the first call until the recorder has committed them; the goal is < 10 s;
* peak memory: the process's peak resident size after each part, and the Python heap
  the read keeps (chunks are handed on as they come, as the importer does).

Run: ``.venv/bin/python benchmarks/iec102_profile.py [--days 365] [--baud 9600]``.
At 9600 baud the year takes about a quarter of an hour of wire time.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
import resource
import sys
import tempfile
import time
import tracemalloc
from types import MappingProxyType
from zoneinfo import ZoneInfo

from homeassistant.components.recorder import get_instance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.iec102_read import start_simulator  # noqa: E402
from custom_components.iec_meter.core.bus import Bus  # noqa: E402
from custom_components.iec_meter.core.driver import PROFILE_CHUNK_PERIODS  # noqa: E402
from custom_components.iec_meter.core.iec102.client import Iec102Client  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from custom_components.iec_meter.core.iec102.timecodec import now_in  # noqa: E402
from custom_components.iec_meter.core.records import ProfileKind, ProfilePeriod  # noqa: E402
from custom_components.iec_meter.core.transport import LineSettings  # noqa: E402

READ_TARGET = 1.2
IMPORT_TARGET_S = 10.0
LAG_TICK_S = 0.05
DEFAULT_BACKFILL_HOURS = 90 * 24
MADRID = ZoneInfo("Europe/Madrid")
_KIB = 1024


def peak_rss_mib() -> float:
    """Peak resident size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB


async def read_year(
    line: LineSettings, latency: float, days: int
) -> tuple[list[ProfilePeriod], float, float, int]:
    """Read ``days`` of hourly profile; the periods, elapsed, wire limit, chunks."""
    end = now_in(MADRID).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days) + timedelta(hours=1)
    periods: list[ProfilePeriod] = []
    chunks = 0
    async with Bus(line) as bus:
        client = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        await client.read_clock()  # log in: the session is not what is measured
        transport, session = bus.transport, client.session
        before = (transport.bytes_sent + transport.bytes_received, session.round_trips)
        started = time.perf_counter()
        async for chunk in client.iter_profile(ProfileKind.HOURLY, start, end):
            periods.extend(chunk)
            chunks += 1
        elapsed = time.perf_counter() - started
        wire = transport.bytes_sent + transport.bytes_received - before[0]
        exchanges = session.round_trips - before[1]
    limit = wire * line.bits_per_byte / line.baudrate + exchanges * latency
    return periods, elapsed, limit, chunks


class ReplayClient:
    """Hands the importer the periods read from the simulator, in the same chunks.

    The import is what is measured here, not the line (measured above).
    """

    def __init__(self, periods: list[ProfilePeriod]) -> None:
        """Keep the periods read."""
        self.periods = periods

    async def iter_profile(
        self, kind: ProfileKind, start: datetime, end: datetime
    ) -> AsyncIterator[list[ProfilePeriod]]:
        """The periods of [start, end] in chunks of the client's size."""
        wanted = [period for period in self.periods if start <= period.end <= end]
        for first in range(0, len(wanted), PROFILE_CHUNK_PERIODS):
            await asyncio.sleep(0)  # a real chunk waits for the line: others run meanwhile
            yield wanted[first : first + PROFILE_CHUNK_PERIODS]


async def import_year(periods: list[ProfilePeriod], days: int) -> tuple[float, int]:
    """Run the integration's importer into a real recorder; seconds, rows written."""
    from homeassistant.config_entries import ConfigSubentry  # noqa: PLC0415
    from homeassistant.helpers import recorder as recorder_helper  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.iec_meter import profile_import  # noqa: PLC0415

    now = periods[-1].end.astimezone(UTC) + timedelta(minutes=5)
    profile_import.utcnow = lambda: now  # the importer's clock: the meter's last hour
    with tempfile.TemporaryDirectory() as folder:
        async with async_test_home_assistant(config_dir=folder) as hass:
            await hass.config.async_set_time_zone("Europe/Madrid")
            db_url = f"sqlite:///{folder}/home-assistant_v2.db"
            recorder_helper.async_initialize_recorder(hass)  # what bootstrap does first
            assert await async_setup_component(hass, "recorder", {"recorder": {"db_url": db_url}})
            await hass.async_block_till_done()
            entry = MockConfigEntry(domain=profile_import.DOMAIN, title="Benchmark")
            entry.add_to_hass(hass)
            subentry = ConfigSubentry(
                data=MappingProxyType({}),
                subentry_type="meter",
                title="Benchmark meter",
                unique_id="66-48300001",
            )
            importer = profile_import.ProfileImporter(
                hass, entry, subentry, ReplayClient(periods), ProfileKind.HOURLY, days + 1
            )
            lags: list[float] = []
            watch = asyncio.create_task(loop_lag(lags))
            started = time.perf_counter()
            await importer.async_import()
            await get_instance(hass).async_block_till_done()
            elapsed = time.perf_counter() - started
            watch.cancel()
            rows = importer.counters.rows_written
            await hass.async_stop(force=True)
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)] if lags else 0.0
    print(
        f"event-loop lag during the import: p99 {p99 * 1000:.1f} ms, max {lags[-1] * 1000:.1f} ms"
    )
    return elapsed, rows


async def loop_lag(lags: list[float]) -> None:
    """How late the event loop wakes a sleeper: Home Assistant's responsiveness."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_TICK_S
        await asyncio.sleep(LAG_TICK_S)
        lags.append(max(0.0, loop.time() - due))


async def main() -> int:
    """Run the three measurements and print each against its limit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--skip-import", action="store_true", help="measure the read only")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    process, url = start_simulator(
        args.baud, args.latency_ms, "--history-days", str(args.days + 10)
    )
    tracemalloc.start()
    try:
        print(f"simulator {url} at {args.baud} baud, {args.latency_ms:g} ms latency")
        line = LineSettings(url, baudrate=args.baud)
        periods, elapsed, limit, chunks = await read_year(line, latency, args.days)
    finally:
        process.terminate()
        process.wait(timeout=10)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = elapsed / limit
    ok = ratio <= READ_TARGET
    print(
        f"read {len(periods)} hourly periods in {chunks} chunks: measured {elapsed:.1f} s"
        f"   wire limit {limit:.1f} s   ratio {ratio:.3f} (goal <= {READ_TARGET})"
        f"  {'ok' if ok else 'ABOVE GOAL'}"
    )
    print(
        f"memory after the read: peak RSS {peak_rss_mib():.0f} MiB, Python heap peak "
        f"{heap_peak / _KIB / _KIB:.1f} MiB (the {len(periods)} periods kept for the import)"
    )
    if not args.skip_import:
        seconds, rows = await import_year(periods, args.days)
        fast = seconds < IMPORT_TARGET_S
        ok = ok and fast
        print(
            f"recorder import of {rows} rows ({len(periods)} hours x 6 series): {seconds:.1f} s"
            f" (goal < {IMPORT_TARGET_S:g} s)  {'ok' if fast else 'ABOVE GOAL'}"
        )
        per_row = seconds / rows
        print(
            f"  {per_row * 1000:.2f} ms a row, in the recorder's own upsert (one query a row,"
            f" whatever the batch size); the default 90-day backfill is about"
            f" {per_row * DEFAULT_BACKFILL_HOURS * 6:.0f} s"
        )
        print(f"memory after the import: peak RSS {peak_rss_mib():.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
