"""Repair flow for a meter whose password was rejected: ask for the new one.

This is how the integration covers reauthentication: the password belongs to one meter
(a config subentry), so a rejection must not stop the other meters on the connection
as a config-entry reauth would; the fix flow updates just that meter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
import voluptuous as vol

from .compat import form_schema
from .connection import driver_of
from .core.driver import FieldKind
from .schemas import InvalidSecret, secret_value, setting_selector
from .validation import meter_record, meter_unique_id, probe

if TYPE_CHECKING:
    from .compat import FixFlowResult


class PasswordRepairFlow(RepairsFlow):
    """Ask for a meter's new read password and prove it by reading the meter."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Remember which meter this is about."""
        self._entry_id = entry_id
        self._subentry_id = subentry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Go straight to the password form."""
        return await self.async_step_password()

    async def async_step_password(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """The new password."""
        entries = self.hass.config_entries
        entry = entries.async_get_entry(self._entry_id)
        if entry is None or self._subentry_id not in entry.subentries:
            return self.async_abort(reason="meter_removed")
        subentry = entry.subentries[self._subentry_id]
        driver = driver_of(entry.data)
        secrets = [field for field in driver.meter_fields if field.kind is FieldKind.SECRET]
        errors: dict[str, str] = {}
        settings: dict[str, Any] | None = None
        if user_input is not None:
            try:
                settings = {
                    **subentry.data,
                    **{field.key: secret_value(field, user_input[field.key]) for field in secrets},
                }
            except InvalidSecret as err:
                errors[err.key] = "invalid_password"
        if settings is not None:
            snapshot, error = await probe(self.hass, entry, entry.data, settings)
            if snapshot is not None:
                record = {
                    **subentry.data,
                    **meter_record(driver, settings, snapshot, subentry.data),
                }
                if meter_unique_id(driver, record) != subentry.unique_id:
                    return self.async_abort(reason="wrong_meter")
                # The entry's update listener reloads it, which clears the issue.
                entries.async_update_subentry(entry, subentry, data=record)
                return self.async_create_entry(data={})
            errors["base"] = str(error)
        return self.async_show_form(
            step_id="password",
            data_schema=form_schema(
                {vol.Required(field.key): setting_selector(field) for field in secrets}
            ),
            errors=errors,
            description_placeholders={"meter": subentry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of an ``auth_failed_<subentry>`` issue."""
    assert data is not None
    return PasswordRepairFlow(str(data["entry_id"]), str(data["subentry_id"]))
