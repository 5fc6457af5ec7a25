"""Encoding and decoding of the IEC 62056-21 messages of a data readout.

Decoders raise :class:`~..errors.FrameError` (never ``ValueError``) so the client can
count and report a damaged answer instead of crashing on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor

from ..errors import FrameError
from .constants import (
    ACK,
    CRLF,
    END_CHAR,
    END_LINE,
    ENHANCED_MARK,
    EOT,
    ETX,
    MAX_ADDRESS_LENGTH,
    MODE_B_BAUDRATES,
    MODE_C_BAUDRATES,
    MODE_C_CHARS,
    MODE_CONTROL_READOUT,
    PARITY_BIT,
    PROTOCOL_NORMAL,
    REACTION_TIME_S,
    REQUEST_CHAR,
    SEVEN_BIT_MASK,
    SHORT_REACTION_TIME_S,
    SOH,
    START_CHAR,
    STX,
    Mode,
)

_MANUFACTURER_LENGTH = 3
#: ``/`` + manufacturer + Z: the shortest identification (before CR LF).
_IDENT_PREFIX = 1 + _MANUFACTURER_LENGTH + 1
_ADDRESS_FORBIDDEN = frozenset("/?!")
_FRAME_STARTS = (SOH, STX)
_FRAME_ENDS = (ETX, EOT)


# --- parity of a 7E1 meter behind an 8N1 converter ----------------------------------
def _with_even_parity(byte: int) -> int:
    seven = byte & SEVEN_BIT_MASK
    return seven | (PARITY_BIT if seven.bit_count() % 2 else 0)


#: ``bytes.translate`` tables: set even parity in bit 7 / clear bit 7.
EVEN_PARITY_TABLE = bytes(_with_even_parity(byte) for byte in range(256))
STRIP_PARITY_TABLE = bytes(byte & SEVEN_BIT_MASK for byte in range(256))


def add_even_parity(data: bytes) -> bytes:
    """What a 7E1 character looks like to an 8N1 port: parity in bit 7."""
    return data.translate(EVEN_PARITY_TABLE)


def strip_parity(data: bytes) -> bytes:
    """Drop bit 7 (the parity bit when an 8N1 port listens to a 7E1 meter)."""
    return data.translate(STRIP_PARITY_TABLE)


# --- block check character -----------------------------------------------------------
def bcc(data: bytes) -> int:
    """XOR of the 7-bit values of ``data`` (give it the bytes after SOH/STX, ETX included)."""
    return reduce(xor, data, 0) & SEVEN_BIT_MASK


# --- sign-on -------------------------------------------------------------------------
def check_address(address: str) -> str:
    """The device address if a sign-on can carry it; ValueError otherwise."""
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"device address longer than {MAX_ADDRESS_LENGTH} characters")
    if not address.isascii() or not address.isprintable() or " " in address:
        raise ValueError("device address must be printable ASCII without spaces")
    if _ADDRESS_FORBIDDEN & set(address):
        raise ValueError("device address cannot contain '/', '?' or '!'")
    return address


def sign_on_request(address: str = "") -> bytes:
    """``/?<address>!`` CR LF; an empty address reaches the only meter on the line."""
    return START_CHAR + REQUEST_CHAR + check_address(address).encode("ascii") + END_CHAR + CRLF


def parse_sign_on(raw: bytes) -> str | None:
    """The address in a sign-on request (``""`` for none), or None if it is not one."""
    if not (raw.startswith(START_CHAR + REQUEST_CHAR) and raw.endswith(END_CHAR + CRLF)):
        return None
    address = raw[2 : -len(END_CHAR + CRLF)].decode("ascii", "replace")
    try:
        return check_address(address)
    except ValueError:
        return None


# --- identification ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Identification:
    """What the meter says about itself after the sign-on."""

    manufacturer: str
    baud_char: str
    ident: str
    #: The character after ``\\`` (e.g. ``2`` for mode E capability), if any.
    enhanced: str | None = None

    @property
    def short_reaction(self) -> bool:
        """A lowercase third letter promises answers within 20 ms."""
        return self.manufacturer[-1].islower()

    @property
    def reaction_time(self) -> float:
        """Minimum time (s) the meter takes before it answers."""
        return SHORT_REACTION_TIME_S if self.short_reaction else REACTION_TIME_S

    def baudrate(self, mode: Mode) -> int | None:
        """The speed Z announces in ``mode`` (None: Z announces no switch)."""
        if mode is Mode.B:
            return MODE_B_BAUDRATES.get(self.baud_char)
        if mode is Mode.C:
            return MODE_C_BAUDRATES.get(self.baud_char)
        return None

    def encode(self) -> bytes:
        """The identification message as the meter sends it."""
        enhanced = f"{ENHANCED_MARK}{self.enhanced}" if self.enhanced else ""
        text = f"/{self.manufacturer}{self.baud_char}{enhanced}{self.ident}"
        return text.encode("ascii") + CRLF


def parse_identification(raw: bytes) -> Identification:
    r"""Decode ``/XXXZ[\W]ident`` CR LF (the ident keeps its first character)."""
    line = raw.removesuffix(CRLF)
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError as err:
        raise FrameError(f"identification is not ASCII: {raw!r}") from err
    if len(text) < _IDENT_PREFIX or not text.startswith("/"):
        raise FrameError(f"not an identification: {raw!r}")
    manufacturer = text[1 : 1 + _MANUFACTURER_LENGTH]
    if not manufacturer.isalpha():
        raise FrameError(f"identification has no manufacturer id: {raw!r}")
    baud_char = text[_IDENT_PREFIX - 1]
    rest = text[_IDENT_PREFIX:]
    enhanced: str | None = None
    if rest.startswith(ENHANCED_MARK) and len(rest) > 1:
        enhanced, rest = rest[1], rest[2:]
    if not rest.isprintable():
        raise FrameError(f"identification has control characters: {raw!r}")
    return Identification(manufacturer, baud_char, rest, enhanced)


# --- acknowledgement / option select ---------------------------------------------------
def option_select(
    baudrate: int, protocol: str = PROTOCOL_NORMAL, mode_control: str = MODE_CONTROL_READOUT
) -> bytes:
    """``ACK V Z Y CR LF`` asking for a data readout at ``baudrate`` (mode C table)."""
    try:
        char = MODE_C_CHARS[baudrate]
    except KeyError as err:
        raise ValueError(f"{baudrate} baud has no mode C character") from err
    return bytes((ACK,)) + f"{protocol}{char}{mode_control}".encode("ascii") + CRLF


@dataclass(frozen=True, slots=True)
class OptionSelect:
    """A decoded acknowledgement / option select."""

    protocol: str
    baud_char: str
    mode_control: str

    @property
    def baudrate(self) -> int | None:
        """The speed asked for (None for an unknown character)."""
        return MODE_C_BAUDRATES.get(self.baud_char)


#: Length of ``ACK V Z Y CR LF``.
OPTION_SELECT_LENGTH = 6


def parse_option_select(raw: bytes) -> OptionSelect:
    """Decode ``ACK V Z Y CR LF``."""
    if len(raw) != OPTION_SELECT_LENGTH or raw[0] != ACK or not raw.endswith(CRLF):
        raise FrameError(f"not an option select: {raw!r}")
    text = raw[1:4].decode("ascii", "replace")
    return OptionSelect(text[0], text[1], text[2])


# --- data messages ----------------------------------------------------------------------
def data_message(lines: list[str] | tuple[str, ...], final: bool = True) -> bytes:
    """``STX lines ! CR LF ETX BCC``, or ``STX lines EOT BCC`` for a partial block."""
    body = "".join(f"{line}\r\n" for line in lines)
    if final:
        body += f"{END_LINE}\r\n"
    payload = body.encode("ascii") + bytes((ETX if final else EOT,))
    return bytes((STX,)) + payload + bytes((bcc(payload),))


@dataclass(frozen=True, slots=True)
class DataBlock:
    """One checked block of a data message."""

    text: str
    #: True for the last block (ETX), False for a partial block (EOT).
    final: bool


def frame_end(buffer: bytes | bytearray, start: int = 0) -> int | None:
    """Index just past the BCC of the frame starting at ``start``, if complete."""
    for index in range(start + 1, len(buffer) - 1):
        if buffer[index] in _FRAME_ENDS:
            return index + 2
    return None


def decode_block(raw: bytes) -> DataBlock:
    """Check a frame ``STX ... ETX|EOT BCC`` and return its text.

    Raises :class:`FrameError` for a wrong BCC or a frame that is not one.
    """
    if len(raw) < 3 or raw[0] not in _FRAME_STARTS or raw[-2] not in _FRAME_ENDS:
        raise FrameError(f"not a data block: {raw[:16]!r}...")
    payload = raw[1:-1]
    if bcc(payload) != raw[-1] & SEVEN_BIT_MASK:
        raise FrameError(f"BCC {raw[-1]:02X} does not match {bcc(payload):02X}")
    final = raw[-2] == ETX
    text = raw[1:-2].decode("ascii", "replace")
    return DataBlock(text, final)
