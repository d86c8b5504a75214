"""Finding a venue by id, and the records about venues (reports, proposals), within the actor's territory scope."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from registry.errors import Forbidden, NotFound
from registry.models import Venue
from registry.services import territories


def venue_by_id(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> Venue:
    """One venue by id, or ``NotFound``; ``Forbidden`` when it lies outside ``scope``."""
    venue = session.scalar(select(Venue).where(Venue.id == venue_id))
    if venue is None:
        raise NotFound(f"Aucun lieu {venue_id}.")
    if not territories.scope.in_scope(session, venue.commune_code, scope):
        raise Forbidden(f"Ce lieu est hors de votre périmètre ({', '.join(scope)}).")
    return venue


def venue_records(session: Session, model: Any, scope: tuple[str, ...] = (), *, status: str | None = None,
                  venue_id: uuid.UUID | None = None) -> Select:
    """The rows of ``model`` (a record about a venue: ``venue_pk``, ``venue``, ``status``, ``created_at``) whose
    venue lies within ``scope``, with that ``status`` and of that venue when given, oldest first."""
    statement = (select(model).join(Venue, Venue.pk == model.venue_pk).options(joinedload(model.venue))
                 .where(*territories.scope.venue_filters(session, Venue.commune_code, None, scope)))
    if status:
        statement = statement.where(model.status == status)
    if venue_id:
        statement = statement.where(Venue.id == venue_id)
    return statement.order_by(model.created_at, model.pk)
