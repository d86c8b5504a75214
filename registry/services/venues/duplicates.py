"""Duplicate venues across datasets: candidates for operators (same France services matricule, same SIRET nearby,
similar names within ~100 m, same address), pairs dismissed as « pas un doublon », and the merge that keeps every
source record and the journal."""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geodata.distances import haversine_m
from registry.errors import Conflict, InvalidInput
from registry.models import DuplicateDismissal, JournalEntry, Qualification, Venue
from registry.services import territories
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.qualification import qualifications
from registry.services.territories import communes, lookup
from registry.services.territories.communes import simplified
from registry.statuses import PublicationStatus

NAME_DISTANCE_M = 100.0
PIVOT_DISTANCE_M = 1000.0
NAME_SIMILARITY = 85
#: ~167 m north-south, ≥ 105 m east-west up to 51° N: venues within 100 m are in the 3 × 3 spots around a venue.
SPOT_DEGREES = 0.0015
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
    #: Where the venue is drawn: its own point, its address's, or its commune's (``position_precision``).
    placed_lon: float | None = None
    placed_lat: float | None = None
    precision: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "origin": self.origin, "origin_id": self.origin_id, "nom": self.nom,
                "adresse": self.adresse, "code_postal": self.code_postal, "commune": self.commune,
                "pivot": self.pivot, "longitude": self.lon, "latitude": self.lat}


@dataclass
class Candidate:
    """Two venues of different datasets that may be one place, with the reasons and a score out of 100."""

    first: VenueBrief
    second: VenueBrief
    reasons: list[str] = field(default_factory=list)
    score: int = 0
    distance_m: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "raisons": self.reasons, "distance_m": self.distance_m,
                "lieux": [self.first.as_json(), self.second.as_json()]}


@dataclass
class Crowd:
    """Too many venues at one address or one spot to pair them one by one (a head office's address given for every
    site, a point defaulted to the town hall): named for a look apart, never expanded into pairs."""

    reason: str
    venues: int
    sample: list[VenueBrief]

    def as_json(self) -> dict[str, Any]:
        return {"raison": self.reason, "lieux": self.venues, "exemples": [b.as_json() for b in self.sample]}


@dataclass
class Scan:
    """The candidate pairs (best first) and the crowds left apart."""

    candidates: list[Candidate]
    crowds: list[Crowd]


#: A group (one address, one 100 m spot) larger than this is reported as a crowd, not as its n² pairs.
MAX_GROUP = 40
#: A France services matricule in a source id: a regional file's ``fs-123`` / ``france-services-123`` /
#: ``matricule 123`` (the dataset ``france-services`` names it too), or the id itself in a dataset whose ids are
#: matricules (``MATRICULE_ID``).
_MATRICULE = re.compile(r"(?i)(?:^|[^a-z0-9])(?:fs|france[-_ ]?services?|matricule)[-_: ]*0*(\d{1,6})$")
MATRICULE_ID = re.compile(r"^0*(\d{1,6})$")


def france_services_matricule(origin: str, origin_id: str | None, matricule_ids: bool = False) -> str | None:
    """The France services matricule a venue's source id carries, if any (``matricule_ids``: the venue's
    dataset was read by an importer whose ids are matricules, whatever its name)."""
    if matricule_ids and (found := MATRICULE_ID.match((origin_id or "").strip())):
        return found.group(1)
    found = _MATRICULE.search(f"{origin} {origin_id or ''}".strip())
    return found.group(1) if found else None


def matricule_datasets(session: Session) -> set[str]:
    """The datasets an importer whose ids are France services matricules has read (the journal's
    ``import.finished`` entries say, with the import's format)."""
    found = set()
    for after in session.scalars(select(JournalEntry.after).where(JournalEntry.subject_type == "import",
                                                                  JournalEntry.action == "import.finished")):
        if isinstance(after, dict) and (after.get("matricules_france_services") or after.get("format") ==
                                        "france-services") and after.get("jeu_de_donnees"):
            found.add(after["jeu_de_donnees"])
    return found


def _briefs(session: Session, ctx: Context, territory: str | None) -> list[VenueBrief]:
    statement = select(Venue.pk, Venue.id, Venue.origin, Venue.origin_id, Venue.nom, Venue.adresse,
                       Venue.code_postal, Venue.commune, Venue.pivot, Venue.longitude, Venue.latitude,
                       func.ST_X(Venue.geom), func.ST_Y(Venue.geom), Venue.position_precision).where(
        Venue.merged_into_pk.is_(None))
    for condition in territories.scope.venue_filters(session, Venue.commune_code, territory, ctx.scope):
        statement = statement.where(condition)
    return [VenueBrief(*row) for row in session.execute(statement)]


class _Pairing:
    """The pairs found so far, keyed by their venues' pks, and the crowds left apart."""

    def __init__(self, dismissed: set[tuple[int, int]]) -> None:
        self.dismissed = dismissed
        self.pairs: dict[tuple[int, int], Candidate] = {}
        self.crowds: list[Crowd] = []

    def consider(self, a: VenueBrief, b: VenueBrief, reason: str, score: int) -> None:
        """Add ``reason`` to the pair ``a``, ``b`` (unless one dataset or dismissed); a second reason adds 5."""
        key = (min(a.pk, b.pk), max(a.pk, b.pk))
        if a.origin == b.origin or a.pk == b.pk or key in self.dismissed:
            return
        first, second = (a, b) if a.pk < b.pk else (b, a)
        candidate = self.pairs.setdefault(key, Candidate(first, second, distance_m=_distance(a, b)))
        if reason not in candidate.reasons:
            candidate.reasons.append(reason)
            candidate.score = min(100, max(candidate.score, score) + (5 if len(candidate.reasons) > 1 else 0))

    def crowded(self, group: list[VenueBrief], reason: str) -> bool:
        """Whether the group is too large to pair (then listed apart, when it mixes datasets)."""
        if len(group) <= MAX_GROUP:
            return False
        if len({b.origin for b in group}) > 1:
            self.crowds.append(Crowd(reason, len(group), sorted(group, key=lambda b: b.pk)[:5]))
        return True

    def pair_up(self, group: list[VenueBrief], reason: str,
                test: Callable[[VenueBrief, VenueBrief], None]) -> None:
        """Run ``test`` on every two venues of a group mixing datasets, unless it is a crowd."""
        if len({b.origin for b in group}) < 2 or self.crowded(group, reason):
            return
        for index, brief in enumerate(group):
            for other in group[index + 1:]:
                test(brief, other)

    def scan(self) -> Scan:
        """The pairs best first, the crowds largest first."""
        return Scan(sorted(self.pairs.values(), key=lambda c: (-c.score, c.first.pk, c.second.pk)),
                    sorted(self.crowds, key=lambda c: -c.venues))


def candidates(session: Session, ctx: Context, territory: str | None = None) -> Scan:
    """Likely duplicates among the venues in ``territory`` (and the actor's scope), best first: pairs from
    different datasets (the same ``source`` may come in two files) with the same France services matricule, the
    same SIRET within 1 km, similar names within 100 m or the same address; pairs an operator dismissed are left
    out. Work stays bounded: groups larger than ``MAX_GROUP`` are reported as crowds."""
    briefs = _briefs(session, ctx, territory)
    dismissed = {tuple(row) for row in
                 session.execute(select(DuplicateDismissal.first_pk, DuplicateDismissal.second_pk))}
    pairing = _Pairing(dismissed)
    _same_matricule(pairing, briefs, matricule_datasets(session))
    _same_pivot(pairing, briefs)
    _similar_names(pairing, briefs)
    _same_address(pairing, briefs)
    return pairing.scan()


def _same_matricule(pairing: _Pairing, briefs: list[VenueBrief], matricule_ids: set[str]) -> None:
    """Pairs with the same France services matricule (``matricule_ids``: datasets whose ids are matricules)."""
    by_matricule: dict[str, list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        if (matricule := france_services_matricule(brief.origin, brief.origin_id,
                                                   brief.origin in matricule_ids)) is not None:
            by_matricule[matricule].append(brief)
    for matricule, group in by_matricule.items():
        pairing.pair_up(group, f"matricule France services {matricule}",
                        lambda a, b, m=matricule: pairing.consider(a, b, f"même matricule France services {m}", 95))


def _same_pivot(pairing: _Pairing, briefs: list[VenueBrief]) -> None:
    """Pairs with the same SIRET within 1 km, where each venue is placed (its own point, its address's or its
    commune's: a venue without coordinates is still compared, at its commune's point, and the reason says so)."""
    by_pivot: dict[str, list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        if brief.pivot and brief.pivot not in PLACEHOLDER_PIVOTS and brief.placed_lon is not None:
            by_pivot[brief.pivot].append(brief)

    def near(a: VenueBrief, b: VenueBrief) -> None:
        distance = round(float(haversine_m(a.placed_lon, a.placed_lat, b.placed_lon, b.placed_lat)), 1)
        if distance <= PIVOT_DISTANCE_M:
            approximate = " (position approximative)" if communes.AT_COMMUNE in (a.precision, b.precision) else ""
            pairing.consider(a, b, f"même SIRET/RNA {a.pivot} à {distance:.0f} m{approximate}", 90)

    for pivot, group in by_pivot.items():
        pairing.pair_up(group, f"SIRET/RNA {pivot}", near)


def _similar_names(pairing: _Pairing, briefs: list[VenueBrief]) -> None:
    """Pairs with similar names within 100 m, looked for in the 3 × 3 spots around each venue's (a crowded spot
    is left apart and not looked into from its neighbours)."""
    names = {brief.pk: simplified(brief.nom) for brief in briefs}
    spots: dict[tuple[int, int], list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        if brief.lon is not None:
            spots[_spot(brief)].append(brief)
    for (x, y), members in spots.items():
        if pairing.crowded(members, f"plus de {MAX_GROUP} lieux à moins de {NAME_DISTANCE_M:.0f} m"):
            continue
        around = [other for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                  if len(spots.get((x + dx, y + dy), ())) <= MAX_GROUP for other in spots.get((x + dx, y + dy), ())]
        for brief in members:
            for other in around:
                _compare_names(pairing, brief, other, names)


def _compare_names(pairing: _Pairing, brief: VenueBrief, other: VenueBrief, names: dict[int, str]) -> None:
    """Pair ``brief`` with a later venue of another dataset within 100 m whose simplified name is close."""
    if other.pk > brief.pk and other.origin != brief.origin \
            and (distance := _distance(brief, other)) <= NAME_DISTANCE_M:
        similarity = fuzz.token_set_ratio(names[brief.pk], names[other.pk])
        if similarity >= NAME_SIMILARITY:
            pairing.consider(brief, other, f"noms proches ({similarity:.0f} %) à {distance:.0f} m", int(similarity))


def _same_address(pairing: _Pairing, briefs: list[VenueBrief]) -> None:
    """Pairs at the same simplified address and postcode."""
    by_address: dict[tuple[str, str], list[VenueBrief]] = defaultdict(list)
    for brief in briefs:
        address = simplified(brief.adresse or "")
        if address:
            by_address[(address, brief.code_postal)].append(brief)
    for (_address, postcode), group in by_address.items():
        pairing.pair_up(group, f"même adresse ({group[0].adresse}, {postcode})",
                        lambda a, b: pairing.consider(a, b, "même adresse", 80))


def _spot(brief: VenueBrief) -> tuple[int, int]:
    return math.floor(brief.lon / SPOT_DEGREES), math.floor(brief.lat / SPOT_DEGREES)


def _distance(a: VenueBrief, b: VenueBrief) -> float | None:
    if a.lon is None or b.lon is None:
        return None
    return round(float(haversine_m(a.lon, a.lat, b.lon, b.lat)), 1)


def dismiss(session: Session, first_id: uuid.UUID, second_id: uuid.UUID, reason: str | None,
            ctx: Context) -> DuplicateDismissal:
    """Record that two venues are not one place (« pas un doublon »): the pair is never proposed again; both
    journals say so. ``Conflict`` when the pair was already dismissed."""
    if first_id == second_id:
        raise InvalidInput.on("other", "Un lieu ne peut pas être écarté comme doublon de lui-même.")
    venues = sorted((lookup.venue_by_id(session, first_id, ctx.scope), lookup.venue_by_id(session, second_id,
                                                                                             ctx.scope)),
                    key=lambda v: v.pk)
    if session.get(DuplicateDismissal, (venues[0].pk, venues[1].pk)) is not None:
        raise Conflict("Cette paire est déjà écartée (« pas un doublon »).")
    dismissal = DuplicateDismissal(first_pk=venues[0].pk, second_pk=venues[1].pk, reason=reason, actor=ctx.actor)
    session.add(dismissal)
    session.flush()
    for venue, other in (venues, venues[::-1]):
        journal.record(session, ctx.actor, "venue.duplicate_dismissed", "venue", venue.id, venue.pk,
                       after={"pas_un_doublon_de": other.id, "raison": reason})
    session.commit()
    return dismissal


def merge(session: Session, keep_id: uuid.UUID, duplicate_id: uuid.UUID, ctx: Context) -> Venue:
    """Merge ``duplicate_id`` into ``keep_id``: the duplicate stays (unpublished, pointing to the kept venue) with
    its source id, so later imports of its source still find it; both journals say so."""
    if keep_id == duplicate_id:
        raise InvalidInput.on("duplicate", "Un lieu ne peut pas être fusionné avec lui-même.")
    keep = lookup.venue_by_id(session, keep_id, ctx.scope)
    duplicate = lookup.venue_by_id(session, duplicate_id, ctx.scope)
    # Both rows locked, in pk order, then read again: two merges A→B and B→A at once cannot both pass the check
    # below (PostgreSQL: FOR UPDATE; SQLite: the write transaction began IMMEDIATE, writers take turns).
    session.execute(select(Venue.pk).where(Venue.pk.in_([keep.pk, duplicate.pk])).order_by(Venue.pk)
                    .with_for_update())
    session.refresh(keep)
    session.refresh(duplicate)
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
    duplicate.publication_status = PublicationStatus.UNPUBLISHED
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
