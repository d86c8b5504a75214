"""Server-rendered SVG choropleths of communes (no map library, no JavaScript): by distance band (coverage) and
by accessibility index, with the qualified venues and the proposals of the siting as markers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy.orm import Session

from registry.services import territories
from registry.services.coverage.accessibility import AccessibilityReport, CommuneAccess
from registry.services.coverage.coverage import CoverageReport
from registry.services.coverage.siting import SitingReport
from registry.wording import french_number

WIDTH, HEIGHT, MARGIN = 800.0, 600.0, 10.0
#: Beyond this many communes no map is drawn (France's 35,000: tens of megabytes of SVG, a few pixels each): the
#: pages say so and point to the GeoJSON.
MAX_COMMUNES = 6_000
COLOURS = ["#1a7f37", "#7ac143", "#f2c94c", "#d64545"]  # best served ... worst served
UNKNOWN = "#c8c8c8"


@dataclass
class Shape:
    code: str
    path: str
    fill: str
    title: str


@dataclass
class Marker:
    """A point on the map: a qualified venue (``venue``) or a venue to qualify (``proposal``, numbered)."""

    x: float
    y: float
    title: str
    kind: str = "venue"
    number: int | None = None


@dataclass
class Choropleth:
    shapes: list[Shape]
    markers: list[Marker]
    legend: list[tuple[str, str]]
    width: float = WIDTH
    height: float = HEIGHT
    omitted: int = 0  # communes not drawn: more than ``limit``
    limit: int = MAX_COMMUNES


def band_colour(report: CoverageReport, band: float | None) -> str:
    if band is None:
        return UNKNOWN
    if math.isinf(band):
        return COLOURS[-1]
    return COLOURS[min(report.bands.index(band), len(COLOURS) - 2)]


def coverage_map(session: Session, report: CoverageReport) -> Choropleth:
    """The communes by distance band to the nearest qualified venue, and the qualified venues."""
    legend = [(report.band_label(b), band_colour(report, b)) for b in report.bands]
    legend += [(report.band_label(None), COLOURS[-1]), ("distance inconnue", UNKNOWN)]
    areas = {}
    for commune in report.communes:
        km = report.shown_km(commune)
        distance = "distance inconnue" if km is None else f"{french_number(km, 1)} km"
        areas[commune.code] = (band_colour(report, commune.band),
                               f"{commune.name} ({french_number(commune.population)} hab.) : {distance}")
    return draw(session, areas, legend, [(lon, lat, name, None) for lon, lat, name in report.venue_points])


def index_classes(threshold: float) -> list[tuple[str, str]]:
    """The index's classes (label, colour), best first: twice the threshold and more, the threshold to twice it,
    below it (« sous-dotée »), no venue within reach."""
    t, t2 = (french_number(h, 0 if float(h).is_integer() else 1) for h in (threshold, 2 * threshold))
    return [(f"{t2} h et plus", COLOURS[0]), (f"de {t} à {t2} h", COLOURS[1]),
            (f"moins de {t} h : sous-dotée", COLOURS[2]), ("aucun lieu qualifié à portée", COLOURS[3]),
            ("indice inconnu", UNKNOWN)]


def index_colour(commune: CommuneAccess, threshold: float) -> str:
    if commune.index is None:
        return UNKNOWN
    if commune.index == 0:
        return COLOURS[3]
    if commune.index < threshold:
        return COLOURS[2]
    return COLOURS[1] if commune.index < 2 * threshold else COLOURS[0]


def accessibility_map(session: Session, report: AccessibilityReport, siting: SitingReport | None) -> Choropleth:
    """The communes by accessibility index, the qualified venues within reach and the siting's proposals."""
    areas = {c.code: (index_colour(c, report.threshold),
                      f"{c.name} ({french_number(c.population)} hab.) : "
                      + ("indice inconnu" if c.index is None else f"{french_number(c.index, 2)} h pour 1 000 hab."))
             for c in report.communes}
    points = [(v.lon, v.lat, f"{v.nom} : {french_number(v.supply, 1)} h de médiation par semaine", None)
              for v in report.venues]
    for number, p in enumerate(siting.proposals if siting else [], start=1):
        points.append((p.lon, p.lat, f"Proposition {number} : {p.nom} (+{french_number(p.population_added)} hab. "
                                     f"à moins de {french_number(siting.radius_km, 0)} km)", number))
    return draw(session, areas, index_classes(report.threshold), points)


def draw(session: Session, areas: dict[str, tuple[str, str]], legend: list[tuple[str, str]],
         points: list[tuple[float, float, str, int | None]]) -> Choropleth:
    """Project the communes' boundaries (``areas``: code -> fill, title; equirectangular, scaled at the mean
    latitude) into an SVG viewBox, with the points inside their frame (a number: a proposal); nothing beyond
    ``MAX_COMMUNES`` communes (``omitted``)."""
    codes = list(areas)
    if len(codes) > MAX_COMMUNES:
        return Choropleth([], [], legend, omitted=len(codes))
    geometries = {code: outline.simplify(0.002)
                  for code, outline in territories.codes.commune_boundaries(session, codes).items()}
    if not geometries:
        return Choropleth([], [], legend)
    bounds = [g.bounds for g in geometries.values()]
    min_x, min_y = min(b[0] for b in bounds), min(b[1] for b in bounds)
    max_x, max_y = max(b[2] for b in bounds), max(b[3] for b in bounds)
    kx = math.cos(math.radians((min_y + max_y) / 2))
    scale = min((WIDTH - 2 * MARGIN) / max((max_x - min_x) * kx, 1e-9),
                (HEIGHT - 2 * MARGIN) / max(max_y - min_y, 1e-9))

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

    shapes = [Shape(code, path(geometries[code]), *areas[code]) for code in codes if code in geometries]
    markers = [Marker(*xy(lon, lat), title, "venue" if number is None else "proposal", number)
               for lon, lat, title, number in points if min_x <= lon <= max_x and min_y <= lat <= max_y]
    # Proposals drawn last, above the venues.
    return Choropleth(shapes, sorted(markers, key=lambda m: m.kind == "proposal"), legend)
