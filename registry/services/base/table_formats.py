"""Tables of a report (coverage, accessibility, siting) as downloads: CSV for programs, CSV for French
spreadsheets, sheets of an XLSX workbook, GeoJSON. A row is a dict of numbers (as numbers), text, and "" when
unknown; ``columns`` map each key to its French heading."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any

import xlsxwriter
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.formats import SafeDictWriter, spreadsheet_safe
from registry.models import Territory

Row = dict[str, Any]
#: A code that a spreadsheet would read as a number and strip of its leading zero.
LEADING_ZERO_CODE = re.compile(r"0[0-9]+")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Download formats: name -> (media type, file extension).
FORMATS = {"json": ("application/json", "json"), "csv": ("text/csv", "csv"),
           "csv-fr": ("text/csv", "csv"), "geojson": ("application/geo+json", "geojson"),
           "xlsx": (XLSX, "xlsx")}


def render(output: str, rows: Sequence[Row], columns: dict[str, str], workbook: Callable[[], bytes],
           geojson: Callable[[], dict[str, Any]], as_json: Callable[[], Any]) -> bytes:
    """A report's table in ``output``: the CSVs from ``rows`` and ``columns``, the others from their builder."""
    if output == "csv":
        return to_csv(rows, list(columns))
    if output == "csv-fr":
        return to_csv_fr(rows, columns)
    if output == "xlsx":
        return workbook()
    return to_json_text(geojson() if output == "geojson" else as_json()).encode("utf-8")


def named(output: str, stem: str) -> tuple[str, str]:
    """The media type and file name of a download in ``output`` (« -tableur » for the French spreadsheets' CSV)."""
    media_type, extension = FORMATS[output]
    return media_type, f"{stem}{'-tableur' if output == 'csv-fr' else ''}.{extension}"


def to_csv(rows: Sequence[Row], keys: Sequence[str]) -> bytes:
    """CSV for programs: UTF-8, commas, decimal points, the keys as header."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=list(keys), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_csv_fr(rows: Sequence[Row], columns: dict[str, str]) -> bytes:
    """CSV for a French spreadsheet: headings in French, semicolons, decimal commas, UTF-8 with a byte-order mark
    (so that Excel reads the accents), CRLF line ends; a code starting with 0 (INSEE, postcode, département) as
    the formula ``="01001"``, which Excel and LibreOffice show as the text 01001 (read as a number, it lost its
    zero: département 01's ``01001`` became ``1001``)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(heading) for heading in columns.values()])
    for row in rows:
        writer.writerow([_french_cell(row.get(key, "")) for key in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _french_cell(value: Any) -> Any:
    if isinstance(value, float):
        return str(value).replace(".", ",")
    if isinstance(value, str) and LEADING_ZERO_CODE.fullmatch(value):
        return f'="{value}"'  # digits only: nothing to run
    return spreadsheet_safe(value)


class Workbook:
    """An XLSX workbook dated by its report's day (the same report gives the same bytes, whoever asks)."""

    def __init__(self, title: str, day: date) -> None:
        self._out = io.BytesIO()
        self.book = xlsxwriter.Workbook(self._out, {"in_memory": True})
        self.book.set_properties({"title": title, "created": datetime.combine(day, time.min)})
        self.bold = self.book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.decimal = self.book.add_format({"num_format": "0.0"})
        self.kilometres = self.book.add_format({"num_format": "0.00"})
        self.hundredths = self.book.add_format({"num_format": "0.00"})
        self.percent = self.book.add_format({"num_format": "0.0 %"})

    def table(self, name: str, rows: Sequence[Row], columns: dict[str, str], frozen: int = 2,
              formats: dict[str, Any] | None = None) -> None:
        """A sheet of ``rows``: French headings, numbers as numbers (``formats`` by key), codes as text,
        filters and frozen headings."""
        sheet = self.book.add_worksheet(name)
        sheet.write_row(0, 0, list(columns.values()), self.bold)
        for r, row in enumerate(rows, start=1):
            for c, key in enumerate(columns):
                value = row[key]
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet.write_number(r, c, value, (formats or {}).get(key))
                else:
                    sheet.write_string(r, c, str(value))  # codes stay text (« 01004 », « 2A004 »)
        sheet.freeze_panes(1, frozen)
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)
        sheet.set_column(0, 0, 11)
        sheet.set_column(1, 1, 28)
        sheet.set_column(2, len(columns) - 1, 16)

    def lines(self, name: str, lines: Sequence[Sequence[Any]], widths: Sequence[float] = (44, 14, 14, 14),
              percent_column: int | None = None) -> None:
        """A sheet of free lines (a summary); the first and those following an empty line are headings, in bold."""
        sheet = self.book.add_worksheet(name)
        for r, line in enumerate(lines):
            for c, value in enumerate(line):
                if r == 0 or not lines[r - 1]:
                    sheet.write_string(r, c, str(value), self.bold)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet.write_number(r, c, value, self.percent if c == percent_column else None)
                elif value is not None:
                    sheet.write_string(r, c, str(value))
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width)

    def close(self) -> bytes:
        self.book.close()
        return self._out.getvalue()


def commune_boundaries(session: Session, codes: Sequence[str]) -> dict[str, Any]:
    """The imported boundaries of the communes, as GeoJSON geometries, by code."""
    geometries: dict[str, Any] = {}
    for start in range(0, len(codes), 5000):
        for code, boundary in session.execute(select(Territory.code, Territory.boundary).where(
                Territory.kind == "commune", Territory.code.in_(list(codes[start:start + 5000])),
                Territory.boundary.is_not(None))):
            geometries[code] = mapping(to_shape(boundary))
    return geometries


def feature_collection(rows: Sequence[Row], key: str, geometry: Callable[[Row], Any],
                       properties: Callable[[Row], Row] | None = None) -> dict[str, Any]:
    """A FeatureCollection of ``rows`` (id: ``row[key]``; "" written as null)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": row[key], "geometry": geometry(row),
         "properties": {k: (None if v == "" else v) for k, v in (properties or dict)(row).items()}}
        for row in rows]}


def to_json_text(document: Any) -> str:
    """JSON as UTF-8 text."""
    return json.dumps(document, ensure_ascii=False)
