"""Vector tiles (Mapbox Vector Tiles) of the venues holding a label, on the WebMercatorQuad tiling scheme: built by
PostGIS itself (``ST_AsMVT``) or, on SpatiaLite, by ``mapbox-vector-tile`` from the same rows at the same pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import mapbox_vector_tile
from sqlalchemy import Text, cast, func, literal_column, select
from sqlalchemy.orm import Session

from registry.db import is_sqlite
from registry.models import PublicVenue
from registry.services.base.context import Context
from registry.services.qualification import read_model
from registry.services.search import search

#: Half the side of the Web Mercator square, in metres.
HALF_WORLD = 20_037_508.342789244
EXTENT = 4096  # pixels of a tile's side, as MVT counts them
BUFFER = 64  # pixels around a tile whose points it carries too (symbols near an edge are drawn whole)
MAX_ZOOM = 22
LAYER = "lieux"
#: What a tile tells of each venue (the rest: the item, ``/ogc/collections/…/items/{id}``).
PROPERTIES = ("id", "nom", "commune", "code_insee", "position_precision")


@dataclass(frozen=True)
class TileBounds:
    """A tile's square in Web Mercator metres."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def of(cls, z: int, x: int, y: int) -> TileBounds:
        size = 2 * HALF_WORLD / 2**z
        return cls(-HALF_WORLD + x * size, HALF_WORLD - (y + 1) * size, -HALF_WORLD + (x + 1) * size,
                   HALF_WORLD - y * size)

    def buffered_lonlat(self) -> tuple[float, float, float, float]:
        """The tile and its buffer as a longitude/latitude box (clamped to the world)."""
        margin = (self.east - self.west) * BUFFER / EXTENT
        west, south = to_lonlat(self.west - margin, self.south - margin)
        east, north = to_lonlat(self.east + margin, self.north + margin)
        return max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0)

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """Web Mercator metres as the tile's pixels (y downwards), rounded as ``ST_AsMVTGeom`` does."""
        return (round((x - self.west) * EXTENT / (self.east - self.west)),
                round((self.north - y) * EXTENT / (self.north - self.south)))


def valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def to_mercator(lon: float, lat: float) -> tuple[float, float]:
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    return (lon * HALF_WORLD / 180,
            math.log(math.tan(math.radians(90 + lat) / 2)) * HALF_WORLD / math.pi)


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    return x * 180 / HALF_WORLD, math.degrees(math.atan(math.sinh(y * math.pi / HALF_WORLD)))


#: Tiles up to this zoom hold a region or more (1.3 s and 4.9 MB each at 100,000 venues): kept per data version.
KEPT_ZOOM = 7


def tile(session: Session, label: str, z: int, x: int, y: int, ctx: Context) -> bytes:
    """The tile ``z/x/y`` (column ``x``, row ``y``) of the venues holding ``label`` today: one layer ``lieux``
    of points with ``PROPERTIES`` (empty bytes: no venue there). Low-zoom tiles are computed once per version
    of the data and day, for every worker (``read_model.kept_view``: the previous version's while the new one's is
being computed)."""
    if z > KEPT_ZOOM:
        return _tile(session, label, z, x, y, ctx)
    key = f"tile:{label}:{ctx.day().isoformat()}:{z}/{x}/{y}"[:64]
    return read_model.kept_view(session, key, lambda: _tile(session, label, z, x, y, ctx)).body


def _tile(session: Session, label: str, z: int, x: int, y: int, ctx: Context) -> bytes:
    bounds = TileBounds.of(z, x, y)
    query = search.SearchQuery(label=label, bbox=bounds.buffered_lonlat())
    matching = search.matching_rows(session, query, ctx)
    if is_sqlite(session.get_bind()):
        return _encoded(session, matching, bounds)
    envelope = func.ST_TileEnvelope(z, x, y)
    rows = (select(func.ST_AsMVTGeom(func.ST_Transform(PublicVenue.geom, 3857), envelope, EXTENT, BUFFER, True)
                   .label("geom"), cast(PublicVenue.id, Text).label("id"), PublicVenue.nom, PublicVenue.commune,
                   PublicVenue.code_insee, PublicVenue.position_precision)
            .where(PublicVenue.seq.in_(matching), PublicVenue.geom.is_not(None)).subquery("mvt"))
    statement = (select(func.ST_AsMVT(literal_column("mvt"), LAYER, EXTENT, "geom")).select_from(rows)
                 .where(rows.c.geom.is_not(None)))
    return bytes(session.execute(statement).scalar() or b"")


def _encoded(session: Session, matching, bounds: TileBounds) -> bytes:
    rows = session.execute(select(func.ST_X(PublicVenue.geom), func.ST_Y(PublicVenue.geom), PublicVenue.id,
                                  PublicVenue.nom, PublicVenue.commune, PublicVenue.code_insee,
                                  PublicVenue.position_precision)
                           .where(PublicVenue.seq.in_(matching), PublicVenue.geom.is_not(None))).all()
    features = []
    for lon, lat, *values in rows:
        px, py = bounds.pixel(*to_mercator(lon, lat))
        if -BUFFER <= px <= EXTENT + BUFFER and -BUFFER <= py <= EXTENT + BUFFER:
            values[0] = str(values[0])
            features.append({"geometry": f"POINT({px} {py})",
                             "properties": {k: v for k, v in zip(PROPERTIES, values, strict=True) if v is not None}})
    if not features:
        return b""
    return mapbox_vector_tile.encode([{"name": LAYER, "features": features}],
                                     default_options={"y_coord_down": True, "extents": EXTENT})
