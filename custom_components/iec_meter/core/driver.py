"""The one interface every protocol implements, and the base of every meter client.

A driver tells what a protocol needs and offers: its line defaults, the settings of one
meter on a line (described as fields, so a form or a command line can ask for them),
the client that reads such a meter, the rule for a meter's unique id, and the signals it
can deliver. Everything after the core (the ``read`` command, the simulator's tests, the
Home Assistant glue) uses only this module and :mod:`.model`; a new protocol is a new
folder plus one line in :mod:`.drivers`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any, ClassVar

from .bus import Bus
from .errors import NotSupported
from .frame_log import FrameLog
from .model import SIGNALS, Identity, Reading, Snapshot
from .plausibility import PlausibilityGuard
from .records import CONTRACTS, BillingPeriod, ProfileKind, ProfilePeriod

#: Integration periods read in one turn of the bus. A year of hourly profile is 8760
#: answers: read in one go it would keep every other meter off the line for minutes.
#: 48 answers take about 5 s at 9600 baud, and the request that opens each chunk adds
#: about 8 % to the wire time.
PROFILE_CHUNK_PERIODS = 48


class FieldKind(StrEnum):
    """How a meter setting is entered."""

    NUMBER = "number"
    TEXT = "text"
    SECRET = "secret"  # noqa: S105 - a number never shown back (a password)
    SELECT = "select"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class SettingField:
    """One setting of a meter on a line, as a form or a command line asks for it."""

    key: str
    kind: FieldKind
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()
    #: Free text allowed besides the options (e.g. a time zone).
    custom: bool = False
    #: Asked only in the advanced part of a form.
    advanced: bool = False


@dataclass(frozen=True, slots=True)
class LineDefaults:
    """How a protocol's meters usually talk at the byte level."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: int
    tcp_port: int


class MeterClient[S](ABC):
    """Reads one meter on a bus; every read runs in one turn of the bus.

    Subclasses implement the ``_read_*`` methods, which run with the line held, and
    :meth:`_attempt`, which runs one turn's work with the protocol's own session and
    recovery rules.
    """

    def __init__(
        self, bus: Bus, settings: S, tz: tzinfo, frame_log: FrameLog | None = None
    ) -> None:
        """Join the bus; nothing is sent until the first read."""
        self.bus = bus
        self.settings = settings
        self.tz = tz
        self.frame_log = frame_log if frame_log is not None else FrameLog()
        #: Screens every read of values (reading again, in a turn of its own, when it
        #: doubts one); None hands the meter's values on unchecked.
        self.guard: PlausibilityGuard | None = None
        bus.attach(self)

    # --- what callers use ------------------------------------------------------------
    async def read_identity(self) -> Identity:
        """Who the meter is."""
        return await self._turn(self._read_identity)

    async def read_values(self) -> Reading:
        """The meter's current values (those the guard, if any, finds plausible)."""
        return await self._screened(await self._turn(self._read_values))

    async def read_clock(self) -> datetime | None:
        """The meter's clock (None if the meter flags it invalid)."""
        return await self._turn(self._read_clock)

    async def read_snapshot(self, identity: bool = True, clock: bool = True) -> Snapshot:
        """Identity, clock and values in one turn (clock only where the meter has one)."""

        async def snapshot() -> Snapshot:
            ident = await self._read_identity() if identity else None
            when = await self._read_clock() if clock and self.has_clock else None
            return Snapshot(await self._read_values(), ident, when)

        taken = await self._turn(snapshot)
        return replace(taken, reading=await self._screened(taken.reading))

    async def probe(self) -> Snapshot:
        """Identity and one set of values, then end the session: proves a new meter."""
        try:
            return await self.read_snapshot(clock=False)
        finally:
            await self.close()

    async def close(self) -> None:
        """End the session (best effort) and leave the bus."""
        try:
            await self.bus.run(self.end_session)
        finally:
            self.bus.detach(self)

    def diagnostics(self) -> dict[str, Any]:
        """Protocol counters for a diagnostics download."""
        return {}

    # --- the meter's records -----------------------------------------------------------
    async def read_profile_chunk(
        self, kind: ProfileKind, start: datetime, end: datetime, *, absolute: bool = False
    ) -> list[ProfilePeriod]:
        """The periods whose end lies in [start, end], in one turn of the bus.

        Increments (the energy of each period) unless ``absolute`` (the registers at
        each period's end). When the connection drops in the middle, the retry asks
        only for the periods not received yet.
        """
        received: list[ProfilePeriod] = []

        async def chunk() -> list[ProfilePeriod]:
            resume = kind.advance(received[-1].end, self.tz) if received else start
            if _instant(resume) <= _instant(end):
                await self._read_profile(kind, resume, end, absolute, received)
            return received

        return await self._turn(chunk)

    async def iter_profile(
        self,
        kind: ProfileKind,
        start: datetime,
        end: datetime,
        *,
        absolute: bool = False,
        chunk_periods: int = PROFILE_CHUNK_PERIODS,
    ) -> AsyncIterator[list[ProfilePeriod]]:
        """The periods of [start, end] in chunks, each read in its own turn of the bus.

        The other meters' polls take their turns between two chunks, so a long read
        never stops them; a chunk already yielded is never read again.
        """
        if chunk_periods < 1:
            raise ValueError(f"a chunk needs at least one period, not {chunk_periods}")
        first = start
        while _instant(first) <= _instant(end):
            last = min(kind.advance(first, self.tz, chunk_periods - 1), end, key=_instant)
            yield await self.read_profile_chunk(kind, first, last, absolute=absolute)
            first = kind.advance(last, self.tz)

    async def read_profile(
        self, kind: ProfileKind, start: datetime, end: datetime, *, absolute: bool = False
    ) -> list[ProfilePeriod]:
        """Every period of [start, end], read chunk by chunk."""
        periods: list[ProfilePeriod] = []
        async for chunk in self.iter_profile(kind, start, end, absolute=absolute):
            periods.extend(chunk)
        return periods

    async def read_billing(
        self, contract: int, start: datetime | None = None, end: datetime | None = None
    ) -> list[BillingPeriod]:
        """The current billing period (no range), or the closures stored in [start, end].

        ValueError for a contract other than 1, 2 or 3, or a range with one end only.
        """
        _check_contract(contract)
        if (start is None) != (end is None):
            raise ValueError("a range of billing closures needs both its start and its end")
        return await self._turn(lambda: self._read_billing(contract, start, end))

    async def read_contracted_powers(self, contract: int) -> dict[int, float]:
        """Contracted power (kW) per tariff period of ``contract`` (1, 2 or 3)."""
        _check_contract(contract)
        return await self._turn(lambda: self._read_contracted_powers(contract))

    # --- what drivers implement ----------------------------------------------------
    #: Whether :meth:`_read_clock` is implemented.
    has_clock: ClassVar[bool] = False
    #: Whether the ``_read_profile`` / ``_read_billing`` / ``_read_contracted_powers``
    #: methods are implemented (a meter may still answer that it has no such record).
    has_records: ClassVar[bool] = False
    #: Whether :meth:`read_identity` right after :meth:`read_values` sends nothing (the
    #: identity came with the values), so a caller may check it on every read for free.
    identity_in_values: ClassVar[bool] = False

    async def end_session(self) -> None:  # noqa: B027 - most protocols keep no session
        """Log out if a session is open; called with the line held."""

    @abstractmethod
    async def _read_identity(self) -> Identity:
        """Read the identity; the line is held and open."""

    @abstractmethod
    async def _read_values(self) -> Reading:
        """Read the values; the line is held and open."""

    async def _read_clock(self) -> datetime | None:
        """Read the clock; the line is held and open."""
        raise NotSupported("this meter has no clock to read")

    async def _read_profile(
        self,
        kind: ProfileKind,
        start: datetime,
        end: datetime,
        absolute: bool,
        received: list[ProfilePeriod],
    ) -> None:
        """Append the periods of [start, end] to ``received`` as they arrive."""
        raise NotSupported("this meter keeps no load profile that can be read")

    async def _read_billing(
        self, contract: int, start: datetime | None, end: datetime | None
    ) -> list[BillingPeriod]:
        """Read billing periods; the line is held and open."""
        raise NotSupported("this meter keeps no billing periods that can be read")

    async def _read_contracted_powers(self, contract: int) -> dict[int, float]:
        """Read the contracted powers; the line is held and open."""
        raise NotSupported("this meter keeps no contracted powers that can be read")

    async def _screened(self, reading: Reading) -> Reading:
        """``reading`` as the guard lets it through.

        A re-read takes a turn of its own: a client may reuse what it read earlier in
        a turn (an IEC 62056-21 readout), which would only repeat the doubtful value.
        """
        guard = self.guard
        if guard is None:
            return reading
        return await guard.screen(reading, lambda: self._turn(self._read_values))

    async def _attempt[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one turn's work: open the line, then the operation."""
        await self.bus.ensure_open()
        return await operation()

    async def _turn[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        return await self.bus.run(lambda: self._attempt(operation))


def _instant(when: datetime) -> datetime:
    """``when`` in UTC, to compare as instants.

    Two times in one zone compare by their wall clock, so the repeated October hour
    would look equal to the hour before it.
    """
    return when.astimezone(UTC)


def _check_contract(contract: int) -> None:
    """Refuse a contract a meter cannot have before the line is taken for it."""
    if contract not in CONTRACTS:
        raise ValueError(f"contract must be 1, 2 or 3, not {contract}")


class Driver[S](ABC):
    """One protocol: what it needs from a line and a meter, and what it offers."""

    #: Key stored in config entries and given to ``read --protocol``. Never change it.
    name: ClassVar[str]
    #: Name shown to people.
    title: ClassVar[str]
    line_defaults: ClassVar[LineDefaults]
    #: Request timeout that suits the protocol's answers (ms).
    default_request_timeout_ms: ClassVar[int]
    #: Poll interval that suits a read's duration (s).
    default_scan_interval_s: ClassVar[int]
    #: Every signal the protocol can deliver (a meter may deliver fewer).
    signals: ClassVar[frozenset[str]]
    #: Settings of one meter on the line.
    meter_fields: ClassVar[tuple[SettingField, ...]]
    #: The meter labels its values, and any of them can become a sensor by its address.
    labelled_data: ClassVar[bool] = False
    #: Its meters keep records (load profile, billing) that its client can read.
    keeps_records: ClassVar[bool] = False
    #: Named sets of defaults (e.g. a utility's usual line parity and password) that
    #: pre-fill the forms; keys are line and meter setting keys.
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: Decimals a signal's values carry in our unit, where the protocol fixes them (an
    #: IEC 102 power is a whole number of kW); the others take the signal table's.
    resolution: ClassVar[Mapping[str, int]] = {}

    def precision(self, key: str, reading: Reading | None = None) -> int | None:
        """Decimals to show signal ``key`` with: its resolution, not more, not less.

        Showing more digits than the meter gives makes up precision ("5.00 kW" for a
        whole kW); fewer hides a register that moves (Wh shown in whole kWh looks frozen
        for an hour). ``reading`` lets a protocol whose meters write their own digits
        tell them.
        """
        if key in self.resolution:
            return self.resolution[key]
        return SIGNALS[key].precision

    @abstractmethod
    def settings(self, data: Mapping[str, Any]) -> S:
        """A meter's settings from stored or entered data; ValueError names a bad field."""

    @abstractmethod
    def client(self, bus: Bus, settings: S, tz: tzinfo) -> MeterClient[S]:
        """A client for one meter on ``bus``."""

    @abstractmethod
    def unique_id(self, identity: Identity, settings: S) -> str:
        """What identifies the meter anywhere (it never changes for one meter)."""

    @abstractmethod
    def identity_record(self, identity: Identity) -> dict[str, Any]:
        """The identity as stored with a configured meter."""

    @abstractmethod
    def stored_identity(self, record: Mapping[str, Any]) -> Identity:
        """The identity of a configured meter from what :meth:`identity_record` stored."""

    def describe(self, settings: S) -> str:
        """Short text naming a meter on its line, for logs (e.g. its address)."""
        return ""

    def standard_data(self, reading: Reading) -> frozenset[str]:
        """Addresses in ``reading.data`` that already feed one of the standard signals."""
        return frozenset()
