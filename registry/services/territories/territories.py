"""Territories: loading the INSEE reference, importing boundaries, resolving communes, membership filters."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from rapidfuzz import fuzz, process
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import ColumnElement, Select, case, delete, false, func, insert, literal_column, or_, select, update
from sqlalchemy.orm import Session

from geodata.boundaries import BoundaryFileError, as_multipolygon, read_boundaries
from geodata.distances import farthest_km
from geodata.reference import (
    KIND_LABELS,
    REFERENCE_DIR,
    parse_territory_ref,
    read_aliases,
    read_commune_points,
    read_territories,
    reference_version,
)
from registry import spatial
from registry.db import is_sqlite
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.models import CommuneAlias, Postcode, Territory
from registry.services.base import data_version
from registry.services.base.progress import Progress, no_progress
from registry.services.territories.communes import simplified

BATCH = 5000


@dataclass
class ReferenceReport:
    """What ``load_reference`` did."""

    version: str
    counts: dict[str, int]
    created: int
    updated: int
    placed: int = 0  # communes given their reference point (those with an imported boundary keep theirs)
    unplaced: list[str] = field(default_factory=list)  # communes the reference has no point for


def _place_communes(session: Session, directory: Path, progress: Progress) -> tuple[int, list[str]]:
    """Give every commune without an imported boundary the reference point of ``commune_points.csv``."""
    points = {p.code: p for p in read_commune_points(directory)}
    rows, unplaced = [], []
    for pk, code, has_boundary in session.execute(select(Territory.pk, Territory.code, Territory.boundary.is_not(None))
                                                  .where(Territory.kind == "commune")):
        point = points.get(code)
        if point is None:
            unplaced.append(code)
        elif not has_boundary:
            rows.append({"pk": pk, "reference_point": from_shape(Point(point.lon, point.lat), srid=4326),
                         "radius_km": point.radius_km})
    for start in range(0, len(rows), BATCH):
        session.execute(update(Territory), rows[start:start + BATCH])
        progress(min(start + BATCH, len(rows)), len(rows))
    return len(rows), sorted(unplaced)


def load_reference(session: Session, directory: Path = REFERENCE_DIR,
                   progress: Progress = no_progress) -> ReferenceReport:
    """Insert or update every territory of the reference (idempotent; boundaries are kept)."""
    records = list(read_territories(directory))
    populations: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        if r.kind == "commune":
            populations["departement", r.departement_code] += r.population or 0
            if r.region_code:
                populations["region", r.region_code] += r.population or 0
    existing = {(kind, code): pk for pk, kind, code in session.execute(
        select(Territory.pk, Territory.kind, Territory.code))}
    inserts, updates, counts = [], [], defaultdict(int)
    for r in records:
        counts[r.kind] += 1
        row = {"kind": r.kind, "code": r.code, "name": r.name,
               "population": r.population if r.population is not None else populations.get((r.kind, r.code), 0),
               "region_code": r.region_code, "departement_code": r.departement_code, "epci_code": r.epci_code,
               "epci_type": r.epci_type}
        if (r.kind, r.code) in existing:
            updates.append({"pk": existing[r.kind, r.code], **row})
        else:
            inserts.append(row)
    for rows, statement in ((inserts, insert(Territory)), (updates, update(Territory))):
        for start in range(0, len(rows), BATCH):
            session.execute(statement, rows[start:start + BATCH])
            progress(min(start + BATCH, len(records)), len(records))
    session.execute(delete(Postcode))
    session.execute(insert(Postcode), [{"postcode": p, "commune_code": r.code} for r in records
                                       if r.kind == "commune" for p in set(r.postcodes)])
    session.execute(delete(CommuneAlias))
    session.execute(insert(CommuneAlias), [{"code": a.code, "commune_code": a.commune_code, "nature": a.nature}
                                           for a in read_aliases(directory)])
    placed, unplaced = _place_communes(session, directory, progress)
    data_version.touch(session)
    session.commit()
    _lookups.clear()
    return ReferenceReport(reference_version(directory), dict(counts), len(inserts), len(updates), placed, unplaced)


@dataclass
class BoundaryReport:
    """What ``import_boundaries`` did, code by code where something needs the user's attention."""

    kind: str
    features: int = 0
    matched: int = 0
    reconstructed: dict[str, list[str]] = field(default_factory=dict)  # current code -> former codes merged in
    unmatched: list[tuple[str, str | None]] = field(default_factory=list)  # (code, name) unknown to the reference
    still_missing: list[str] = field(default_factory=list)  # territories of the file's scope left without boundary


def _detect_kind(path: Path, codes: list[str]) -> str:
    lengths = {len(code) for code in codes}
    if lengths == {5}:
        return "commune"
    if lengths == {9}:
        return "epci"
    name = path.name.lower()
    for kind in ("region", "departement"):
        if kind in name:
            return kind
    raise BoundaryFileError(f"{path} : type de territoire indéterminé, précisez --kind "
                            "(commune, epci, departement ou region)")


def import_boundaries(session: Session, path: Path, kind: str | None = None,
                      progress: Progress = no_progress) -> BoundaryReport:
    """Set the boundaries (and a reference point on their surface) of the territories a GeoJSON file holds.

    Idempotent. Commune codes that the reference no longer has but that designate a current commune (former
    communes merged since, municipal arrondissements) are merged into that commune's boundary; codes that
    designate nothing are reported.
    """
    boundaries = list(read_boundaries(path))
    kind = kind or _detect_kind(path, [b.code for b in boundaries])
    if kind not in KIND_LABELS:
        raise BoundaryFileError(f"type de territoire inconnu : {kind}")
    report = BoundaryReport(kind=kind, features=len(boundaries))
    known = dict(session.execute(select(Territory.code, Territory.pk).where(Territory.kind == kind)).all())
    if not known:
        raise BoundaryFileError("référentiel des territoires vide : lancez d'abord « registry territories load »")
    aliases = dict(session.execute(select(CommuneAlias.code, CommuneAlias.commune_code)).all()) \
        if kind == "commune" else {}
    parts: dict[str, list] = defaultdict(list)
    former: dict[str, list[str]] = defaultdict(list)
    for boundary in boundaries:
        if boundary.code in known:
            parts[boundary.code].append(boundary.geometry)
        elif aliases.get(boundary.code) in known:
            target = aliases[boundary.code]
            parts[target].append(boundary.geometry)
            former[target].append(boundary.code)
        else:
            report.unmatched.append((boundary.code, boundary.name))
    rows = []
    for code, geometries in parts.items():
        geometry = as_multipolygon(unary_union(geometries)) if len(geometries) > 1 else geometries[0]
        point = geometry.point_on_surface()
        rows.append({"pk": known[code], "boundary": from_shape(geometry, srid=4326),
                     "reference_point": from_shape(point, srid=4326),
                     "radius_km": farthest_km(point.x, point.y, geometry) if kind == "commune" else None})
        if code in former:
            report.reconstructed[code] = sorted(former[code])
    for start in range(0, len(rows), 1000):
        session.execute(update(Territory), rows[start:start + 1000])
        progress(min(start + 1000, len(rows)), len(rows))
    report.matched = len(rows)
    data_version.touch(session)
    if kind == "commune" and rows:
        departements = select(Territory.departement_code).where(Territory.code.in_(list(parts))).distinct()
        report.still_missing = list(session.scalars(
            select(Territory.code).where(Territory.kind == "commune", Territory.boundary.is_(None),
                                         Territory.departement_code.in_(departements)).order_by(Territory.code)))
    session.commit()
    _lookups.clear()
    return report


def get(session: Session, kind: str, code: str) -> Territory:
    """One territory by kind and code, or ``NotFound``."""
    territory = session.scalar(select(Territory).where(Territory.kind == kind, Territory.code == code))
    if territory is None:
        raise NotFound(f"{KIND_LABELS.get(kind, kind)} {code} inconnu(e) du référentiel")
    return territory


@dataclass(frozen=True)
class ResolvedCommune:
    """A current commune found from a code that may be an alias (``nature`` says which kind)."""

    commune: Territory
    alias_nature: str | None = None


def resolve_commune_code(session: Session, code: str) -> ResolvedCommune | None:
    """The current commune a code designates (itself, or through an alias), or ``None``."""
    commune = session.scalar(select(Territory).where(Territory.kind == "commune", Territory.code == code))
    if commune is not None:
        return ResolvedCommune(commune)
    alias = session.get(CommuneAlias, code)
    if alias is None:
        return None
    commune = session.scalar(select(Territory).where(Territory.kind == "commune",
                                                     Territory.code == alias.commune_code))
    return ResolvedCommune(commune, alias.nature) if commune is not None else None


def commune_at(session: Session, lon: float, lat: float) -> Territory | None:
    """The commune whose imported boundary contains the point (``None`` without boundaries or outside)."""
    here = spatial.point(lon, lat)
    return session.scalar(
        select(Territory).where(
            Territory.kind == "commune",
            spatial.index_filter(session, Territory.pk, "territories", "boundary", here),
            spatial.contains(session, Territory.boundary, here),
        ).limit(1)
    )


def has_boundaries(session: Session, kind: str = "commune") -> bool:
    """Whether any boundary of ``kind`` was imported."""
    return session.scalar(select(Territory.pk).where(Territory.kind == kind,
                                                     Territory.boundary.is_not(None)).limit(1)) is not None


def commune_boundaries(session: Session, codes: list[str]) -> dict[str, BaseGeometry]:
    """The imported boundaries of these communes (shapely), by code; communes without one are left out."""
    found: dict[str, BaseGeometry] = {}
    for start in range(0, len(codes), BATCH):
        found.update({code: to_shape(boundary) for code, boundary in session.execute(
            select(Territory.code, Territory.boundary).where(
                Territory.kind == "commune", Territory.code.in_(codes[start:start + BATCH]),
                Territory.boundary.is_not(None)))})
    return found


def postcodes_of(session: Session, commune_code: str) -> set[str]:
    """The postcodes of a commune, its municipal arrondissements and former communes included."""
    codes = select(CommuneAlias.code).where(CommuneAlias.commune_code == commune_code)
    return set(session.scalars(select(Postcode.postcode).where(
        or_(Postcode.commune_code == commune_code, Postcode.commune_code.in_(codes)))))


def membership_filter(session: Session, commune_code_column: ColumnElement, kind: str,
                      code: str) -> ColumnElement:
    """SQL condition: the commune in ``commune_code_column`` belongs to territory ``kind:code``.

    Raises ``InvalidInput`` (field ``territory``) when the territory is unknown.
    """
    return membership_condition(session, commune_code_column, kind, check_known(session, kind, code))


def check_known(session: Session, kind: str, code: str) -> str:
    """The territory's current code: a commune named by one of its aliases (arrondissement, commune déléguée,
    former code) gives its current commune's. ``InvalidInput`` (field ``territory``) unless ``kind:code`` is in
    the reference."""
    if kind == "commune":
        resolved = resolve_commune_code(session, code)
        if resolved is not None:
            return resolved.commune.code
    elif session.scalar(select(Territory.pk).where(Territory.kind == kind, Territory.code == code)) is not None:
        return code
    raise InvalidInput.on("territory", f"{KIND_LABELS[kind]} {code} inconnu(e) du référentiel")


#: How long a search trusts what it read of a territory (its current code, whether its boundary was imported).
#: The reference changes by a reference load or a boundary import, which forget it at once in their process;
#: another process reads it again within this many seconds.
LOOKUP_SECONDS = 60.0
_lookups: dict[tuple[str, str, str], tuple[float, str, bool]] = {}


def search_lookup(session: Session, kind: str, code: str) -> tuple[str, bool]:
    """The territory's current code (``check_known``: ``InvalidInput`` when unknown) and whether its boundary
    was imported, kept ``LOOKUP_SECONDS``: a search by territory then runs its own statement alone."""
    key = (str(session.get_bind().url), kind, code)
    now = time.monotonic()
    known = _lookups.get(key)
    if known is not None and known[0] > now:
        return known[1], known[2]
    outlined = session.connection().execute(
        select(Territory.boundary.is_not(None)).where(Territory.kind == kind, Territory.code == code)).scalar()
    current = code
    if outlined is None:  # a commune may be named by one of its aliases: its current commune's
        current = check_known(session, kind, code)
        outlined = session.connection().execute(
            select(Territory.boundary.is_not(None)).where(Territory.kind == kind, Territory.code == current)).scalar()
    if len(_lookups) >= 10_000:
        _lookups.clear()
    _lookups[key] = (now + LOOKUP_SECONDS, current, bool(outlined))
    return current, bool(outlined)


def departement_of(commune_code_column: ColumnElement) -> ColumnElement:
    """The département of a commune's INSEE code (its first two characters; three overseas, codes 97… and 98…)
    as SQL. Migration 0018 indexes ``venues`` on this very expression: keep the two identical."""
    one, two, three = (literal_column(n) for n in "123")  # literals, not parameters: the index's expression
    first_two = func.substr(commune_code_column, one, two)
    overseas = first_two.in_([literal_column("'97'"), literal_column("'98'")])
    return case((overseas, func.substr(commune_code_column, one, three)), else_=first_two)


def membership_condition(session: Session, commune_code_column: ColumnElement, kind: str,
                         code: str | ColumnElement) -> ColumnElement:
    """``membership_filter`` without checking the territory: ``code`` may be a bound parameter."""
    if kind == "commune":
        return commune_code_column == code
    if kind == "departement" and not is_sqlite(session.get_bind()):
        # A commune's INSEE code is its département's code then digits (``geodata.reference`` checks it on
        # loading): one index range rather than a look-up per commune of the département. (SQLite, without
        # statistics, would prefer the publication status index to a range: it keeps the list of communes.)
        return commune_code_column.between(func.rpad(code, 5, "0"), func.rpad(code, 5, "9"))
    column = {"departement": Territory.departement_code, "region": Territory.region_code,
              "epci": Territory.epci_code}[kind]
    return commune_code_column.in_(select(Territory.code).where(Territory.kind == "commune", column == code))


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


def scope_filter(session: Session, commune_code_column: ColumnElement, scope: tuple[str, ...]) -> ColumnElement:
    """SQL condition: the commune belongs to one of the ``scope`` territories (``departement:12``...)."""
    condition = false()
    for ref in scope:
        kind, _, code = ref.partition(":")
        condition = or_(condition, membership_filter(session, commune_code_column, kind, code))
    return condition


def covers(parents: Mapping[str, str | None], scope: Iterable[str]) -> bool:
    """Whether a place lies within ``scope`` (``("departement:12", "epci:200…")``; empty: everywhere), given
    ``parents``: its own code and those of the territories it lies in, by kind (``{"commune": "12202",
    "departement": "12", "region": "76", "epci": "241200187"}``). The one rule behind ``in_scope`` (a venue's
    commune) and ``check_access`` (every commune of a territory); pure, no database."""
    refs = tuple(scope)
    return not refs or any(parents.get(kind) == code for kind, _, code in (ref.partition(":") for ref in refs))


def parents_of(commune: Any) -> dict[str, str | None]:
    """A commune's code and its département's, région's and EPCI's, by kind (what ``covers`` reads), from a
    ``Territory`` or a row of these columns."""
    return {"commune": commune.code, "departement": commune.departement_code, "region": commune.region_code,
            "epci": commune.epci_code}


def in_scope(session: Session, commune_code: str | None, scope: tuple[str, ...]) -> bool:
    """Whether a commune belongs to one of the ``scope`` territories (always, when the scope is empty)."""
    if not scope:
        return True
    if commune_code is None:
        return False
    commune = session.scalar(select(Territory).where(Territory.kind == "commune", Territory.code == commune_code))
    return commune is not None and covers(parents_of(commune), scope)


def venue_filters(session: Session, commune_code_column: ColumnElement, territory: str | None = None,
                  scope: tuple[str, ...] = ()) -> list[ColumnElement]:
    """Conditions restricting venues to a ``territory`` reference (``departement:12``) and to an actor's scope.

    ``InvalidInput`` on field ``territory`` for a malformed or unknown territory.
    """
    conditions = []
    if territory:
        try:
            kind, code = parse_territory_ref(territory)
        except ValueError as exc:
            raise InvalidInput.on("territory", str(exc)) from None
        conditions.append(membership_filter(session, commune_code_column, kind, code))
    if scope:
        conditions.append(scope_filter(session, commune_code_column, scope))
    return conditions


#: The whole of France, as coverage and the reports name it (``france``).
FRANCE = "france"


def name_of(session: Session, kind: str, code: str) -> str:
    """The name a report gives the territory: « France » for the whole, else the territory's (``NotFound``)."""
    return "France" if kind == FRANCE else get(session, kind, code).name


def communes_statement(session: Session, kind: str, code: str) -> Select:
    """The territory's communes (all of France's for ``france``): code, name, population, département, EPCI and
    their reference point's longitude and latitude (``None`` when not placed)."""
    statement = select(Territory.code, Territory.name, Territory.population, Territory.departement_code,
                       Territory.epci_code, func.ST_X(Territory.reference_point), func.ST_Y(Territory.reference_point)
                       ).where(Territory.kind == "commune")
    if kind == FRANCE:
        return statement
    return statement.where(membership_filter(session, Territory.code, kind, code))


def check_access(session: Session, kind: str, code: str, scope: tuple[str, ...]) -> None:
    """``Forbidden`` unless every commune of the territory lies within ``scope`` (empty scope: everything)."""
    if not scope:
        return
    if kind == FRANCE:
        raise Forbidden("La couverture nationale est réservée aux jetons sans périmètre.")
    if covers({kind: code}, scope):
        return
    communes = session.execute(communes_statement(session, kind, code).with_only_columns(
        Territory.code, Territory.departement_code, Territory.region_code, Territory.epci_code))
    if not all(covers(parents_of(commune), scope) for commune in communes):
        raise Forbidden(f"Ce territoire déborde de votre périmètre ({', '.join(scope)}).")
