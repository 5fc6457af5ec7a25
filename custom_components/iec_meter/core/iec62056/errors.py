"""Why an IEC 62056-21 read failed although bytes came, each with the hint that fits.

The core's :class:`~..errors.NoResponse` hint (address, speed, wiring) is right for a
silent line and wrong for a line that talks: a meter slower than the timeout, an echo
and nothing else, or noise need other advice. These subclasses keep the core's classes
(callers treat them as no usable answer) and give the user the right next step.
"""

from __future__ import annotations

from ..errors import DamagedAnswers, NoResponse, ProtocolError


class SlowAnswer(NoResponse):
    """Bytes came, but the answer was late or stopped before its end."""

    hint = (
        "The meter answers, but too slowly or not completely: raise the request timeout "
        "(slow meters, GSM modems and network converters need more), and check the baud "
        "rate; the frame log in the diagnostics shows what came."
    )


class EndlessAnswer(SlowAnswer):
    """The meter kept sending, but its message did not end within the read's deadline.

    Not tried again: another try would hold the line just as long.
    """

    hint = (
        "The meter keeps sending, but its data message does not end within the time a "
        "readout of the size limit takes at this speed: check the baud rate and parity; "
        "for a meter with a very long readout, raise the readout size limit."
    )


class EchoOnly(NoResponse):
    """Only our own bytes came back: a head or converter that echoes, and no meter."""

    hint = (
        "Only the echo of what was sent came back: the optical head or converter echoes. "
        "Turn on the echo setting for this head, then check the head's position on the "
        "meter, the device address and the baud rate."
    )


class Unreadable(DamagedAnswers):
    """Bytes came, but no valid identification or data block among them (tried again)."""


class ReadoutTooLarge(ProtocolError):
    """The data message passed the readout size limit (whole or in pieces): refused.

    Not tried again: the meter would send the same message.
    """

    hint = (
        "The meter's readout is larger than the readout size limit: check the baud rate "
        "and parity (noise can look like a long message); for a meter with a very long "
        "readout, raise the readout size limit."
    )
