"""Priority-zone files: CSV lists of communes (``code_commune``; ``code`` and ``nom`` of the zone) and GeoJSON
polygons (code, name and population in properties the user names)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from registry import hookimpl
from registry.errors import InvalidInput
from registry.formats import ZoneFields, ZoneReader, ZoneRecord

CSV_COLUMNS = ("code_commune", "code", "nom")


class CommuneListCsv(ZoneReader):
    """A CSV of communes, one per line: ``code_commune`` and, to hold several zones, ``code`` and ``nom``
    (else the file is one zone named after its kind). Semicolons, commas or tabs."""

    name = "csv-communes"
    title = "CSV de communes (code_commune ; code ; nom)"

    def matches(self, path: Path) -> int:
        return 10 if path.suffix.lower() in (".csv", ".txt") else 0

    def read(self, path: Path, kind: str, fields: ZoneFields) -> tuple[list[ZoneRecord], list[str]]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=next((d for d in ";,\t" if d in header), ","))
            if "code_commune" not in (reader.fieldnames or []):
                raise InvalidInput.on("code_commune", f"{path.name}, ligne 1 : colonne « code_commune » attendue.")
            ignored = [name for name in reader.fieldnames if name not in CSV_COLUMNS]
            zones: dict[str, ZoneRecord] = {}
            for line, record in enumerate(reader, start=2):
                commune = (record.get("code_commune") or "").strip().upper()
                if not commune:
                    raise InvalidInput.on("code_commune", f"{path.name}, ligne {line} : code de commune vide.")
                code = (record.get("code") or "").strip() or kind
                zone = zones.setdefault(code, ZoneRecord(f"ligne {line}", code, code))
                zone.name = (record.get("nom") or "").strip() or zone.name
                zone.communes.append(commune)
        return list(zones.values()), ignored


class GeoJsonZones(ZoneReader):
    """A FeatureCollection of polygons; the code, name and population in the properties ``fields`` names."""

    name = "geojson-polygones"
    title = "GeoJSON de polygones (code, nom, population)"

    def matches(self, path: Path) -> int:
        return 10 if path.suffix.lower() in (".geojson", ".json") else 0

    def read(self, path: Path, kind: str, fields: ZoneFields) -> tuple[list[ZoneRecord], list[str]]:
        try:
            features = json.loads(path.read_text(encoding="utf-8"))["features"]
            if not isinstance(features, list):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidInput.on("fichier", f"{path.name} : une FeatureCollection GeoJSON est attendue.") from None
        records, seen = [], defaultdict(int)
        for number, feature in enumerate(features, start=1):
            if not isinstance(feature, dict):
                raise InvalidInput.on("features", f"{path.name}, entité {number} : un objet Feature est attendu.")
            properties = feature.get("properties") or {}
            if not isinstance(properties, dict):
                raise InvalidInput.on("properties", f"{path.name}, entité {number} : « properties » doit être un "
                                                    "objet (propriété → valeur).")
            for key in properties:
                seen[key] += 1
            code = str(properties.get(fields.code) or "").strip()
            if not code:
                raise InvalidInput.on(fields.code, f"{path.name}, entité {number} : propriété « {fields.code} » vide.")
            records.append(ZoneRecord(f"entité {number}", code, str(properties.get(fields.name) or code),
                                      geometry=feature.get("geometry"),
                                      population=properties.get(fields.population) if fields.population else None))
        return records, sorted(set(seen) - {fields.code, fields.name, fields.population})


@hookimpl
def registry_zone_readers() -> list[ZoneReader]:
    return [CommuneListCsv(), GeoJsonZones()]
