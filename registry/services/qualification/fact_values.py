"""Reading audit facts: the current, typed value of each fact, for one venue or many at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry.eligibility import VENUE_FACTS, VenueFacts
from registry.models import AuditFact, Venue


def _typed(value_type: str, value: Any) -> Any:
    return date.fromisoformat(value) if value_type == "date" and value is not None else value


def current_values(session: Session, venue_pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The latest value of each fact, typed, for many venues in one query."""
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    pks = list(venue_pks)
    if not pks:
        return values
    rows = session.execute(select(AuditFact.venue_pk, AuditFact.name, AuditFact.value_type, AuditFact.value)
                           .where(AuditFact.venue_pk.in_(pks)).order_by(AuditFact.recorded_at, AuditFact.pk))
    for venue_pk, name, value_type, value in rows:
        values[venue_pk][name] = _typed(value_type, value)
    return values


def latest_of(session: Session, name: str, venue_pks: Select) -> dict[int, Any]:
    """The latest value of one fact, typed, for the venues whose pks ``venue_pks`` selects (a subquery: no list
    of thousands of pks sent)."""
    rows = session.execute(select(AuditFact.venue_pk, AuditFact.value_type, AuditFact.value)
                           .where(AuditFact.name == name, AuditFact.venue_pk.in_(venue_pks))
                           .order_by(AuditFact.recorded_at, AuditFact.pk))
    return {venue_pk: _typed(value_type, value) for venue_pk, value_type, value in rows}


def venue_facts(session: Session, venue: Venue, today: date | None = None) -> VenueFacts:
    """What criteria may read of one venue."""
    fields = {name: getattr(venue, name) for name in VENUE_FACTS}
    return VenueFacts(fields, current_values(session, [venue.pk]).get(venue.pk, {}), today)
