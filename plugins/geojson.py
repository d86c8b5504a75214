"""GeoJSON venues: a FeatureCollection of points whose properties are the standard's fields (import, export)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from plugins.standard import V1_FIELDS, ColumnPlan, read_record, score
from registry import hookimpl
from registry.formats import (
    Exporter,
    ExportRecord,
    Importer,
    Input,
    Note,
    Sample,
    SourceRow,
    coordinate,
    rejected_row,
    shown,
)


def feature_row(position: int, feature: Any, plan: ColumnPlan, source: Input | None = None) -> SourceRow:
    """A feature as a row: its properties read as the standard's columns (either version), the point's
    coordinates when the properties have none."""
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return rejected_row(position, "Objet « Feature » avec properties attendu.", "properties")
    row = read_record(position, feature["properties"], plan, source)
    geometry = feature.get("geometry")
    if geometry is None:
        return row
    if not isinstance(geometry, dict):
        row.set_aside.append(Note("geometry", shown(geometry), "Géométrie qui n'est pas un objet GeoJSON : ignorée."))
        return row
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2 \
            and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in coordinates[:2]):
        if row.values.get("longitude") in (None, "") or row.values.get("latitude") in (None, ""):
            row.values["longitude"], row.values["latitude"] = coordinates[0], coordinates[1]
        elif ([coordinate(row.values["longitude"]), coordinate(row.values["latitude"])]
              != [coordinate(c) for c in coordinates[:2]]):
            row.notes.append(Note("geometry", coordinates[:2], "Point de la géométrie différent des propriétés "
                                                               "longitude et latitude : celles-ci sont reprises."))
    else:
        row.set_aside.append(Note("geometry", shown(geometry), "Géométrie qui n'est pas un point aux coordonnées "
                                                              "numériques : ignorée."))
    return row



class GeoJsonVenues(Importer):
    name = "geojson"
    title = "GeoJSON (propriétés du standard, v1.0 ou v0.1)"

    def matches(self, sample: Sample) -> int:
        return 10 + score(sample.columns) if sample.json_shape == "features" else 0

    def rows(self, source: Input) -> Iterator[SourceRow]:
        plan = ColumnPlan()
        for position, feature in source.json_items("features.item"):
            yield feature_row(position, feature, plan, source)


class GeoJsonExporter(Exporter):
    name = "geojson"
    title = "GeoJSON (propriétés du standard v1.0, labels)"
    media_type = "application/geo+json"
    extension = "geojson"

    def write(self, records: Iterable[ExportRecord], out: TextIO) -> None:
        out.write('{"type": "FeatureCollection", "features": [')
        for index, record in enumerate(records):
            values = record.values
            point = None
            if values.get("longitude") is not None and values.get("latitude") is not None:
                point = {"type": "Point", "coordinates": [values["longitude"], values["latitude"]]}
            properties = {name: values.get(name) for name in V1_FIELDS}
            properties["labels"] = list(record.labels)
            feature = {"type": "Feature", "id": values["id"], "geometry": point, "properties": properties}
            out.write(",\n" if index else "\n")
            out.write(json.dumps(feature, ensure_ascii=False, default=str))
        out.write("\n]}\n")


@hookimpl
def registry_importers() -> list[Importer]:
    return [GeoJsonVenues()]


@hookimpl
def registry_exporters() -> list[Exporter]:
    return [GeoJsonExporter()]
