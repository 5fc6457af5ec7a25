"""Billing periods of one meter's contract, read on a slow cadence (placeholder).

Contract (filled in by the billing work):
``BillingCoordinator(hass, entry, subentry, client, contract)``, a
DataUpdateCoordinator refreshed once in setup and then hourly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import LOGGER
from .core.driver import MeterClient

if TYPE_CHECKING:
    from .data import IecMeterConfigEntry


class BillingCoordinator(DataUpdateCoordinator[Any]):
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
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{subentry.title} billing")
        self.subentry = subentry
        self.client = client
        self.contract = contract

    async def _async_update_data(self) -> Any:
        return None
