"""Request timing of a meter line, with the defaults and limits industrial clients use."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

# Defaults and limits of the industrial clients users know (IEC 102 channel settings).
DEFAULT_REQUEST_TIMEOUT_MS: Final = 3000
MIN_REQUEST_TIMEOUT_MS: Final = 100
MAX_REQUEST_TIMEOUT_MS: Final = 600_000
DEFAULT_RETRIES: Final = 3
MIN_RETRIES: Final = 0
MAX_RETRIES: Final = 100
DEFAULT_INTER_REQUEST_DELAY_MS: Final = 0
MIN_INTER_REQUEST_DELAY_MS: Final = 0
MAX_INTER_REQUEST_DELAY_MS: Final = 600_000
DEFAULT_RECONNECT_DELAY_MS: Final = 60_000
MIN_RECONNECT_DELAY_MS: Final = 1000
#: How long the meter may keep answering "no data yet" to class 2 polls.
DEFAULT_CONTENT_TIMEOUT_MS: Final = 60_000

_MS = 1000.0
#: Set within :func:`one_try` (per task: other meters' polls keep their retries).
_ONE_TRY: ContextVar[bool] = ContextVar("iec_meter_one_try", default=False)


@contextlib.contextmanager
def one_try() -> Iterator[None]:
    """Within the block, every request of this task gets one try and no retries.

    For the probe of a meter that is off scan: a dead meter must not hold the line for
    ``timeout * (retries + 1)`` each time it is tried again.
    """
    token = _ONE_TRY.set(True)
    try:
        yield
    finally:
        _ONE_TRY.reset(token)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long to wait and how often to try; all durations in milliseconds."""

    #: Wait for one answer before sending the frame again.
    request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS
    #: Further tries after the first (3 → 4 tries in all).
    retries: int = DEFAULT_RETRIES
    #: Pause before each request (slow converters, shared buses).
    inter_request_delay_ms: int = DEFAULT_INTER_REQUEST_DELAY_MS
    #: After a failed connection attempt, do not try again sooner than this.
    reconnect_delay_ms: int = DEFAULT_RECONNECT_DELAY_MS
    #: How long a meter may keep saying "no data yet" before we give up.
    content_timeout_ms: int = DEFAULT_CONTENT_TIMEOUT_MS

    def __post_init__(self) -> None:
        """Refuse values outside the documented ranges, naming the field."""
        _check(
            "request timeout",
            self.request_timeout_ms,
            MIN_REQUEST_TIMEOUT_MS,
            MAX_REQUEST_TIMEOUT_MS,
        )
        _check("retries", self.retries, MIN_RETRIES, MAX_RETRIES)
        _check(
            "inter-request delay",
            self.inter_request_delay_ms,
            MIN_INTER_REQUEST_DELAY_MS,
            MAX_INTER_REQUEST_DELAY_MS,
        )
        _check("reconnect delay", self.reconnect_delay_ms, MIN_RECONNECT_DELAY_MS, None)
        _check("content timeout", self.content_timeout_ms, MIN_REQUEST_TIMEOUT_MS, None)

    @property
    def attempts(self) -> int:
        """Tries of one request: the first plus the retries (one within :func:`one_try`)."""
        return 1 if _ONE_TRY.get() else self.retries + 1

    @property
    def request_timeout(self) -> float:
        """Request timeout in seconds."""
        return self.request_timeout_ms / _MS

    @property
    def inter_request_delay(self) -> float:
        """Inter-request delay in seconds."""
        return self.inter_request_delay_ms / _MS

    @property
    def reconnect_delay(self) -> float:
        """Reconnect delay in seconds."""
        return self.reconnect_delay_ms / _MS

    @property
    def content_timeout(self) -> float:
        """Content timeout in seconds."""
        return self.content_timeout_ms / _MS


def _check(name: str, value: int, low: int, high: int | None) -> None:
    if value < low or (high is not None and value > high):
        upper = f"-{high}" if high is not None else " or more"
        raise ValueError(f"{name} {value} out of range ({low}{upper})")
