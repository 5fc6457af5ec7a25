"""Read an IEC 102 (REE) meter: identity, clock and instantaneous values.

The client keeps its session open between reads (a steady-state poll is then two round
trips instead of eight, see ``benchmarks/iec102_read.py``). When the meter has dropped
the session or the converter the connection, the client starts again transparently:
a lost connection is reopened up to ``retries`` times within one read, a reused session
that stops answering is restarted once. A rejected password is never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
import logging
from typing import Any

from ..bus import Bus
from ..driver import MeterClient
from ..errors import ConnectionLost, MeterBusy, NoData, NoResponse, NotSupported, ProtocolError
from ..frame_log import FrameLog
from ..model import Identity, Reading
from .asdu import (
    clock_request,
    decode_clock,
    decode_identity,
    decode_instant_values,
    identity_request,
    instantaneous_request,
)
from .constants import TypeId
from .link import iec102_frame_log
from .session import Iec102Session
from .settings import Iec102Settings
from .signals import instant_signals

_LOGGER = logging.getLogger(__name__)

#: The model every REE meter is shown as (P_MP_NA_2 carries no model or firmware).
MODEL = "IEC 870-5-102 (REE) meter"


class Iec102Client(MeterClient[Iec102Settings]):
    """One meter on a bus; its session stays open between the bus's turns."""

    has_clock = True

    def __init__(
        self,
        bus: Bus,
        settings: Iec102Settings,
        tz: tzinfo,
        frame_log: FrameLog | None = None,
        *,
        keep_session: bool = True,
    ) -> None:
        """Prepare the client; nothing is sent until the first read."""
        super().__init__(bus, settings, tz, frame_log or iec102_frame_log())
        self.keep_session = keep_session
        self.session = Iec102Session(bus.transport, settings, bus.timing, self.frame_log)

    @property
    def link_address(self) -> int:
        """The meter's link address (for logs)."""
        return self.settings.link_address

    def diagnostics(self) -> dict[str, Any]:
        """Link counters."""
        return {"retransmissions": self.session.link.retransmissions}

    async def end_session(self) -> None:
        """Log out (best effort) while the line is still open."""
        try:
            if self.bus.transport.is_open:
                await self.session.finish()
        finally:
            self.session.logged_in = False

    # --- reads (line held) -----------------------------------------------------------
    async def _read_identity(self) -> Identity:
        answer = await self.session.request(
            identity_request(self.settings.point_address), TypeId.P_MP_NA_2
        )
        ident = decode_identity(answer)
        return Identity(
            manufacturer=str(ident.manufacturer_code),
            serial=str(ident.serial_number),
            model=MODEL,
            fields={
                "manufacturer_code": ident.manufacturer_code,
                "serial_number": ident.serial_number,
                "standard_date": ident.standard_date,
            },
        )

    async def _read_clock(self) -> datetime | None:
        answer = await self.session.request(
            clock_request(self.settings.point_address), TypeId.M_TI_TA_2
        )
        return decode_clock(answer, self.tz)

    async def _read_values(self) -> Reading:
        answer = await self.session.request(
            instantaneous_request(self.settings.point_address), TypeId.R_IN_VA_2
        )
        values = decode_instant_values(answer, self.tz)
        return Reading(instant_signals(values), values.timestamp)

    # --- session handling ------------------------------------------------------------
    async def _attempt[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        attempts = self.bus.timing.attempts
        reconnects_left = attempts - 1
        # A session kept open that stops answering is restarted once (not in one try).
        restart_stale = self.session.logged_in and attempts > 1
        while True:
            try:
                await self._ensure_session()
                result = await operation()
            except ConnectionLost as err:
                self.session.logged_in = False
                await self.bus.drop_line()
                if not reconnects_left:
                    raise
                reconnects_left -= 1
                _LOGGER.debug("link %d: %s; reconnecting", self.link_address, err)
                continue
            except NotSupported:
                # The session is fine; the meter just does not offer this request.
                raise
            except (NoResponse, MeterBusy, NoData, ProtocolError) as err:
                # A busy meter or one without data still has its session: no restart.
                stale = restart_stale and not isinstance(err, (MeterBusy, NoData))
                if not isinstance(err, NoResponse):
                    # The meter still answers: end its session properly (best effort).
                    await self.session.finish()
                self.session.logged_in = False
                if stale:
                    restart_stale = False
                    _LOGGER.debug(
                        "link %d: open session stopped answering (%s); starting a new one",
                        self.link_address,
                        err,
                    )
                    continue
                raise
            except BaseException:
                self.session.logged_in = False
                raise
            if not self.keep_session:
                await self.end_session()
            return result

    async def _ensure_session(self) -> None:
        if not self.bus.transport.is_open:
            self.session.logged_in = False
            await self.bus.ensure_open()
        if not self.session.logged_in:
            await self.session.start()
