"""Errors a caller of the protocol core can act on.

Each class answers one question a user asks ("is the cable wrong, the address wrong,
the password wrong, or does the meter not do this?"), so callers map them to
messages without parsing text. Each class carries a ``hint``: what to check next,
printed as it is by the command line and Home Assistant. The hint is about the cause
the error class stands for, never a guess about another one (a meter that answers
"no data" is not told to check its wiring).
"""

from __future__ import annotations


class MeterError(Exception):
    """Base class of every error the protocol core raises on purpose."""

    hint: str = "See the frame log in the diagnostics for what was sent and received."


class CannotConnect(MeterError):
    """The port or converter could not be opened (missing device, refused, in use)."""

    hint = (
        "Check the serial port path, or the converter's host and port, and that no other "
        "program or integration has the port open."
    )


class ConnectionLost(MeterError):
    """The connection closed while a request was under way."""

    hint = (
        "The other end closed the line: some converters close idle connections, or another "
        "client connected to the converter (most accept only one at a time)."
    )


class NoResponse(MeterError):
    """The meter did not answer within the request timeout after every retry.

    Usual causes: a wrong meter address, baud rate or parity, or wiring.
    """

    hint = (
        "Check the meter's address (link address for IEC 102, device address for IEC "
        "62056-21), the baud rate and parity, and the wiring (A/B, ground) or the optical "
        "head's position."
    )


class DamagedAnswers(NoResponse):
    """Answers arrived, but damaged (checksum or framing), on every try.

    A subclass of :class:`NoResponse` because callers treat both alike (no usable
    answer; the session may need a restart), while the user needs another hint: the
    meter is there and talking, the line mangles what it says.
    """

    hint = (
        "The meter answers but its answers arrive damaged: check the parity and baud rate, "
        "noise on the line (cable routing, shielding) and the bus termination."
    )


class NoData(MeterError):
    """The meter kept answering "no data yet" until the content timeout ran out.

    Not a :class:`NoResponse`: the line and the address are fine, the meter simply
    had nothing to send for the request in time.
    """

    hint = (
        "The meter answers but has not prepared the data in time: it may be busy, the "
        "requested period may be long, or the content timeout may be too short for it."
    )


class AuthenticationRejected(MeterError):
    """The meter refused the read password."""

    hint = "Check the read-only password (and the point address) configured for this meter."


class MeterBusy(MeterError):
    """The meter answered "not accepted / link busy" to every try."""

    hint = (
        "The meter is busy (another session, or a long job): try again later, or raise the "
        "pause between requests."
    )


class ProtocolError(MeterError):
    """The meter answered, but not as the protocol says it should."""

    hint = (
        "The device answers, but not as this protocol expects: check that it speaks the "
        "protocol chosen for it; the frame log in the diagnostics shows what it sent."
    )


class NotSupported(ProtocolError):
    """The meter does not implement the request (type, object or record unknown)."""

    hint = "This meter does not offer this reading; leave it out of what is read."

    def __init__(self, message: str, cause: int | None = None) -> None:
        """Keep the cause of transmission the meter gave, if any."""
        super().__init__(message)
        self.cause = cause


class FrameError(ProtocolError):
    """Bytes that are not a valid frame (documented error of the frame decoders)."""
