"""Diagnostics download: settings (password redacted), last readings, frames, statistics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PASSWORD
from .data import IecMeterConfigEntry

TO_REDACT = {CONF_PASSWORD}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IecMeterConfigEntry
) -> dict[str, Any]:
    """Everything a maintainer needs to understand a meter's behaviour."""
    meters: dict[str, Any] = {}
    for subentry_id, coordinator in entry.runtime_data.coordinators.items():
        data = coordinator.data
        statistics = coordinator.statistics
        meters[subentry_id] = {
            "title": coordinator.subentry.title,
            "available": coordinator.last_update_success,
            "last_reading": None
            if data is None
            else {
                **data.reading.values(),
                "timestamp": _iso(data.reading.timestamp),
                "meter_clock": _iso(data.clock),
                "clock_drift_s": data.clock_drift,
            },
            "statistics": {
                "polls": statistics.polls,
                "failures": statistics.failures,
                "last_error": statistics.last_error,
                "average_poll_s": statistics.average_seconds,
                "last_success": _iso(statistics.last_success),
                "retransmissions": coordinator.client.session.link.retransmissions,
            },
            "frames": [asdict(frame) for frame in coordinator.client.frame_log.frames()],
        }
    return {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
            "subentries": [
                {
                    "subentry_id": subentry.subentry_id,
                    "title": subentry.title,
                    "unique_id": subentry.unique_id,
                    "data": async_redact_data(dict(subentry.data), TO_REDACT),
                }
                for subentry in entry.subentries.values()
            ],
        },
        "meters": meters,
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
