"""Pass-through gateways of a connection: settings from subentries, start, stop.

A gateway lends the whole line to other software (the utility's or the manufacturer's
tool) through a TCP port, pausing the meters' polling meanwhile. Nothing listens unless
the user adds a gateway, and it listens on 127.0.0.1 unless they choose otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import (
    CONF_INACTIVITY_TIMEOUT,
    CONF_INTERFACE,
    CONF_PORT,
    CONF_PRIORITY,
    DOMAIN,
    LOGGER,
    SUBENTRY_GATEWAY,
)
from .core.bus import Bus
from .core.errors import CannotConnect
from .core.gateway import (
    DEFAULT_HOST,
    DEFAULT_INACTIVITY_TIMEOUT_MS,
    DEFAULT_PORT,
    PRIORITY_MIN,
    Gateway,
    GatewaySettings,
)


def gateway_settings(data: Mapping[str, Any]) -> GatewaySettings:
    """A gateway's settings from its subentry's data."""
    return GatewaySettings(
        port=int(data.get(CONF_PORT, DEFAULT_PORT)),
        host=str(data.get(CONF_INTERFACE, DEFAULT_HOST)),
        priority=int(data.get(CONF_PRIORITY, PRIORITY_MIN)),
        inactivity_timeout_ms=int(data.get(CONF_INACTIVITY_TIMEOUT, DEFAULT_INACTIVITY_TIMEOUT_MS)),
    )


def gateway_signal(entry_id: str, subentry_id: str) -> str:
    """Dispatcher signal of one gateway's state changes."""
    return f"{DOMAIN}_{entry_id}_{subentry_id}_gateway"


def issue_id(subentry_id: str) -> str:
    """Repair issue of a gateway that cannot listen."""
    return f"gateway_unavailable_{subentry_id}"


async def async_start_gateways(
    hass: HomeAssistant, entry: ConfigEntry, bus: Bus
) -> dict[str, Gateway]:
    """Start a gateway per gateway subentry; one that cannot listen is reported, not fatal."""
    gateways: dict[str, Gateway] = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_GATEWAY:
            continue
        signal = gateway_signal(entry.entry_id, subentry_id)

        @callback
        def changed(signal: str = signal) -> None:
            async_dispatcher_send(hass, signal)

        try:
            gateway = Gateway(bus, gateway_settings(subentry.data), changed)
            await gateway.start()
        except (CannotConnect, ValueError) as err:
            LOGGER.warning("Gateway %s cannot listen: %s", subentry.title, err)
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id(subentry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="gateway_unavailable",
                translation_placeholders={"gateway": subentry.title, "error": str(err)},
            )
            continue
        ir.async_delete_issue(hass, DOMAIN, issue_id(subentry_id))
        gateways[subentry_id] = gateway
    return gateways
