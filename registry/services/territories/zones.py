"""Priority zones (QPV, FRR or any other kind a collectivité names), imported from its files through the zone
readers of the plugins (``registry_zone_readers``: CSV lists of communes and GeoJSON polygons built in), and
their figures in coverage and in the accessibility index.

A list of communes makes a zone whose population is its communes'. A polygon is kept as given, with a point
inside it (``point_on_surface``), the commune holding that point, and its population when the file gives it;
none is invented: a zone without one counts as of unknown population. Importing a kind again replaces its zones.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.formats import ZoneFields, ZoneReader, ZoneRecord
from registry.models import PriorityZone, Territory
from registry.plugins import by_name
from registry.services import territories
from registry.services.base import data_version
from registry.services.base.context import Context


@dataclass
class ZoneImport:
    kind: str
    zones: int
    reader: str = ""  # the title of the reader that read the file
    communes_unknown: list[str] = field(default_factory=list)  # codes of the file absent from the reference
    without_population: int = 0  # polygons whose population the file does not give
    outside_communes: int = 0  # polygons whose point lies in no commune with a boundary
    ignored_fields: list[str] = field(default_factory=list)  # the file's columns or properties not kept


def readers(ctx: Context) -> dict[str, ZoneReader]:
    """The zone readers of the plugins, by name."""
    return by_name(ctx.plugins, "registry_zone_readers")


#: The columns of a zone file when none are named.
DEFAULT_FIELDS = ZoneFields()


def import_file(session: Session, path: Path, kind: str, ctx: Context, fields: ZoneFields = DEFAULT_FIELDS,
                reader_name: str | None = None) -> ZoneImport:
    """Replace the zones of ``kind`` by those of ``path``, read by ``reader_name`` or the reader that recognises
    it best; nothing changes unless every zone is sound."""
    kind = kind.strip().upper()
    if not kind or len(kind) > 40:
        raise InvalidInput.on("kind", "Un nom de sorte de zone est attendu (ex. QPV, FRR), 40 caractères au plus.")
    reader = _reader(readers(ctx), path, reader_name)
    try:
        records, ignored = reader.read(path, kind, fields)
    except UnicodeDecodeError as exc:
        raise InvalidInput.on("fichier", f"{path.name} : octet {exc.start + 1} illisible en UTF-8 ; enregistrez "
                                         "le fichier en UTF-8.") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, csv.Error) as exc:
        # A reader (a plugin's too) that fails on a file it cannot read: the file is named, never a traceback.
        raise InvalidInput.on("fichier", f"{path.name} : fichier illisible par le lecteur {reader.name} "
                                         f"({type(exc).__name__} : {str(exc)[:200]}).") from None
    rows = [_row(session, path, record, fields) for record in records]
    if any(r.geometry is None and r.population is not None for r in records):
        # A list of communes counts its communes' inhabitants: the file's own figure is not kept, and said so.
        ignored = [*ignored, "population des zones de communes (celle de leurs communes est comptée)"]
    report = ZoneImport(kind, len(rows), reader.title, ignored_fields=ignored)
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
    data_version.touch(session)
    session.commit()
    return report


def _reader(found: dict[str, ZoneReader], path: Path, name: str | None) -> ZoneReader:
    if name is not None:
        if name not in found:
            raise InvalidInput.on("format", f"Format de zones inconnu : {name} (connus : {', '.join(sorted(found))}).")
        return found[name]
    scored = sorted(((reader.matches(path), reader.name) for reader in found.values()), reverse=True)
    if not scored or scored[0][0] <= 0:
        raise InvalidInput.on("format", f"{path.name} : format de zones non reconnu ; formats connus : "
                                        + ", ".join(f"{r.name} ({r.title})" for r in found.values()) + ".")
    return found[scored[0][1]]


#: The stored columns' sizes: a longer value is refused, never cut.
MAX_CODE, MAX_NAME = 60, 200
#: More inhabitants than France has is no population a zone can have.
MAX_POPULATION = 100_000_000


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"{limit} caractères au plus"
    if any(ord(c) < 32 for c in value):
        return "caractère de contrôle (nul, saut de ligne…) interdit"
    return None


def _row(session: Session, path: Path, record: ZoneRecord, fields: ZoneFields) -> dict:
    """A zone read from a file as stored: communes read as today's, a polygon checked and placed."""
    where = f"{path.name}, {record.place} ({record.code[:60]!s})"
    for name, value, limit in ((fields.code, record.code, MAX_CODE), (fields.name, record.name, MAX_NAME),
                               *(("code_commune", code, 10) for code in record.communes)):
        problem = _text_problem(str(value), limit)
        if problem:
            raise InvalidInput.on(name, f"{where} : « {name} » : {problem}.")
    communes = []
    for code in record.communes:
        resolved = territories.codes.resolve_commune_code(session, str(code).strip().upper())  # a former code: today's
        communes.append(resolved.commune.code if resolved else str(code).strip().upper())
    row = {"code": record.code, "name": record.name, "population": None, "communes": sorted(set(communes)),
           "longitude": None, "latitude": None, "boundary": None}
    if record.geometry is None:
        if not communes:
            raise InvalidInput.on("geometry", f"{where} : ni communes ni polygone.")
        return row
    try:
        geometry = shape(record.geometry)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ShapelyError):
        raise InvalidInput.on("geometry", f"{where} : géométrie illisible.") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise InvalidInput.on("geometry", f"{where} : un polygone est attendu.")
    _check_polygon(geometry, where)
    population = record.population
    if population is not None and (isinstance(population, bool) or not isinstance(population, (int, float))
                                   or not math.isfinite(population) or not float(population).is_integer()
                                   or not 0 <= population <= MAX_POPULATION):
        raise InvalidInput.on(fields.population or "population", f"{where} : population « {population} » illisible.")
    point = geometry.point_on_surface()
    commune = territories.codes.commune_at(session, point.x, point.y)
    row.update(population=None if population is None else int(population), longitude=point.x, latitude=point.y,
               communes=sorted(set(communes) | ({commune.code} if commune else set())),
               boundary=json.dumps(record.geometry))
    return row


def _check_polygon(geometry, where: str) -> None:
    """A polygon in longitude and latitude, valid (no crossing sides, rings closed, holes inside): an invalid one
    was stored and its point, its commune and its figures were whatever GEOS made of it."""
    west, south, east, north = geometry.bounds
    if not all(math.isfinite(v) for v in geometry.bounds) or west < -180 or east > 180:
        raise InvalidInput.on("geometry", f"{where} : longitude hors de −180…180 (coordonnées en degrés WGS 84 "
                                          "attendues).")
    if south < -90 or north > 90:
        raise InvalidInput.on("geometry", f"{where} : latitude hors de −90…90 (coordonnées en degrés WGS 84 "
                                          "attendues).")
    if not geometry.is_valid:
        raise InvalidInput.on("geometry", f"{where} : polygone invalide ({explain_validity(geometry)}) ; "
                                          "corrigez-le, par exemple avec « Réparer les géométries » de QGIS.")


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
