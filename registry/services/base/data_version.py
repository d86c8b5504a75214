"""The data version: a short digest that changes whenever what the territories' reports read changes (venues,
qualifications, audit facts, territories, priority zones). The reports computed once in the job queue (France,
large territories, the largest bands) are kept per data version and served until it changes.

Read in one statement from indexed aggregates (counts catch deletions, the latest ``updated_at`` any update);
the territories and the zones are written in bulk by the CLI, which records when (``touch``).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.models import AuditFact, DataMark, PriorityZone, Qualification, Venue, utcnow


def current(session: Session) -> str:
    """The data version now (16 hexadecimal digits)."""
    figures = select(
        select(func.count()).select_from(Venue).scalar_subquery(),
        select(func.max(Venue.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Qualification).scalar_subquery(),
        select(func.max(Qualification.updated_at)).scalar_subquery(),
        select(func.max(AuditFact.pk)).scalar_subquery(),
        select(func.count()).select_from(PriorityZone).scalar_subquery(),
        select(func.max(PriorityZone.imported_at)).scalar_subquery())
    row = session.execute(figures).one()
    marks = session.execute(select(DataMark.name, DataMark.changed_at).order_by(DataMark.name)).all()
    text = repr((tuple(str(value) for value in row), [(name, str(at)) for name, at in marks]))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def touch(session: Session, name: str) -> None:
    """Record that the reference data ``name`` changed (in the writer's transaction)."""
    session.merge(DataMark(name=name, changed_at=utcnow()))
