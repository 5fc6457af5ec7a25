"""The ASDU header: type, object count, cause of transmission and addresses."""

from __future__ import annotations

from dataclasses import dataclass
import struct

from ...errors import ProtocolError
from ..constants import (
    ASDU_HEADER_LENGTH,
    COT_CAUSE_MASK,
    COT_NEGATIVE,
    COT_TEST,
    POINT_ADDRESS_MAX,
    RECORD_ADDRESS_NONE,
    VSQ_COUNT_MASK,
    Cause,
    TypeId,
)


@dataclass(frozen=True, slots=True)
class Asdu:
    """Application service data unit: header fields plus the raw object bytes."""

    type_id: int
    cause: int
    point_address: int
    record_address: int = RECORD_ADDRESS_NONE
    count: int = 0
    body: bytes = b""
    negative: bool = False
    test: bool = False

    def __post_init__(self) -> None:
        """Refuse header values that do not fit their bytes."""
        if not 0 <= self.point_address <= POINT_ADDRESS_MAX:
            raise ValueError(f"point address out of range: {self.point_address}")
        if not 0 <= self.count <= VSQ_COUNT_MASK:
            raise ValueError(f"object count out of range: {self.count}")

    def encode(self) -> bytes:
        """Bytes of the ASDU inside a variable frame."""
        cot = self.cause | (COT_NEGATIVE if self.negative else 0) | (COT_TEST if self.test else 0)
        return (
            bytes((self.type_id, self.count, cot))
            + struct.pack("<HB", self.point_address, self.record_address)
            + self.body
        )

    @classmethod
    def decode(cls, data: bytes) -> Asdu:
        """Split an ASDU into header and body."""
        if len(data) < ASDU_HEADER_LENGTH:
            raise ProtocolError(f"ASDU of {len(data)} bytes is shorter than its header")
        point, record = struct.unpack_from("<HB", data, 3)
        return cls(
            type_id=data[0],
            count=data[1] & VSQ_COUNT_MASK,
            cause=data[2] & COT_CAUSE_MASK,
            negative=bool(data[2] & COT_NEGATIVE),
            test=bool(data[2] & COT_TEST),
            point_address=point,
            record_address=record,
            body=bytes(data[ASDU_HEADER_LENGTH:]),
        )

    def describe(self) -> str:
        """Short text for logs and errors."""
        try:
            name = TypeId(self.type_id).name
        except ValueError:
            name = str(self.type_id)
        try:
            cause = Cause(self.cause).name
        except ValueError:
            cause = str(self.cause)
        sign = " negative" if self.negative else ""
        return f"{name} cause {cause}{sign}"
