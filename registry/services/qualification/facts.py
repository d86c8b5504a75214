"""Audit facts: typed values recorded by auditors with their evidence; never overwritten."""

from __future__ import annotations

import math
import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.eligibility import Fact
from registry.errors import InvalidInput
from registry.models import AuditFact
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.qualification import fact_values, qualifications
from registry.services.territories import lookup

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
    if fact.choices and value not in dict(fact.choices):
        raise InvalidInput.on("value", f"{fact.label} : l'une des valeurs {', '.join(c for c, _ in fact.choices)} "
                                       "est attendue.")
    return value


def record(session: Session, venue_id: uuid.UUID, name: str, value: Any, evidence: str | None,
           ctx: Context) -> AuditFact:
    """Record a new value of an audit fact that some criteria set declares; held qualifications are reviewed."""
    return record_many(session, venue_id, {name: (value, evidence)}, ctx)[0]


def record_many(session: Session, venue_id: uuid.UUID, values: dict[str, tuple[Any, str | None]],
                ctx: Context) -> list[AuditFact]:
    """Record several facts of a venue at once (``name -> (value, evidence)``): all or none (the first wrong
    value raises ``InvalidInput`` naming the fact, nothing written); held qualifications reviewed once."""
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    declared = ctx.catalogue.audit_facts()
    previous = fact_values.current_values(session, [venue.pk]).get(venue.pk, {})
    rows = []
    for name, (value, evidence) in values.items():
        fact = declared.get(name)
        if fact is None:
            raise InvalidInput.on("name", f"Fait inconnu : {name}. Faits possibles : {', '.join(sorted(declared))}.")
        rows.append(AuditFact(venue_pk=venue.pk, name=name, value_type=fact.type, value=coerce(fact, value),
                              recorded_by=ctx.actor, evidence=(evidence or "").strip() or None))
    for row in rows:
        session.add(row)
        journal.record(session, ctx.actor, "fact.recorded", "venue", venue.id, venue.pk,
                       before={row.name: previous.get(row.name)}, after={row.name: row.value, "evidence": row.evidence})
    session.flush()
    flagged = qualifications.review_held(session, venue, ctx)
    session.commit()
    qualifications.notify(ctx, flagged, "needs_review")
    return rows


def history(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> list[AuditFact]:
    """Every fact recorded on a venue, newest first."""
    venue = lookup.venue_by_id(session, venue_id, scope)
    return list(session.scalars(select(AuditFact).where(AuditFact.venue_pk == venue.pk)
                                .order_by(AuditFact.recorded_at.desc(), AuditFact.pk.desc())))


def latest(history: list[AuditFact]) -> dict[str, AuditFact]:
    """The current row of each fact, from a history ordered newest first (as ``history`` returns it)."""
    current: dict[str, AuditFact] = {}
    for row in history:
        current.setdefault(row.name, row)
    return current
