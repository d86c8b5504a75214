"""A server-rendered SVG choropleth of communes by distance band (no map library, no JavaScript)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Territory
from registry.services.coverage import CoverageReport
from registry.wording import french_number

WIDTH, HEIGHT, MARGIN = 800.0, 600.0, 10.0
COLOURS = ["#1a7f37", "#7ac143", "#f2c94c", "#d64545"]  # nearest band ... beyond the largest
UNKNOWN = "#c8c8c8"


@dataclass
class Shape:
    code: str
    path: str
    fill: str
    title: str


@dataclass
class Choropleth:
    shapes: list[Shape]
    venues: list[tuple[float, float, str]]
    legend: list[tuple[str, str]]
    width: float = WIDTH
    height: float = HEIGHT


def band_colour(report: CoverageReport, band: float | None) -> str:
    if band is None:
        return UNKNOWN
    if math.isinf(band):
        return COLOURS[-1]
    return COLOURS[min(report.bands.index(band), len(COLOURS) - 2)]


def build(session: Session, report: CoverageReport, venue_points: list[tuple[float, float, str]]) -> Choropleth:
    """Project the communes' boundaries (equirectangular, scaled at the mean latitude) into an SVG viewBox."""
    codes = [c.code for c in report.communes]
    geometries = {code: to_shape(b).simplify(0.002) for code, b in session.execute(
        select(Territory.code, Territory.boundary).where(Territory.kind == "commune", Territory.code.in_(codes),
                                                         Territory.boundary.is_not(None)))}
    legend = [(report.band_label(b), band_colour(report, b)) for b in report.bands]
    legend += [(report.band_label(None), COLOURS[-1]), ("distance inconnue", UNKNOWN)]
    if not geometries:
        return Choropleth([], [], legend)
    bounds = [g.bounds for g in geometries.values()]
    min_x, min_y = min(b[0] for b in bounds), min(b[1] for b in bounds)
    max_x, max_y = max(b[2] for b in bounds), max(b[3] for b in bounds)
    kx = math.cos(math.radians((min_y + max_y) / 2))
    scale = min((WIDTH - 2 * MARGIN) / max((max_x - min_x) * kx, 1e-9), (HEIGHT - 2 * MARGIN) / max(max_y - min_y, 1e-9))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return MARGIN + (lon - min_x) * kx * scale, HEIGHT - MARGIN - (lat - min_y) * scale

    def path(geometry) -> str:
        polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
        parts = []
        for polygon in polygons:
            if not isinstance(polygon, Polygon):
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                points = [xy(x, y) for x, y in ring.coords]
                parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z")
        return " ".join(parts)

    shapes = []
    for commune in report.communes:
        geometry = geometries.get(commune.code)
        if geometry is None:
            continue
        km = report.shown_km(commune)
        distance = "distance inconnue" if km is None else f"{french_number(km, 1)} km"
        shapes.append(Shape(commune.code, path(geometry), band_colour(report, commune.band),
                            f"{commune.name} ({french_number(commune.population)} hab.) : {distance}"))
    venues = [(*xy(lon, lat), name) for lon, lat, name in venue_points
              if min_x <= lon <= max_x and min_y <= lat <= max_y]
    return Choropleth(shapes, venues, legend)
