"""The simulated household's contract I: a three-period tariff and its contracted powers.

P1 is the peak (weekdays 10-14 and 18-22), P2 the shoulder (weekdays 8-10, 14-18 and
22-24), P3 the valley (nights and weekends), in the meter's local time. Holidays are
left out: the point is a tariff whose periods all hold something, not a calendar.
"""

from __future__ import annotations

import math
from typing import Final

PEAK: Final = 1
SHOULDER: Final = 2
VALLEY: Final = 3
#: The tariff periods this contract uses (P4..P6 stay empty).
PERIODS: Final = (PEAK, SHOULDER, VALLEY)
_PEAK_HOURS: Final = ((10, 14), (18, 22))
_SHOULDER_HOURS: Final = ((8, 10), (14, 18), (22, 24))
_SATURDAY: Final = 5

#: Contracted power (kW) of each tariff period of contract I, for the model's default
#: household (6 kW peak load): its peaks go a little over, so the excess sensors move.
CONTRACTED_KW: Final = {PEAK: 5, SHOULDER: 5, VALLEY: 8}
#: The peak load the contract above is made for.
REFERENCE_PEAK_KW: Final = 6.0
#: A larger simulated load gets a contract that fits it, as a business would sign: every
#: period at least this share above the peak load.
HEADROOM: Final = 1.15


def contracted_kw(peak_load_kw: float) -> dict[int, int]:
    """Contracted power (kW) per period for a simulated load of ``peak_load_kw`` at most."""
    if peak_load_kw <= REFERENCE_PEAK_KW:
        return dict(CONTRACTED_KW)
    floor = math.ceil(peak_load_kw * HEADROOM)
    scale = peak_load_kw / REFERENCE_PEAK_KW
    return {period: max(floor, math.ceil(kw * scale)) for period, kw in CONTRACTED_KW.items()}


#: Local date and time since when the contracted powers apply.
CONTRACTED_SINCE: Final = (2025, 6, 1, 0, 0)
#: Shares of the history's starting registers booked to P1 and P2 (P3 takes the rest).
BASE_SHARES: Final = {PEAK: 0.25, SHOULDER: 0.30}


def tariff_period(weekday: int, hour: int) -> int:
    """The tariff period of a local hour of the day (weekday 0 = Monday)."""
    if weekday >= _SATURDAY:
        return VALLEY
    if any(start <= hour < end for start, end in _PEAK_HOURS):
        return PEAK
    if any(start <= hour < end for start, end in _SHOULDER_HOURS):
        return SHOULDER
    return VALLEY
