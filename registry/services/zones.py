"""Priority zones (QPV, FRR or any other kind a collectivité names), imported from its files, and their figures
in coverage and in the accessibility index.

A CSV lists communes (``code_commune``; ``code`` and ``nom`` name the zone, else the file is one zone named after
its kind): the zone's population is its communes'. A GeoJSON holds polygons: each is kept as given, with a point
inside it (``point_on_surface``), the commune holding that point, and its population when a property gives it
(``--population-field``); none is invented: a zone without one counts as of unknown population.
Importing a kind again replaces its zones.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import shape
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.models import PriorityZone, Territory
from registry.services import territories


@dataclass
class ZoneImport:
    kind: str
    zones: int
    communes_unknown: list[str] = field(default_factory=list)  # codes of the file absent from the reference
    without_population: int = 0  # polygons whose population the file does not give
    outside_communes: int = 0  # polygons whose point lies in no commune with a boundary
    ignored_fields: list[str] = field(default_factory=list)  # the file's columns or properties not kept


def import_file(session: Session, path: Path, kind: str, code_field: str = "code", name_field: str = "nom",
                population_field: str | None = None) -> ZoneImport:
    """Replace the zones of ``kind`` by those of ``path`` (CSV of communes or GeoJSON of polygons)."""
    kind = kind.strip().upper()
    if not kind or len(kind) > 40:
        raise InvalidInput.on("kind", "Un nom de sorte de zone est attendu (ex. QPV, FRR), 40 caractères au plus.")
    try:
        rows, ignored = (_from_geojson(session, path, code_field, name_field, population_field)
                         if path.suffix.lower() in (".geojson", ".json") else _from_csv(session, path, kind))
    except UnicodeDecodeError as exc:
        raise InvalidInput.on("fichier", f"{path.name} : octet {exc.start + 1} illisible en UTF-8 ; enregistrez "
                                         "le fichier en UTF-8.") from None
    report = ZoneImport(kind, len(rows), ignored_fields=ignored)
    known = set(session.scalars(select(Territory.code).where(Territory.kind == "commune")))
    for row in rows:
        report.communes_unknown += [c for c in row["communes"] if c not in known]
        if row["boundary"] is not None:
            report.without_population += row["population"] is None
            report.outside_communes += not row["communes"]
    if report.communes_unknown:
        raise InvalidInput.on("code_commune", f"{path.name} : communes inconnues du référentiel : "
                                              f"{', '.join(sorted(set(report.communes_unknown))[:10])}.")
    session.execute(delete(PriorityZone).where(PriorityZone.kind == kind))
    if rows:
        session.execute(insert(PriorityZone), [{**row, "kind": kind, "source": path.name} for row in rows])
    session.commit()
    return report


def _from_csv(session: Session, path: Path, kind: str) -> tuple[list[dict], list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter=next((d for d in ";,\t" if d in header), ","))
        if "code_commune" not in (reader.fieldnames or []):
            raise InvalidInput.on("code_commune", f"{path.name}, ligne 1 : colonne « code_commune » attendue.")
        ignored = [name for name in reader.fieldnames if name not in ("code_commune", "code", "nom")]
        zones: dict[str, dict] = defaultdict(lambda: {"communes": []})
        for line, record in enumerate(reader, start=2):
            commune = (record.get("code_commune") or "").strip().upper()
            if not commune:
                raise InvalidInput.on("code_commune", f"{path.name}, ligne {line} : code de commune vide.")
            code = (record.get("code") or "").strip() or kind
            zones[code]["name"] = (record.get("nom") or "").strip() or zones[code].get("name") or code
            resolved = territories.resolve_commune_code(session, commune)  # a former code: its commune today
            zones[code]["communes"].append(resolved.commune.code if resolved else commune)
    return [{"code": code, "name": z["name"], "population": None, "communes": sorted(set(z["communes"])),
             "longitude": None, "latitude": None, "boundary": None} for code, z in zones.items()], ignored


def _from_geojson(session: Session, path: Path, code_field: str, name_field: str,
                  population_field: str | None) -> tuple[list[dict], list[str]]:
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput.on("fichier", f"{path.name} : une FeatureCollection GeoJSON est attendue.") from None
    rows, seen = [], set()
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        seen.update(properties)
        code = str(properties.get(code_field) or "").strip()
        if not code:
            raise InvalidInput.on(code_field, f"{path.name}, entité {number} : propriété « {code_field} » vide.")
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput.on("geometry", f"{path.name}, entité {number} ({code}) : géométrie illisible.") from None
        if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
            raise InvalidInput.on("geometry", f"{path.name}, entité {number} ({code}) : un polygone est attendu.")
        population = properties.get(population_field) if population_field else None
        if population is not None and (isinstance(population, bool) or not isinstance(population, (int, float))
                                       or population < 0):
            raise InvalidInput.on(population_field, f"{path.name}, entité {number} ({code}) : population "
                                                    f"« {population} » illisible.")
        point = geometry.point_on_surface()
        commune = territories.commune_at(session, point.x, point.y)
        rows.append({"code": code, "name": str(properties.get(name_field) or code),
                     "population": None if population is None else int(population),
                     "communes": [commune.code] if commune else [], "longitude": point.x, "latitude": point.y,
                     "boundary": json.dumps(feature["geometry"])})
    return rows, sorted(seen - {code_field, name_field, population_field})


@dataclass
class ZoneFigures:
    """A kind of zone within a territory: its zones, their population and the part of it that is ill served."""

    kind: str
    zones: int
    population: int  # known population (communes' or the files')
    unknown_population_zones: int
    far_population: int  # beyond the largest band (coverage), or in communes « sous-dotées » (index)
    measure: str

    @property
    def share(self) -> float | None:
        return round(self.far_population / self.population, 4) if self.population else None

    def as_json(self) -> dict:
        return {"kind": self.kind, "zones": self.zones, "population": self.population,
                "unknown_population_zones": self.unknown_population_zones, "measure": self.measure,
                "population_concerned": self.far_population, "share": self.share}


def in_territory(session: Session, communes: set[str]) -> dict[str, list[PriorityZone]]:
    """The zones, by kind, that hold one of ``communes`` (a polygon: through the commune of its point)."""
    found: dict[str, list[PriorityZone]] = defaultdict(list)
    for zone in session.scalars(select(PriorityZone).order_by(PriorityZone.kind, PriorityZone.code)):
        if communes.intersection(zone.communes):
            found[zone.kind].append(zone)
    return dict(found)


def coverage_figures(found: dict[str, list[PriorityZone]], communes: dict[str, tuple[int, bool | None]],
                     zone_far: dict[int, bool | None], measure: str) -> list[ZoneFigures]:
    """Per kind: the population of its zones in the territory and the part of it that is ill served.
    ``communes``: code -> (population, ill served or ``None`` when unknown) of the territory's communes;
    ``zone_far``: polygon zone pk -> ill served (its point), or ``None`` when unknown."""
    figures = []
    for kind, zones in found.items():
        listed = {c for z in zones if z.boundary is None for c in z.communes if c in communes}
        population = sum(communes[c][0] for c in listed)
        far = sum(communes[c][0] for c in listed if communes[c][1])
        polygons = [z for z in zones if z.boundary is not None]
        population += sum(z.population or 0 for z in polygons)
        far += sum(z.population or 0 for z in polygons if zone_far.get(z.pk))
        figures.append(ZoneFigures(kind, len(zones), population,
                                   sum(1 for z in polygons if z.population is None), far, measure))
    return figures
