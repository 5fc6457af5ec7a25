"""Runtime data of a config entry (one connection and its meters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

from .core.bus import Bus
from .core.driver import Driver
from .core.gateway import Gateway

if TYPE_CHECKING:
    from .billing import BillingCoordinator
    from .coordinator import IecMeterCoordinator
    from .profile_import import ProfileImporter


@dataclass
class IecMeterRuntime:
    """A connection's protocol, bus, meters (coordinators) and gateways, by subentry.

    Meters whose protocol reads records also get a profile importer and a billing
    coordinator (by the meter's subentry id).
    """

    driver: Driver[Any]
    bus: Bus
    coordinators: dict[str, IecMeterCoordinator]
    gateways: dict[str, Gateway]
    importers: dict[str, ProfileImporter] = field(default_factory=dict)
    billing: dict[str, BillingCoordinator] = field(default_factory=dict)


type IecMeterConfigEntry = ConfigEntry[IecMeterRuntime]
