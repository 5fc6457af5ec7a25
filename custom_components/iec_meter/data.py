"""Runtime data of a config entry (one connection and its meters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

from .core.bus import Bus
from .core.driver import Driver
from .core.gateway import Gateway

if TYPE_CHECKING:
    from .coordinator import IecMeterCoordinator


@dataclass
class IecMeterRuntime:
    """A connection's protocol, bus, meters (coordinators) and gateways, by subentry."""

    driver: Driver[Any]
    bus: Bus
    coordinators: dict[str, IecMeterCoordinator]
    gateways: dict[str, Gateway]


type IecMeterConfigEntry = ConfigEntry[IecMeterRuntime]
