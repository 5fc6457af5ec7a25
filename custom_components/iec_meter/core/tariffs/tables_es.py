"""The period tables of the Spanish access tariffs, as data: one table per tariff and zone.

A change in the regulation is a change here, nowhere else. Each table says where it
comes from. Facts marked [U] were not checked against the BOE text of Circular CNMC
3/2020 (BOE-A-2020-1066), which we could not read; they are kept here, in one place,
so that they are easy to correct.

Sources (read, not copied):
- Circular CNMC 3/2020, Art. 7.3 and 7.4 (non-working days; the 2.0TD power periods),
  as quoted by the CNMC's own Q&A on the circular (CNS/DE/1467/20) and by several
  public projects that cite it.
- The six-period seasons and hour blocks per zone (Art. 7 tables), as implemented by
  two independent open-source projects that agree for all five zones, and for the
  Península by a distributor's meter calendar template and by a retailer's table.

Encoding, so that a table reads like the regulation's own:
- an hour string has 24 characters, one per local hour 00..23 (an hour belongs to the
  period of its local start);
- 2.0TD strings hold the period number; six-period strings hold the block: ``N`` night
  (always P6), ``A`` the peak block, ``B`` the shoulder block of the season.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .model import Zone

#: Fixed-date national holidays that count as non-working days (every hour in the
#: cheapest period), as (month, day). Art. 7.3: Saturdays, Sundays, 6 January and the
#: national holidays of fixed date that no region may move. Good Friday, Holy Thursday,
#: Easter Monday, regional and local holidays and "Monday after" substitutions are
#: working days for the tariff.
NON_WORKING_DATES: Final[frozenset[tuple[int, int]]] = frozenset(
    {(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25)}
)

#: The clock each zone's hour tables are read in. [U] Whether the Canarias tables are
#: in Canary local time is not confirmed by the BOE text; both reference projects read
#: the zone's own local hour, and so do we.
ZONE_TIME_ZONES: Final[dict[Zone, str]] = {
    Zone.PENINSULA: "Europe/Madrid",
    Zone.BALEARES: "Europe/Madrid",
    Zone.CANARIAS: "Atlantic/Canary",
    Zone.CEUTA: "Africa/Ceuta",
    Zone.MELILLA: "Africa/Ceuta",  # the tz database's zone for both cities
}

# ---------------------------------------------------------------------------------------
# 2.0TD: three energy periods, two power periods, the same every month.
# ---------------------------------------------------------------------------------------

#: Working-day energy periods: P1 punta, P2 llano, P3 valle. In Ceuta and Melilla punta
#: and llano start an hour later; valle stays 0-8 h.
ENERGY_2_0TD: Final[dict[Zone, str]] = {
    Zone.PENINSULA: "333333332211112222111122",
    Zone.BALEARES: "333333332211112222111122",
    Zone.CANARIAS: "333333332211112222111122",
    Zone.CEUTA: "333333332221111222211112",
    Zone.MELILLA: "333333332221111222211112",
}
#: Art. 7.4: power P1 "punta-llano" is energy P1 + P2 (8-24 h on working days) and
#: power P2 "valle" is energy P3, in every zone.
POWER_2_0TD: Final[str] = "222222221111111111111111"
#: The period of every hour of a non-working day.
NON_WORKING_2_0TD_ENERGY: Final = 3
NON_WORKING_2_0TD_POWER: Final = 2

# ---------------------------------------------------------------------------------------
# 3.0TD and 6.1TD-6.4TD: six periods, for energy and power alike.
# ---------------------------------------------------------------------------------------


class Season(StrEnum):
    """The four electrical seasons of the six-period tariffs."""

    ALTA = "alta"
    MEDIA_ALTA = "media_alta"
    MEDIA = "media"
    BAJA = "baja"


_A, _MA, _M, _B = Season.ALTA, Season.MEDIA_ALTA, Season.MEDIA, Season.BAJA

#: Season of each month, January first.
SEASONS: Final[dict[Zone, tuple[Season, ...]]] = {
    Zone.PENINSULA: (_A, _A, _MA, _B, _B, _M, _A, _M, _M, _B, _MA, _A),
    Zone.BALEARES: (_M, _M, _B, _B, _MA, _A, _A, _A, _A, _MA, _B, _M),
    Zone.CANARIAS: (_M, _M, _M, _B, _B, _B, _A, _A, _A, _A, _MA, _MA),
    Zone.CEUTA: (_A, _A, _M, _B, _B, _B, _MA, _A, _A, _MA, _M, _M),
    Zone.MELILLA: (_A, _MA, _B, _B, _B, _M, _A, _A, _A, _M, _M, _MA),
}

#: Working-day hour blocks: N night (P6), A peak, B shoulder.
BLOCKS: Final[dict[Zone, str]] = {
    Zone.PENINSULA: "NNNNNNNNBAAAAABBBBAAAABB",  # peak 9-14, 18-22
    Zone.BALEARES: "NNNNNNNNBBAAAAABBBAAAABB",  # peak 10-15, 18-22
    Zone.CANARIAS: "NNNNNNNNBBAAAAABBBAAAABB",  # peak 10-15, 18-22
    Zone.CEUTA: "NNNNNNNNBBAAAAABBBBAAAAB",  # peak 10-15, 19-23
    Zone.MELILLA: "NNNNNNNNBBAAAAABBBBAAAAB",  # peak 10-15, 19-23
}

_USUAL: Final = {_A: (1, 2), _MA: (2, 3), _M: (3, 4), _B: (4, 5)}

#: The (peak, shoulder) periods of each season. [U] The non-consecutive pairs of
#: Canarias and Ceuta come from both reference projects, not from the BOE tables.
SEASON_PERIODS: Final[dict[Zone, dict[Season, tuple[int, int]]]] = {
    Zone.PENINSULA: _USUAL,
    Zone.BALEARES: _USUAL,
    Zone.CANARIAS: {_A: (1, 3), _MA: (2, 3), _M: (2, 4), _B: (4, 5)},
    Zone.CEUTA: {_A: (1, 4), _MA: (2, 3), _M: (2, 4), _B: (3, 5)},
    Zone.MELILLA: _USUAL,
}
#: Night hours of working days, and every hour of a non-working day.
NIGHT_PERIOD: Final = 6
