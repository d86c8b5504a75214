"""Itinerant venues: the national standard says only that a venue is ``Itinérant`` (its ``itinerance``), not where
it goes; the operator records its area of intervention (« zone d'intervention »: communes, EPCI, départements…),
and the venue accepts a programme's passes when that area meets the programme's perimeter
(``programmes.acceptance_flags``), as a fixed venue does when its commune lies inside."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session, aliased

from registry.errors import Forbidden, InvalidInput
from registry.models import Territory, Venue, VenueServiceArea
from registry.services import territories
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.territories import lookup

ITINERANT = "Itinérant"


def area_of(session: Session, venue_pk: int) -> list[str]:
    """The venue's area of intervention, as territory references, in order."""
    return [f"{kind}:{code}" for kind, code in session.execute(
        select(VenueServiceArea.kind, VenueServiceArea.code).where(VenueServiceArea.venue_pk == venue_pk)
        .order_by(VenueServiceArea.kind, VenueServiceArea.code))]


def set_area(session: Session, venue_id: uuid.UUID, refs: list[str], ctx: Context) -> list[str]:
    """Replace an itinerant venue's area of intervention (an empty list clears it), journaled as
    ``venue.service_area``. Only an itinerant venue has one; an operator limited to territories names only
    territories within them."""
    from registry.services.passes.programmes import _canonical_refs, within_scope

    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    if refs and ITINERANT not in (venue.itinerance or []):
        raise InvalidInput.on("territories", "Seul un lieu itinérant (itinerance : « Itinérant ») a une zone "
                                             "d'intervention.")
    area = _canonical_refs(session, refs, "territories")
    if not within_scope(session, area, ctx.scope):
        raise Forbidden(f"La zone d'intervention dépasse vos territoires ({', '.join(ctx.scope)}).")
    before = area_of(session, venue.pk)
    session.execute(delete(VenueServiceArea).where(VenueServiceArea.venue_pk == venue.pk))
    session.add_all(VenueServiceArea(venue_pk=venue.pk, kind=ref.partition(":")[0], code=ref.partition(":")[2])
                    for ref in area)
    journal.record(session, ctx.actor, "venue.service_area", "venue", venue.id, venue_pk=venue.pk,
                   before={"territories": before}, after={"territories": area})
    session.commit()
    return area_of(session, venue.pk)


def roams_into(session: Session, perimeter: tuple[str, ...]):
    """SQL condition on venues: the venue's area of intervention holds a commune of the ``perimeter``."""
    commune, served = aliased(Territory), aliased(VenueServiceArea)
    holds_commune = or_(and_(served.kind == "commune", served.code == commune.code),
                        and_(served.kind == "departement", served.code == commune.departement_code),
                        and_(served.kind == "region", served.code == commune.region_code),
                        and_(served.kind == "epci", served.code == commune.epci_code))
    return exists(select(commune.pk).join(served, holds_commune).where(
        served.venue_pk == Venue.pk, commune.kind == "commune",
        territories.scope.scope_filter(session, commune.code, perimeter)))
