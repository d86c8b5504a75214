"""Venues whose commune is « à confirmer »: an import kept them (a postcode serving several communes, nothing else
saying which) with their candidate communes, unpublished, off the map, the searches, the open data and the
coverage. An operator confirms one of the candidates (or ``registry geocode`` places the venue at its address in
one of them); the venue is then placed, published, and the decision journaled."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from registry import spatial
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleRevision
from registry.models import Venue
from registry.plugins import notify_venue_changed
from registry.services import territories
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.territories import communes
from registry.statuses import PublicationStatus

#: The status an uncertain venue is kept in until its commune is confirmed (never published before).
HELD = PublicationStatus.DRAFT


@dataclass
class UncertainPlace:
    """A venue of the work list and the communes it may lie in (``(code, name)``)."""

    venue: Venue
    candidates: list[tuple[str, str]]

    def as_json(self) -> dict:
        venue = self.venue
        return {"id": str(venue.id), "nom": venue.nom, "adresse": venue.adresse, "code_postal": venue.code_postal,
                "commune": venue.commune, "origin": venue.origin, "origin_id": venue.origin_id,
                "revision": venue.revision,
                "communes_candidates": [{"code_insee": code, "nom": name} for code, name in self.candidates]}


def _in_scope(session: Session, venue: Venue, scope: tuple[str, ...]) -> bool:
    return any(territories.scope.in_scope(session, code, scope) for code in venue.commune_candidates or [])


def listing(session: Session, ctx: Context) -> list[UncertainPlace]:
    """The venues whose commune is to be confirmed, within the actor's territories (one of their candidate
    communes in it), oldest first. Only held venues are read (the work list, not the registry)."""
    lookup = communes.DatabaseLookup(session)
    found = []
    for venue in session.scalars(select(Venue).where(Venue.publication_status == HELD,
                                                     Venue.merged_into_pk.is_(None)).order_by(Venue.pk)):
        if venue.commune_candidates and _in_scope(session, venue, ctx.scope):
            found.append(UncertainPlace(venue, [(code, commune.name if (commune := lookup.commune(code)) else code)
                                                for code in venue.commune_candidates]))
    return found


def confirm(session: Session, ctx: Context, venue_id: uuid.UUID, code: str) -> Venue:
    """Confirm the venue's commune (one of its candidates, within the actor's territories): the venue is placed
    (its own point, else its commune's), published, and the decision journaled (``venue.commune_confirmed``)."""
    venue = session.scalar(select(Venue).where(Venue.id == venue_id))
    if venue is None:
        raise NotFound(f"Aucun lieu {venue_id}.")
    if not venue.commune_candidates and not territories.scope.in_scope(session, venue.commune_code, ctx.scope):
        raise Forbidden(f"Ce lieu est hors de votre périmètre ({', '.join(ctx.scope)}).")
    if not venue.commune_candidates:
        raise Conflict("La commune de ce lieu n'est pas à confirmer (déjà confirmée, ou jamais incertaine).")
    if code not in venue.commune_candidates:
        raise InvalidInput.on("code_insee", f"{code} n'est pas une des communes possibles de ce lieu : "
                                            f"{', '.join(venue.commune_candidates)}.")
    if not territories.scope.in_scope(session, code, ctx.scope):
        raise Forbidden(f"Cette commune est hors de votre périmètre ({', '.join(ctx.scope)}).")
    commune = communes.DatabaseLookup(session).commune(code)
    if commune is None:
        raise InvalidInput.on("code_insee", f"Commune {code} inconnue du référentiel.")
    settle(session, ctx, venue, commune, "venue.commune_confirmed", {"par": ctx.actor})
    return venue


def settle(session: Session, ctx: Context, venue: Venue, commune: communes.Commune, action: str,
           said: dict, point: tuple[float, float] | None = None) -> None:
    """Give the venue its commune (and the geocoder's ``point``, at its address, when given), publish it when it
    was held for this, journal it and commit. ``StaleRevision`` when the venue changed meanwhile."""
    before = {"commune_candidates": venue.commune_candidates, "commune_code": None,
              "publication_status": venue.publication_status}
    venue.commune_code, venue.code_insee = commune.code, commune.code
    venue.commune = venue.commune or commune.name
    placed = (*point, communes.AT_ADDRESS) if point and venue.longitude is None else \
        communes.placement(venue.longitude, venue.latitude, commune)
    venue.geom = spatial.point_value(*placed[:2]) if placed else None
    venue.position_precision = placed[2] if placed else None
    venue.commune_candidates = None
    if venue.publication_status == HELD and venue.merged_into_pk is None:
        venue.publication_status = PublicationStatus.PUBLISHED
    try:
        session.flush()  # a new revision, conditional on the one read (the mapper's version counter)
    except StaleDataError:
        session.rollback()
        raise StaleRevision("Le lieu a été modifié entre-temps : relisez la liste.") from None
    journal.record(session, ctx.actor, action, "venue", venue.id, venue.pk, before=before,
                   after={"commune_code": commune.code, "commune": venue.commune, "code_insee": commune.code,
                          "position_precision": venue.position_precision,
                          "publication_status": venue.publication_status, "revision": venue.revision, **said})
    session.commit()
    notify_venue_changed(ctx.plugins, venue, "updated", ctx.actor)
