"""Conditions on venues that coverage, accessibility, siting and the search share: a venue's point in a box or
within reach (through the spatial index), a JSON list holding a value, the geography the distance indexes hold."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, Text, and_, exists, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geodata.distances import reach_box
from registry import spatial
from registry.db import is_sqlite
from registry.models import PublicVenue, Venue


def list_value(sqlite: bool, value: str) -> object:
    """The parameter of a list filter's value (``search_plans``' list filters)."""
    return value if sqlite else [value]


def list_holds(sqlite: bool, column, value: str) -> ColumnElement:
    """The JSON list ``column`` holds the constant ``value``."""
    return holds(sqlite, column, literal(list_value(sqlite, value), Text if sqlite else JSONB))


def holds(sqlite: bool, column, value: ColumnElement) -> ColumnElement:
    """The JSON list ``column`` holds ``value`` (SQLite: the text; PostgreSQL: a JSONB list of it, ``list_value``)."""
    if sqlite:
        each = func.json_each(column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))
    return type_coerce(column, JSONB).contains(value)


def venues_within_reach(session: Session, lon, lat, reach_m: float) -> ColumnElement | None:
    """The venue lies within the box holding every point within ``reach_m`` of the points (``reach_box``), through
    the spatial index; ``None`` when no box can (across the antimeridian): then every venue."""
    box = reach_box(lon, lat, reach_m)
    return None if box is None else venue_in_box(session, spatial.from_wkt(spatial.box_wkt(box)))


def venue_in_box(session: Session, envelope: ColumnElement, model: type = Venue) -> ColumnElement:
    """The point of ``model`` (a venue, or the read model's row) lies in the box ``envelope``, through the spatial
    index (SpatiaLite's R*Tree, GiST)."""
    if is_sqlite(session.get_bind()):
        key = model.seq if model is PublicVenue else model.pk  # (the R*Tree holds rowids)
        return and_(spatial.index_filter(session, key, model.__table__.name, "geom", envelope),
                    func.MbrIntersects(model.geom, envelope) == 1)
    return model.geom.op("&&")(envelope)


def geography(geometry: ColumnElement) -> ColumnElement:
    """``geometry::geography``, written so that it matches the expression index ``ix_venues_geog``
    (a ``CAST(... AS geography(GEOMETRY,4326))`` with a type modifier would not)."""
    return func.geography(geometry, type_=Geography)
