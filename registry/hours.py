"""Opening hours in OpenStreetMap syntax (via ``opening-hours-py``) reduced to weekly figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from opening_hours import OpeningHours, ParserError, State

# Four ordinary weeks (no public holiday in France): Monday 4 March 2024 to Monday 1 April excluded.
_START = datetime(2024, 3, 4)
_WEEKS = 4


@dataclass(frozen=True)
class WeeklyOpening:
    """Average opening of a week: hours and number of days with any opening."""

    hours: float
    days: float


@lru_cache(maxsize=65_536)
def weekly_opening(expression: str | None) -> WeeklyOpening | None:
    """Weekly hours and open days of an ``opening_hours`` expression; ``None`` if absent, unparseable or
    partly unknown (free text, "sur rendez-vous" comments...). Never a guess."""
    if not expression or not expression.strip():
        return None
    try:
        parsed = OpeningHours(expression.strip())
    except (ParserError, ValueError, TypeError):
        return None
    open_seconds = 0.0
    open_dates = set()
    for start, end, state, _comment in parsed.intervals(_START, _START + timedelta(weeks=_WEEKS)):
        if state == State.UNKNOWN:
            return None
        if state == State.OPEN:
            open_seconds += (end - start).total_seconds()
            day = start
            while day < end:
                open_dates.add(day.date())
                day = datetime.combine(day.date() + timedelta(days=1), datetime.min.time())
    return WeeklyOpening(round(open_seconds / 3600 / _WEEKS, 2), len(open_dates) / _WEEKS)
