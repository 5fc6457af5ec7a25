"""A "Read now" button per meter: poll at once instead of waiting for the interval.

A press is an action: when the read fails, the press fails with the reason (the user
sees it), instead of the error staying in the coordinator.
"""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
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
        """Poll the meter immediately; fail with the reason when the read fails."""
        coordinator = self.coordinator
        # async_refresh() keeps the error to itself (the entities go unavailable).
        await coordinator.async_refresh()
        if coordinator.last_update_success:
            return
        err = coordinator.last_exception
        if (
            isinstance(err, HomeAssistantError)
            and err.translation_domain == DOMAIN
            and err.translation_key is not None
        ):
            # The poll's own translated reason: cannot be read, password, off scan...
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=err.translation_placeholders,
            ) from err
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="read_now_failed",
            translation_placeholders={
                "meter": coordinator.subentry.title,
                "reason": str(err) or type(err).__name__,
            },
        ) from err
