"""Read an IEC 102 (REE) meter: identity, clock and instantaneous values.

The client keeps its session open between reads (a steady-state poll is then two round
trips instead of eight, see ``benchmarks/iec102_read.py``). When the meter has dropped
the session or the converter the connection, the client starts again transparently:
a lost connection is reopened up to ``retries`` times within one read, a reused session
that stops answering is restarted once. A rejected password is never retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
import logging
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

from ..errors import (
    CannotConnect,
    ConnectionLost,
    MeterBusy,
    NoResponse,
    NotSupported,
    ProtocolError,
)
from ..reading import MeterIdentity, MeterReading
from ..transport import LineSettings, Transport
from .asdu import (
    clock_request,
    decode_clock,
    decode_identity,
    decode_instant_values,
    identity_request,
    instantaneous_request,
)
from .constants import DEFAULT_TIME_ZONE, TypeId
from .link import FrameLog
from .session import Iec102Session, MeterAddress
from .timing import Timing

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MeterSnapshot:
    """Everything one full read returns."""

    identity: MeterIdentity | None
    clock: datetime | None
    reading: MeterReading


class Iec102Client:
    """One meter, read over a transport the client owns or shares with other meters.

    Callers that share one transport between several meters (an RS-485 bus) must not
    run two clients' reads at the same time; the line is half duplex.
    """

    def __init__(
        self,
        transport: Transport,
        meter: MeterAddress,
        *,
        timing: Timing | None = None,
        tz: tzinfo | None = None,
        keep_session: bool = True,
        owns_transport: bool = False,
        frame_log: FrameLog | None = None,
    ) -> None:
        """Prepare the client; nothing is opened until the first read."""
        self.transport = transport
        self.meter = meter
        self.timing = timing or Timing()
        self.tz = tz or ZoneInfo(DEFAULT_TIME_ZONE)
        self.keep_session = keep_session
        self._owns_transport = owns_transport
        self.frame_log = frame_log if frame_log is not None else FrameLog()
        self.session = Iec102Session(transport, meter, self.timing, self.frame_log)
        self._last_failed_open: float | None = None

    @classmethod
    def for_line(
        cls,
        line: LineSettings,
        meter: MeterAddress,
        *,
        timing: Timing | None = None,
        tz: tzinfo | None = None,
        keep_session: bool = True,
    ) -> Self:
        """A client that owns its own transport to ``line`` (closed by :meth:`close`)."""
        return cls(
            Transport(line),
            meter,
            timing=timing,
            tz=tz,
            keep_session=keep_session,
            owns_transport=True,
        )

    async def __aenter__(self) -> Self:
        """Nothing to open yet: the first read connects."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log out and release the line."""
        await self.close()

    async def close(self) -> None:
        """Finish the session (best effort) and close the line if it is ours."""
        try:
            if self.transport.is_open:
                await self.session.finish()
        finally:
            self.session.logged_in = False
            if self._owns_transport:
                await self.transport.close()

    # --- reads ---------------------------------------------------------------------------
    async def read_identity(self) -> MeterIdentity:
        """Manufacturer code, serial number and standard date."""
        return await self._run(self._identity)

    async def read_clock(self) -> datetime | None:
        """The meter's clock (None if the meter flags it invalid)."""
        return await self._run(self._clock)

    async def read_instantaneous(self) -> MeterReading:
        """The 24 instantaneous signals."""
        return await self._run(self._instantaneous)

    async def read_snapshot(self, identity: bool = True, clock: bool = True) -> MeterSnapshot:
        """Identity, clock and instantaneous values in one session."""

        async def snapshot(session: Iec102Session) -> MeterSnapshot:
            ident = await self._identity(session) if identity else None
            when = await self._clock(session) if clock else None
            return MeterSnapshot(ident, when, await self._instantaneous(session))

        return await self._run(snapshot)

    async def _identity(self, session: Iec102Session) -> MeterIdentity:
        answer = await session.request(identity_request(self.meter.point_address), TypeId.P_MP_NA_2)
        return decode_identity(answer)

    async def _clock(self, session: Iec102Session) -> datetime | None:
        answer = await session.request(clock_request(self.meter.point_address), TypeId.M_TI_TA_2)
        return decode_clock(answer, self.tz)

    async def _instantaneous(self, session: Iec102Session) -> MeterReading:
        answer = await session.request(
            instantaneous_request(self.meter.point_address), TypeId.R_IN_VA_2
        )
        return decode_instant_values(answer, self.tz).to_reading()

    # --- session handling ----------------------------------------------------------------
    async def _run[T](self, operation: Callable[[Iec102Session], Awaitable[T]]) -> T:
        reconnects_left = self.timing.retries
        restart_stale = self.session.logged_in
        while True:
            try:
                await self._ensure_session()
                result = await operation(self.session)
            except ConnectionLost as err:
                await self._drop(close_line=True)
                if not reconnects_left:
                    raise
                reconnects_left -= 1
                _LOGGER.debug("link %d: %s; reconnecting", self.meter.link_address, err)
                continue
            except NotSupported:
                # The session is fine; the meter just does not offer this request.
                raise
            except (NoResponse, MeterBusy, ProtocolError) as err:
                stale = restart_stale and not isinstance(err, MeterBusy)
                if not isinstance(err, NoResponse):
                    # The meter still answers: end its session properly (best effort).
                    await self.session.finish()
                await self._drop(close_line=False)
                if stale:
                    restart_stale = False
                    _LOGGER.debug(
                        "link %d: open session stopped answering (%s); starting a new one",
                        self.meter.link_address,
                        err,
                    )
                    continue
                raise
            except BaseException:
                await self._drop(close_line=False)
                raise
            if not self.keep_session:
                await self.close()
            return result

    async def _ensure_session(self) -> None:
        if not self.transport.is_open:
            self.session.logged_in = False
            await self._open_line()
        if not self.session.logged_in:
            await self.session.start()

    async def _open_line(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_failed_open is not None:
            wait = self._last_failed_open + self.timing.reconnect_delay - loop.time()
            if wait > 0:
                raise CannotConnect(
                    f"{self.transport.settings.url}: next connection attempt in {wait:.0f} s"
                )
        try:
            await self.transport.open()
        except CannotConnect:
            self._last_failed_open = loop.time()
            raise
        self._last_failed_open = None

    async def _drop(self, close_line: bool) -> None:
        """Forget the session; close the line when it is ours and broken."""
        self.session.logged_in = False
        if close_line and self._owns_transport:
            await self.transport.close()
