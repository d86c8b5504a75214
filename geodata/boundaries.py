"""Readers for administrative boundary files (GeoJSON, optionally gzipped)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry


class BoundaryFileError(ValueError):
    """A boundary file that cannot be read, with the reason in French."""


@dataclass(frozen=True)
class Boundary:
    """One feature of a boundary file: its official code, name and (multi)polygon."""

    code: str
    name: str | None
    geometry: MultiPolygon


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """Return ``geometry`` as a valid MultiPolygon (polygons are wrapped, invalid rings repaired)."""
    if not geometry.is_valid:
        geometry = geometry.buffer(0)
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon):
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    if not polygons:
        raise BoundaryFileError(f"géométrie de type {geometry.geom_type}, polygone attendu")
    return MultiPolygon(polygons)


#: The largest boundary file read, once decompressed: France's communes at full resolution (ADMIN EXPRESS) hold
#: about 500 MB; beyond, a small gzip that inflates without end (a « zip bomb ») is refused before it fills memory.
MAX_BYTES = 1024 * 1024 * 1024


def _read_text(path: Path, limit: int) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise BoundaryFileError(f"{path} : plus de {limit // (1024 * 1024)} Mo une fois décompressé : refusé")
    return data.decode("utf-8-sig")


def read_boundaries(path: Path, limit: int | None = None) -> Iterator[Boundary]:
    """Yield the features of a ``.geojson`` or ``.geojson.gz`` file with ``code`` / ``nom`` properties; any
    defect is a ``BoundaryFileError`` naming the file and the feature."""
    try:
        document = json.loads(_read_text(path, limit or MAX_BYTES))
    except FileNotFoundError:
        raise BoundaryFileError(f"{path} : fichier introuvable") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BoundaryFileError(f"{path} : GeoJSON illisible ({exc})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundaryFileError(f"{path} : une FeatureCollection GeoJSON est attendue")
    features = document.get("features") or []
    if not isinstance(features, list):
        raise BoundaryFileError(f"{path} : « features » doit être une liste")
    for number, feature in enumerate(features, start=1):
        where = f"{path}, objet n° {number}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            raise BoundaryFileError(f"{where} : objet « Feature » avec des propriétés attendu")
        properties = feature.get("properties") or {}
        code = str(properties.get("code") or "").strip()
        if not code:
            raise BoundaryFileError(f"{where} : propriété « code » absente")
        try:
            geometry = as_multipolygon(shape(feature["geometry"]))
        except BoundaryFileError as exc:
            raise BoundaryFileError(f"{where} (code {code}) : {exc}") from None
        except Exception as exc:  # noqa: BLE001 - shapely raises many kinds on malformed coordinates
            raise BoundaryFileError(f"{where} (code {code}) : géométrie invalide ({type(exc).__name__})") from None
        west, south, east, north = geometry.bounds
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            raise BoundaryFileError(f"{where} (code {code}) : coordonnées hors des longitudes et latitudes "
                                    "(WGS84 attendu)")
        name = properties.get("nom")
        yield Boundary(code.upper(), name if isinstance(name, str) else None, geometry)
