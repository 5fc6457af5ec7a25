"""Binary sensors: whether a pass-through gateway's client has the line."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .core.gateway import Gateway
from .data import IecMeterConfigEntry
from .gateway_entity import GatewayEntity

# Pushed by the gateway; nothing to limit.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IecMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One "in use" sensor per running gateway."""
    for subentry_id, gateway in entry.runtime_data.gateways.items():
        subentry = entry.subentries[subentry_id]
        async_add_entities(
            [GatewayInUseSensor(entry, subentry, gateway)], config_subentry_id=subentry_id
        )


class GatewayInUseSensor(GatewayEntity, BinarySensorEntity):
    """On while another program is connected through the gateway (polling pauses)."""

    def __init__(
        self, entry: IecMeterConfigEntry, subentry: ConfigSubentry, gateway: Gateway
    ) -> None:
        """Bind to the gateway."""
        super().__init__(entry, subentry, gateway, "gateway_in_use")

    @property
    def is_on(self) -> bool:
        """True while a client is connected."""
        return self.gateway.in_use
