"""The data version: one counter that changes with every write of what the public and the reports read (venues,
qualifications, audit facts, territories, priority zones). It keys every view computed once and kept: the
reports of the job queue (France, large territories, the largest bands), the map's clusters and low-zoom tiles
(``read_model.kept_view``).

Each change adds a row to ``public_changes`` in the writer's transaction (``touch``): the public read model's
every refresh (``read_model.refresh``: venues, qualifications, imports), audit facts written by the ORM, and the
territories and zones the CLI loads in bulk. The version is the latest row's key, read from the primary key's
index (``current``); when it changed (``changed_at``) says how old a kept view of the previous version may be.

Nothing reads older rows: the versions kept views are keyed on are values, not references. ``prune`` drops the
rows older than ``RETENTION`` but the latest (the counter must never go back: SQLite would reuse a key), in the
worker's map-views job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from registry.models import AuditFact, PublicChange, utcnow

#: How long the rows of the change log are kept (for people looking at when the data changed; nothing reads them).
RETENTION = timedelta(days=1)
#: ``Session.info`` keys: a change flushed in the current transaction, a change committed (``committed_change``).
_PENDING, _COMMITTED = "registry.data_changed", "registry.data_committed"


def current(session: Session) -> str:
    """The data version now (its change's key, as text)."""
    return str(session.execute(select(func.max(PublicChange.pk))).scalar() or 0)


def changed_at(session: Session) -> tuple[str, datetime | None]:
    """The data version now and when it changed (``None``: never)."""
    latest = session.execute(select(PublicChange.pk, PublicChange.at).order_by(PublicChange.pk.desc())
                             .limit(1)).first()
    return (str(latest.pk), latest.at) if latest is not None else ("0", None)


def touch(session: Session) -> None:
    """Record a change of the data (in the writer's transaction): a new version once it commits."""
    session.connection().execute(insert(PublicChange.__table__).values(at=utcnow()))
    session.info[_PENDING] = True


def committed_change(session: Session) -> bool:
    """Whether ``session`` committed a change of the data since the last call (then forgotten): the web layer
    and the worker then ask the job queue to compute the new version's views."""
    return bool(session.info.pop(_COMMITTED, False))


def prune(session: Session, now: datetime | None = None) -> int:
    """Drop the change log's rows older than ``RETENTION``, always keeping the latest (in the session's
    transaction): how many."""
    latest = session.execute(select(func.max(PublicChange.pk))).scalar()
    if latest is None:
        return 0
    horizon = (now or utcnow()) - RETENTION
    return session.execute(delete(PublicChange).where(PublicChange.pk < latest, PublicChange.at < horizon)
                           ).rowcount or 0


@event.listens_for(Session, "after_flush")
def _facts(session: Session, _context) -> None:
    """Audit facts written through the ORM change the data (the reports read them); imports write theirs with
    their venues, whose refresh records the change."""
    if any(isinstance(item, AuditFact) for item in session.new):
        touch(session)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)
