"""Runtime data of a config entry (one connection and its meters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry

from .core.bus import Bus
from .core.driver import Driver

if TYPE_CHECKING:
    from .coordinator import IecMeterCoordinator


@dataclass
class IecMeterRuntime:
    """The connection's protocol and bus, and one coordinator per meter subentry."""

    driver: Driver[Any]
    bus: Bus
    coordinators: dict[str, IecMeterCoordinator]


type IecMeterConfigEntry = ConfigEntry[IecMeterRuntime]
