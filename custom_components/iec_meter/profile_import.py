"""The meter's load profile into Home Assistant's long-term statistics (placeholder).

Contract (filled in by the statistics work):
``ProfileImporter(hass, entry, subentry, client, kind, backfill_days)``;
``async_start()`` schedules the first import soon after setup (never blocking it) and
then one per period; ``async_stop()`` cancels it and waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant

from .core.driver import MeterClient
from .core.records import ProfileKind

if TYPE_CHECKING:
    from .data import IecMeterConfigEntry


class ProfileImporter:
    """Imports one meter's load profile as external statistics."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IecMeterConfigEntry,
        subentry: ConfigSubentry,
        client: MeterClient[Any],
        kind: ProfileKind,
        backfill_days: int,
    ) -> None:
        """Prepare the importer; nothing is read before :meth:`async_start`."""
        self.hass = hass
        self.entry = entry
        self.subentry = subentry
        self.client = client
        self.kind = kind
        self.backfill_days = backfill_days

    def async_start(self) -> None:
        """Schedule the first import and the ones after it."""

    async def async_stop(self) -> None:
        """Cancel any import under way and the ones scheduled."""
