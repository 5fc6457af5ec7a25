"""IEC 62056-21 (ex IEC 61107) data readout, modes A, B, C and D."""

from .client import Iec62056Client, Iec62056Settings, Readout
from .constants import Mode
from .driver import Iec62056Driver

__all__ = [
    "Iec62056Client",
    "Iec62056Driver",
    "Iec62056Settings",
    "Mode",
    "Readout",
]
