"""A coverage report in every format it is downloaded in (``document``: the one place the API, the pages and the
CLI get them from, through ``table_formats``): JSON, CSV for programs, CSV for French spreadsheets, XLSX (one row per
commune) and GeoJSON (communes with their figures)."""

from __future__ import annotations

import math
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from registry.services.base import table_formats
from registry.services.coverage.coverage import CoverageReport


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
    venues = fields.Integer(metadata={"description": "Lieux qualifiés situés dans ce territoire"})
    registered = fields.Integer(metadata={"description": "Lieux recensés (qualifiés ou non) situés dans ce territoire"})
    unqualified = fields.Integer(metadata={"description": "Lieux recensés non qualifiés pour ce label"})
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
    registered_in_commune = fields.Integer(metadata={"description": "Lieux recensés (qualifiés ou non)"})
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
    qualified_venues = fields.Integer(metadata={"description": "Lieux qualifiés comptés pour les distances : ceux de "
                                                              "France, ou ceux à moins de candidates_reach_km des "
                                                              "communes du territoire"})
    zones = fields.Function(lambda report: [z.as_json() for z in report.zones], metadata={
        "description": "Par sorte de zone prioritaire (QPV, FRR…) touchant le territoire : habitants, et ceux à plus "
                       "de la plus grande tranche d'un lieu qualifié"})
    candidates_reach_km = fields.Float(allow_none=True, metadata={
        "description": "Jusqu'où autour des communes les lieux qualifiés ont été lus (km) : aucun lieu plus "
                       "lointain ne peut être le plus proche de l'une d'elles ; null : toute la France"})
    registered_venues = fields.Integer(metadata={"description": "Lieux recensés dans le territoire, qualifiés ou non"})
    qualified_in_territory = fields.Integer(metadata={"description": "Lieux qualifiés situés dans le territoire"})
    unqualified_venues = fields.Integer(metadata={"description": "Lieux recensés du territoire non qualifiés"})
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


def _band_label(report: CoverageReport, band: float | None) -> str:
    return "distance inconnue" if band is None else report.band_label(band)


def kilometres(metres: float) -> float:
    """A distance in km rounded up to the hundredth: it stays in its band (bands hold distances up to their
    bound, so 10 004 m, of « de 10 à 20 km », reads 10,01 km, not 10,0)."""
    return math.ceil(round(metres, 3) / 10) / 100


def commune_rows(report: CoverageReport) -> list[dict[str, Any]]:
    """One flat dict per commune (the CSV columns; numbers as numbers, "" when unknown)."""
    rows = []
    for c in report.communes:
        row = {"code_insee": c.code, "commune": c.name, "population": c.population,
               "departement": c.departement_code or "", "epci": c.epci_code or "",
               "distance_km": "" if c.distance_m is None else kilometres(c.distance_m),
               "tranche": _band_label(report, c.band), "lieu_le_plus_proche": c.nearest_venue_nom or "",
               "lieux_dans_la_commune": c.venues_in_commune, "lieux_recenses_dans_la_commune": c.registered_in_commune}
        for band, count in zip(report.bands, c.venues_within, strict=True):
            row[f"lieux_a_{band:g}_km"] = count if c.lon is not None else ""
        row["lieux_itinerants"] = len(c.itinerant_venues) if c.lon is not None else ""
        rows.append(row)
    return rows


def french_columns(report: CoverageReport) -> dict[str, str]:
    """The CSV columns and their headings for a person (French spreadsheets, XLSX)."""
    columns = {"code_insee": "Code INSEE", "commune": "Commune", "population": "Habitants",
               "departement": "Département", "epci": "EPCI (SIREN)",
               "distance_km": "Distance au lieu qualifié le plus proche (km)", "tranche": "Tranche de distance",
               "lieu_le_plus_proche": "Lieu qualifié le plus proche",
               "lieux_dans_la_commune": "Lieux qualifiés dans la commune",
               "lieux_recenses_dans_la_commune": "Lieux recensés dans la commune (qualifiés ou non)"}
    for band in report.bands:
        columns[f"lieux_a_{band:g}_km"] = f"Lieux qualifiés à {band:g} km au plus".replace(".", ",")
    columns["lieux_itinerants"] = f"Lieux itinérants à {report.bands[-1]:g} km au plus".replace(".", ",")
    return columns


def to_xlsx(report: CoverageReport) -> bytes:
    """A workbook: « Communes » (one row per commune, numbers as numbers, filters, frozen headings) and
    « Synthèse » (population per distance band)."""
    book = table_formats.Workbook(f"Couverture : {report.name}", report.computed_on)
    book.table("Communes", commune_rows(report), french_columns(report), formats={"distance_km": book.kilometres})
    lines: list[list] = [[f"Couverture : {report.name}", f"label « {report.label} »",
                          f"au {report.computed_on.strftime('%d/%m/%Y')}"], [],
                         ["Lieu qualifié le plus proche", "Communes", "Habitants", "Part"]]
    lines += [[report.band_label(band.band_km), band.communes, band.population, band.share] for band in report.by_band]
    lines += [[], ["Le territoire"], ["Lieux qualifiés dans le territoire", report.qualified_in_territory],
              ["Lieux recensés non qualifiés dans le territoire", report.unqualified_venues],
              ["Habitants", report.population]]
    lines += zone_lines(report.zones)
    book.lines("Synthèse", lines, percent_column=3)
    return book.close()


def zone_lines(zones: list) -> list[list]:
    """The priority zones' figures as lines of a summary sheet."""
    if not zones:
        return []
    return [[], ["Zones prioritaires", "Zones", "Habitants", "Part concernée", "Mesure"]] + [
        [z.kind, z.zones, z.population, z.share, z.measure] for z in zones]


#: Download formats: name -> (media type, file extension).
FORMATS = table_formats.FORMATS


def document(session: Session, report: CoverageReport, output: str) -> tuple[bytes, str, str]:
    """The report as ``output`` (a name of ``FORMATS``): its bytes, media type and file name."""
    rows = commune_rows(report)

    def geojson() -> dict[str, Any]:
        boundaries = table_formats.commune_boundaries(session, [c.code for c in report.communes])
        return table_formats.feature_collection(rows, "code_insee", lambda row: boundaries.get(row["code_insee"]))

    body = table_formats.render(output, rows, french_columns(report), lambda: to_xlsx(report), geojson,
                                lambda: CoverageSchema().dump(report))
    return body, *table_formats.named(output, f"couverture-{report.kind}-{report.code}-{report.criteria_set}")

