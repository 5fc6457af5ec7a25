"""Encoding and decoding of the IEC 62056-21 messages of a data readout.

Decoders raise :class:`~..errors.FrameError` (never ``ValueError``) so the client can
count and report a damaged answer instead of crashing on it. They are strict, because
the identification has no check at all and the BCC misses two hits in the same bit:
whatever the protocol does not allow is taken for damage, never decoded "as well as
possible" (a replaced character once turned ``Wh`` into an unknown unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor

from ..errors import FrameError
from .constants import (
    ACK,
    CR,
    CRLF,
    END_CHAR,
    END_LINE,
    ENHANCED_MARK,
    EOT,
    ETX,
    LF,
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
#: Check even parity: a good byte loses its parity bit, a bad one keeps bit 7 set.
CHECK_PARITY_TABLE = bytes(
    byte & SEVEN_BIT_MASK if _with_even_parity(byte) == byte else byte | PARITY_BIT
    for byte in range(256)
)


def add_even_parity(data: bytes) -> bytes:
    """What a 7E1 character looks like to an 8N1 port: parity in bit 7."""
    return data.translate(EVEN_PARITY_TABLE)


def strip_parity(data: bytes) -> bytes:
    """Drop bit 7 (the parity bit when an 8N1 port listens to a 7E1 meter)."""
    return data.translate(STRIP_PARITY_TABLE)


def check_parity(data: bytes) -> bytes:
    """The 7-bit characters an 8N1 port heard from a 7E1 meter, parity checked.

    A byte with wrong parity keeps bit 7 set: no 7-bit message can hold it, so every
    decoder takes it for damage (clearing bit 7 would hide a hit the BCC can miss).
    """
    return data.translate(CHECK_PARITY_TABLE)


def parity_errors(data: bytes | bytearray) -> int:
    """How many bytes :func:`check_parity` marked as damaged."""
    return sum(1 for byte in data if byte & PARITY_BIT)


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


#: Baud characters an identification may carry in each mode; None: any (mode A never
#: switches, mode D never changes speed). Mode B also takes a digit, which announces no
#: mode B speed (the meter stays at the start speed). Reserved characters are refused.
_BAUD_CHARS: dict[Mode, frozenset[str] | None] = {
    Mode.A: None,
    Mode.B: frozenset(MODE_B_BAUDRATES) | frozenset(MODE_C_BAUDRATES),
    Mode.C: frozenset(MODE_C_BAUDRATES),
    Mode.D: None,
}
#: Characters an ident (and a mode A baud character) cannot hold.
_IDENT_FORBIDDEN = frozenset("/!")


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def parse_identification(raw: bytes, mode: Mode | None = None) -> Identification:
    r"""Decode ``/XXXZ[\W]ident`` CR LF strictly (the ident keeps its first character).

    It has no check character, so only its form can tell a damaged one: three ASCII
    letters, a baud character valid for ``mode`` (any mode's table if None), printable
    ASCII without ``/`` or ``!`` after it, and CR LF at the end.
    """
    if not raw.endswith(CRLF):
        raise FrameError(f"identification does not end in CR LF: {raw!r}")
    try:
        text = raw.removesuffix(CRLF).decode("ascii")
    except UnicodeDecodeError as err:
        raise FrameError(f"identification is not 7-bit ASCII: {raw!r}") from err
    if len(text) < _IDENT_PREFIX or not text.startswith("/"):
        raise FrameError(f"not an identification: {raw!r}")
    manufacturer = text[1 : 1 + _MANUFACTURER_LENGTH]
    if not (manufacturer.isascii() and manufacturer.isalpha()):
        raise FrameError(f"identification has no manufacturer id: {raw!r}")
    baud_char = text[_IDENT_PREFIX - 1]
    _check_baud_char(baud_char, mode, raw)
    rest = text[_IDENT_PREFIX:]
    enhanced: str | None = None
    if rest.startswith(ENHANCED_MARK):
        if len(rest) < 2:
            raise FrameError(f"identification has '\\' without a capability: {raw!r}")
        enhanced, rest = rest[1], rest[2:]
    if not _printable_ascii(rest) or _IDENT_FORBIDDEN & set(rest + (enhanced or "")):
        raise FrameError(f"identification has characters an ident cannot hold: {raw!r}")
    return Identification(manufacturer, baud_char, rest, enhanced)


def _check_baud_char(char: str, mode: Mode | None, raw: bytes) -> None:
    allowed = (
        _BAUD_CHARS[mode]
        if mode is not None
        else frozenset(MODE_B_BAUDRATES) | frozenset(MODE_C_BAUDRATES)
    )
    if allowed is None:
        if not _printable_ascii(char) or char in _IDENT_FORBIDDEN or char == " ":
            raise FrameError(f"identification has no baud character: {raw!r}")
        return
    if char in allowed:
        return
    if mode is Mode.C and char in MODE_B_BAUDRATES:
        raise FrameError(
            f"identification announces mode B speed {char!r} (set mode B for this meter): {raw!r}"
        )
    where = f"mode {mode.value}" if mode is not None else "any mode"
    raise FrameError(f"identification's baud character {char!r} is not valid in {where}: {raw!r}")


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


#: Bytes a block's text may hold: printable ASCII, CR and LF.
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {CR, LF}


def decode_block(raw: bytes) -> DataBlock:
    """Check a frame ``STX ... ETX|EOT BCC`` and return its text.

    Raises :class:`FrameError` for a frame that is not one, a wrong BCC, a BCC with bit
    7 set, or text with a byte other than printable ASCII, CR and LF: on a 7-bit line
    such a byte is a hit the BCC may not see (bit 7 is outside it).
    """
    if len(raw) < 3 or raw[0] not in _FRAME_STARTS or raw[-2] not in _FRAME_ENDS:
        raise FrameError(f"not a data block: {raw[:16]!r}...")
    payload = raw[1:-1]
    if raw[-1] > SEVEN_BIT_MASK:
        raise FrameError(f"BCC {raw[-1]:02X} is not a 7-bit character")
    if bcc(payload) != raw[-1]:
        raise FrameError(f"BCC {raw[-1]:02X} does not match {bcc(payload):02X}")
    body = raw[1:-2]
    bad = next((index for index, byte in enumerate(body) if byte not in _TEXT_BYTES), None)
    if bad is not None:
        raise FrameError(f"data block has byte {body[bad]:02X} at {bad + 1}, not text")
    final = raw[-2] == ETX
    return DataBlock(body.decode("ascii"), final)


def check_readout_end(text: str) -> None:
    """FrameError unless ``text`` (a readout's blocks joined) ends with its ``!`` line."""
    if not text.endswith(f"{END_LINE}\r\n"):
        raise FrameError(f"data message does not end with its '{END_LINE}' line")
