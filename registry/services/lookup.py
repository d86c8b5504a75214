"""Finding a venue by id, within the actor's territory scope."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import Forbidden, NotFound
from registry.models import Venue
from registry.services import territories


def venue_by_id(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> Venue:
    """One venue by id, or ``NotFound``; ``Forbidden`` when it lies outside ``scope``."""
    venue = session.scalar(select(Venue).where(Venue.id == venue_id))
    if venue is None:
        raise NotFound(f"Aucun lieu {venue_id}.")
    if not territories.in_scope(session, venue.commune_code, scope):
        raise Forbidden(f"Ce lieu est hors de votre périmètre ({', '.join(scope)}).")
    return venue
