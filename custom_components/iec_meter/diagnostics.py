"""Diagnostics download: settings (password redacted), last readings, frames, statistics.

Each meter shows its plausibility guard (limits, rejections and values left out) and its
identity check (another meter answering at its address, who, and when it was last asked).

A meter whose load profile is imported also shows the import's progress and counters.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .billing import BillingCoordinator
from .core.driver import FieldKind
from .core.model import Snapshot
from .data import IecMeterConfigEntry

if TYPE_CHECKING:
    from .coordinator import IecMeterCoordinator


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot(data: Snapshot | None) -> dict[str, Any] | None:
    if data is None:
        return None
    reading = data.reading
    return {
        **{key: _plain(value) for key, value in reading.values.items()},
        "timestamp": _plain(reading.timestamp),
        "meter_clock": _plain(data.clock),
        "clock_drift_s": data.clock_drift,
        **({"data": {k: asdict(v) for k, v in reading.data.items()}} if reading.data else {}),
    }


def identity_check_diagnostics(coordinator: IecMeterCoordinator) -> dict[str, Any]:
    """Whether another meter answers at the address, who, and when that was last asked."""
    found = coordinator.other_meter
    answered: str | None
    if found is not None:
        expected, answered = found.expected, found.answered
    else:
        driver = coordinator.config_entry.runtime_data.driver
        expected = driver.stored_identity(coordinator.subentry.data).serial
        last = coordinator.answered
        answered = None if last is None else last.serial
    return {
        "other_meter": found is not None,
        "expected": expected,
        "answered": answered,
        "last_checked": _plain(coordinator.identity_checked),
        # IEC 62056-21 readouts carry it; elsewhere it costs a request (see coordinator).
        "checked_every_poll": coordinator.client.identity_in_values,
    }


def billing_diagnostics(billing: BillingCoordinator) -> dict[str, Any]:
    """Which contract is read, whether the meter keeps it, and what it held last."""
    data = billing.data
    return {
        "contract": billing.contract,
        "supported": billing.supported,
        "available": billing.last_update_success,
        "periods_in_use": None if data is None else data.periods,
        "current_start": None if data is None else _plain(data.current_start),
        "last_closure_end": None if data is None else _plain(data.closure_end),
        "contracted_powers": None if data is None else data.contracted_powers,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IecMeterConfigEntry
) -> dict[str, Any]:
    """Everything a maintainer needs to understand a meter's behaviour."""
    runtime = entry.runtime_data
    secrets = {field.key for field in runtime.driver.meter_fields if field.kind is FieldKind.SECRET}
    transport = runtime.bus.transport
    meters: dict[str, Any] = {}
    for subentry_id, coordinator in runtime.coordinators.items():
        statistics = coordinator.statistics
        identity = runtime.driver.stored_identity(coordinator.subentry.data)
        meters[subentry_id] = {
            "title": coordinator.subentry.title,
            # The code as the meter sent it: a device shows only a name the table knows.
            "identity": {
                "manufacturer_code": identity.manufacturer,
                "manufacturer_name": identity.manufacturer_name,
                "model": identity.model,
                "serial": identity.serial,
            },
            "available": coordinator.last_update_success,
            "last_reading": _snapshot(coordinator.data),
            "statistics": {
                "polls": statistics.polls,
                "failures": statistics.failures,
                "last_error": statistics.last_error,
                "average_poll_s": statistics.average_seconds,
                "last_success": _plain(statistics.last_success),
                **coordinator.client.diagnostics(),
            },
            # What the guard rejected and left out: line noise, or a meter to look at.
            "plausibility": coordinator.guard.diagnostics(),
            # Who answered at the meter's address, to tell a swapped meter from a dead one.
            "identity_check": identity_check_diagnostics(coordinator),
            "frames": [asdict(frame) for frame in coordinator.client.frame_log.frames()],
        }
        importer = runtime.importers.get(subentry_id)
        if importer is not None:
            # Progress and the hours left out, to tell a meter's holes from ours.
            meters[subentry_id]["profile_import"] = importer.diagnostics()
        billing = runtime.billing.get(subentry_id)
        if billing is not None:
            meters[subentry_id]["billing"] = billing_diagnostics(billing)
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
                    "data": async_redact_data(dict(subentry.data), secrets),
                }
                for subentry in entry.subentries.values()
            ],
        },
        "line": {
            "bytes_sent": transport.bytes_sent,
            "bytes_received": transport.bytes_received,
            "bytes_dropped": transport.bytes_dropped,
        },
        "meters": meters,
        # Settings and the last client's address; a gateway's traffic is never kept.
        "gateways": {
            subentry_id: {
                "settings": asdict(gateway.settings),
                "listening": gateway.listening,
                "in_use": gateway.in_use,
                "last_client": gateway.last_client,
                "clients_served": gateway.clients_served,
                "clients_refused": gateway.clients_refused,
                "bytes_to_meter": gateway.bytes_to_meter,
                "bytes_from_meter": gateway.bytes_from_meter,
            }
            for subentry_id, gateway in runtime.gateways.items()
        },
    }
