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


def read_boundaries(path: Path) -> Iterator[Boundary]:
    """Yield the features of a ``.geojson`` or ``.geojson.gz`` file with ``code`` / ``nom`` properties."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            document = json.load(fh)
    except FileNotFoundError:
        raise BoundaryFileError(f"{path} : fichier introuvable") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BoundaryFileError(f"{path} : GeoJSON illisible ({exc})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundaryFileError(f"{path} : une FeatureCollection GeoJSON est attendue")
    for number, feature in enumerate(document.get("features") or [], start=1):
        properties = feature.get("properties") or {}
        code = str(properties.get("code") or "").strip()
        if not code:
            raise BoundaryFileError(f"{path}, objet n° {number} : propriété « code » absente")
        try:
            geometry = as_multipolygon(shape(feature["geometry"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BoundaryFileError(f"{path}, objet n° {number} (code {code}) : géométrie invalide ({exc})") from None
        yield Boundary(code.upper(), properties.get("nom"), geometry)
