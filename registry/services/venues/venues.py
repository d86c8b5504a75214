"""Venues: create, update (optimistic concurrency on the revision), publish, read and list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geodata.france import area_of
from registry import hours, spatial, standard
from registry.errors import Conflict, Forbidden, InvalidInput, StaleRevision
from registry.models import Venue
from registry.plugins import notify_venue_changed
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.findings import WARNING, Finding
from registry.services.base.pagination import Page, paginate
from registry.services.journal import journal
from registry.services.qualification import qualifications
from registry.services.territories import communes, lookup
from registry.statuses import PublicationStatus

STANDARD_FIELDS = standard.VENUE_FIELDS
LIST_FIELDS = standard.LIST_FIELDS
PUBLICATION_STATUSES = tuple(PublicationStatus)
#: An update date before this one is a placeholder (1970-01-01, 1900-01-01…), not a real date.
OLDEST_DATE_MAJ = date(1990, 1, 1)
#: The origin of the demonstration's fictional venues (``services.demo``), which siting never proposes.
DEMO_ORIGIN = "demo"


@dataclass
class WriteResult:
    """A venue just written and the warnings its input raised."""

    venue: Venue
    warnings: list[Finding] = field(default_factory=list)


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical spellings, deduplicated lists, stripped strings, phone in international format."""
    clean: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip() or None
        if name in LIST_FIELDS:
            values = [v.strip() for v in value or [] if v and v.strip()]
            if name in standard.VOCABULARIES:
                values = [standard.canonical_value(name, v) or v for v in values]
            value = list(dict.fromkeys(values))
        elif name == "telephone" and value:
            value = standard.normalise_phone(value) or value
        elif name == "pivot" and value:
            value = value.replace(" ", "")
        elif name == "closures":
            value = sorted(value or [], key=lambda c: (c["from"], c["to"])) or None
        clean[name] = value
    return clean


def date_maj_problem(value: date, today: date) -> str | None:
    """Why an update date cannot be trusted (a placeholder, or in the future), or ``None``."""
    if value < OLDEST_DATE_MAJ:
        return f"Date de mise à jour {value.strftime('%d/%m/%Y')} antérieure à 1990 : date de remplissage, non reprise."
    if value > today:
        return f"Date de mise à jour {value.strftime('%d/%m/%Y')} dans le futur : non reprise."
    return None


def hours_problem(value: str | None) -> str | None:
    """Why opening hours will not be read (not OpenStreetMap ``opening_hours`` syntax), or ``None``."""
    if value and not hours.parses(value):
        return ("Horaires hors de la syntaxe OpenStreetMap (opening_hours) : gardés tels quels, mais ni l'ouverture "
                "ni le volume hebdomadaire ne pourront en être lus.")
    return None


def _check_point(lon: float | None, lat: float | None) -> None:
    if lon is None or lat is None or area_of(lon, lat):
        return
    hint = " Latitude et longitude semblent inversées." if area_of(lat, lon) else ""
    raise InvalidInput(
        f"Point ({lat}, {lon}) hors de France et de ses territoires d'outre-mer.{hint}",
        {"latitude": [f"Point hors de France et de ses territoires d'outre-mer.{hint}"],
         "longitude": [f"Point hors de France et de ses territoires d'outre-mer.{hint}"]},
    )


def _locate(session: Session, venue: Venue, explicit_insee: bool) -> list[Finding]:
    """Resolve the commune from ``code_insee`` (or from the point when boundaries are loaded)."""
    with session.no_autoflush:
        return _resolve_location(session, venue, explicit_insee)


def _resolve_location(session: Session, venue: Venue, explicit_insee: bool) -> list[Finding]:
    """The commune through the resolver the imports use; an unknown INSEE code is refused (an import sets it
    aside), the point decides when nothing else does and boundaries are loaded."""
    warnings: list[Finding] = []
    _check_point(venue.longitude, venue.latitude)
    point = (venue.longitude, venue.latitude) if venue.longitude is not None and venue.latitude is not None else None
    boundaries = point is not None and territories.codes.has_boundaries(session)
    resolution = communes.resolve(communes.DatabaseLookup(session), venue.code_insee, venue.code_postal,
                                  venue.commune, point, hints=(venue.adresse, venue.nom), nearest=not boundaries)
    if resolution.unknown_code:
        raise InvalidInput.on("code_insee", f"Code INSEE {venue.code_insee} inconnu du référentiel des communes.")
    for finding in resolution.findings:
        if finding.field != "code_insee" or explicit_insee or not venue.code_insee:
            warnings.append(Finding(WARNING, finding.field, None, finding.message))
    commune = resolution.commune
    if commune is None and boundaries:
        found = territories.codes.commune_at(session, venue.longitude, venue.latitude)
        if found is None:
            warnings.append(Finding(WARNING, "latitude", None,
                                    "Aucune commune ne contient ce point : commune non déterminée."))
        else:
            commune = communes.Commune(found.code, found.name, found.departement_code, found.region_code,
                                       found.epci_code)
            warnings.append(Finding(WARNING, "code_insee", None, f"Commune déduite du point (limites communales) : "
                                                       f"{commune.code} ({commune.name})."))
    if commune is None and not venue.commune:
        among = ", ".join(f"{c.name} ({c.code})" for c in resolution.candidates)
        raise InvalidInput.on("commune", f"Le code postal {venue.code_postal} dessert plusieurs communes ({among}) : "
                                         "précisez commune ou code_insee." if among else
                                         "Champ obligatoire (ou code_insee, ou des coordonnées dans une commune).")
    venue.commune_code = commune.code if commune else None
    if commune is not None:
        venue.code_insee = resolution.code_insee or commune.code
        venue.commune = venue.commune or commune.name
    current = None
    if venue.position_precision == communes.AT_ADDRESS and venue.geom is not None:
        shape = to_shape(venue.geom)
        current = (shape.x, shape.y, communes.AT_ADDRESS)
    placed = communes.placement(venue.longitude, venue.latitude, commune, current)
    venue.geom = spatial.point_value(*placed[:2]) if placed else None
    venue.position_precision = placed[2] if placed else None
    if placed and placed[2] == communes.AT_COMMUNE:
        warnings.append(Finding(WARNING, "latitude", None, f"Sans coordonnées : lieu placé au point de référence de "
                                                 f"{commune.name} (position approximative)."))
    return warnings


def _check_values(venue: Venue, today: date) -> list[Finding]:
    """The rules an import applies to the same values: an untrustworthy date is refused, unreadable hours
    are kept with a warning."""
    problem = date_maj_problem(venue.date_maj, today)
    if problem:
        raise InvalidInput.on("date_maj", problem)
    for closure in venue.closures or []:
        if problem := hours.closure_problem(closure):
            raise InvalidInput.on("closures", problem)
    problem = hours_problem(venue.horaires)
    return [Finding(WARNING, "horaires", None, problem)] if problem else []


def _snapshot(venue: Venue, names) -> dict[str, Any]:
    return {name: getattr(venue, name) for name in names}


def create(session: Session, data: dict[str, Any], ctx: Context) -> WriteResult:
    """Record a new venue (``draft`` unless ``publication_status`` says ``published``)."""
    data = normalise(data)
    venue = Venue(id=uuid.uuid4(), origin=data.pop("origin", None) or "registry",
                  origin_id=data.pop("origin_id", None),
                  publication_status=data.pop("publication_status", None) or PublicationStatus.DRAFT)
    for name in LIST_FIELDS:
        setattr(venue, name, [])
    for name, value in data.items():
        setattr(venue, name, value)
    venue.date_maj = venue.date_maj or ctx.day()
    warnings = _check_values(venue, ctx.day()) + _locate(session, venue, explicit_insee=bool(data.get("code_insee")))
    if not territories.scope.in_scope(session, venue.commune_code, ctx.scope):
        raise Forbidden(f"Ce lieu serait hors de votre périmètre ({', '.join(ctx.scope)}).")
    if venue.origin_id and session.scalar(select(Venue.pk).where(Venue.origin == venue.origin,
                                                                 Venue.origin_id == venue.origin_id)):
        raise Conflict(f"Un lieu de la source {venue.origin} a déjà l'identifiant {venue.origin_id}.",
                       {"origin_id": ["Déjà utilisé pour cette source."]})
    session.add(venue)
    try:
        session.flush()
        journal.record(session, ctx.actor, "venue.created", "venue", venue.id, venue.pk,
                       after=_snapshot(venue, STANDARD_FIELDS + ("origin", "origin_id", "publication_status")))
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("Lieu en double pour cette source.", {"origin_id": ["Déjà utilisé pour cette source."]}) from exc
    notify_venue_changed(ctx.plugins, venue, "created", ctx.actor)
    return WriteResult(venue, warnings)


def get(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> Venue:
    """One venue by id, within ``scope`` (the public view of a venue is ``search.public_venue``)."""
    return lookup.venue_by_id(session, venue_id, scope)


def by_pks(session: Session, pks: set[int]) -> dict[int, Venue]:
    """Venues by primary key (for lists that hold keys, such as the fraud signals), no scope applied."""
    return {v.pk: v for v in session.scalars(select(Venue).where(Venue.pk.in_(pks)))} if pks else {}


def update(session: Session, venue_id: uuid.UUID, changes: dict[str, Any], expected_revision: int,
           ctx: Context) -> WriteResult:
    """Apply ``changes`` to the venue if it is still at ``expected_revision``; a real change makes a new revision.

    ``date_maj`` becomes today unless the changes set it. Nothing is written when the changes change nothing.
    The venue's held qualifications are re-evaluated on the new revision (``qualifications.review_held``).
    """
    venue = get(session, venue_id, scope=ctx.scope)
    if venue.revision != expected_revision:
        raise StaleRevision(f"Le lieu est à la révision {venue.revision}, pas {expected_revision} : "
                            "relisez-le avant de le modifier.")
    changes = normalise(changes)
    changed = {name: value for name, value in changes.items() if getattr(venue, name) != value}
    if not changed:
        return WriteResult(venue)
    before = _snapshot(venue, list(changed) + (["date_maj"] if "date_maj" not in changed else []))
    for name, value in changed.items():
        setattr(venue, name, value)
    if "date_maj" not in changed:
        venue.date_maj = ctx.day()
    try:
        warnings = _check_values(venue, ctx.day()) + _locate(session, venue, explicit_insee="code_insee" in changed)
        if not territories.scope.in_scope(session, venue.commune_code, ctx.scope):
            raise Forbidden(f"Ce lieu serait hors de votre périmètre ({', '.join(ctx.scope)}).")
        session.flush()
        journal.record(session, ctx.actor, "venue.updated", "venue", venue.id, venue.pk, before=before,
                       after={**_snapshot(venue, before), "revision": venue.revision})
        flagged = qualifications.review_held(session, venue, ctx)
        session.commit()
    except StaleDataError:
        session.rollback()
        raise StaleRevision("Le lieu a été modifié entre-temps : relisez-le avant de le modifier.") from None
    except Exception:
        session.rollback()
        raise
    notify_venue_changed(ctx.plugins, venue, "updated", ctx.actor)
    qualifications.notify(ctx, flagged, "needs_review")
    return WriteResult(venue, warnings)


def set_publication_status(session: Session, venue_id: uuid.UUID, status: str, ctx: Context) -> Venue:
    """Publish or unpublish a venue (a new revision; nothing is deleted)."""
    if status not in PUBLICATION_STATUSES:
        raise InvalidInput.on("publication_status", f"Statut inconnu : {status}.")
    venue = get(session, venue_id, scope=ctx.scope)
    if venue.merged_into_pk is not None and status == PublicationStatus.PUBLISHED:
        raise Conflict("Ce lieu a été fusionné dans un autre : publiez le lieu conservé.")
    if venue.commune_candidates and status == PublicationStatus.PUBLISHED:
        raise Conflict("La commune de ce lieu est à confirmer : confirmez-la d'abord (il sera alors publié).",
                       {"code_insee": ["Commune à confirmer parmi : " + ", ".join(venue.commune_candidates) + "."]})
    if venue.publication_status != status:
        before = venue.publication_status
        venue.publication_status = status
        try:
            session.flush()
            journal.record(session, ctx.actor, f"venue.{status}", "venue", venue.id, venue.pk,
                           before={"publication_status": before},
                           after={"publication_status": status, "revision": venue.revision})
            session.commit()
        except StaleDataError:
            session.rollback()
            raise StaleRevision("Le lieu a été modifié entre-temps.") from None
        notify_venue_changed(ctx.plugins, venue, status, ctx.actor)
    return venue


def list_venues(session: Session, *, page: int = 1, per_page: int = 20, q: str | None = None,
                territory: str | None = None, publication_status: str | None = None, origin: str | None = None,
                updated_since: datetime | None = None, scope: tuple[str, ...] = ()) -> Page:
    """Venues matching the filters (and within ``scope`` when given), by name then id."""
    statement = select(Venue).where(*territories.scope.venue_filters(session, Venue.commune_code, territory, scope))
    if publication_status:
        statement = statement.where(Venue.publication_status == publication_status)
    if origin:
        statement = statement.where(Venue.origin == origin)
    if updated_since:
        statement = statement.where(Venue.updated_at >= updated_since)
    if q:
        pattern = f"%{q.lower()}%"
        statement = statement.where(or_(func.lower(Venue.nom).like(pattern), func.lower(Venue.commune).like(pattern)))
    return paginate(session, statement.order_by(Venue.nom, Venue.pk), page, per_page)
