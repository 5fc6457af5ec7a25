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
from .config_flow import _meter_record, _probe_meter, meter_unique_id
from .const import CONF_PASSWORD
from .protocol.iec102.constants import PASSWORD_MAX

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
        errors: dict[str, str] = {}
        if user_input is not None:
            meter = {**subentry.data, CONF_PASSWORD: int(user_input[CONF_PASSWORD])}
            snapshot, error = await _probe_meter(self.hass, entry, entry.data, meter)
            if snapshot is not None:
                record = _meter_record(meter, snapshot)
                if meter_unique_id(record) != subentry.unique_id:
                    return self.async_abort(reason="wrong_meter")
                # The entry's update listener reloads it, which clears the issue.
                entries.async_update_subentry(entry, subentry, data=record)
                return self.async_create_entry(data={})
            errors["base"] = str(error)
        return self.async_show_form(
            step_id="password",
            data_schema=form_schema(
                {
                    vol.Required(CONF_PASSWORD): vol.All(
                        vol.Coerce(int), vol.Range(min=0, max=PASSWORD_MAX)
                    )
                }
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
