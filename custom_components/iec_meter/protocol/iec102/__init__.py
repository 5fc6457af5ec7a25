"""IEC 60870-5-102 as profiled by REE (Spanish utility meters)."""

from .client import Iec102Client, MeterSnapshot
from .link import FrameLog, LoggedFrame
from .session import MeterAddress
from .timing import Timing

__all__ = ["FrameLog", "Iec102Client", "LoggedFrame", "MeterAddress", "MeterSnapshot", "Timing"]
