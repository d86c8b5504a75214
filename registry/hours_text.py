"""Opening hours as people write them in French (« du mardi au samedi de 9h à 13h, le mercredi aussi de 14h à
18h ») read into the OpenStreetMap rule the registry stores; ``None`` whenever a word is not understood, never a
guess."""

from __future__ import annotations

import re
import unicodedata

_CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_NAMES = {"lundi": 0, "lundis": 0, "mardi": 1, "mardis": 1, "mercredi": 2, "mercredis": 2, "jeudi": 3, "jeudis": 3,
          "vendredi": 4, "vendredis": 4, "samedi": 5, "samedis": 5, "dimanche": 6, "dimanches": 6,
          "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6}
_DAY = r"(?:" + "|".join(sorted(_NAMES, key=len, reverse=True)) + r")\.?"
_TIME = r"(\d{1,2})\s*(?:h|:)\s*(\d{2})?"
_SPAN = re.compile(r"(?:de\s+)?" + _TIME + r"\s*(?:a|-|–|jusqu'a)\s*" + _TIME)
_DAY_RANGE = re.compile(r"(?:du\s+)?(" + _DAY + r")\s+(?:au|a|-)\s+(" + _DAY + r")")
_FILLER = re.compile(r"\b(?:le|les|et|aussi|egalement|ouvert|ouverts|ouverte|de|puis|sauf)\b|[,;.]")
APPOINTMENT = "sur rendez-vous"


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return re.sub(r"\s+", " ", "".join(c for c in text if not unicodedata.combining(c))).strip()


def _days_of(text: str) -> list[int] | None:
    """The days a clause names (« du mardi au samedi », « les lundi et jeudi », « en semaine », « tous les
    jours »), in order; ``None`` when it names none."""
    days: list[int] = []
    if re.search(r"\btous les jours\b|\b7 ?j ?/ ?7\b", text):
        return list(range(7))
    if re.search(r"\ben semaine\b", text):
        days += range(5)
    for first, last in _DAY_RANGE.findall(text):
        start, end = _NAMES[first.rstrip(".")], _NAMES[last.rstrip(".")]
        days += range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
    text = _DAY_RANGE.sub(" ", text)
    days += [_NAMES[name.rstrip(".")] for name in re.findall(r"\b" + _DAY + r"(?![\w])", text)]
    return sorted(set(days)) or None


def _spans_of(text: str) -> list[str] | None:
    spans = []
    for h1, m1, h2, m2 in _SPAN.findall(text):
        start, end = (int(h1), int(m1 or 0)), (int(h2), int(m2 or 0))
        if not (start[0] <= 24 and end[0] <= 24 and start[1] < 60 and end[1] < 60 and start < end):
            return None
        spans.append(f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}")
    return spans


def _understood(clause: str) -> bool:
    """Whether nothing is left of the clause once its days, times and linking words are taken out."""
    rest = _SPAN.sub(" ", clause)
    rest = _DAY_RANGE.sub(" ", rest)
    rest = re.sub(r"\b" + _DAY + r"(?![\w])|\btous les jours\b|\ben semaine\b|\bsur (?:rendez-vous|rdv)\b|"
                  r"\bferme(?:e|s|es)?\b", " ", rest)
    return not _FILLER.sub(" ", rest).strip()


def read_french(text: str | None) -> str | None:
    """The OpenStreetMap rule of French free text, or ``None`` when any part cannot be read. Clauses are
    separated by commas, semicolons or full stops; « aussi » adds to a day's hours, otherwise a later clause
    replaces them; « fermé » closes, « sur rendez-vous » marks the days open by appointment only."""
    if not text or not text.strip():
        return None
    plain = _plain(text)
    week: list[list[str] | None] = [None] * 7
    appointment: set[int] = set()
    for clause in (c.strip() for c in re.split(r"[;.]|,(?!\s*\d)", plain) if c.strip()):
        if not _understood(clause):
            return None
        days, spans = _days_of(clause), _spans_of(clause)
        if days is None or spans is None:
            return None
        closed = re.search(r"\bferme(?:e|s|es)?\b", clause) is not None
        by_appointment = re.search(r"\bsur (?:rendez-vous|rdv)\b", clause) is not None
        if not spans and not closed and not by_appointment or closed and (spans or by_appointment):
            return None
        adds = re.search(r"\b(?:aussi|egalement)\b", clause) is not None
        for day in days:
            if closed:
                week[day], _ = [], appointment.discard(day)
            elif by_appointment and not spans:
                week[day] = week[day] if adds else []
                appointment.add(day)
            else:
                week[day] = sorted({*(week[day] or []), *spans}) if adds else spans
                if by_appointment:
                    appointment.add(day)
    return _rule(week, appointment)


def _rule(week: list[list[str] | None], appointment: set[int]) -> str | None:
    """Days with the same hours grouped (« Tu,Th-Sa 09:00-13:00; We 09:00-13:00,14:00-18:00 »)."""
    groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    for day, spans in enumerate(week):
        if spans or day in appointment:
            groups.setdefault((tuple(spans or ()), day in appointment), []).append(day)
    rules = []
    for (spans, by_appointment), days in groups.items():
        times = ",".join(spans) if spans else ""
        comment = f'"{APPOINTMENT}"' if by_appointment else ""
        rules.append(" ".join(part for part in (_day_list(days), times or ("open" if comment else ""), comment)
                              if part))
    return "; ".join(rules) or None


def _day_list(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(_CODES[r[0]] if len(r) == 1 else f"{_CODES[r[0]]}-{_CODES[r[-1]]}" for r in runs)
