"""Opening hours in OpenStreetMap syntax (via ``opening-hours-py``) reduced to weekly figures."""

from __future__ import annotations

import re
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
def parses(expression: str) -> bool:
    """Whether ``expression`` is valid ``opening_hours`` syntax."""
    try:
        OpeningHours(expression.strip())
    except (ParserError, ValueError, TypeError):
        return False
    return True


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


DAYS = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi", "Sa": "samedi",
        "Su": "dimanche"}
_RULE = re.compile(r"^(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
                   r"(?:,(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?)*)\s+"
                   r"(?P<times>off|closed|\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*)$")


def _time(value: str) -> str:
    hours, minutes = value.split(":")
    return f"{int(hours)} h" + (f" {minutes}" if minutes != "00" else "")


def _days(value: str) -> str:
    parts = []
    for part in value.split(","):
        if "-" in part:
            start, end = part.split("-")
            parts.append(f"du {DAYS[start]} au {DAYS[end]}")
        else:
            parts.append(DAYS[part])
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


@lru_cache(maxsize=4096)
def describe(expression: str | None) -> str | None:
    """Plain French for the common ``opening_hours`` forms (``Mo-Fr 09:00-12:00; Sa 10:00-12:00``);
    ``None`` when the expression uses anything else (then show it as it is)."""
    if not expression or not expression.strip():
        return None
    if expression.strip() == "24/7":
        return "Tous les jours, 24 h sur 24"
    rules = []
    for rule in (r.strip() for r in expression.split(";") if r.strip()):
        match = _RULE.match(rule)
        if match is None:
            return None
        times = match["times"]
        when = "fermé" if times in ("off", "closed") else ", ".join(
            f"{_time(start)} – {_time(end)}" for start, end in (span.split("-") for span in times.split(",")))
        rules.append(f"{_days(match['days'])} : {when}")
    return " ; ".join(rules)
