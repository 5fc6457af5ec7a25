"""How far a meter's load profile has been imported into the statistics.

A backfill of months takes a while on a serial line, and an hour the meter could not
deliver is left out rather than zeroed: this diagnostic sensor shows the end of the last
imported hour, and its attributes say what the importer is doing and how many hours it
had to leave out (and why), so a user sees both the progress and any holes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory

from .const import CONF_DEVICE
from .data import IecMeterConfigEntry
from .entity import device_info
from .profile_import import ProfileImporter


class ProfileImportSensor(SensorEntity):
    """End of the last hour of the meter's profile in the statistics.

    Not a coordinator entity: the import runs on its own schedule, and its progress is
    worth seeing while the meter's live values are unavailable.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "profile_imported"

    def __init__(
        self, entry: IecMeterConfigEntry, subentry: ConfigSubentry, importer: ProfileImporter
    ) -> None:
        """Attach to the meter's device, as the meter's other entities are."""
        meter_id = str(subentry.unique_id)
        self.importer = importer
        self.subentry_id = subentry.subentry_id
        self._attr_unique_id = f"{meter_id}_profile_imported"
        self._attr_device_info = device_info(
            meter_id,
            subentry.title,
            entry.runtime_data.driver.stored_identity(subentry.data),
            entry.data[CONF_DEVICE],
        )

    async def async_added_to_hass(self) -> None:
        """Follow the importer's progress."""
        await super().async_added_to_hass()
        self.async_on_remove(self.importer.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> datetime | None:
        """End of the last imported hour; unknown until the first hour is imported."""
        return self.importer.imported_until

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """What the importer does, and the hours it left out by reason."""
        counters = self.importer.counters
        return {
            "status": self.importer.status.value,
            "invalid_hours": len(counters.invalid),
            "incomplete_hours": len(counters.incomplete),
            "missing_hours": len(counters.missing),
        }


def profile_entities(
    entry: IecMeterConfigEntry, subentry_id: str | None = None
) -> list[SensorEntity]:
    """The progress sensors of the entry's importers (of one meter, given its subentry)."""
    return [
        ProfileImportSensor(entry, entry.subentries[key], importer)
        for key, importer in entry.runtime_data.importers.items()
        if subentry_id in (None, key)
    ]
