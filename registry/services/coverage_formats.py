"""A coverage report in every format it is downloaded in (``document``: the one place the API, the pages and the
CLI get them from): JSON, CSV for programs, CSV for French spreadsheets, XLSX (one row per commune) and GeoJSON
(communes with their figures)."""

from __future__ import annotations

import io
import json
from datetime import datetime, time
from typing import Any

import xlsxwriter

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


def commune_rows(report: CoverageReport) -> list[dict[str, Any]]:
    """One flat dict per commune (the CSV columns; numbers as numbers, "" when unknown)."""
    rows = []
    for c in report.communes:
        row = {"code_insee": c.code, "commune": c.name, "population": c.population,
               "departement": c.departement_code or "", "epci": c.epci_code or "",
               "distance_km": "" if c.distance_m is None else round(c.distance_m / 1000, 2),
               "tranche": _band_label(report, c.band), "lieu_le_plus_proche": c.nearest_venue_nom or "",
               "lieux_dans_la_commune": c.venues_in_commune, "lieux_recenses_dans_la_commune": c.registered_in_commune}
        for band, count in zip(report.bands, c.venues_within):
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


def to_csv(report: CoverageReport) -> str:
    """The communes of the report as CSV (UTF-8, comma-separated, header row)."""
    rows = commune_rows(report)
    out = io.StringIO()
    columns = list(rows[0]) if rows else ["code_insee"]
    writer = SafeDictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_csv_fr(report: CoverageReport) -> bytes:
    """The communes for a French spreadsheet: headings in French, semicolons, decimal commas, UTF-8 with a
    byte-order mark (so that Excel reads the accents), CRLF line ends."""
    columns = french_columns(report)
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(columns), delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for row in commune_rows(report):
        writer.writerow({k: str(v).replace(".", ",") if isinstance(v, float) else v for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: CoverageReport) -> bytes:
    """A workbook: « Communes » (one row per commune, numbers as numbers, filters, frozen headings) and
    « Synthèse » (population per distance band)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    # The report's day as the workbook's date: the same report gives the same bytes, whoever asks.
    book.set_properties({"title": f"Couverture : {report.name}",
                         "created": datetime.combine(report.computed_on, time.min)})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    decimal, percent = book.add_format({"num_format": "0.0"}), book.add_format({"num_format": "0.0 %"})
    sheet = book.add_worksheet("Communes")
    columns = french_columns(report)
    sheet.write_row(0, 0, list(columns.values()), bold)
    for r, row in enumerate(commune_rows(report), start=1):
        for c, key in enumerate(columns):
            value = row[key]
            if key == "distance_km" and value != "":
                sheet.write_number(r, c, value, decimal)
            elif isinstance(value, (int, float)):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))  # codes stay text (« 01004 », « 2A004 »)
    sheet.freeze_panes(1, 2)
    sheet.autofilter(0, 0, len(report.communes), len(columns) - 1)
    sheet.set_column(0, 0, 11)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, len(columns) - 1, 16)
    summary = book.add_worksheet("Synthèse")
    summary.write_row(0, 0, [f"Couverture : {report.name}", f"label « {report.label} »",
                             f"au {report.computed_on.strftime('%d/%m/%Y')}"], bold)
    summary.write_row(2, 0, ["Lieu qualifié le plus proche", "Communes", "Habitants", "Part"], bold)
    for r, band in enumerate(report.by_band, start=3):
        summary.write_row(r, 0, [report.band_label(band.band_km), band.communes, band.population])
        summary.write_number(r, 3, band.share, percent)
    row = 3 + len(report.by_band) + 1
    for label, value in (("Lieux qualifiés dans le territoire", report.qualified_in_territory),
                         ("Lieux recensés non qualifiés dans le territoire", report.unqualified_venues),
                         ("Habitants", report.population)):
        summary.write_string(row, 0, label)
        summary.write_number(row, 1, value)
        row += 1
    summary.set_column(0, 0, 44)
    summary.set_column(1, 3, 14)
    book.close()
    return out.getvalue()


#: Download formats: name -> (media type, file extension).
FORMATS = {"json": ("application/json", "json"), "csv": ("text/csv", "csv"),
           "csv-fr": ("text/csv", "csv"), "geojson": ("application/geo+json", "geojson"),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}


def document(session: Session, report: CoverageReport, output: str) -> tuple[bytes, str, str]:
    """The report as ``output`` (a name of ``FORMATS``): its bytes, media type and file name."""
    if output == "csv":
        body = to_csv(report).encode("utf-8")
    elif output == "csv-fr":
        body = to_csv_fr(report)
    elif output == "xlsx":
        body = to_xlsx(report)
    elif output == "geojson":
        body = to_json_text(to_geojson(session, report)).encode("utf-8")
    else:
        body = to_json_text(CoverageSchema().dump(report)).encode("utf-8")
    media_type, extension = FORMATS[output]
    suffix = "-tableur" if output == "csv-fr" else ""
    return body, media_type, f"couverture-{report.kind}-{report.code}-{report.criteria_set}{suffix}.{extension}"


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
