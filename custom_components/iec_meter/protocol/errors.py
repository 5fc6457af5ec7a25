"""Errors a caller of the protocol core can act on.

Each class answers one question a user asks ("is the cable wrong, the address wrong,
the password wrong, or does the meter not do this?"), so callers map them to
messages without parsing text.
"""

from __future__ import annotations


class MeterError(Exception):
    """Base class of every error the protocol core raises on purpose."""


class CannotConnect(MeterError):
    """The port or converter could not be opened (missing device, refused, in use)."""


class ConnectionLost(MeterError):
    """The connection closed while a request was under way."""


class NoResponse(MeterError):
    """The meter did not answer within the request timeout after every retry.

    Usual causes: wrong link address, baud rate or parity, or wiring.
    """


class AuthenticationRejected(MeterError):
    """The meter refused the read password."""


class MeterBusy(MeterError):
    """The meter answered "not accepted / link busy" to every try."""


class ProtocolError(MeterError):
    """The meter answered, but not as the protocol says it should."""


class NotSupported(ProtocolError):
    """The meter does not implement the request (type, object or record unknown)."""

    def __init__(self, message: str, cause: int | None = None) -> None:
        """Keep the cause of transmission the meter gave, if any."""
        super().__init__(message)
        self.cause = cause


class FrameError(ProtocolError):
    """Bytes that are not a valid frame (documented error of the frame decoders)."""
