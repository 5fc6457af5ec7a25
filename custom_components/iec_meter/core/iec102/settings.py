"""How one REE meter on a line is addressed, and its read password."""

from __future__ import annotations

from dataclasses import dataclass

from .constants import LINK_ADDRESS_MAX, PASSWORD_MAX, POINT_ADDRESS_MAX


@dataclass(frozen=True, slots=True)
class Iec102Settings:
    """How one meter on a line is addressed, and its read password."""

    link_address: int
    point_address: int
    password: int

    def __post_init__(self) -> None:
        """Refuse values that do not fit the protocol's fields."""
        if not 0 <= self.link_address <= LINK_ADDRESS_MAX:
            raise ValueError(f"link address {self.link_address} out of range (0-65535)")
        if not 0 <= self.point_address <= POINT_ADDRESS_MAX:
            raise ValueError(f"point address {self.point_address} out of range (0-65535)")
        if not 0 <= self.password <= PASSWORD_MAX:
            raise ValueError("password out of range (0-4294967295)")
