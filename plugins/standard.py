"""The national standard (schéma des lieux de médiation numérique): import v1.0 and v0.1, CSV and JSON; export
v1.0 as CSV (valid against the official schema) and JSON."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from registry import hookimpl
from registry.formats import (NOT_AN_OBJECT, ExportRecord, Exporter, Importer, Input, Sample, SourceRow,
                              rejected_row, split_list, write_json_array)
from registry.standard import FREE_LISTS, PATTERN_SPELLINGS, SEPARATOR, VOCABULARIES

from plugins import standard_v01

#: Columns of v1.0.2, in the schema's order.
V1_FIELDS = (
    "id", "pivot", "nom", "commune", "code_postal", "code_insee", "adresse", "complement_adresse", "latitude",
    "longitude", "typologie", "telephone", "courriels", "site_web", "horaires", "presentation_resume",
    "presentation_detail", "source", "itinerance", "structure_parente", "date_maj", "services",
    "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
    "dispositif_programmes_nationaux", "formations_labels", "autres_formations_labels", "modalites_acces",
    "modalites_accompagnement", "fiche_acces_libre", "prise_rdv",
)
V1_LISTS = frozenset(VOCABULARIES) | frozenset(FREE_LISTS)
#: Columns only v1.0 has (v0.1 has none of them).
V1_ONLY = frozenset({"courriels", "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
                     "dispositif_programmes_nationaux", "formations_labels", "modalites_acces", "itinerance"})
#: The standard's placeholder when the SIRET is not known (``pivot`` is required).
PIVOT_PLACEHOLDER = "00000000000000"


def v1_score(columns: set[str]) -> int:
    """How surely columns are v1.0: a name and an address suffice (the current version is the default guess);
    each column only v1.0 has adds to it."""
    if not {"nom", "adresse"} <= columns:
        return 0
    return 5 + len(V1_ONLY & columns) + (5 if V1_ONLY & columns else 0)


def v1_row(line: int, record: dict[str, Any]) -> SourceRow:
    """A v1.0 record (CSV cells or a JSON object) as a row: lists split on ``|`` (or ``;``, seen in the wild)."""
    values: dict[str, Any] = {}
    for name in V1_FIELDS:
        if name not in record:
            continue
        value = record[name]
        if name in V1_LISTS:
            separator = SEPARATOR if isinstance(value, list) or SEPARATOR in (value or "") else ";"
            value = split_list(value, separator)
        values[name] = value
    return SourceRow(line, values)


class StandardV1Csv(Importer):
    name = "standard-1.0-csv"
    title = "Standard national v1.0 (CSV)"

    def matches(self, sample: Sample) -> int:
        return v1_score(set(sample.header))

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for line, record in source.csv_records():
            yield v1_row(line, record)


class StandardV1Json(Importer):
    name = "standard-1.0-json"
    title = "Standard national v1.0 (JSON)"

    def matches(self, sample: Sample) -> int:
        return v1_score(set(sample.json_keys)) if sample.json_shape == "array" else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for position, item in source.json_items():
            yield v1_row(position, item) if isinstance(item, dict) else rejected_row(position, NOT_AN_OBJECT)


class StandardV01Csv(Importer):
    name = "standard-0.1-csv"
    title = "Standard national v0.1 (CSV)"

    def matches(self, sample: Sample) -> int:
        return standard_v01.score(set(sample.header))

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for line, record in source.csv_records():
            yield standard_v01.to_v1(line, record)


class StandardV01Json(Importer):
    name = "standard-0.1-json"
    title = "Standard national v0.1 (JSON)"

    def matches(self, sample: Sample) -> int:
        return standard_v01.score(set(sample.json_keys)) if sample.json_shape == "array" else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        for position, item in source.json_items():
            yield standard_v01.to_v1(position, item) if isinstance(item, dict) else rejected_row(position, NOT_AN_OBJECT)


def v1_cells(record: ExportRecord) -> list[str]:
    """The CSV cells of a record in v1.0 column order (lists joined by ``|``; empty optional fields empty)."""
    values = record.values
    cells = []
    for name in V1_FIELDS:
        value = values.get(name)
        if value is None or value == []:
            cells.append(PIVOT_PLACEHOLDER if name == "pivot" else "")
        elif name in PATTERN_SPELLINGS:
            spellings = PATTERN_SPELLINGS[name]
            cells.append(SEPARATOR.join(spellings.get(item, item) for item in value))
        elif isinstance(value, list):
            cells.append(SEPARATOR.join(value))
        else:
            cells.append(value if isinstance(value, str) else str(value))
    return cells


class StandardV1CsvExporter(Exporter):
    name = "standard-csv"
    title = "Standard national v1.0 (CSV)"
    media_type = "text/csv; charset=utf-8"
    extension = "csv"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(V1_FIELDS)
        for record in records:
            writer.writerow(v1_cells(record))


class StandardV1JsonExporter(Exporter):
    name = "standard-json"
    title = "Standard national v1.0 (JSON, listes en tableaux)"
    media_type = "application/json"
    extension = "json"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        write_json_array(({name: record.values.get(name) for name in V1_FIELDS} for record in records), out)


@hookimpl
def registry_importers() -> list[Importer]:
    return [StandardV1Csv(), StandardV1Json(), StandardV01Csv(), StandardV01Json()]


@hookimpl
def registry_exporters() -> list[Exporter]:
    return [StandardV1CsvExporter(), StandardV1JsonExporter()]
