"""Territories by name: place-name keys, search (typos forgiven), descriptions and choices."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geodata.reference import (
    KIND_LABELS,
    parse_territory_ref,
)
from registry.models import Postcode, Territory
from registry.services.territories.codes import FRANCE, get, resolve_commune_code
from registry.services.territories.communes import simplified

#: Abbreviations people type for the words of place names.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


#: How close a misspelt name must be to a territory's (rapidfuzz ratio, 0-100).
FUZZY_CUTOFF = 82


def commune_names(session: Session, codes: set[str]) -> dict[str, str]:
    """The names of these communes, by code (unknown codes are left out)."""
    if not codes:
        return {}
    return dict(session.execute(select(Territory.code, Territory.name).where(
        Territory.kind == "commune", Territory.code.in_(codes))).all())


def place_key(name: str) -> str:
    """A place name as people may type it: no case, accents, hyphens or apostrophes, « St » for « Saint »
    (``Saint-Affrique``, ``St Affrique`` and ``saint affrique`` give ``saint affrique``)."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in simplified(name).split())


@dataclass(frozen=True)
class _NameIndex:
    keys: tuple[str, ...]
    pks: tuple[int, ...]
    kinds: tuple[str, ...]
_indexes: dict[tuple[str, int], _NameIndex] = {}


def _name_index(session: Session) -> _NameIndex:
    """Every territory's ``place_key``, most populated first (built once per database and reference size)."""
    count = session.scalar(select(func.count()).select_from(Territory))
    key = (str(session.get_bind().url), count)
    if key not in _indexes:
        rows = session.execute(select(Territory.pk, Territory.kind, Territory.name)
                               .order_by(Territory.population.desc().nulls_last(), Territory.code)).all()
        _indexes.clear()
        _indexes[key] = _NameIndex(tuple(place_key(name) for _, _, name in rows), tuple(pk for pk, _, _ in rows),
                                   tuple(kind for _, kind, _ in rows))
    return _indexes[key]


def search(session: Session, query: str, kind: str | None = None, limit: int = 10) -> list[Territory]:
    """Territories a person means by ``query``: communes of a postcode, a territory by its code (an alias gives
    its current commune), else by name whatever the case, accents, hyphens or « St » for « Saint » (names that
    start with the text first, most populated first), else the names closest to a misspelt one."""
    query = query.strip()
    if query.isdigit() and len(query) == 5:
        by_postcode = list(session.scalars(select(Territory).where(Territory.kind == "commune", Territory.code.in_(
            select(Postcode.commune_code).where(Postcode.postcode == query))).order_by(
            Territory.population.desc().nulls_last(), Territory.code).limit(limit)))
        if by_postcode:
            return by_postcode
    code = query.upper()
    statement = select(Territory).where(Territory.code == code)
    if kind:
        statement = statement.where(Territory.kind == kind)
    by_code = list(session.scalars(statement.limit(limit)))
    if not by_code and (kind in (None, "commune")) and (resolved := resolve_commune_code(session, code)):
        by_code = [resolved.commune]
    if by_code:
        return by_code
    wanted = place_key(query)
    if not wanted:
        return []
    index = _name_index(session)
    allowed = [i for i, k in enumerate(index.kinds) if kind is None or k == kind]
    chosen = [i for i in allowed if index.keys[i].startswith(wanted)][:limit]
    if not chosen and len(wanted) >= 4:
        matches = process.extract(wanted, {i: index.keys[i] for i in allowed}, scorer=fuzz.ratio,
                                  score_cutoff=FUZZY_CUTOFF, limit=limit)
        chosen = [i for _, _, i in sorted(matches, key=lambda m: (-m[1], m[2]))]
    if not chosen:
        return []
    found = {t.pk: t for t in session.scalars(select(Territory).where(Territory.pk.in_([index.pks[i]
                                                                                          for i in chosen])))}
    return [found[index.pks[i]] for i in chosen if index.pks[i] in found]


def describe(territory: Territory) -> str:
    """« Aveyron (département 12) »: how a territory is named to a person, and read back by ``choose``."""
    return f"{territory.name} ({KIND_LABELS[territory.kind]} {territory.code})"
_DESCRIBED = re.compile(r"(?P<name>.+) \((?P<kind>" + "|".join(KIND_LABELS.values()) + r") (?P<code>[0-9A-Za-z]+)\)")


def choose(session: Session, text: str, limit: int = 10) -> list[Territory]:
    """The territories a person means by ``text``: the one of a suggestion (« Aveyron (département 12) »), of a
    reference (``departement:12``), or the only one bearing that name; else the candidates of ``search`` (none
    when nothing matches)."""
    text = text.strip()
    if described := _DESCRIBED.fullmatch(text):
        kind = next(k for k, label in KIND_LABELS.items() if label == described["kind"])
        found = session.scalar(select(Territory).where(Territory.kind == kind,
                                                       Territory.code == described["code"].upper()))
        if found is not None:
            return [found]
    if ":" in text:
        try:
            kind, code = parse_territory_ref(text)
        except ValueError:
            return []
        found = session.scalar(select(Territory).where(Territory.kind == kind, Territory.code == code))
        return [found] if found is not None else []
    candidates = search(session, text, limit=limit)
    if text.isdigit() and len(text) == 5:  # a postcode may also be a commune's INSEE code (12100: Millau, Firmi)
        coded = session.scalar(select(Territory).where(Territory.kind == "commune", Territory.code == text))
        if coded is not None and coded not in candidates:
            candidates.append(coded)
    named = [t for t in candidates if place_key(t.name) == place_key(text)]
    return named if len(named) == 1 else candidates


def name_of(session: Session, kind: str, code: str) -> str:
    """The name a report gives the territory: « France » for the whole, else the territory's (``NotFound``)."""
    return "France" if kind == FRANCE else get(session, kind, code).name
