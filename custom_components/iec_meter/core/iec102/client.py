"""Read an IEC 102 (REE) meter: identity, clock, instantaneous values and records.

The client keeps its session open between reads (a steady-state poll is then two round
trips instead of eight, see ``benchmarks/iec102_read.py``). When the meter has dropped
the session or the converter the connection, the client starts again transparently:
a lost connection is reopened up to ``retries`` times within one read, a reused session
that stops answering is restarted once. A rejected password is never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
import logging
from typing import Any

from ..bus import Bus
from ..driver import MeterClient
from ..errors import ConnectionLost, MeterBusy, NoData, NoResponse, NotSupported, ProtocolError
from ..frame_log import FrameLog
from ..model import Identity, Reading
from ..records import BillingPeriod, ProfileKind, ProfilePeriod
from .asdu import (
    Asdu,
    clock_request,
    decode_clock,
    decode_identity,
    decode_instant_values,
    decode_integrated_totals,
    identity_request,
    instantaneous_request,
    integrated_totals_request,
)
from .asdu.billing import (
    contracted_powers_request,
    current_billing_request,
    decode_billing,
    decode_contracted_powers,
    stored_billing_request,
)
from .constants import MANUFACTURERS, RecordAddress, TotalObject, TypeId
from .link import iec102_frame_log
from .records import billing_period, contract_register, profile_period
from .session import Iec102Session
from .settings import Iec102Settings
from .signals import instant_signals

_LOGGER = logging.getLogger(__name__)

#: The model every REE meter is shown as (P_MP_NA_2 carries no model or firmware).
MODEL = "IEC 870-5-102 (REE) meter"

#: The register ("dirección de registro") of each profile.
PROFILE_RECORDS = {
    ProfileKind.HOURLY: RecordAddress.HOURLY,
    ProfileKind.QUARTER_HOURLY: RecordAddress.QUARTER_HOURLY,
    ProfileKind.DAILY: RecordAddress.DAILY,
}


class Iec102Client(MeterClient[Iec102Settings]):
    """One meter on a bus; its session stays open between the bus's turns."""

    has_clock = True
    has_records = True

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
            manufacturer_name=MANUFACTURERS.get(ident.manufacturer_code),
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

    async def _read_profile(
        self,
        kind: ProfileKind,
        start: datetime,
        end: datetime,
        absolute: bool,
        received: list[ProfilePeriod],
    ) -> None:
        # Compared as instants (UTC): in one zone, Python compares wall clocks, and the
        # repeated October hour would count as a repeat of the hour before it.
        first, last = start.astimezone(UTC), end.astimezone(UTC)

        def keep(answer: Asdu) -> None:
            period = profile_period(decode_integrated_totals(answer, self.tz))
            if period is None:
                _LOGGER.debug("link %d: period without a valid time left out", self.link_address)
                return
            when = period.end.astimezone(UTC)
            if not first <= when <= last:
                _LOGGER.debug("link %d: period %s outside the range", self.link_address, when)
                return
            if received and when <= received[-1].end.astimezone(UTC):
                _LOGGER.debug("link %d: period %s repeated", self.link_address, when)
                return
            received.append(period)

        request = integrated_totals_request(
            self.settings.point_address,
            start,
            end,
            self.tz,
            incremental=not absolute,
            record=PROFILE_RECORDS[kind],
            first=TotalObject.ACTIVE_IMPORT,
            last=TotalObject.RESERVE_2,
        )
        answer_type = TypeId.M_IT_TG_2 if absolute else TypeId.M_IT_TK_2
        await self.session.request_range(request, answer_type, on_answer=keep)

    async def _read_billing(
        self, contract: int, start: datetime | None, end: datetime | None
    ) -> list[BillingPeriod]:
        register = contract_register(contract)
        point = self.settings.point_address
        if start is None or end is None:
            request = current_billing_request(point, register)
            answer_type = TypeId.M_TA_VC_2
        else:
            request = stored_billing_request(point, register, start, end, self.tz)
            answer_type = TypeId.M_TA_VM_2
        answers = await self.session.request_range(request, answer_type)
        return [
            billing_period(item, contract)
            for answer in answers
            for item in decode_billing(answer, self.tz)
        ]

    async def _read_contracted_powers(self, contract: int) -> dict[int, float]:
        request = contracted_powers_request(
            self.settings.point_address, contract_register(contract)
        )
        answer = await self.session.request(request, TypeId.M_PC_NA_2)
        powers = decode_contracted_powers(answer, self.tz)
        return {period: float(power) for period, power in sorted(powers.powers.items())}

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
