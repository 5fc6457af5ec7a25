"""Every protocol the core speaks, by the name stored in config entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .driver import Driver
from .iec102.driver import Iec102Driver
from .iec62056.driver import Iec62056Driver

#: The protocol of entries made before there was a choice.
DEFAULT_PROTOCOL: Final = "iec102"

DRIVERS: Final[Mapping[str, Driver[Any]]] = {
    driver.name: driver for driver in (Iec102Driver(), Iec62056Driver())
}


def get_driver(name: str) -> Driver[Any]:
    """The driver of a protocol name; ValueError names the known ones."""
    try:
        return DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(DRIVERS)}") from None
