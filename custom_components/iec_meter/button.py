"""A "Read now" button per meter: poll at once instead of waiting for the interval."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IecMeterCoordinator
from .data import IecMeterConfigEntry
from .entity import IecMeterEntity

# The button queues a poll; the coordinator serializes them.
PARALLEL_UPDATES = 1

READ_NOW = ButtonEntityDescription(key="read_now", translation_key="read_now")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IecMeterConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One button per meter."""
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        async_add_entities([ReadNowButton(coordinator)], config_subentry_id=subentry_id)


class ReadNowButton(IecMeterEntity, ButtonEntity):
    """Poll the meter now."""

    entity_description = READ_NOW

    def __init__(self, coordinator: IecMeterCoordinator) -> None:
        """Bind to the meter."""
        super().__init__(coordinator, READ_NOW.key)

    @property
    def available(self) -> bool:
        """Pressing is useful exactly when the meter is unreachable, so always allow it."""
        return True

    async def async_press(self) -> None:
        """Poll the meter immediately."""
        await self.coordinator.async_refresh()
