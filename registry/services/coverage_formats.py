"""A coverage report as CSV (one row per commune) and as GeoJSON (communes with their figures)."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from geoalchemy2.shape import to_shape
from marshmallow import Schema, fields
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.formats import SafeDictWriter
from registry.models import Territory
from registry.services.coverage import CoverageReport


class BandSchema(Schema):
    band_km = fields.Float(allow_none=True, metadata={"description": "null : au-delà de la plus grande tranche"})
    communes = fields.Integer()
    population = fields.Integer()
    share = fields.Float()


class AreaSchema(Schema):
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    population = fields.Integer()
    venues = fields.Integer()
    venues_per_10k = fields.Float(allow_none=True)


class CommuneSchema(Schema):
    code = fields.String()
    name = fields.String()
    population = fields.Integer()
    departement_code = fields.String(allow_none=True)
    epci_code = fields.String(allow_none=True)
    distance_m = fields.Float(allow_none=True)
    nearest_venue_id = fields.String(allow_none=True)
    nearest_venue_nom = fields.String(allow_none=True)
    venues_within = fields.List(fields.Integer())
    venues_in_commune = fields.Integer()
    itinerant_venues = fields.List(fields.String())


class CoverageSchema(Schema):
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    criteria_set = fields.String()
    label = fields.String()
    bands = fields.List(fields.Float())
    computed_on = fields.Date()
    population = fields.Integer()
    qualified_venues = fields.Integer()
    placement = fields.String(metadata={"enum": ["complete", "partial", "none"], "description":
                                        "Communes placées (point de référence) : toutes, une partie, aucune"})
    approximate_venues = fields.Integer(metadata={"description": "Lieux sans coordonnées, comptés au point de "
                                                                 "référence de leur commune"})
    note = fields.String()
    by_band = fields.List(fields.Nested(BandSchema))
    unknown_distance_population = fields.Integer()
    communes_without_venue = fields.List(fields.String())
    epci = fields.List(fields.Nested(AreaSchema))
    departements = fields.List(fields.Nested(AreaSchema))
    communes = fields.List(fields.Nested(CommuneSchema))


def _band_label(band: float | None) -> str:
    if band is None:
        return "inconnue"
    return "au-delà" if math.isinf(band) else f"≤ {band:g} km"


def commune_rows(report: CoverageReport) -> list[dict[str, Any]]:
    """One flat dict per commune (the CSV columns)."""
    rows = []
    for c in report.communes:
        row = {"code_insee": c.code, "commune": c.name, "population": c.population,
               "departement": c.departement_code or "", "epci": c.epci_code or "",
               "distance_km": "" if c.distance_m is None else round(c.distance_m / 1000, 2),
               "tranche": _band_label(c.band), "lieu_le_plus_proche": c.nearest_venue_nom or "",
               "lieux_dans_la_commune": c.venues_in_commune}
        for band, count in zip(report.bands, c.venues_within):
            row[f"lieux_a_{band:g}_km"] = count if c.lon is not None else ""
        row["lieux_itinerants"] = len(c.itinerant_venues) if c.lon is not None else ""
        rows.append(row)
    return rows


def to_csv(report: CoverageReport) -> str:
    """The communes of the report as CSV (UTF-8, comma-separated, header row)."""
    rows = commune_rows(report)
    out = io.StringIO()
    columns = list(rows[0]) if rows else ["code_insee"]
    writer = SafeDictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_geojson(session: Session, report: CoverageReport) -> dict[str, Any]:
    """A FeatureCollection of the report's communes with their boundary (when imported) and figures."""
    codes = [c.code for c in report.communes]
    geometries: dict[str, Any] = {}
    for start in range(0, len(codes), 5000):
        for code, boundary in session.execute(select(Territory.code, Territory.boundary).where(
                Territory.kind == "commune", Territory.code.in_(codes[start:start + 5000]),
                Territory.boundary.is_not(None))):
            geometries[code] = mapping(to_shape(boundary))
    features = [{"type": "Feature", "id": row["code_insee"], "geometry": geometries.get(row["code_insee"]),
                 "properties": {k: (None if v == "" else v) for k, v in row.items()}}
                for row in commune_rows(report)]
    return {"type": "FeatureCollection", "features": features}


def to_json_text(document: dict[str, Any]) -> str:
    """JSON as UTF-8 text."""
    return json.dumps(document, ensure_ascii=False)
