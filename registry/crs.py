"""The coordinate reference systems the registry speaks (OGC API – Features Part 2): WGS84 longitude/latitude
(CRS84, how venues are stored), EPSG:4326 (the same datum, latitude first) and Lambert-93 (EPSG:2154, what
French GIS users work in). Transformations through pyproj."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from registry.wording import french_number

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
LAMBERT_93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
#: The CRS URIs served, with the pyproj name of each; CRS84 first (the storage and default CRS).
SUPPORTED = {CRS84: "OGC:CRS84", EPSG_4326: "EPSG:4326", LAMBERT_93: "EPSG:2154"}
#: How a person names each.
LABELS = {CRS84: "CRS84 (longitude, latitude)", EPSG_4326: "EPSG:4326 (latitude, longitude)",
          LAMBERT_93: "Lambert-93 (EPSG:2154)"}
#: Shorter spellings clients send (``EPSG:2154``, the ``[EPSG:2154]`` safe CURIE), read as the URIs above.
ALIASES = {"OGC:CRS84": CRS84, "CRS84": CRS84, "EPSG:4326": EPSG_4326, "EPSG:2154": LAMBERT_93}


def parse(value: str | None, field: str) -> str:
    """The URI of a supported CRS (CRS84 when ``value`` is absent); ``ValueError`` in French naming ``field``."""
    if value is None:
        return CRS84
    text = value.strip().removeprefix("[").removesuffix("]")
    uri = text if text in SUPPORTED else ALIASES.get(text.upper())
    if uri is None:
        raise ValueError(f"{field} : système de coordonnées non pris en charge « {value} » ; "
                         f"possibles : {', '.join(SUPPORTED)}.")
    return uri


@lru_cache(maxsize=8)
def _transformer(source: str, target: str) -> Transformer:
    # always_xy: lon/lat and easting/northing in and out; EPSG:4326's latitude-first order is applied apart.
    return Transformer.from_crs(SUPPORTED[source], SUPPORTED[target], always_xy=True)


def from_crs84(uri: str, points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Longitude/latitude points in ``uri``'s axis order (EPSG:4326: latitude first)."""
    points = list(points)
    if uri == CRS84:
        return points
    if uri == EPSG_4326:
        return [(lat, lon) for lon, lat in points]
    if not points:
        return []
    xs, ys = _transformer(CRS84, uri).transform([p[0] for p in points], [p[1] for p in points])
    return [(round(x, 3), round(y, 3)) for x, y in zip(xs, ys, strict=True)]  # millimetres: more would be noise


@lru_cache(maxsize=8)
def domain(uri: str) -> tuple[float, float, float, float]:
    """Where ``uri``'s coordinates mean something, in its own axis order: the world for the geographic ones, its
    area of use for Lambert-93 (mainland France and Corsica, with a margin of the transformation's own)."""
    if uri == CRS84:
        return -180.0, -90.0, 180.0, 90.0
    if uri == EPSG_4326:
        return -90.0, -180.0, 90.0, 180.0
    return _transformer(CRS84, uri).transform_bounds(*CRS(SUPPORTED[uri]).area_of_use.bounds)


def to_crs84(uri: str, geometry: BaseGeometry) -> BaseGeometry:
    """A geometry given in ``uri`` (its axis order) as CRS84 longitude/latitude: the part of it within ``uri``'s
    domain, a projected polygon's edges densified every kilometre first (straight in metres, they are curves in
    degrees); ``ValueError`` in French when none of it lies in the domain (often degrees given as metres)."""
    west, south, east, north = domain(uri)
    inside = geometry.intersection(box(west, south, east, north))
    if inside.is_empty:
        unit = "" if uri in (CRS84, EPSG_4326) else " m"
        raise ValueError(f"hors du domaine de {LABELS[uri]} (x de {french_number(west)} à {french_number(east)}"
                         f"{unit}, y de {french_number(south)} à {french_number(north)}{unit}).")
    if uri == CRS84:
        return inside
    if uri == EPSG_4326:
        return shapely.transform(inside, lambda lat, lon: (lon, lat), interleaved=False)
    return shapely.transform(inside.segmentize(1000), _transformer(uri, CRS84).transform, interleaved=False)


def header(uri: str) -> str:
    """The ``Content-Crs`` header's value for ``uri``."""
    return f"<{uri}>"
