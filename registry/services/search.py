"""Public search of qualified venues: near a point, in a box or a territory, by service, public, fees,
accompaniment, typology, opening hours and name. Only published venues with a label valid today."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from geoalchemy2 import Geography
from opening_hours import OpeningHours, ParserError
from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geodata.distances import degree_box
from geodata.reference import parse_territory_ref
from registry import spatial
from registry.db import is_sqlite
from registry.errors import InvalidInput, NotFound
from registry.models import Qualification, Territory, Venue
from registry.services import territories
from registry.services.context import Context
from registry.services.venues import STANDARD_FIELDS

#: What a search returns of each venue: its public fields (plain rows, not ORM objects: this is the hot path).
PUBLIC_COLUMNS = (Venue.pk, Venue.id, *(getattr(Venue, name) for name in STANDARD_FIELDS), Venue.commune_code)
LIST_FILTERS = {"services": "services", "publics": "publics_specifiquement_adresses", "fees": "frais_a_charge",
                "accompaniment": "modalites_accompagnement", "typology": "typologie"}
AUTO_RADII_KM = (10, 50, 200, 1000, 20_000)


@dataclass
class SearchQuery:
    """What the public asks for (all optional but the label, which defaults to the Pass numérique)."""

    label: str = "pass-numerique"
    near: tuple[float, float] | None = None  # (lon, lat)
    radius_km: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # (min lon, min lat, max lon, max lat)
    territory: str | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)  # filter name -> accepted values (any of)
    open_at: datetime | None = None
    q: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # exact matches on standard fields (OGC API)


@dataclass
class SearchResult:
    venues: list[Any]  # rows with the PUBLIC_COLUMNS (attribute access by name)
    distances: dict[int, float]  # venue pk -> metres (near searches)
    total: int | None
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        if self.total is None:
            return len(self.venues) == self.limit
        return self.offset + self.limit < self.total


def _contains(session: Session, column, value: str) -> ColumnElement:
    """The JSON list ``column`` holds ``value``."""
    if is_sqlite(session.get_bind()):
        each = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))
    return type_coerce(column, JSONB).contains([value])


def parse_numbers(text: str, counts: tuple[int, ...], what: str) -> list[float]:
    """``"2.5,44.3"`` → finite floats; ``ValueError`` in French when their number or a value is wrong."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in counts or not all(math.isfinite(n) for n in numbers):
        expected = " ou ".join(str(c) for c in counts)
        raise ValueError(f"{what} : {expected} nombres finis séparés par des virgules attendus.")
    return numbers


def parse_point(text: str) -> tuple[float, float]:
    """``"lon,lat"`` within the valid ranges."""
    lon, lat = parse_numbers(text, (2,), "lon,lat")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("Longitude entre -180 et 180, latitude entre -90 et 90.")
    return lon, lat


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"min lon,min lat,max lon,max lat"`` (or the 6 numbers of a 3D box, heights ignored)."""
    numbers = parse_numbers(text, (4, 6), "bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if not (numbers[0] < numbers[2] and numbers[1] < numbers[3]):
        raise ValueError("bbox : lon min, lat min, lon max, lat max (minimums avant maximums).")
    return tuple(numbers)


def _envelope(box) -> ColumnElement:
    min_x, min_y, max_x, max_y = (float(v) for v in box)  # plain floats: numpy's repr is not WKT
    return func.ST_GeomFromText(f"POLYGON(({min_x!r} {min_y!r}, {max_x!r} {min_y!r}, {max_x!r} {max_y!r}, "
                                f"{min_x!r} {max_y!r}, {min_x!r} {min_y!r}))", 4326)


def _in_box(session: Session, box: tuple[float, float, float, float]) -> ColumnElement:
    envelope = _envelope(box)
    if is_sqlite(session.get_bind()):
        return and_(spatial.index_filter(session, Venue.pk, "venues", "geom", envelope),
                    func.MbrIntersects(Venue.geom, envelope) == 1)
    return Venue.geom.op("&&")(envelope)


def distance_m(session: Session, lon: float, lat: float) -> ColumnElement:
    """Distance in metres on the WGS84 ellipsoid from the venue to a point."""
    here = spatial.point(lon, lat)
    if is_sqlite(session.get_bind()):
        return func.ST_Distance(Venue.geom, here, 1)
    return func.ST_Distance(_geography(Venue.geom), _geography(here))


def _geography(geometry: ColumnElement) -> ColumnElement:
    """``geometry::geography``, written so that it matches the expression index ``ix_venues_geog``
    (a ``CAST(... AS geography(GEOMETRY,4326))`` with a type modifier would not)."""
    return func.geography(geometry, type_=Geography)


def _within(session: Session, lon: float, lat: float, radius_m: float) -> ColumnElement:
    if is_sqlite(session.get_bind()):
        return and_(_in_box(session, degree_box(lon, lat, radius_m)), distance_m(session, lon, lat) <= radius_m)
    return func.ST_DWithin(_geography(Venue.geom), _geography(spatial.point(lon, lat)), radius_m)


@lru_cache(maxsize=65_536)
def _hours(expression: str) -> OpeningHours | None:
    try:
        return OpeningHours(expression)
    except (ParserError, ValueError, TypeError):
        return None


def is_open(expression: str | None, moment: datetime) -> bool | None:
    """Whether the venue is open at ``moment`` (local time); ``None`` when its hours cannot be read."""
    parsed = _hours(expression.strip()) if expression and expression.strip() else None
    if parsed is None:
        return None
    try:
        return bool(parsed.is_open(moment.replace(tzinfo=None)))
    except (ValueError, TypeError):
        return None


def _base(session: Session, query: SearchQuery, ctx: Context):
    ctx.catalogue.get(query.label)
    today = ctx.day()
    labelled = exists().where(Qualification.venue_pk == Venue.pk, Qualification.criteria_set == query.label,
                              Qualification.status == "qualified",
                              or_(Qualification.valid_until.is_(None), Qualification.valid_until >= today))
    statement = select(*PUBLIC_COLUMNS).where(Venue.publication_status == "published", labelled)
    for name, values in query.lists.items():
        column = getattr(Venue, LIST_FILTERS[name])
        statement = statement.where(or_(*[_contains(session, column, value) for value in values]))
    if query.q:
        pattern = f"%{query.q.lower()}%"
        statement = statement.where(or_(func.lower(Venue.nom).like(pattern), func.lower(Venue.commune).like(pattern)))
    if query.bbox:
        statement = statement.where(_in_box(session, query.bbox))
    if query.territory:
        statement = statement.where(_territory(session, query.territory))
    for name, value in query.properties.items():
        statement = statement.where(getattr(Venue, name) == value)
    return statement


def _territory(session: Session, reference: str) -> ColumnElement:
    """By code membership, or inside the territory's boundary when it was imported."""
    try:
        kind, code = parse_territory_ref(reference)
    except ValueError as exc:
        raise InvalidInput.on("territory", str(exc)) from None
    by_code = territories.membership_filter(session, Venue.commune_code, kind, code)
    boundary = session.scalar(select(Territory.pk).where(Territory.kind == kind, Territory.code == code,
                                                         Territory.boundary.is_not(None)))
    if boundary is None:
        return by_code
    outline = select(Territory.boundary).where(Territory.pk == boundary).scalar_subquery()
    return or_(by_code, spatial.contains(session, outline, Venue.geom))


def search(session: Session, query: SearchQuery, ctx: Context, offset: int = 0, limit: int = 20) -> SearchResult:
    """Qualified venues matching ``query``, nearest first for a ``near`` search, else by name.

    ``total`` is ``None`` for a ``near`` search without a radius: every qualified venue of France matches it,
    and counting them at each request would cost more than the search itself.
    """
    statement = _base(session, query, ctx)
    distance, bounded = None, True
    if query.near:
        lon, lat = query.near
        distance = distance_m(session, lon, lat).label("distance_m")
        if query.radius_km:
            statement = statement.where(_within(session, lon, lat, query.radius_km * 1000))
        else:
            # The page's rows are the nearest ones: look for them in the smallest circle holding enough rows
            # (the same rows as an unbounded sort, with the spatial index doing the work).
            bounded = False
            for radius in AUTO_RADII_KM:
                candidate = statement.where(_within(session, lon, lat, radius * 1000))
                if radius == AUTO_RADII_KM[-1] or _count(session, candidate, offset + limit) >= offset + limit:
                    statement = candidate
                    break
        ordered = statement.add_columns(distance).order_by(distance, Venue.pk)
    else:
        ordered = statement.order_by(Venue.nom, Venue.pk)
    if query.open_at is not None:
        return _filtered_by_hours(session, ordered, query.open_at, offset, limit, distance is not None, bounded)
    rows = session.execute(ordered.add_columns(func.count().over().label("total")).offset(offset).limit(limit)).all()
    venues = rows
    distances = {row.pk: float(row.distance_m) for row in rows} if distance is not None else {}
    if not bounded:
        total = None
    elif rows:
        total = rows[0].total
    else:
        total = _count(session, statement) if offset else 0
    return SearchResult(venues, distances, total, offset, limit)


def _count(session: Session, statement, at_most: int | None = None) -> int:
    """How many rows ``statement`` gives (counting stops at ``at_most`` when given)."""
    statement = statement.order_by(None).with_only_columns(Venue.pk)
    if at_most is not None:
        statement = statement.limit(at_most)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _filtered_by_hours(session: Session, ordered, moment: datetime, offset: int, limit: int,
                       with_distance: bool, bounded: bool) -> SearchResult:
    """Opening hours are not SQL: read the candidates' hours, keep those open at ``moment``, then page."""
    keys = session.execute(ordered.with_only_columns(Venue.pk, Venue.horaires)).all()
    open_pks = [pk for pk, hours in keys if is_open(hours, moment)]
    page = open_pks[offset:offset + limit]
    rows = {row.pk: row for row in session.execute(ordered.where(Venue.pk.in_(page)))} if page else {}
    venues = [rows[pk] for pk in page]
    distances = {pk: float(rows[pk].distance_m) for pk in page} if with_distance else {}
    return SearchResult(venues, distances, len(open_pks) if bounded else None, offset, limit)




def public_venue(session: Session, venue_id, ctx: Context) -> Venue:
    """A published venue holding at least one label valid today, or ``NotFound``."""
    today = ctx.day()
    labelled = exists().where(Qualification.venue_pk == Venue.pk, Qualification.status == "qualified",
                              or_(Qualification.valid_until.is_(None), Qualification.valid_until >= today))
    venue = session.scalar(select(Venue).where(Venue.id == venue_id, Venue.publication_status == "published",
                                               labelled))
    if venue is None:
        raise NotFound(f"Aucun lieu qualifié {venue_id}.")
    return venue
