"""One DataUpdateCoordinator per meter; the bus makes the meters on a line take turns.

Polls never overlap (the coordinator schedules the next one after the last finished) and
the meters of one connection take turns on its bus, so a slow meter never piles requests
up. An unreachable meter raises UpdateFailed: its entities become unavailable and the
coordinator logs the loss once and the recovery once. A meter that keeps failing goes
off scan for a while (auto-demotion), so it does not delay the others on the bus.

A rejected password opens a repair issue that asks for the new one, and nothing more is
sent to that meter until the repair changes the password: trying again could lock the
meter's port. The other meters keep running.

Polls also check who answered. Where the identity comes with the values (an IEC 62056-21
readout) every poll does, at no cost. Where it costs a request (IEC 102: it would double a
steady poll's round trips) it is asked at the first poll, after a failed poll, whenever
the line was connected again (a new connection may reach another meter), with every clock
read (every 5 minutes), and always before the meter's records are read
(:meth:`IecMeterCoordinator.async_check_identity`), so another meter's profile or bills
are never imported. A meter that answers with another identity than the one stored for
this meter (another serial: a swapped meter, two meters on one address) fails the poll
like a dead meter, before its values reach the plausibility guard, so nothing of it
reaches an entity or a statistic, and a repair issue says who answered. Polling goes on
(checking identity every poll meanwhile), and the first poll that finds the right meter
clears it.

Every read goes through the core's plausibility guard (:mod:`.core.plausibility`): a
value it finds implausible twice is left out of the poll's reading and its signal listed
in :attr:`IecMeterCoordinator.withheld`. Before the first read the guard gets the energy
registers' states from before the restart, as baselines it checks and replaces when the
meter contradicts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import SensorExtraStoredData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    entity_registry as er,
    issue_registry as ir,
    restore_state,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .connection import meter_client
from .const import (
    CLOCK_READ_INTERVAL,
    CONF_AUTO_DEMOTION,
    CONF_DEMOTION_DELAY,
    CONF_DEMOTION_FAILURES,
    CONF_LOCK_LIMIT,
    CONF_OFFERED,
    CONF_SCAN_INTERVAL,
    CONF_SIGNALS,
    DOMAIN,
    LOGGER,
    LOGOUT_TIMEOUT_S,
)
from .core.bus import Bus
from .core.demotion import DEFAULT_DELAY_MS, DEFAULT_FAILURES, DemotionSettings, ScanState
from .core.driver import Driver
from .core.errors import AuthenticationRejected, MeterError
from .core.model import SIGNALS, Identity, Snapshot
from .core.plausibility import Limits, PlausibilityGuard, limits_from
from .core.timing import one_try
from .validation import meter_unique_id

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry

    from .data import IecMeterConfigEntry


@dataclass
class PollStatistics:
    """Counters for diagnostics."""

    polls: int = 0
    failures: int = 0
    last_error: str | None = None
    total_seconds: float = 0.0
    last_success: datetime | None = None

    @property
    def average_seconds(self) -> float | None:
        """Mean duration of a poll."""
        return self.total_seconds / self.polls if self.polls else None


#: The shortest pause between two polls of a meter, however long the last one took.
MIN_POLL_GAP_S = 1.0


def auth_issue_id(subentry_id: str) -> str:
    """Repair issue id for a meter whose password was rejected."""
    return f"auth_failed_{subentry_id}"


#: The longest a meter whose identity costs a request goes unasked: with the clock read.
IDENTITY_CHECK_INTERVAL = CLOCK_READ_INTERVAL

#: Prefix of the repair issue of a meter whose address another meter answers.
OTHER_METER_ISSUE = "other_meter_"


def other_meter_issue_id(subentry_id: str) -> str:
    """Repair issue id for a meter whose address another meter answers."""
    return f"{OTHER_METER_ISSUE}{subentry_id}"


@dataclass(frozen=True, slots=True)
class OtherMeter:
    """Who answered at a meter's address instead of it (serials, as the user reads them)."""

    expected: str
    answered: str


class OtherMeterAnswers(MeterError):
    """The meter at this meter's address is another one."""

    hint = (
        "Check the RS-485 addresses (link address for IEC 102, device address for IEC "
        "62056-21: two meters set to the same one, or an address changed) and whether the "
        "meter was swapped."
    )

    def __init__(self, found: OtherMeter) -> None:
        """Say who answered and who was expected."""
        super().__init__(f"meter {found.answered} answers instead of {found.expected}")
        self.found = found


def _serials(expected: Identity, answered: Identity) -> OtherMeter:
    """The two meters' serials, with the manufacturer where the serials alone agree."""
    if expected.serial == answered.serial:
        return OtherMeter(
            f"{expected.manufacturer} {expected.serial}",
            f"{answered.manufacturer} {answered.serial}",
        )
    return OtherMeter(expected.serial, answered.serial)


def demotion_settings(record: Mapping[str, Any]) -> DemotionSettings:
    """A meter's auto-demotion settings (meters set up before them get the defaults)."""
    return DemotionSettings(
        enabled=bool(record.get(CONF_AUTO_DEMOTION, True)),
        failures=int(record.get(CONF_DEMOTION_FAILURES, DEFAULT_FAILURES)),
        delay_ms=int(record.get(CONF_DEMOTION_DELAY, DEFAULT_DELAY_MS)),
    )


def error_text(err: MeterError) -> str:
    """The error and what to check, for a log line or a repair."""
    hint = getattr(err, "hint", "")
    return f"{err} ({hint})" if hint else str(err)


class IecMeterCoordinator(DataUpdateCoordinator[Snapshot]):
    """Polls one meter."""

    config_entry: IecMeterConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IecMeterConfigEntry,
        subentry: ConfigSubentry,
        driver: Driver[Any],
        bus: Bus,
    ) -> None:
        """Set the meter up; the first poll happens in the entry's setup."""
        interval = int(entry.options.get(CONF_SCAN_INTERVAL, driver.default_scan_interval_s))
        self._scan_interval = float(interval)
        self.bus = bus
        self.client = meter_client(driver, bus, subentry.data, hass.config.time_zone)
        described = driver.describe(self.client.settings)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{subentry.title} ({described})" if described else subentry.title,
            update_interval=timedelta(seconds=interval),
            always_update=False,
        )
        self.subentry = subentry
        #: The signals chosen (ticked) at setup, and every one that gets an entity: the
        #: unticked ones too, disabled until the user enables them.
        self.wanted = frozenset(subentry.data.get(CONF_SIGNALS, ()))
        self.offered = self.wanted | frozenset(subentry.data.get(CONF_OFFERED, ()))
        #: Screens each reading here, not in the client: only once the reading is known
        #: to come from this meter (another meter's registers must never become baselines).
        self.guard = PlausibilityGuard(self._limits())
        self._baselines_restored = False
        self.statistics = PollStatistics()
        self.scan = ScanState(demotion_settings(subentry.data))
        self._driver = driver
        #: Set while another meter answers at this meter's address.
        self.other_meter: OtherMeter | None = None
        self._password_rejected = False
        self._clock: datetime | None = None
        self._clock_drift: float | None = None
        self._clock_read_at: float | None = None
        #: The clock of the clock and identity cadences (a test moves it on).
        self.monotonic: Callable[[], float] = time.monotonic
        self._identity_checked_at: float | None = None
        self._identity_opens: int | None = None
        #: Who answered the last identity check, and when (diagnostics).
        self.answered: Identity | None = None
        self.identity_checked: datetime | None = None

    @property
    def address(self) -> str:
        """Where the meter is on its line (e.g. ``link address 1``), for messages."""
        return self._driver.describe(self.client.settings)

    @property
    def other_meter_answered(self) -> bool:
        """Whether the last poll reached another meter (not only failed)."""
        failed = self.last_exception
        return isinstance(failed, UpdateFailed) and isinstance(failed.__cause__, OtherMeterAnswers)

    @property
    def withheld(self) -> frozenset[str]:
        """Signals the guard left out of the last reading (their sensors keep theirs)."""
        return self.guard.withheld

    def _limits(self) -> Limits:
        try:
            return limits_from(self.subentry.data)
        except ValueError as err:
            LOGGER.warning("%s: %s; the default plausibility limits apply", self.name, err)
            return Limits()

    def _restore_baselines(self) -> None:
        """Hand the guard the registers' last states from before the restart.

        The sensors' own restore data (value and unit as the meter gave them, not as
        displayed); the guard takes them as weak baselines, so a wrong one from before
        cannot block the correct values that follow.
        """
        self._baselines_restored = True
        registry = er.async_get(self.hass)
        now = dt_util.utcnow()
        meter_id = str(self.subentry.unique_id)
        for key in sorted(self.offered):
            signal = SIGNALS.get(key)
            if signal is None or not signal.is_register:
                continue
            entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{meter_id}_{key}")
            last = None if entity_id is None else self._stored_state(entity_id)
            if last is None or last.extra_data is None:
                continue
            data = SensorExtraStoredData.from_dict(last.extra_data.as_dict())
            if data is None or data.native_unit_of_measurement != signal.unit:
                continue
            value = data.native_value
            if isinstance(value, int | float):
                age = (now - last.state.last_updated).total_seconds()
                self.guard.restore(key, float(value), age)

    def _stored_state(self, entity_id: str) -> restore_state.StoredState | None:
        """A sensor's restore data from before the restart.

        Home Assistant 2026.11 keys it by entity registry entry and dropped
        ``last_states``; ``async_get_stored_state`` reads it there.
        """
        data = restore_state.async_get(self.hass)
        if hasattr(data, "async_get_stored_state"):
            stored: restore_state.StoredState | None = data.async_get_stored_state(entity_id)
            return stored
        return data.last_states.get(entity_id)

    @property
    def scan_interval(self) -> float:
        """Seconds from the start of one poll to the start of the next."""
        return self._scan_interval

    async def _async_update_data(self) -> Snapshot:
        loop = self.hass.loop
        started = loop.time()
        try:
            return await self._poll()
        finally:
            # Home Assistant counts the interval from the end of a poll. On a busy bus a
            # poll includes waiting for the line, so that would stretch every interval by
            # the wait: count it from the start instead, as a scan does.
            spent = loop.time() - started
            self.update_interval = timedelta(
                seconds=max(MIN_POLL_GAP_S, self._scan_interval - spent)
            )

    async def _poll(self) -> Snapshot:
        title = self.subentry.title
        if self._password_rejected:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="auth_failed",
                translation_placeholders={"meter": title},
            )
        if self.bus.held:
            return self._while_handed_over()
        if not self.scan.may_poll():
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="off_scan",
                translation_placeholders={
                    "meter": title,
                    "seconds": f"{self.scan.seconds_left:.0f}",
                },
            )
        started = time.monotonic()
        self.statistics.polls += 1
        try:
            if self.scan.on_scan:
                data = await self._read()
            else:
                # The one attempt after the off-scan time: a single try, so a meter that
                # is still dead holds the line for one request timeout, not all retries.
                with one_try():
                    data = await self._read()
        except OtherMeterAnswers as err:
            self._record_failure(err)
            # The line answers at once: no reason to take the address off scan.
            self.scan.success()
            self._open_other_meter_issue(err.found)
            raise self._other_meter_failed(err) from err
        except AuthenticationRejected as err:
            self._record_failure(err)
            self._password_rejected = True
            self._open_auth_issue()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="auth_failed",
                translation_placeholders={"meter": title},
            ) from err
        except MeterError as err:
            self._record_failure(err)
            if self.scan.failure():
                # A failure after a failure tells no entity: the scan state must hear it.
                self.async_update_listeners()
                LOGGER.warning(
                    "%s goes off scan for %.0f s after %d failed polls in a row: %s",
                    title,
                    self.scan.seconds_left,
                    self.scan.consecutive_failures,
                    error_text(err),
                )
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="meter_unavailable",
                translation_placeholders={"meter": title, "error": error_text(err)},
            ) from err
        finally:
            self.statistics.total_seconds += time.monotonic() - started
        if self.scan.success():
            LOGGER.info("%s is back on scan", title)
        self.statistics.last_success = dt_util.utcnow()
        ir.async_delete_issue(self.hass, DOMAIN, auth_issue_id(self.subentry.subentry_id))
        if self.other_meter is not None:
            self.other_meter = None
            LOGGER.info("%s answers again at its address", title)
            ir.async_delete_issue(
                self.hass, DOMAIN, other_meter_issue_id(self.subentry.subentry_id)
            )
        return data

    def _while_handed_over(self) -> Snapshot:
        """A gateway client has the line: keep the last values, up to the lock limit."""
        assert self.bus.held_since is not None
        held = self.bus.loop_time() - self.bus.held_since
        limit_ms = int(self.config_entry.options.get(CONF_LOCK_LIMIT, 0))
        if self.data is not None and (not limit_ms or held < limit_ms / 1000):
            return self.data
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="out_of_service",
            translation_placeholders={"meter": self.subentry.title, "seconds": f"{held:.0f}"},
        )

    async def _read(self) -> Snapshot:
        if not self._baselines_restored:
            self._restore_baselines()
        client = self.client
        first = await client.read_values()
        now = self.monotonic()
        clock_due = client.has_clock and (
            self._clock_read_at is None
            or now - self._clock_read_at >= CLOCK_READ_INTERVAL.total_seconds()
        )
        if clock_due or self._identity_due(now):
            # After the values: an IEC 62056-21 client answers from the readout just made.
            await self._confirm_identity()
        reading = await self.guard.screen(first, client.read_values)
        if self._identity_opens != self.bus.transport.opens:
            # The guard's re-read connected again: its values may be another meter's.
            await self._confirm_identity()
        missing = self.offered.difference(reading.values, self.withheld)
        if missing:
            # Its entities show "unknown" for this poll, as for a value flagged invalid.
            LOGGER.debug("%s: this answer left out %s", self.name, ", ".join(sorted(missing)))
        if clock_due:
            clock = await self.client.read_clock()
            self._clock_read_at = now
            self._clock = clock
            self._clock_drift = (
                None if clock is None else (clock - dt_util.utcnow()).total_seconds()
            )
        return Snapshot(reading, clock=self._clock, clock_drift=self._clock_drift)

    def _identity_due(self, now: float) -> bool:
        """Whether this poll asks who answers (see the module's docstring)."""
        checked = self._identity_checked_at
        return (
            self.client.identity_in_values
            or checked is None
            or not self.last_update_success
            or self.other_meter is not None
            or self._identity_opens != self.bus.transport.opens
            or now - checked >= IDENTITY_CHECK_INTERVAL.total_seconds()
        )

    async def _confirm_identity(self) -> None:
        """Ask who answers; raise :class:`OtherMeterAnswers` unless it is this meter."""
        answered = await self.client.read_identity()
        self._identity_checked_at = self.monotonic()
        # Read after the answer: a read that connected again counts as this connection's.
        self._identity_opens = self.bus.transport.opens
        self.identity_checked = dt_util.utcnow()
        self.answered = answered
        self._check_identity(answered)

    async def async_check_identity(self) -> None:
        """Make sure this meter answers before its records are read (a turn of the bus).

        Another meter's load profile or bills must never become this meter's, and a
        meter swapped since the last poll's check would not be caught before it. Raises
        :class:`OtherMeterAnswers` (with the repair opened and the entities unavailable,
        as a poll would) or the read's :class:`MeterError`.
        """
        try:
            await self._confirm_identity()
        except OtherMeterAnswers as err:
            self._open_other_meter_issue(err.found)
            self.async_set_update_error(self._other_meter_failed(err))
            raise

    def _other_meter_failed(self, err: OtherMeterAnswers) -> UpdateFailed:
        failed = UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="other_meter",
            translation_placeholders={
                "meter": self.subentry.title,
                "expected": err.found.expected,
                "answered": err.found.answered,
            },
        )
        failed.__cause__ = err
        return failed

    def _check_identity(self, answered: Identity) -> None:
        """Raise :class:`OtherMeterAnswers` unless the stored meter answered."""
        driver = self._driver
        record = self.subentry.data
        if driver.unique_id(answered, self.client.settings) == meter_unique_id(driver, record):
            return
        raise OtherMeterAnswers(_serials(driver.stored_identity(record), answered))

    def _record_failure(self, err: MeterError) -> None:
        self.statistics.failures += 1
        self.statistics.last_error = f"{type(err).__name__}: {err}"

    def _open_auth_issue(self) -> None:
        subentry = self.subentry
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            auth_issue_id(subentry.subentry_id),
            data={"entry_id": self.config_entry.entry_id, "subentry_id": subentry.subentry_id},
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="auth_failed",
            translation_placeholders={"meter": subentry.title},
        )

    def _open_other_meter_issue(self, found: OtherMeter) -> None:
        self.other_meter = found
        subentry = self.subentry
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            other_meter_issue_id(subentry.subentry_id),
            data={
                "entry_id": self.config_entry.entry_id,
                "subentry_id": subentry.subentry_id,
                "expected": found.expected,
                "answered": found.answered,
            },
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="other_meter",
            # The fix flow's texts name the two meters (from this coordinator).
            translation_placeholders={"meter": subentry.title},
        )

    async def async_shutdown(self) -> None:
        """Stop polling and log out of the meter (never holding up an unload for long).

        The issue of another meter at the address goes with the coordinator: the next
        one raises it again at its first poll if that meter still answers (and a meter
        deleted from the hub leaves no issue behind).
        """
        ir.async_delete_issue(self.hass, DOMAIN, other_meter_issue_id(self.subentry.subentry_id))
        await super().async_shutdown()
        try:
            async with asyncio.timeout(LOGOUT_TIMEOUT_S):
                await self.client.close()
        except TimeoutError:
            LOGGER.debug("%s: logout not confirmed in time", self.name)
