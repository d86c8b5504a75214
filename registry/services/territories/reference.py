"""Territories' reference: loading the INSEE reference (communes, EPCI, départements, régions, postcodes) and
importing boundaries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from shapely.ops import unary_union
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from geodata.boundaries import BoundaryFileError, as_multipolygon, read_boundaries
from geodata.distances import farthest_km
from geodata.reference import (
    KIND_LABELS,
    REFERENCE_DIR,
    read_aliases,
    read_commune_points,
    read_territories,
    reference_version,
)
from registry.models import CommuneAlias, Postcode, Territory
from registry.services.base import data_version
from registry.services.base.progress import Progress, no_progress
from registry.services.territories.codes import BATCH, forget_lookups


@dataclass
class ReferenceReport:
    """What ``load_reference`` did."""

    version: str
    counts: dict[str, int]
    created: int
    updated: int
    placed: int = 0  # communes given their reference point (those with an imported boundary keep theirs)
    unplaced: list[str] = field(default_factory=list)  # communes the reference has no point for


def _place_communes(session: Session, directory: Path, progress: Progress) -> tuple[int, list[str]]:
    """Give every commune without an imported boundary the reference point of ``commune_points.csv``."""
    points = {p.code: p for p in read_commune_points(directory)}
    rows, unplaced = [], []
    for pk, code, has_boundary in session.execute(select(Territory.pk, Territory.code, Territory.boundary.is_not(None))
                                                  .where(Territory.kind == "commune")):
        point = points.get(code)
        if point is None:
            unplaced.append(code)
        elif not has_boundary:
            rows.append({"pk": pk, "reference_point": from_shape(Point(point.lon, point.lat), srid=4326),
                         "radius_km": point.radius_km})
    for start in range(0, len(rows), BATCH):
        session.execute(update(Territory), rows[start:start + BATCH])
        progress(min(start + BATCH, len(rows)), len(rows))
    return len(rows), sorted(unplaced)


def load_reference(session: Session, directory: Path = REFERENCE_DIR,
                   progress: Progress = no_progress) -> ReferenceReport:
    """Insert or update every territory of the reference (idempotent; boundaries are kept)."""
    records = list(read_territories(directory))
    populations: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        if r.kind == "commune":
            populations["departement", r.departement_code] += r.population or 0
            if r.region_code:
                populations["region", r.region_code] += r.population or 0
    existing = {(kind, code): pk for pk, kind, code in session.execute(
        select(Territory.pk, Territory.kind, Territory.code))}
    inserts, updates, counts = [], [], defaultdict(int)
    for r in records:
        counts[r.kind] += 1
        row = {"kind": r.kind, "code": r.code, "name": r.name,
               "population": r.population if r.population is not None else populations.get((r.kind, r.code), 0),
               "region_code": r.region_code, "departement_code": r.departement_code, "epci_code": r.epci_code,
               "epci_type": r.epci_type}
        if (r.kind, r.code) in existing:
            updates.append({"pk": existing[r.kind, r.code], **row})
        else:
            inserts.append(row)
    for rows, statement in ((inserts, insert(Territory)), (updates, update(Territory))):
        for start in range(0, len(rows), BATCH):
            session.execute(statement, rows[start:start + BATCH])
            progress(min(start + BATCH, len(records)), len(records))
    session.execute(delete(Postcode))
    session.execute(insert(Postcode), [{"postcode": p, "commune_code": r.code} for r in records
                                       if r.kind == "commune" for p in set(r.postcodes)])
    session.execute(delete(CommuneAlias))
    session.execute(insert(CommuneAlias), [{"code": a.code, "commune_code": a.commune_code, "nature": a.nature}
                                           for a in read_aliases(directory)])
    placed, unplaced = _place_communes(session, directory, progress)
    data_version.touch(session)
    session.commit()
    forget_lookups()
    return ReferenceReport(reference_version(directory), dict(counts), len(inserts), len(updates), placed, unplaced)


@dataclass
class BoundaryReport:
    """What ``import_boundaries`` did, code by code where something needs the user's attention."""

    kind: str
    features: int = 0
    matched: int = 0
    reconstructed: dict[str, list[str]] = field(default_factory=dict)  # current code -> former codes merged in
    unmatched: list[tuple[str, str | None]] = field(default_factory=list)  # (code, name) unknown to the reference
    still_missing: list[str] = field(default_factory=list)  # territories of the file's scope left without boundary


def _detect_kind(path: Path, codes: list[str]) -> str:
    lengths = {len(code) for code in codes}
    if lengths == {5}:
        return "commune"
    if lengths == {9}:
        return "epci"
    name = path.name.lower()
    for kind in ("region", "departement"):
        if kind in name:
            return kind
    raise BoundaryFileError(f"{path} : type de territoire indéterminé, précisez --kind "
                            "(commune, epci, departement ou region)")


def import_boundaries(session: Session, path: Path, kind: str | None = None,
                      progress: Progress = no_progress) -> BoundaryReport:
    """Set the boundaries (and a reference point on their surface) of the territories a GeoJSON file holds.

    Idempotent. Commune codes that the reference no longer has but that designate a current commune (former
    communes merged since, municipal arrondissements) are merged into that commune's boundary; codes that
    designate nothing are reported.
    """
    boundaries = list(read_boundaries(path))
    kind = kind or _detect_kind(path, [b.code for b in boundaries])
    if kind not in KIND_LABELS:
        raise BoundaryFileError(f"type de territoire inconnu : {kind}")
    report = BoundaryReport(kind=kind, features=len(boundaries))
    known = dict(session.execute(select(Territory.code, Territory.pk).where(Territory.kind == kind)).all())
    if not known:
        raise BoundaryFileError("référentiel des territoires vide : lancez d'abord « registry territories load »")
    aliases = dict(session.execute(select(CommuneAlias.code, CommuneAlias.commune_code)).all()) \
        if kind == "commune" else {}
    parts: dict[str, list] = defaultdict(list)
    former: dict[str, list[str]] = defaultdict(list)
    for boundary in boundaries:
        if boundary.code in known:
            parts[boundary.code].append(boundary.geometry)
        elif aliases.get(boundary.code) in known:
            target = aliases[boundary.code]
            parts[target].append(boundary.geometry)
            former[target].append(boundary.code)
        else:
            report.unmatched.append((boundary.code, boundary.name))
    rows = []
    for code, geometries in parts.items():
        geometry = as_multipolygon(unary_union(geometries)) if len(geometries) > 1 else geometries[0]
        point = geometry.point_on_surface()
        rows.append({"pk": known[code], "boundary": from_shape(geometry, srid=4326),
                     "reference_point": from_shape(point, srid=4326),
                     "radius_km": farthest_km(point.x, point.y, geometry) if kind == "commune" else None})
        if code in former:
            report.reconstructed[code] = sorted(former[code])
    for start in range(0, len(rows), 1000):
        session.execute(update(Territory), rows[start:start + 1000])
        progress(min(start + 1000, len(rows)), len(rows))
    report.matched = len(rows)
    data_version.touch(session)
    if kind == "commune" and rows:
        departements = select(Territory.departement_code).where(Territory.code.in_(list(parts))).distinct()
        report.still_missing = list(session.scalars(
            select(Territory.code).where(Territory.kind == "commune", Territory.boundary.is_(None),
                                         Territory.departement_code.in_(departements)).order_by(Territory.code)))
    session.commit()
    forget_lookups()
    return report
