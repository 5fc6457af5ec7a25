"""Auto-demotion: a meter that keeps failing goes off scan for a while.

On a bus, a dead meter costs ``timeout * (retries + 1)`` on every scan and delays every
other meter. After ``failures`` consecutive failed polls the meter is taken off scan: no
request is sent to it until ``delay`` has passed; then one attempt decides, success
putting it back on scan and failure starting the delay again (the industrial clients'
"auto-demotion").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Final

DEFAULT_FAILURES: Final = 3
DEFAULT_DELAY_MS: Final = 60_000
MIN_DELAY_MS: Final = 1000
MAX_DELAY_MS: Final = 86_400_000
MAX_FAILURES: Final = 100
_MS = 1000.0


@dataclass(frozen=True, slots=True)
class DemotionSettings:
    """When a failing meter goes off scan, and for how long."""

    enabled: bool = True
    #: Consecutive failed polls that take the meter off scan (1 or more).
    failures: int = DEFAULT_FAILURES
    #: How long it stays off scan before one more attempt (ms, 1000 or more).
    delay_ms: int = DEFAULT_DELAY_MS

    def __post_init__(self) -> None:
        """Refuse values outside the documented ranges, naming the field."""
        if not 1 <= self.failures <= MAX_FAILURES:
            raise ValueError(f"demotion failures {self.failures} out of range (1-{MAX_FAILURES})")
        if not MIN_DELAY_MS <= self.delay_ms <= MAX_DELAY_MS:
            raise ValueError(
                f"demotion delay {self.delay_ms} ms out of range ({MIN_DELAY_MS}-{MAX_DELAY_MS})"
            )


class ScanState:
    """Whether one meter is on scan, from the outcome of its polls."""

    def __init__(
        self, settings: DemotionSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start on scan."""
        self.settings = settings
        self._clock = clock
        self.consecutive_failures = 0
        self._off_until: float | None = None

    @property
    def on_scan(self) -> bool:
        """False while the meter is demoted."""
        return self._off_until is None

    @property
    def seconds_left(self) -> float:
        """How long until the next attempt of a demoted meter (0 when it may be polled)."""
        if self._off_until is None:
            return 0.0
        return max(0.0, self._off_until - self._clock())

    def may_poll(self) -> bool:
        """True when a request may go to the meter now."""
        return self.on_scan or self.seconds_left == 0

    def success(self) -> bool:
        """Record a good poll; True when it brought the meter back on scan."""
        self.consecutive_failures = 0
        back = self._off_until is not None
        self._off_until = None
        return back

    def failure(self) -> bool:
        """Record a failed poll; True when it just took the meter off scan."""
        self.consecutive_failures += 1
        settings = self.settings
        if not settings.enabled:
            return False
        if self._off_until is not None:
            # The one attempt after the delay failed: another delay, already off scan.
            self._off_until = self._clock() + settings.delay_ms / _MS
            return False
        if self.consecutive_failures >= settings.failures:
            self._off_until = self._clock() + settings.delay_ms / _MS
            return True
        return False
