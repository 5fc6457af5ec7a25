"""Shared fixtures: a real simulator on a real TCP socket or pseudo-terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from datetime import datetime
import os
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.iec102.timecodec import now_in
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec102_meter import DEFAULT_HISTORY_DAYS, MeterConfig, SimulatedMeter
from simulator.line import Faults, LineOptions, MeterLine
from simulator.meter_model import MeterModel

MADRID = ZoneInfo("Europe/Madrid")
#: Short timeouts so fault tests finish quickly; the protocol logic is the same.
FAST = Timing(request_timeout_ms=300, retries=3, reconnect_delay_ms=1000)


@pytest.fixture(autouse=True)
def _allow_loopback(socket_enabled: None) -> None:
    """The test plugin blocks sockets; ours talk to the simulator on 127.0.0.1 only."""


def make_line(
    meters: list[MeterConfig] | None = None,
    faults: Faults | None = None,
    clock: Callable[[], datetime] | None = None,
    reject_login: bool = False,
    unsupported: frozenset[int] = frozenset(),
    never_send: frozenset[int] = frozenset(),
    omit_phases_every: int = 0,
    history_days: int = DEFAULT_HISTORY_DAYS,
    history_faults: bool = True,
    **options: Any,
) -> MeterLine:
    """A simulated line with the given meters (default: one meter 1/1/1).

    ``history_days`` and ``history_faults`` shape the meters' records (see
    :class:`SimulatedMeter`); the rest of ``options`` are the line's.
    """
    configs = meters or [MeterConfig()]
    tick = clock or (lambda: now_in(MADRID))
    simulated = [
        SimulatedMeter(
            config,
            MADRID,
            tick,
            reject_login=reject_login,
            unsupported=unsupported,
            model=MeterModel(seed=index + 1),
            never_send=never_send,
            omit_phases_every=omit_phases_every,
            history_days=history_days,
            history_faults=history_faults,
        )
        for index, config in enumerate(configs)
    ]
    return MeterLine(simulated, LineOptions(faults=faults or Faults(), **options))


@contextlib.asynccontextmanager
async def serving(line: MeterLine, pty: bool = False) -> AsyncIterator[str]:
    """Serve ``line`` over TCP (or a pty) for the duration of the block."""
    url = await (line.start_pty() if pty else line.start_tcp())
    try:
        yield url
    finally:
        await line.stop()


@contextlib.asynccontextmanager
async def client_for(
    url: str,
    meter: Iec102Settings | None = None,
    timing: Timing = FAST,
    **kwargs: Any,
) -> AsyncIterator[Iec102Client]:
    """A client on a bus of its own to ``url``; the bus closes at the end of the block."""
    async with Bus(LineSettings(url, connect_timeout=2.0), timing) as bus:
        yield Iec102Client(bus, meter or Iec102Settings(1, 1, 1), MADRID, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _detect_blocking_calls() -> None:
    """Fail on blocking calls (sleep, file I/O, ...) in the event loop, as HA does."""
    from homeassistant import block_async_io  # noqa: PLC0415

    if not block_async_io._BLOCKED_CALLS.calls:
        block_async_io.enable()


#: The browser test needs a running Home Assistant and Chromium: scripts/browser-test
#: starts both and sets IEC_METER_BROWSER; the ordinary run leaves it out.
collect_ignore = [] if os.environ.get("IEC_METER_BROWSER") else ["browser"]
