r"""Every number and character of IEC 62056-21 (modes A to D) the client and simulator use.

Facts, in our words:

* Characters are 7 data bits, even parity, 1 stop bit (7E1). Modes A, B and C start at
  300 baud; mode D is fixed at 2400 baud.
* Sign-on: ``/ ? [address] ! CR LF``. The address is optional (one meter on the line).
* Identification: ``/ XXX Z [\W] ident CR LF``. XXX names the manufacturer; a lowercase
  third letter means the meter reacts within 20 ms instead of 200 ms. Z is the baud
  character (tables below). ``\W`` optionally announces enhanced capabilities.
* Acknowledgement / option select: ``ACK V Z Y CR LF`` (V protocol control, Z baud,
  Y mode control). It goes out at the old speed; only then do both sides switch.
* Data message: ``STX data ! CR LF ETX BCC``; a partial block ends ``EOT BCC`` and the
  receiver answers ACK (NAK on a damaged block, which the sender repeats).
* BCC: XOR of the 7-bit values of every byte after the first SOH or STX, up to and
  including ETX or EOT.
* Nothing in this module is read from outside the ``iec62056`` package and the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

# --- control characters ------------------------------------------------------------
SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ACK: Final = 0x06
NAK: Final = 0x15
NUL: Final = 0x00
CR: Final = 0x0D
LF: Final = 0x0A
CRLF: Final = b"\r\n"
START_CHAR: Final = b"/"
REQUEST_CHAR: Final = b"?"
END_CHAR: Final = b"!"
#: Marks an enhanced capability character after Z in the identification.
ENHANCED_MARK: Final = "\\"
#: The data block of a readout ends with this line before ETX.
END_LINE: Final = "!"
#: Bits of a character that carry data (the 8th is the parity bit on a 7E1 line).
SEVEN_BIT_MASK: Final = 0x7F
PARITY_BIT: Final = 0x80


class Mode(StrEnum):
    """Protocol modes: how (and whether) the speed changes after the identification."""

    A = "A"  # no speed change, the data follows the identification
    B = "B"  # both sides switch after the identification, no acknowledgement
    C = "C"  # the client acknowledges (option select), then both switch
    D = "D"  # the meter pushes identification and data at 2400 baud


# --- speeds ---------------------------------------------------------------------------
INITIAL_BAUDRATE: Final = 300
MODE_D_BAUDRATE: Final = 2400
#: Z characters of mode B (letters) and of modes C/E (digits); G-I and 7-9 are reserved.
MODE_B_BAUDRATES: Final[dict[str, int]] = {
    "A": 600,
    "B": 1200,
    "C": 2400,
    "D": 4800,
    "E": 9600,
    "F": 19200,
}
MODE_C_BAUDRATES: Final[dict[str, int]] = {
    "0": 300,
    "1": 600,
    "2": 1200,
    "3": 2400,
    "4": 4800,
    "5": 9600,
    "6": 19200,
}
#: Baud character of each speed in mode C (the option select's Z).
MODE_C_CHARS: Final[dict[int, str]] = {baud: char for char, baud in MODE_C_BAUDRATES.items()}
#: Every speed a mode A-D meter can use.
BAUDRATES: Final = tuple(MODE_C_BAUDRATES.values())
#: The identification's Z in mode A when the meter gives no speed.
MODE_A_CHAR: Final = "0"

# --- option select (ACK V Z Y) -------------------------------------------------------
PROTOCOL_NORMAL: Final = "0"  # V: normal protocol procedure
MODE_CONTROL_READOUT: Final = "0"  # Y: data readout

# --- character frame ----------------------------------------------------------------
DATA_BITS: Final = 7
PARITY: Final = "E"
STOP_BITS: Final = 1
#: Bits one character takes on a 7E1 line: start, 7 data, parity, stop.
BITS_PER_CHAR: Final = 10

# --- timing ---------------------------------------------------------------------------
#: Minimum time the meter takes to answer (tr); 20 ms if the id's third letter is lowercase.
REACTION_TIME_S: Final = 0.200
SHORT_REACTION_TIME_S: Final = 0.020
#: Longest reaction time the standard allows (tr max).
MAX_REACTION_TIME_S: Final = 1.5
#: Wait between the identification and the client's acknowledgement (t2), in ms.
DEFAULT_T2_MS: Final = 300
MIN_T2_MS: Final = 200
MAX_T2_MS: Final = 1500
#: Longest gap between two characters of one message (ta).
INTER_CHARACTER_TIMEOUT_S: Final = 1.5
#: Battery meters wake up on a train of NUL characters (2.1-2.3 s), then need a pause
#: (1.5-1.7 s) before the sign-on.
WAKE_UP_NUL_S: Final = 2.2
WAKE_UP_PAUSE_S: Final = 1.5
#: Request timeout industrial IEC 62056-21 drivers use (ms).
DEFAULT_REQUEST_TIMEOUT_MS: Final = 2500
#: Minimum quiet time before the client sends anything (ms).
DEFAULT_POLL_DELAY_MS: Final = 200
MAX_POLL_DELAY_MS: Final = 60_000

# --- sizes and deadlines ----------------------------------------------------------------
#: Longest device address in a sign-on.
MAX_ADDRESS_LENGTH: Final = 32
#: Default bound on a data message's size: long readouts with billing history stay well
#: under it. It also sets how long a data message may take (see WIRE_TIME_SLACK).
DEFAULT_MAX_READOUT_BYTES: Final = 32 * 1024
#: Range of that setting: a readout needs a few lines; the top bounds memory.
MIN_READOUT_BYTES: Final = 256
MAX_MESSAGE_BYTES: Final = 256 * 1024
#: Longest identification line (``/XXXZ\W`` + a 16-character ident + CR LF is 24).
MAX_IDENTIFICATION_BYTES: Final = 128
#: A message may take this many times the wire time of its largest allowed size: meters
#: leave gaps between lines, and a repeated block costs its wire time again.
WIRE_TIME_SLACK: Final = 2
#: Partial blocks accepted in one readout.
MAX_BLOCKS: Final = 1000

# --- well-known addresses ------------------------------------------------------------
#: Data sets that carry a meter's serial number, in order of preference.
SERIAL_ADDRESSES: Final = ("C.1.0", "0.0.0", "96.1.0")

# --- manufacturers -------------------------------------------------------------------
#: Makers behind the identification's three letters: FLAG ids, which the DLMS User
#: Association assigns (dlms.com/flag-id; one registration covers every mix of upper
#: and lower case, so the lookup is by the upper-case id). The common electricity meter
#: makers only, names shortened to what the nameplates show; checked against two copies
#: of the directory (the FLAG list of ganehag/UtilityMeterViewer and the manufacturer
#: table of wmbusmeters/wmbusmeters).
FLAG_MANUFACTURERS: Final[Mapping[str, str]] = {
    "ABB": "ABB",
    "ACE": "Actaris",
    "AMX": "Apator Metrix",
    "APA": "Apator",
    "ART": "Arteche",
    "CIR": "Circutor",
    "DZG": "DZG Metering",
    "EDM": "EDMI",
    "ELS": "Elster",
    "EMH": "EMH metering",
    "EMO": "Enermet",
    "ESY": "EasyMeter",
    "GAV": "Carlo Gavazzi",
    "HXE": "Hexing Electrical",
    "ISK": "Iskraemeco",
    "ITF": "ITF Fröschl",
    "ITR": "Itron",
    "KAM": "Kamstrup",
    "KFM": "Kaifa",
    "LGZ": "Landis+Gyr",
    "ORB": "Orbis",
    "SAG": "Sagemcom",
    "SIE": "Siemens",
    "SLB": "Schlumberger",
    "ZIV": "ZIV",
    "ZPA": "ZPA Smart Energy",
}


def manufacturer_name(flag_id: str) -> str | None:
    """The maker's name for an identification's three letters, else the letters.

    An id missing from our short table still names its maker (the DLMS UA's list has
    them all), so it is shown, in upper case: a lowercase third letter only says the
    meter answers fast. None only without an id.
    """
    upper = flag_id.upper()
    return FLAG_MANUFACTURERS.get(upper, upper) or None
