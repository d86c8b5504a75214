"""Duplicate venues across sources: candidates for operators (same SIRET nearby, similar names within ~100 m,
same address), and the merge that keeps every source record and the journal."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from geodata.distances import haversine_m
from registry.errors import Conflict, InvalidInput
from registry.models import Qualification, Venue
from registry.services import journal, lookup, qualifications, territories
from registry.services.context import Context
from registry.services.communes import simplified

NAME_DISTANCE_M = 100.0
PIVOT_DISTANCE_M = 1000.0
NAME_SIMILARITY = 85
CELL_DEGREES = 0.01  # ~1.1 km north-south: neighbours are in the 3 × 3 cells around a venue
PLACEHOLDER_PIVOTS = frozenset({"0" * 14, "0" * 9})


@dataclass(frozen=True)
class VenueBrief:
    """What an operator needs to compare two venues."""

    pk: int
    id: uuid.UUID
    origin: str
    origin_id: str | None
    nom: str
    adresse: str
    code_postal: str
    commune: str
    pivot: str | None
    lon: float | None
    lat: float | None

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "origin": self.origin, "origin_id": self.origin_id, "nom": self.nom,
                "adresse": self.adresse, "code_postal": self.code_postal, "commune": self.commune,
                "pivot": self.pivot, "longitude": self.lon, "latitude": self.lat}


@dataclass
class Candidate:
    """Two venues of different sources that may be one place, with the reasons and a score out of 100."""

    first: VenueBrief
    second: VenueBrief
    reasons: list[str] = field(default_factory=list)
    score: int = 0
    distance_m: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "raisons": self.reasons, "distance_m": self.distance_m,
                "lieux": [self.first.as_json(), self.second.as_json()]}


def _briefs(session: Session, ctx: Context, territory: str | None) -> list[VenueBrief]:
    statement = select(Venue.pk, Venue.id, Venue.origin, Venue.origin_id, Venue.nom, Venue.adresse,
                       Venue.code_postal, Venue.commune, Venue.pivot, Venue.longitude, Venue.latitude).where(
        Venue.merged_into_pk.is_(None))
    for condition in territories.venue_filters(session, Venue.commune_code, territory, ctx.scope):
        statement = statement.where(condition)
    return [VenueBrief(*row) for row in session.execute(statement)]


def candidates(session: Session, ctx: Context, territory: str | None = None) -> list[Candidate]:
    """Likely duplicates among the venues in ``territory`` (and the actor's scope), best first."""
    briefs = _briefs(session, ctx, territory)
    pairs: dict[tuple[int, int], Candidate] = {}

    def consider(a: VenueBrief, b: VenueBrief, reason: str, score: int) -> None:
        if a.origin == b.origin or a.pk == b.pk:
            return
        key = (min(a.pk, b.pk), max(a.pk, b.pk))
        first, second = (a, b) if a.pk < b.pk else (b, a)
        candidate = pairs.setdefault(key, Candidate(first, second, distance_m=_distance(a, b)))
        if reason not in candidate.reasons:
            candidate.reasons.append(reason)
            candidate.score = min(100, max(candidate.score, score) + (5 if len(candidate.reasons) > 1 else 0))

    cells: dict[tuple[int, int], list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        if brief.lon is not None:
            cells[_cell(brief)].append(brief)
    names = {brief.pk: simplified(brief.nom) for brief in briefs}
    for brief in briefs:
        if brief.lon is None:
            continue
        x, y = _cell(brief)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for other in cells.get((x + dx, y + dy), ()):
                    if other.pk <= brief.pk or other.origin == brief.origin:
                        continue
                    distance = _distance(brief, other)
                    if brief.pivot and brief.pivot == other.pivot and brief.pivot not in PLACEHOLDER_PIVOTS \
                            and distance <= PIVOT_DISTANCE_M:
                        consider(brief, other, f"même SIRET/RNA {brief.pivot} à {distance:.0f} m", 90)
                    if distance <= NAME_DISTANCE_M:
                        similarity = fuzz.token_set_ratio(names[brief.pk], names[other.pk])
                        if similarity >= NAME_SIMILARITY:
                            consider(brief, other, f"noms proches ({similarity:.0f} %) à {distance:.0f} m",
                                     int(similarity))
    by_address: dict[tuple[str, str], list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        address = simplified(brief.adresse or "")
        if address:
            by_address[(address, brief.code_postal)].append(brief)
    for group in by_address.values():
        for index, brief in enumerate(group):
            for other in group[index + 1:]:
                consider(brief, other, "même adresse", 80)
    return sorted(pairs.values(), key=lambda c: (-c.score, c.first.pk, c.second.pk))


def _cell(brief: VenueBrief) -> tuple[int, int]:
    return math.floor(brief.lon / CELL_DEGREES), math.floor(brief.lat / CELL_DEGREES)


def _distance(a: VenueBrief, b: VenueBrief) -> float | None:
    if a.lon is None or b.lon is None:
        return None
    return round(float(haversine_m(a.lon, a.lat, b.lon, b.lat)), 1)


def merge(session: Session, keep_id: uuid.UUID, duplicate_id: uuid.UUID, ctx: Context) -> Venue:
    """Merge ``duplicate_id`` into ``keep_id``: the duplicate stays (unpublished, pointing to the kept venue) with
    its source id, so later imports of its source still find it; both journals say so."""
    if keep_id == duplicate_id:
        raise InvalidInput.on("duplicate", "Un lieu ne peut pas être fusionné avec lui-même.")
    keep = lookup.venue_by_id(session, keep_id, ctx.scope)
    duplicate = lookup.venue_by_id(session, duplicate_id, ctx.scope)
    for venue in (keep, duplicate):
        if venue.merged_into_pk is not None:
            raise Conflict(f"Le lieu {venue.id} est déjà fusionné dans un autre.")
    held = session.scalar(select(Qualification.criteria_set).where(
        Qualification.venue_pk == duplicate.pk, Qualification.status.in_(qualifications.HELD)).limit(1))
    if held:
        raise Conflict(f"Le doublon détient une qualification {held} : décidez-en avant la fusion "
                       "(ou fusionnez dans l'autre sens).", {"duplicate": ["Qualification en cours."]})
    before = {"publication_status": duplicate.publication_status, "merged_into": None}
    duplicate.merged_into_pk = keep.pk
    duplicate.publication_status = "unpublished"
    session.flush()
    journal.record(session, ctx.actor, "venue.merged", "venue", duplicate.id, duplicate.pk, before=before,
                   after={"publication_status": "unpublished", "merged_into": keep.id, "revision": duplicate.revision})
    journal.record(session, ctx.actor, "venue.absorbed", "venue", keep.id, keep.pk,
                   after={"duplicate": duplicate.id, "origin": duplicate.origin, "origin_id": duplicate.origin_id})
    session.commit()
    return keep


def sources_of(session: Session, venue: Venue) -> list[dict[str, Any]]:
    """The venue's own source id and those of the duplicates merged into it."""
    rows = session.execute(select(Venue.id, Venue.origin, Venue.origin_id).where(Venue.merged_into_pk == venue.pk)
                           .order_by(Venue.pk))
    return [{"id": venue.id, "origin": venue.origin, "origin_id": venue.origin_id}] + [
        {"id": venue_id, "origin": origin, "origin_id": origin_id} for venue_id, origin, origin_id in rows]
