"""Protocol core: meter clients with no Home Assistant imports.

Another project can lift this package out unchanged: it needs only ``serialx`` and the
standard library, uses no globals or threads, and bounds every wait with
``asyncio.timeout``.
"""

from .errors import (
    AuthenticationRejected,
    CannotConnect,
    ConnectionLost,
    FrameError,
    MeterBusy,
    MeterError,
    NoResponse,
    NotSupported,
    ProtocolError,
)
from .reading import SIGNAL_KEYS, SIGNAL_UNITS, MeterIdentity, MeterReading, Unit
from .transport import LineSettings, Transport

__all__ = [
    "SIGNAL_KEYS",
    "SIGNAL_UNITS",
    "AuthenticationRejected",
    "CannotConnect",
    "ConnectionLost",
    "FrameError",
    "LineSettings",
    "MeterBusy",
    "MeterError",
    "MeterIdentity",
    "MeterReading",
    "NoResponse",
    "NotSupported",
    "ProtocolError",
    "Transport",
    "Unit",
]
