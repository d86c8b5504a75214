"""Spatial SQL that differs between SpatiaLite and PostGIS, in one place."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import ColumnElement, column, func, select, table, true
from sqlalchemy.orm import Session

from registry.db import is_sqlite

_SPATIAL_INDEX = table("SpatialIndex", column("rowid"), column("f_table_name"), column("f_geometry_column"),
                       column("search_frame"))


def point(lon: float, lat: float) -> ColumnElement:
    """A WGS84 point as an SQL expression valid on both backends."""
    return from_wkt(point_wkt(lon, lat))


def from_wkt(wkt: str | ColumnElement) -> ColumnElement:
    """A WGS84 geometry from its WKT (text or a bound parameter), on both backends."""
    return func.ST_GeomFromText(wkt, 4326)


def point_wkt(lon: float, lat: float) -> str:
    """The WKT of a point (plain floats: numpy's repr is not WKT)."""
    return f"POINT({float(lon)!r} {float(lat)!r})"


def box_wkt(box) -> str:
    """The WKT of the polygon of a (min x, min y, max x, max y) box."""
    min_x, min_y, max_x, max_y = (float(v) for v in box)
    return (f"POLYGON(({min_x!r} {min_y!r}, {max_x!r} {min_y!r}, {max_x!r} {max_y!r}, {min_x!r} {max_y!r}, "
            f"{min_x!r} {min_y!r}))")


def point_value(lon: float | None, lat: float | None) -> Any:
    """A value to store in a POINT column (``None`` when a coordinate is missing)."""
    if lon is None or lat is None:
        return None
    return from_shape(Point(lon, lat), srid=4326)


def index_filter(session: Session, pk_column: ColumnElement, table_name: str, column_name: str,
                 frame: ColumnElement) -> ColumnElement:
    """Restrict ``pk_column`` to rows whose ``column_name`` bbox meets ``frame``.

    SpatiaLite never uses its R*Tree by itself: this goes through the ``SpatialIndex`` virtual table.
    PostGIS uses its GiST index from the spatial predicate alone, so this is ``TRUE`` there.
    """
    if not is_sqlite(session.get_bind()):
        return true()
    return rtree_filter(pk_column, table_name, column_name, frame)


def rtree_filter(pk_column: ColumnElement, table_name: str, column_name: str, frame: ColumnElement) -> ColumnElement:
    """SpatiaLite only: ``pk_column`` among the rows whose ``column_name`` bbox meets ``frame`` (its R*Tree)."""
    return pk_column.in_(
        select(_SPATIAL_INDEX.c.rowid).where(_SPATIAL_INDEX.c.f_table_name == table_name,
                                             _SPATIAL_INDEX.c.f_geometry_column == column_name,
                                             _SPATIAL_INDEX.c.search_frame == frame)
    )


def contains(session: Session, container: ColumnElement, contained: ColumnElement) -> ColumnElement:
    """``container`` contains ``contained`` (SpatiaLite answers 1, 0 or -1 for an invalid geometry)."""
    predicate = func.ST_Contains(container, contained)
    return predicate == 1 if is_sqlite(session.get_bind()) else predicate
