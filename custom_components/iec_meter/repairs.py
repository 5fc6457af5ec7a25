"""Repair flows of one meter: a rejected password, and another meter at its address.

A rejected password is how the integration covers reauthentication: the password belongs
to one meter (a config subentry), so a rejection must not stop the other meters on the
connection as a config-entry reauth would; the fix flow updates just that meter.

Another meter answering at a meter's address is not taken as this meter, not even when
the user asks: its unique id (that of the subentry, its device and entities, and its
imported profile statistics) comes from its identity, so it would either keep the old
meter's id with another meter's registers, profile and bills (a jump in the energy
statistics, two meters' profiles in one series, and the same meter could be added twice),
or take a new id, which is a new meter in disguise with the old one's entities left
behind. So the fix flow explains, reads the meter again once the user has checked the
addresses, and tells them to add a replaced meter as a new one: the old meter's history
stays as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import voluptuous as vol

from .compat import form_schema
from .connection import driver_of
from .coordinator import OTHER_METER_ISSUE, IecMeterCoordinator
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


class OtherMeterRepairFlow(RepairsFlow):
    """Say who answers instead of the meter, and read it again once the user checked."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Remember which meter this is about."""
        self._entry_id = entry_id
        self._subentry_id = subentry_id

    def _coordinator(self) -> IecMeterCoordinator | None:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        coordinators: dict[str, IecMeterCoordinator] = entry.runtime_data.coordinators
        return coordinators.get(self._subentry_id)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Go straight to the explanation."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Who answers and what to check; submitting reads the meter again."""
        coordinator = self._coordinator()
        if coordinator is None:
            return self.async_abort(reason="meter_removed")
        errors: dict[str, str] = {}
        if user_input is not None:
            await coordinator.async_refresh()
            if coordinator.last_update_success:
                # The right meter answered: the poll cleared the issue and the values flow.
                return self.async_create_entry(data={})
            if coordinator.other_meter_answered:
                return self.async_abort(
                    reason="other_meter",
                    description_placeholders=self._placeholders(coordinator),
                )
            errors["base"] = "no_response"
        return self.async_show_form(
            step_id="confirm",
            data_schema=form_schema({}),
            errors=errors,
            description_placeholders=self._placeholders(coordinator),
        )

    @staticmethod
    def _placeholders(coordinator: IecMeterCoordinator) -> dict[str, str]:
        found = coordinator.other_meter
        return {
            "meter": coordinator.subentry.title,
            "expected": found.expected if found else "",
            "answered": found.answered if found else "",
            "address": coordinator.address,
        }


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of an ``auth_failed_<subentry>`` or ``other_meter_<subentry>`` issue."""
    assert data is not None
    entry_id, subentry_id = str(data["entry_id"]), str(data["subentry_id"])
    if issue_id.startswith(OTHER_METER_ISSUE):
        return OtherMeterRepairFlow(entry_id, subentry_id)
    return PasswordRepairFlow(entry_id, subentry_id)
