"""Entities of a pass-through gateway: one device per gateway, updated as clients come."""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .core.gateway import Gateway
from .data import IecMeterConfigEntry
from .gateways import gateway_signal

MODEL = "Pass-through gateway"


class GatewayEntity(Entity):
    """State of one gateway, pushed by the gateway itself (no polling)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, entry: IecMeterConfigEntry, subentry: ConfigSubentry, gateway: Gateway, key: str
    ) -> None:
        """Tie the entity to its gateway's device."""
        self.gateway = gateway
        self._signal = gateway_signal(entry.entry_id, subentry.subentry_id)
        self._attr_unique_id = f"{entry.entry_id}_{subentry.subentry_id}_{key}"
        self._attr_translation_key = key
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{entry.entry_id}_{subentry.subentry_id}")},
            name=subentry.title,
            manufacturer="IEC Meter",
            model=MODEL,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the gateway's clients."""
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self._signal, self.async_write_ha_state)
        )
