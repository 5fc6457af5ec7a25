"""Every number of IEC 60870-5-102 (REE profile) that the client and simulator use.

The facts behind them, with their sources, are in ``core/PROTOCOLS.md``; nothing outside
this module should spell a protocol number out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, IntFlag
from typing import Final

# --- FT1.2 framing -----------------------------------------------------------------
START_FIXED: Final = 0x10
START_VARIABLE: Final = 0x68
SINGLE_CHAR_ACK: Final = 0xE5
#: Stray byte some converters send before a frame; skipping it does not lose sync.
IDLE_FILL: Final = 0xFF
END_BYTE: Final = 0x16
FIXED_FRAME_LENGTH: Final = 6
#: Bytes of a variable frame that are not counted by L: 68 L L 68 ... CS 16.
VARIABLE_FRAME_OVERHEAD: Final = 6
#: C + 2 address bytes: the smallest L a variable frame can carry.
VARIABLE_MIN_LENGTH: Final = 3
VARIABLE_MAX_LENGTH: Final = 255
LINK_ADDRESS_MAX: Final = 0xFFFF
CHECKSUM_MODULO: Final = 256


class PrimaryControlBit(IntFlag):
    """Bits of the control byte (C) of a frame from the client, besides the function code.

    Separate from :class:`SecondaryControlBit` because the two directions give bits
    0x20 and 0x10 different meanings; one IntFlag with aliases prints the wrong name.
    """

    PRM = 0x40  # 1 = frame from the primary (the client)
    FCB = 0x20  # frame count bit
    FCV = 0x10  # frame count bit valid


class SecondaryControlBit(IntFlag):
    """Bits of the control byte (C) of a frame from the meter, besides the function code."""

    ACD = 0x20  # access demand: class 1 data waiting
    DFC = 0x10  # data flow control: buffer full


FUNCTION_CODE_MASK: Final = 0x0F
#: Bit 7 of the control byte is reserved (0) in both directions.
CONTROL_RESERVED_BIT: Final = 0x80


class PrimaryFunction(IntEnum):
    """Function codes the client sends."""

    RESET_REMOTE_LINK = 0
    USER_DATA = 3
    REQUEST_LINK_STATUS = 9
    REQUEST_CLASS_1 = 10
    REQUEST_CLASS_2 = 11


class SecondaryFunction(IntEnum):
    """Function codes the meter answers with."""

    ACK = 0
    NACK_BUSY = 1
    USER_DATA = 8
    NO_DATA = 9
    LINK_STATUS = 11


#: What the meter may answer in a fixed frame (user data always comes in a variable one).
FIXED_SECONDARY_FUNCTIONS: Final = frozenset(
    {
        SecondaryFunction.ACK,
        SecondaryFunction.NACK_BUSY,
        SecondaryFunction.NO_DATA,
        SecondaryFunction.LINK_STATUS,
    }
)

#: Primary functions whose frames carry a valid frame count bit.
FCV_FUNCTIONS: Final = frozenset(
    {
        PrimaryFunction.USER_DATA,
        PrimaryFunction.REQUEST_CLASS_1,
        PrimaryFunction.REQUEST_CLASS_2,
    }
)


# --- ASDU ------------------------------------------------------------------------
class TypeId(IntEnum):
    """ASDU type identifications used by the REE profile."""

    M_IT_TG_2 = 8  # integrated totals, absolute readings (answer to 122)
    M_IT_TK_2 = 11  # integrated totals, increments (answer to 123)
    M_EI_NA_2 = 70  # end of initialisation
    P_MP_NA_2 = 71  # manufacturer and equipment identity
    M_TI_TA_2 = 72  # meter time (TimeB)
    C_RD_NA_2 = 100  # read identity
    C_TI_NA_2 = 103  # read meter time
    C_CI_NT_2 = 122  # read integrated totals (absolute) over a time range
    C_CI_NU_2 = 123  # read integrated totals (increments, load profile) over a time range
    C_TA_VC_2 = 133  # read the current billing period of a contract
    C_TA_VM_2 = 134  # read a contract's stored billing closures over a time range
    M_TA_VC_2 = 135  # billing information, current period
    M_TA_VM_2 = 136  # billing information, stored closures
    C_PC_NA_2 = 144  # read a contract's contracted powers
    M_PC_NA_2 = 145  # contracted powers
    P_IN_VA_2 = 162  # read instantaneous values
    R_IN_VA_2 = 163  # instantaneous values
    C_AC_NA_2 = 183  # login with password
    C_FS_NA_2 = 187  # finish session


class Cause(IntEnum):
    """Causes of transmission (bits 0-5 of the COT byte)."""

    INITIALISED = 4
    REQUEST = 5
    ACTIVATION = 6
    ACTIVATION_CONFIRMATION = 7
    DEACTIVATION = 8
    DEACTIVATION_CONFIRMATION = 9
    ACTIVATION_TERMINATION = 10
    RECORD_NOT_AVAILABLE = 13
    TYPE_NOT_AVAILABLE = 14
    RECORD_NUMBER_UNKNOWN = 15
    ADDRESS_UNKNOWN = 16
    OBJECT_NOT_AVAILABLE = 17
    PERIOD_NOT_AVAILABLE = 18


COT_CAUSE_MASK: Final = 0x3F
COT_NEGATIVE: Final = 0x40
COT_TEST: Final = 0x80
VSQ_COUNT_MASK: Final = 0x7F
#: VSQ bit 7 (SQ, objects in sequence): the REE profile always sends 0.
VSQ_SQ_BIT: Final = 0x80
#: TypeId, VSQ, COT, point address (2), record address.
ASDU_HEADER_LENGTH: Final = 6
RECORD_ADDRESS_NONE: Final = 0
POINT_ADDRESS_MAX: Final = 0xFFFF
PASSWORD_MAX: Final = 0xFFFFFFFF
PASSWORD_LENGTH: Final = 4


#: Causes that end a range read cleanly: the meter has nothing (more) for the range.
RANGE_END_CAUSES: Final = frozenset(
    {Cause.RECORD_NOT_AVAILABLE, Cause.OBJECT_NOT_AVAILABLE, Cause.PERIOD_NOT_AVAILABLE}
)


class RecordAddress(IntEnum):
    """Record addresses ("direcciones de registro") of the integrated-total reads."""

    HOURLY = 11
    QUARTER_HOURLY = 12
    DAILY = 21


class TotalObject(IntEnum):
    """Information-object addresses of integrated totals (types 8, 11)."""

    ACTIVE_IMPORT = 1
    ACTIVE_EXPORT = 2
    REACTIVE_Q1 = 3
    REACTIVE_Q2 = 4
    REACTIVE_Q3 = 5
    REACTIVE_Q4 = 6
    RESERVE_1 = 7
    RESERVE_2 = 8


#: One integrated-total object: address (1), value (uint32 LE), qualifier (1).
TOTAL_OBJECT_LENGTH: Final = 6
#: Body of C_CI_NT_2 / C_CI_NU_2: first object, last object, TimeA from, TimeA to.
RANGE_REQUEST_LENGTH: Final = 12
TOTAL_QUALIFIER_INVALID: Final = 0x80
#: Bit 0 of a quality byte: reserved (RES) in the REE layout.
QUALIFIER_RESERVED_BIT: Final = 0x01


class Qualifier(IntFlag):
    """Quality byte of an integrated total or billing value (REE layout of the low bits).

    The top three bits are IEC 60870-5-102's (IV, CA, CY); the REE profile uses the
    low bits for VH, MP, INT and AL instead of a sequence number. Bit 0 is reserved.
    """

    INVALID = 0x80  # IV
    ADJUSTED = 0x40  # CA: counter adjusted
    OVERFLOW = 0x20  # CY: carry
    TIME_SYNC = 0x10  # VH: clock synchronised during the period
    PARAMETER_CHANGE = 0x08  # MP: parameters changed during the period
    INTRUSION = 0x04  # INT: intrusion detected
    INCOMPLETE = 0x02  # AL: incomplete period (power failure)


class ContractRegister(IntEnum):
    """Record addresses of the billing reads: contracts I, II and III."""

    CONTRACT_1 = 134
    CONTRACT_2 = 135
    CONTRACT_3 = 136


#: Billing object of the totals over every tariff period; P1..P6 follow it (21..26).
BILLING_TOTAL_OBJECT: Final = 20
BILLING_PERIODS: Final = 6
#: One billing object (M_TA_VC_2 / M_TA_VM_2): address, three energies (absolute,
#: increment, qualifier), two reserves, maximum demand with its time, excess power,
#: the billing period's start and end.
BILLING_OBJECT_LENGTH: Final = 63
#: Billing objects one frame can carry: a variable frame holds at most 252 ASDU bytes
#: (L counts C and the link address too), 6 of them the header. So the totals and
#: P1..P6 of one billing period always arrive in several ASDUs.
BILLING_OBJECTS_PER_ASDU: Final = (
    VARIABLE_MAX_LENGTH - VARIABLE_MIN_LENGTH - ASDU_HEADER_LENGTH
) // BILLING_OBJECT_LENGTH
#: Body of C_TA_VM_2: TimeA from, TimeA to.
BILLING_RANGE_REQUEST_LENGTH: Final = 10
#: One contracted power (M_PC_NA_2): tariff period address (1), power in kW (uint32).
CONTRACTED_POWER_LENGTH: Final = 5


class InstantObject(IntEnum):
    """Information objects of the instantaneous-values request (REE Ampliación)."""

    ENERGY_TOTALS = 192
    POWERS = 193
    VOLTAGES_CURRENTS = 194


#: Body length (after the object id) of each instantaneous object, TimeA included.
INSTANT_OBJECT_LENGTH: Final = {
    InstantObject.ENERGY_TOTALS: 29,
    InstantObject.POWERS: 37,
    InstantObject.VOLTAGES_CURRENTS: 26,
}

# Object 192: six uint32 registers (A+, A-, R1..R4), kWh / kvarh.
ENERGY_REGISTER_COUNT: Final = 6
ENERGY_VALUE_MASK: Final = 0x3FFFFFFF
ENERGY_INVALID_BIT: Final = 1 << 31
#: Bits 27-30: flags of unknown meaning in some libraries; logged when seen.
ENERGY_SUSPECT_BITS: Final = 0x78000000
#: Bit 30: neither value nor the invalid flag.
ENERGY_UNUSED_BITS: Final = 1 << 30

# Object 193: four uint64 blocks (total, L1, L2, L3).
POWER_BLOCK_COUNT: Final = 4
POWER_BLOCK_LENGTH: Final = 8
POWER_ACTIVE_MASK: Final = 0xFFFFFF
POWER_REACTIVE_SHIFT: Final = 24
POWER_REACTIVE_MASK: Final = 0xFFFFFF
POWER_FACTOR_SHIFT: Final = 48
POWER_FACTOR_MASK: Final = 0x3FF
POWER_FACTOR_SCALE: Final = 1000
POWER_EXPORT_BIT: Final = 1 << 58
POWER_REACTIVE_NEGATIVE_BIT: Final = 1 << 59
POWER_INVALID_BIT: Final = 1 << 63
#: Bits 60-62 of a power block are unused.
POWER_UNUSED_BITS: Final = 0b111 << 60

# Object 194: three 7-byte blocks (L1, L2, L3): current uint24 (0.1 A), uint32 voltage word.
PHASE_BLOCK_COUNT: Final = 3
PHASE_BLOCK_LENGTH: Final = 7
CURRENT_LENGTH: Final = 3
CURRENT_SCALE: Final = 10
VOLTAGE_VALUE_MASK: Final = 0x3FFFFFFF
VOLTAGE_SCALE: Final = 10
VOLTAGE_INVALID_BIT: Final = 1 << 31
#: Bit 30 of the voltage word is unused.
VOLTAGE_UNUSED_BITS: Final = 1 << 30

# P_MP_NA_2 (71): standard date (1), manufacturer (1), equipment id (uint32).
IDENTITY_LENGTH: Final = 6
#: Names of the manufacturer byte of P_MP_NA_2. The standard leaves the codes to the
#: utilities and no public list of them was found (searched: REE and IEC 870-5-102
#: documents, open IEC 102 clients such as gisce/iec870ree, which decode the byte but
#: name no maker). A code goes in only with a source named beside it; until then a
#: meter has no manufacturer name, and its raw code is in the diagnostics.
MANUFACTURERS: Final[Mapping[int, str]] = {}

# --- Time tags ---------------------------------------------------------------------
TIME_A_LENGTH: Final = 5
TIME_B_LENGTH: Final = 7
TIME_A_MINUTE_MASK: Final = 0x3F
TIME_A_INVALID_BIT: Final = 0x80
TIME_A_HOUR_MASK: Final = 0x1F
TIME_A_SUMMER_BIT: Final = 0x80
TIME_A_DAY_MASK: Final = 0x1F
TIME_A_WEEKDAY_SHIFT: Final = 5
TIME_A_MONTH_MASK: Final = 0x0F
TIME_A_YEAR_MASK: Final = 0x7F
TIME_A_CENTURY: Final = 2000
TIME_B_MILLIS_MASK: Final = 0x3FF
TIME_B_SECONDS_SHIFT: Final = 10
DEFAULT_TIME_ZONE: Final = "Europe/Madrid"

# --- Class 2 polling ---------------------------------------------------------------------
#: "No data" answers that are polled again at once (an answer often follows the first).
NO_DATA_FAST_POLLS: Final = 1
#: Pause before the first paced poll; it doubles on each further "no data".
NO_DATA_FIRST_PAUSE_S: Final = 0.02
#: Longest pause between "no data" polls.
NO_DATA_MAX_PAUSE_S: Final = 1.0

#: Quiet time after a damaged frame before the request is sent again, so that a
#: late good frame is not left on the line to be mistaken for the next answer.
CORRUPT_FRAME_QUIET_S: Final = 0.1
