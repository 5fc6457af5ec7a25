"""Instantaneous values (R_IN_VA_2): energy totals, powers, voltages and currents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
import logging
import struct

from ...errors import ProtocolError
from ..constants import (
    CURRENT_LENGTH,
    ENERGY_INVALID_BIT,
    ENERGY_REGISTER_COUNT,
    ENERGY_SUSPECT_BITS,
    ENERGY_VALUE_MASK,
    INSTANT_OBJECT_LENGTH,
    PHASE_BLOCK_COUNT,
    PHASE_BLOCK_LENGTH,
    POWER_ACTIVE_MASK,
    POWER_BLOCK_COUNT,
    POWER_BLOCK_LENGTH,
    POWER_EXPORT_BIT,
    POWER_FACTOR_MASK,
    POWER_FACTOR_SCALE,
    POWER_FACTOR_SHIFT,
    POWER_INVALID_BIT,
    POWER_REACTIVE_MASK,
    POWER_REACTIVE_NEGATIVE_BIT,
    POWER_REACTIVE_SHIFT,
    TIME_A_LENGTH,
    VOLTAGE_INVALID_BIT,
    VOLTAGE_VALUE_MASK,
    InstantObject,
)
from ..timecodec import decode_time_a, encode_time_a
from .header import Asdu

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PowerBlock:
    """One block of object 193 as the meter sends it: magnitudes plus direction bits."""

    active: int
    reactive: int
    power_factor_milli: int
    exporting: bool = False
    reactive_negative: bool = False
    invalid: bool = False

    def encode(self) -> bytes:
        """Eight bytes, little-endian."""
        word = (
            (self.active & POWER_ACTIVE_MASK)
            | (self.reactive & POWER_REACTIVE_MASK) << POWER_REACTIVE_SHIFT
            | (self.power_factor_milli & POWER_FACTOR_MASK) << POWER_FACTOR_SHIFT
            | (POWER_EXPORT_BIT if self.exporting else 0)
            | (POWER_REACTIVE_NEGATIVE_BIT if self.reactive_negative else 0)
            | (POWER_INVALID_BIT if self.invalid else 0)
        )
        return struct.pack("<Q", word)

    @classmethod
    def decode(cls, raw: bytes) -> PowerBlock:
        """Read one 8-byte block."""
        (word,) = struct.unpack("<Q", raw)
        return cls(
            active=word & POWER_ACTIVE_MASK,
            reactive=(word >> POWER_REACTIVE_SHIFT) & POWER_REACTIVE_MASK,
            power_factor_milli=(word >> POWER_FACTOR_SHIFT) & POWER_FACTOR_MASK,
            exporting=bool(word & POWER_EXPORT_BIT),
            reactive_negative=bool(word & POWER_REACTIVE_NEGATIVE_BIT),
            invalid=bool(word & POWER_INVALID_BIT),
        )

    def signed_active(self) -> float | None:
        """Active power in kW, negative when exporting."""
        if self.invalid:
            return None
        return float(-self.active if self.exporting else self.active)

    def signed_reactive(self) -> float | None:
        """Reactive power in kvar, negative in Q3/Q4."""
        if self.invalid:
            return None
        return float(-self.reactive if self.reactive_negative else self.reactive)

    def power_factor(self) -> float | None:
        """Power factor 0-1."""
        if self.invalid:
            return None
        return self.power_factor_milli / POWER_FACTOR_SCALE


@dataclass(frozen=True, slots=True)
class PhaseBlock:
    """One block of object 194: current in 0.1 A and voltage in 0.1 V."""

    current_deciamps: int
    voltage_decivolts: int
    invalid: bool = False

    def encode(self) -> bytes:
        """Seven bytes: uint24 current, uint32 voltage word."""
        word = (self.voltage_decivolts & VOLTAGE_VALUE_MASK) | (
            VOLTAGE_INVALID_BIT if self.invalid else 0
        )
        return self.current_deciamps.to_bytes(CURRENT_LENGTH, "little") + struct.pack("<I", word)

    @classmethod
    def decode(cls, raw: bytes) -> PhaseBlock:
        """Read one 7-byte block."""
        (word,) = struct.unpack_from("<I", raw, CURRENT_LENGTH)
        return cls(
            current_deciamps=int.from_bytes(raw[:CURRENT_LENGTH], "little"),
            voltage_decivolts=word & VOLTAGE_VALUE_MASK,
            invalid=bool(word & VOLTAGE_INVALID_BIT),
        )


@dataclass(frozen=True, slots=True)
class InstantValues:
    """Objects 192/193/194 as decoded; a missing object is None."""

    #: A+, A-, R1..R4 in kWh / kvarh; None for a register flagged invalid.
    energy: tuple[int | None, ...] | None = None
    #: Total, L1, L2, L3.
    powers: tuple[PowerBlock, ...] | None = None
    #: L1, L2, L3.
    phases: tuple[PhaseBlock, ...] | None = None
    timestamp: datetime | None = None


def encode_instant_values(values: InstantValues, tz: tzinfo, when: datetime) -> tuple[int, bytes]:
    """Object count and body of R_IN_VA_2 for the objects present in ``values``."""
    stamp = encode_time_a(when, tz)
    body = bytearray()
    count = 0
    if values.energy is not None:
        body.append(InstantObject.ENERGY_TOTALS)
        for register in values.energy:
            word = ENERGY_INVALID_BIT if register is None else register & ENERGY_VALUE_MASK
            body += struct.pack("<I", word)
        body += stamp
        count += 1
    if values.powers is not None:
        body.append(InstantObject.POWERS)
        for block in values.powers:
            body += block.encode()
        body += stamp
        count += 1
    if values.phases is not None:
        body.append(InstantObject.VOLTAGES_CURRENTS)
        for phase in values.phases:
            body += phase.encode()
        body += stamp
        count += 1
    return count, bytes(body)


def decode_instant_values(asdu: Asdu, tz: tzinfo) -> InstantValues:
    """Walk the objects of R_IN_VA_2; unknown object ids are a protocol error."""
    body = asdu.body
    pos = 0
    energy: tuple[int | None, ...] | None = None
    powers: tuple[PowerBlock, ...] | None = None
    phases: tuple[PhaseBlock, ...] | None = None
    timestamp: datetime | None = None
    for _ in range(asdu.count):
        if pos >= len(body):
            raise ProtocolError("instantaneous values: fewer objects than announced")
        try:
            object_id = InstantObject(body[pos])
        except ValueError:
            raise ProtocolError(f"instantaneous values: unknown object {body[pos]}") from None
        length = INSTANT_OBJECT_LENGTH[object_id]
        chunk = body[pos + 1 : pos + 1 + length]
        if len(chunk) != length:
            raise ProtocolError(f"instantaneous values: object {object_id} cut short")
        pos += 1 + length
        data, stamp = chunk[: length - TIME_A_LENGTH], chunk[length - TIME_A_LENGTH :]
        timestamp = timestamp or decode_time_a(stamp, tz)
        if object_id is InstantObject.ENERGY_TOTALS:
            energy = _decode_energy(data)
        elif object_id is InstantObject.POWERS:
            powers = tuple(
                PowerBlock.decode(data[i * POWER_BLOCK_LENGTH : (i + 1) * POWER_BLOCK_LENGTH])
                for i in range(POWER_BLOCK_COUNT)
            )
        else:
            phases = tuple(
                PhaseBlock.decode(data[i * PHASE_BLOCK_LENGTH : (i + 1) * PHASE_BLOCK_LENGTH])
                for i in range(PHASE_BLOCK_COUNT)
            )
    return InstantValues(energy=energy, powers=powers, phases=phases, timestamp=timestamp)


def _decode_energy(data: bytes) -> tuple[int | None, ...]:
    words = struct.unpack(f"<{ENERGY_REGISTER_COUNT}I", data)
    registers: list[int | None] = []
    for word in words:
        if word & ENERGY_SUSPECT_BITS:
            _LOGGER.debug("energy register 0x%08X has bits 27-30 set", word)
        registers.append(None if word & ENERGY_INVALID_BIT else word & ENERGY_VALUE_MASK)
    return tuple(registers)
