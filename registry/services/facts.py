"""Audit facts: typed values recorded by auditors with their evidence; never overwritten."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.eligibility import VENUE_FACTS, Fact, VenueFacts
from registry.errors import InvalidInput
from registry.models import AuditFact, Venue
from registry.services import venues

TYPE_LABELS = {"boolean": "un booléen (true ou false)", "integer": "un entier positif ou nul",
               "number": "un nombre positif ou nul", "string": "un texte non vide",
               "date": "une date AAAA-MM-JJ", "list": "une liste de textes"}


def coerce(fact: Fact, value: Any) -> Any:
    """``value`` checked against the fact's type, as stored (JSON); ``InvalidInput`` on field ``value``."""
    ok = False
    if fact.type == "boolean":
        ok = isinstance(value, bool)
    elif fact.type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif fact.type == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    elif fact.type == "string":
        ok = isinstance(value, str) and 0 < len(value.strip()) <= 500
        value = value.strip() if ok else value
    elif fact.type == "date":
        try:
            ok = isinstance(value, str) and date.fromisoformat(value).isoformat() == value
        except ValueError:
            ok = False
    elif fact.type == "list":
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    if not ok:
        raise InvalidInput.on("value", f"{fact.label} : {TYPE_LABELS[fact.type]} est attendu.")
    return value


def _typed(value_type: str, value: Any) -> Any:
    return date.fromisoformat(value) if value_type == "date" and value is not None else value


def record(session: Session, venue_id: uuid.UUID, name: str, value: Any, evidence: str | None, actor: str,
           declared: dict[str, Fact]) -> AuditFact:
    """Record a new value of an audit fact that some criteria set declares."""
    venue = venues.get(session, venue_id)
    fact = declared.get(name)
    if fact is None:
        raise InvalidInput.on("name", f"Fait inconnu : {name}. Faits possibles : {', '.join(sorted(declared))}.")
    row = AuditFact(venue_pk=venue.pk, name=name, value_type=fact.type, value=coerce(fact, value),
                    recorded_by=actor, evidence=(evidence or "").strip() or None)
    session.add(row)
    session.commit()
    return row


def history(session: Session, venue_id: uuid.UUID) -> list[AuditFact]:
    """Every fact recorded on a venue, newest first."""
    venue = venues.get(session, venue_id)
    return list(session.scalars(select(AuditFact).where(AuditFact.venue_pk == venue.pk)
                                .order_by(AuditFact.recorded_at.desc(), AuditFact.pk.desc())))


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


def venue_facts(session: Session, venue: Venue, today: date | None = None) -> VenueFacts:
    """What criteria may read of one venue."""
    fields = {name: getattr(venue, name) for name in VENUE_FACTS}
    return VenueFacts(fields, current_values(session, [venue.pk]).get(venue.pk, {}), today)
