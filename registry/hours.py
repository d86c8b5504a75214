"""Opening hours in OpenStreetMap syntax (via ``opening-hours-py``) reduced to weekly figures."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from opening_hours import OpeningHours, ParserError, State

# A whole year of weeks (Monday 1 January 2024 to Sunday 29 December): schedules that hold only some weeks
# (``Sa[2,4]``, ``Mo[1]``, week numbers, months) count as often as they occur, never as every week.
_START = datetime(2024, 1, 1)
_WEEKS = 52
_DAY_STARTS = timedelta(hours=4)


@dataclass(frozen=True)
class WeeklyOpening:
    """Average opening of a week: hours and number of days with an opening (an opening past midnight
    counts the day it starts on)."""

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
    """Weekly hours and open days of an ``opening_hours`` expression, averaged over a year; ``None`` if absent,
    unparseable, partly unknown, or qualified by a comment (« sur rendez-vous », « 1 semaine par mois »…): a
    comment may restrict the schedule in ways no figure can hold. Never a guess."""
    if not expression or not expression.strip():
        return None
    try:
        parsed = OpeningHours(expression.strip())
    except (ParserError, ValueError, TypeError):
        return None
    open_seconds = 0.0
    spans: list[list[datetime]] = []  # openings, merged across midnight
    for start, end, state, comment in parsed.intervals(_START, _START + timedelta(weeks=_WEEKS)):
        if state == State.UNKNOWN or (comment and comment.strip()):
            return None
        if state == State.OPEN:
            open_seconds += (end - start).total_seconds()
            if spans and spans[-1][1] == start:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    days = set()
    for start, end in spans:
        # The day an opening starts on, and each later day it still covers at the day's start (04:00): an
        # evening opening past midnight counts once, an opening round the clock counts every day.
        days.add(start.date())
        day = datetime.combine(start.date() + timedelta(days=1), datetime.min.time()) + _DAY_STARTS
        while day < end:
            days.add(day.date())
            day += timedelta(days=1)
    return WeeklyOpening(round(open_seconds / 3600 / _WEEKS, 2), round(len(days) / _WEEKS, 2))


DAYS = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi", "Sa": "samedi",
        "Su": "dimanche"}
_RULE = re.compile(r"^(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
                   r"(?:,(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?)*)\s+"
                   r"(?P<times>off|closed|open|\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*)"
                   r'(?P<appointment> "sur rendez-vous")?$')


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
    """Plain French for the common ``opening_hours`` forms (``Mo-Fr 09:00-12:00; Sa 10:00-12:00``, ``Th open
    "sur rendez-vous"``);
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
        if times == "open" and not match["appointment"]:
            return None
        when = "fermé" if times in ("off", "closed") else ", ".join(
            f"{_time(start)} – {_time(end)}" for start, end in (span.split("-") for span in times.split(","))
        ) if times != "open" else ""
        if match["appointment"]:
            when = f"{when}, sur rendez-vous" if when else "sur rendez-vous"
        rules.append(f"{_days(match['days'])} : {when}")
    return " ; ".join(rules)


WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
#: How far ahead ``status`` looks for the next opening (a place open once a month is still found).
_HORIZON = timedelta(days=40)


def _clock(moment: datetime) -> str:
    return f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")


def _day(moment: datetime, now: datetime) -> str:
    days = (moment.date() - now.date()).days
    if days == 0:
        return "aujourd'hui"
    if days == 1:
        return "demain"
    if days < 7:
        return WEEKDAYS[moment.weekday()]
    return f"le {WEEKDAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]}"


def status(expression: str | None, now: datetime) -> tuple[bool, str] | None:
    """Whether the place is open at ``now`` (local time, naive or aware) and what to say, in French: « Ouvert
    jusqu'à 18 h », « Fermé — ouvre demain à 10 h », « Fermé — ouvre le samedi 12 décembre à 9 h »; ``None``
    when the hours are absent or cannot be read."""
    if not expression or not parses(expression):
        return None
    hours = OpeningHours(expression.strip())
    local = now.replace(tzinfo=None)
    is_open = hours.state(local)[0] == State.OPEN
    change = hours.next_change(local)
    if is_open:
        return True, ("Ouvert" + (f" jusqu'à {_clock(change)}" + ("" if change.date() == local.date()
                                                                   else f" ({_day(change, local)})")
                                  if change is not None and change - local < _HORIZON else ""))
    if change is None or change - local > _HORIZON:
        return False, "Fermé"
    return False, f"Fermé — ouvre {_day(change, local)} à {_clock(change)}"


# Temporary closures and exceptional hours: dated rules of the same syntax, which override the weekly ones on
# their days (« 2026 Dec 24-2027 Jan 03 off », « 2027 Jan 05 14:00-16:00 »).
_OSM_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIME_SPANS = re.compile(r"\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*")


def _osm_date(day: date) -> str:
    return f"{day.year} {_OSM_MONTHS[day.month - 1]} {day.day:02d}"


def closure_rule(closure: dict) -> str:
    """A closure (``{"from", "to", "hours", "note"}``, ISO dates, ``hours`` ``None`` for closed) as a dated rule."""
    start, end = date.fromisoformat(closure["from"]), date.fromisoformat(closure["to"])
    span = _osm_date(start) if start == end else f"{_osm_date(start)}-{_osm_date(end)}"
    return f"{span} {closure.get('hours') or 'off'}"


def closure_problem(closure: dict) -> str | None:
    """Why a closure cannot be kept (in French), or ``None``."""
    try:
        start, end = date.fromisoformat(closure["from"]), date.fromisoformat(closure["to"])
    except (KeyError, TypeError, ValueError):
        return "Dates « from » et « to » attendues (AAAA-MM-JJ)."
    if end < start:
        return "La fin précède le début."
    if (end - start).days > 366:
        return "Une fermeture temporaire dure un an au plus."
    if closure.get("hours") and not _TIME_SPANS.fullmatch(closure["hours"]):
        return "Horaires exceptionnels attendus comme 14:00-16:00 (plusieurs plages séparées par des virgules)."
    return None


def effective(expression: str | None, closures: list[dict] | None) -> str | None:
    """The weekly hours with the closures' dated rules after them (they win on their days); the weekly hours
    alone when there are no closures or the whole cannot be read (a venue without weekly hours has none)."""
    if not closures or not expression or not expression.strip():
        return expression
    combined = "; ".join([expression.strip(), *(closure_rule(c) for c in closures)])
    return combined if parses(combined) else expression


def _french_date(day: date, today: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}" + (f" {day.year}" if day.year != today.year else "")


def _french_spans(spans: str) -> str:
    return ", ".join(f"{_time(a)} – {_time(b)}" for a, b in (span.split("-") for span in spans.split(",")))


def closure_notices(closures: list[dict] | None, today: date, ahead: int = 60) -> list[str]:
    """What a person should know of the closures, in French, current ones first: « Fermé exceptionnellement
    jusqu'au 3 janvier », « Horaires exceptionnels le 5 janvier : 14 h – 16 h », « Fermeture exceptionnelle du
    24 décembre au 3 janvier » (those starting within ``ahead`` days)."""
    notices = []
    for closure in sorted(closures or [], key=lambda c: c["from"]):
        start, end = date.fromisoformat(closure["from"]), date.fromisoformat(closure["to"])
        if end < today or (start - today).days > ahead:
            continue
        hours, note = closure.get("hours"), f" ({closure['note']})" if closure.get("note") else ""
        when = (f"le {_french_date(start, today)}" if start == end else
                f"jusqu'au {_french_date(end, today)}" if start <= today else
                f"du {_french_date(start, today)} au {_french_date(end, today)}")
        if start <= today and end == today:
            when = "aujourd'hui"
        if hours:
            notices.append(f"Horaires exceptionnels {when} : {_french_spans(hours)}{note}")
        elif start <= today:
            notices.append(f"Fermé exceptionnellement {when}{note}")
        else:
            notices.append(f"Fermeture exceptionnelle {when}{note}")
    return notices


WEEK = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_CLOCK = re.compile(r"(\d{1,2})\s*(?:h|:)\s*(\d{2})?")
_HTML_TAG = re.compile(r"<[^>]*>")
_DAY_FILLER = re.compile(r"\b(?:de|a|et|puis)\b|[\s\-–—/,;+&]")
_CLOSED = {"", "-", "ferme", "fermee", "closed", "x", "non"}


def _plain(text: str) -> str:
    """A cell's text without HTML tags and entities, accents or case (``<p>9h&nbsp;-&nbsp;12h</p>`` → ``9h - 12h``)."""
    text = html.unescape(_HTML_TAG.sub(" ", text)).replace("\u00a0", " ")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()


@lru_cache(maxsize=65_536)
def day_ranges(text: str) -> list[str] | None:
    """One day's hours as a producer writes them (``9h-12h / 14h-17h30``, ``de 9h à 12h et de 14h à 18h``,
    ``09:00 - 12:00``, HTML around it) → ``["09:00-12:00", "14:00-17:30"]``; ``[]`` when closed; ``None`` when
    the text is anything else (« sur rendez-vous », an odd number of times, ranges out of order): never guessed.
    Cached: the result is shared, never change it."""
    plain = _plain(text)
    if plain.strip(" .") in _CLOSED:
        return []
    times = [(int(hour), int(minute or 0)) for hour, minute in _CLOCK.findall(plain)]
    if not times or len(times) % 2 or _DAY_FILLER.sub("", _CLOCK.sub("", plain)):
        return None
    if any(hour > 24 or minute > 59 for hour, minute in times):
        return None
    stamps = [f"{hour:02d}:{minute:02d}" for hour, minute in times]
    if any(later <= earlier for earlier, later in zip(stamps, stamps[1:], strict=False)):
        return None
    return [f"{start}-{end}" for start, end in zip(stamps[::2], stamps[1::2], strict=True)]


def week_expression(days: dict[str, str]) -> tuple[str | None, list[str]]:
    """Per-day cells (``{"Mo": "9h-12h", …}``, OSM day codes) as one ``opening_hours`` expression, consecutive
    days with the same hours grouped (``Mo-Fr 09:00-12:00; Sa 10:00-12:00``), and the days whose text could not
    be read (the expression is then ``None``: a week is never kept with some days missing)."""
    week: list[tuple[str, list[str]]] = []
    unreadable = []
    for day in WEEK:
        ranges = day_ranges(days.get(day) or "")
        if ranges is None:
            unreadable.append(day)
        week.append((day, ranges or []))
    if unreadable:
        return None, unreadable
    groups: list[tuple[list[str], list[str]]] = []
    for day, ranges in week:
        if ranges and groups and groups[-1][1] == ranges and WEEK.index(groups[-1][0][-1]) == WEEK.index(day) - 1:
            groups[-1][0].append(day)
        elif ranges:
            groups.append(([day], ranges))
    rules = [f"{group[0]}-{group[-1]}" if len(group) > 2 else ",".join(group) for group, _ in groups]
    expression = "; ".join(f"{rule} {','.join(ranges)}"
                           for rule, (_, ranges) in zip(rules, groups, strict=True)) or None
    return expression, []


def _openings(expression: str, day: date) -> list[tuple[datetime, datetime]] | None:
    """The openings of ``day`` (merged), or ``None`` when the hours cannot be read that day."""
    start = datetime.combine(day, datetime.min.time())
    spans: list[list[datetime]] = []
    try:
        intervals = OpeningHours(expression.strip()).intervals(start, start + timedelta(days=1))
        for begin, end, state, _comment in intervals:
            if state == State.UNKNOWN:
                return None
            if state == State.OPEN:
                if spans and spans[-1][1] == begin:
                    spans[-1][1] = end
                else:
                    spans.append([begin, end])
    except (ParserError, ValueError, TypeError):
        return None
    return [(begin, end) for begin, end in spans]


def day_answer(expression: str | None, closures: list[dict] | None, days: tuple[date, ...]) -> str | None:
    """What a venue opens on the day asked for (the first of ``days`` it opens, else the first), in French:
    « Ouvert samedi 12 décembre, 9 h – 13 h », « Fermé ce samedi (fermeture exceptionnelle) », « Fermé ce
    samedi »; ``None`` when its hours cannot be read."""
    if not days or not expression or not parses(expression):
        return None
    combined = effective(expression, closures)
    for day in days:
        spans = _openings(combined, day)
        if spans is None:
            return None
        if spans:
            times = ", ".join(f"{_clock(begin)} – {_clock(end) if end.date() == day else '24 h'}"
                              for begin, end in spans)
            return f"Ouvert {WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}, {times}"
    day = days[0]
    closed = bool(_openings(expression, day)) and any(  # open that week, not that day
        date.fromisoformat(c["from"]) <= day <= date.fromisoformat(c["to"]) for c in closures or [])
    weekday = "ce week-end" if len(days) == 2 and {d.weekday() for d in days} == {5, 6} else \
        f"ce {WEEKDAYS[day.weekday()]}"
    return f"Fermé {weekday}" + (" (fermeture exceptionnelle)" if closed else "")
