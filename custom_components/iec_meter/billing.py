"""Billing periods of one meter's contract, read on a slow cadence.

What a bill is made of changes slowly: the current billing period's registers move with
the consumption, but a bill needs them at most hourly; the last closure and the
contracted powers change once a month at most. So one coordinator per meter reads the
current period every hour, and the last closure and the contracted powers once a day
(the closure also as soon as the current period starts anew, i.e. right after a
closure). Each read is one turn of the bus, so the live polls of every meter on the line
take their turns between them.

The live coordinator stays in charge of the meter: billing is not read while the meter
fails its live polls or is off scan (its requests would only hold the line for their
timeouts, and a rejected password must not be tried again), nor while a gateway client
holds the line. A failed read makes only the billing entities unavailable, logged once
by the coordinator as a live poll's failure is, with no repair issue: billing is an
extra, the meter itself is fine. A meter that answers that it has no billing records at
all is logged once and not asked again until the entry reloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .coordinator import error_text
from .core.driver import MeterClient
from .core.errors import MeterError, NotSupported
from .core.records import BILLING_TOTAL, MAX_TARIFF_PERIOD, BillingPeriod

if TYPE_CHECKING:
    from .data import IecMeterConfigEntry

#: Cadence of the current billing period's read.
BILLING_INTERVAL: Final = timedelta(hours=1)
#: After a failed (or deferred) read: soon enough that a glitch is not an hour's gap.
RETRY_INTERVAL: Final = timedelta(minutes=15)
#: How often the last closure and the contracted powers are read again.
SLOW_READ_INTERVAL: Final = timedelta(days=1)
#: How far back from the current period's start the last closure is looked for: two
#: monthly closures fit, so a meter that closed a day late is still found.
CLOSURE_LOOKBACK: Final = timedelta(days=62)
#: Tariff periods P1..P6 (the total is :data:`BILLING_TOTAL`).
TARIFF_PERIODS: Final = range(1, MAX_TARIFF_PERIOD + 1)


def _by_period(periods: Iterable[BillingPeriod]) -> dict[int, BillingPeriod]:
    return {period.period: period for period in periods}


@dataclass(frozen=True, slots=True)
class BillingData:
    """What the meter stored for the contract, by tariff period (0 is the total).

    ``closure`` is the last closed billing period (empty until one is found) and
    ``contracted_powers`` the contracted power per tariff period, in kW.
    """

    current: dict[int, BillingPeriod] = field(default_factory=dict)
    closure: dict[int, BillingPeriod] = field(default_factory=dict)
    contracted_powers: dict[int, float] = field(default_factory=dict)

    @property
    def in_force(self) -> bool:
        """The contract holds something: a contract never used is all zero or absent."""
        return any(period.in_use for period in self.current.values())

    @property
    def periods(self) -> list[int]:
        """The tariff periods the contract uses (a three-period tariff: 1, 2, 3)."""
        return [p for p in TARIFF_PERIODS if p in self.current and self.current[p].in_use]

    @property
    def closure_periods(self) -> list[int]:
        """The tariff periods used in the last closure."""
        return [p for p in TARIFF_PERIODS if p in self.closure and self.closure[p].in_use]

    @property
    def power_periods(self) -> list[int]:
        """The tariff periods with a contracted power (a tariff may bill fewer powers)."""
        return [p for p in TARIFF_PERIODS if self.contracted_powers.get(p)]

    @property
    def current_start(self) -> datetime | None:
        """When the current billing period started, if the meter says."""
        total = self.current.get(BILLING_TOTAL)
        return None if total is None else total.start

    @property
    def closure_end(self) -> datetime | None:
        """When the last closed billing period ended."""
        return next((p.end for p in self.closure.values() if p.end is not None), None)


def last_closure(periods: Iterable[BillingPeriod]) -> dict[int, BillingPeriod]:
    """The objects of the closure that ended last, by tariff period."""
    closed = [period for period in periods if period.end is not None]
    if not closed:
        return {}
    last = max(period.end for period in closed if period.end is not None)
    return _by_period(period for period in closed if period.end == last)


class BillingCoordinator(DataUpdateCoordinator[BillingData]):
    """Reads the billing periods of one contract of one meter."""

    config_entry: IecMeterConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IecMeterConfigEntry,
        subentry: ConfigSubentry,
        client: MeterClient[Any],
        contract: int,
    ) -> None:
        """Prepare the coordinator; the first read happens in the entry's setup."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{subentry.title} billing",
            update_interval=BILLING_INTERVAL,
            always_update=False,
        )
        self.subentry = subentry
        self.client = client
        self.contract = contract
        #: False once the meter said it keeps no billing periods: nothing is asked again.
        self.supported = True
        self._closures_supported = True
        self._powers_supported = True
        self._closure_read_at: datetime | None = None
        self._closure_read_for: datetime | None = None
        self._powers_read_at: datetime | None = None
        self._told_empty = False

    async def _async_update_data(self) -> BillingData:
        if not self.supported:
            return BillingData()
        deferred = self._deferred()
        if deferred is not None:
            return deferred
        try:
            data = await self._read()
        except NotSupported as err:
            LOGGER.info(
                "%s does not keep billing periods (%s): no billing sensors until reloaded",
                self.subentry.title,
                err,
            )
            self.supported = False
            self.update_interval = None
            return BillingData()
        except MeterError as err:
            self.update_interval = RETRY_INTERVAL
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="billing_unavailable",
                translation_placeholders={"meter": self.subentry.title, "error": error_text(err)},
            ) from err
        self.update_interval = BILLING_INTERVAL
        return data

    def _deferred(self) -> BillingData | None:
        """The data to keep instead of reading now, or None to read.

        Raises UpdateFailed while the meter fails its live polls or is off scan.
        """
        live = self.config_entry.runtime_data.coordinators.get(self.subentry.subentry_id)
        if live is not None and not (live.last_update_success and live.scan.on_scan):
            self.update_interval = RETRY_INTERVAL
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="billing_meter_unavailable",
                translation_placeholders={"meter": self.subentry.title},
            )
        if self.client.bus.held:
            # A gateway client has the line; waiting for it would hold up this coordinator.
            self.update_interval = RETRY_INTERVAL
            if self.data is not None:
                return self.data
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="billing_line_held",
                translation_placeholders={"meter": self.subentry.title},
            )
        return None

    async def _read(self) -> BillingData:
        """The current period, and the closure and powers when they are due: each a turn."""
        live = self.config_entry.runtime_data.coordinators.get(self.subentry.subentry_id)
        if live is not None:
            # Who answers now: another meter's bills must never show as this meter's.
            await live.async_check_identity()
        current = _by_period(await self.client.read_billing(self.contract))
        fresh = BillingData(current)
        if not fresh.in_force:
            if not self._told_empty:
                LOGGER.info(
                    "%s: contract %d holds no billing data; no billing sensors while it does not",
                    self.subentry.title,
                    self.contract,
                )
                self._told_empty = True
            return fresh
        previous = self.data if self.data is not None else BillingData()
        now = dt_util.utcnow()
        start = fresh.current_start
        closure_due = self._closures_supported and self._closure_due(start, now)
        powers_due = self._powers_supported and self._due(self._powers_read_at, now)
        closure = await self._read_closure(start, now) if closure_due else previous.closure
        powers = await self._read_powers() if powers_due else previous.contracted_powers
        # Only now that every read succeeded are they done: after a failure part-way,
        # the next update reads them all again rather than keep what was not stored.
        if closure_due:
            self._closure_read_at = now
            self._closure_read_for = start
        if powers_due:
            self._powers_read_at = now
        return BillingData(current, closure, powers)

    @staticmethod
    def _due(last: datetime | None, now: datetime) -> bool:
        return last is None or now - last >= SLOW_READ_INTERVAL

    def _closure_due(self, start: datetime | None, now: datetime) -> bool:
        """Daily, and as soon as the current period has a new start (a closure happened)."""
        return self._due(self._closure_read_at, now) or start != self._closure_read_for

    async def _read_closure(
        self, start: datetime | None, now: datetime
    ) -> dict[int, BillingPeriod]:
        """The last closure: it ended when the current period started (else before now)."""
        anchor = start if start is not None else self._meter_now(now)
        try:
            stored = await self.client.read_billing(
                self.contract, anchor - CLOSURE_LOOKBACK, anchor + timedelta(days=1)
            )
        except NotSupported as err:
            LOGGER.info(
                "%s does not keep billing closures (%s): not asked again until reloaded",
                self.subentry.title,
                err,
            )
            self._closures_supported = False
            return {}
        return last_closure(stored)

    async def _read_powers(self) -> dict[int, float]:
        try:
            return await self.client.read_contracted_powers(self.contract)
        except NotSupported as err:
            LOGGER.info(
                "%s has no contracted powers for contract %d (%s): not asked again until reloaded",
                self.subentry.title,
                self.contract,
                err,
            )
            self._powers_supported = False
            return {}

    def _meter_now(self, now: datetime) -> datetime:
        """The meter's clock as last read by the live poll, else ours."""
        live = self.config_entry.runtime_data.coordinators.get(self.subentry.subentry_id)
        clock = None if live is None or live.data is None else live.data.clock
        return clock if clock is not None else now
