"""The append-only journal: every write to venues, facts, evaluations and qualifications leaves an entry."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from registry.db import bulk_insert, text_columns
from registry.models import JournalEntry, Venue
from registry.services.journal import chain as journal_chain

_ENCODED_ENTRIES = text_columns(JournalEntry.__table__)


class JournalIsAppendOnly(RuntimeError):
    """Raised when code tries to update or delete a journal entry."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it (dates in ISO format, UUIDs as text)."""
    kind = value.__class__
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: v if v.__class__ in _PLAIN else jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if v.__class__ in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def record(session: Session, actor: str, action: str, subject_type: str, subject_id: Any,
           venue_pk: int | None = None, before: Any = None, after: Any = None) -> JournalEntry:
    """Add an entry to the session (it is committed with the write it describes)."""
    entry = JournalEntry(actor=actor, action=action, subject_type=subject_type, subject_id=str(subject_id),
                         venue_pk=venue_pk, before=jsonable(before), after=jsonable(after))
    session.add(entry)
    journal_chain.add_entry(session, entry)
    return entry


def entry_row(actor: str, action: str, subject_type: str, subject_id: Any, venue_pk: int | None = None,
              before: Any = None, after: Any = None, at: datetime | None = None, encoded_after: str | None = None
              ) -> dict[str, Any]:
    """An entry as a row for ``record_many``: the columns ``record`` writes, ``before`` and ``after`` as JSON
    text as ``journal_chain.canonical_json`` writes it (``encoded_after``: an ``after`` already encoded so, e.g. by
    an import's reading process)."""
    return {"at": at or datetime.now(UTC), "actor": actor, "action": action, "subject_type": subject_type,
            "subject_id": str(subject_id), "venue_pk": venue_pk,
            "before": None if before is None else _text(jsonable(before)),
            "after": (encoded_after if encoded_after is not None
                      else None if after is None else _text(jsonable(after)))}


def _text(value: Any) -> str:
    return journal_chain.canonical_json(value).decode("utf-8")


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many entries at once (``entry_row`` rows; ``COPY`` on PostgreSQL): the bulk form of ``record``,
    for imports. Like ``record``'s, they are sealed when the transaction commits."""
    if not rows:
        return
    for row, pk in zip(rows, journal_chain.next_pks(session, len(rows)), strict=True):
        row["pk"] = pk
    bulk_insert(session, _ENCODED_ENTRIES, rows)
    journal_chain.add_rows(session, rows)


def venue_history(session: Session, venue: Venue) -> list[JournalEntry]:
    """Every entry about a venue, newest first."""
    return list(session.scalars(select(JournalEntry).where(JournalEntry.venue_pk == venue.pk)
                                .order_by(JournalEntry.pk.desc())))


@event.listens_for(JournalEntry, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise JournalIsAppendOnly("journal entries cannot be updated")


@event.listens_for(JournalEntry, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise JournalIsAppendOnly("journal entries cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is JournalEntry:
        raise JournalIsAppendOnly("journal entries cannot be updated or deleted")
