"""Issuing a programme's booklets and their passes in set-based writes, and reading them back for the printer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.db import bulk_insert
from registry.errors import Conflict, InvalidInput
from registry.models import Booklet, Pass, Programme
from registry.services.base.context import Context
from registry.services.base.progress import Progress, no_progress
from registry.services.journal import journal
from registry.services.passes import codes

#: Passes written per statement, about (whole booklets: a batch never splits one).
BATCH = 10_000


@dataclass(frozen=True)
class Issued:
    """What one issue created: booklets ``first`` … ``last`` of the programme, ``passes`` passes."""

    first: int
    last: int
    passes: int


def issued_booklets(session: Session, programme: Programme) -> int:
    """How many booklets of the programme exist."""
    return session.scalar(select(func.count()).select_from(Booklet).where(Booklet.programme_pk == programme.pk))


def check_room(session: Session, programme: Programme, booklets: int) -> int:
    """The number of the first of ``booklets`` more booklets, if the programme ordered that many more
    (``InvalidInput`` otherwise)."""
    already = issued_booklets(session, programme)
    if booklets < 1:
        raise InvalidInput.on("booklets", "Au moins un carnet.")
    if already + booklets > programme.booklets_ordered:
        raise InvalidInput.on("booklets", f"Le programme a commandé {programme.booklets_ordered} carnets, "
                                          f"{already} sont déjà émis : {programme.booklets_ordered - already} au "
                                          "plus.")
    return already + 1


def reserve(session: Session, programme: Programme, booklets: int, ctx: Context) -> Issued:
    """Number ``booklets`` more booklets of the programme (at most what it ordered) and journal the issue, in the
    session's transaction (the caller commits): their passes come with ``fill``. Two issues at once: one of them
    fails with ``Conflict`` on the booklets' unique numbers."""
    first = check_room(session, programme, booklets)
    try:
        bulk_insert(session, Booklet.__table__, [{"programme_pk": programme.pk, "number": n}
                                                 for n in range(first, first + booklets)])
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("Une autre émission de ce programme a eu lieu en même temps : relancez-la.") from None
    issued = Issued(first, first + booklets - 1, booklets * programme.passes_per_booklet)
    journal.record(session, ctx.actor, "programme.issued", "programme", programme.id,
                   after={"first": issued.first, "last": issued.last, "passes": issued.passes})
    return issued


def fill(session: Session, programme: Programme, first: int, last: int, progress: Progress = no_progress,
         commit_each: bool = False) -> int:
    """Give booklets ``first`` … ``last`` that have none their passes, each with a fresh code, ``BATCH`` passes
    a statement; ``commit_each``: commit every batch, a booklet always with all its passes (the job queue's
    way: resumed after a kill, it fills only the booklets left empty). Returns the passes written."""
    per = programme.passes_per_booklet
    empty = list(session.scalars(
        select(Booklet.pk).where(Booklet.programme_pk == programme.pk, Booklet.number.between(first, last),
                                 ~select(Pass.pk).where(Pass.booklet_pk == Booklet.pk).exists())
        .order_by(Booklet.number)))
    total, done = (last - first + 1) * per, (last - first + 1 - len(empty)) * per
    if commit_each:
        session.commit()  # (on SQLite, the progress is written by another session: the lock must be free)
    progress(done, total)
    step = max(1, BATCH // per)
    for group in (empty[i:i + step] for i in range(0, len(empty), step)):
        chunk = [(b, position) for b in group for position in range(1, per + 1)]
        bulk_insert(session, Pass.__table__, [
            {"programme_pk": programme.pk, "booklet_pk": b, "position": p, "code": code}
            for (b, p), code in zip(chunk, codes.new_codes(len(chunk)), strict=True)])
        if commit_each:
            session.commit()
        done += len(chunk)
        progress(done, total)
    return len(empty) * per


def issue(session: Session, programme: Programme, booklets: int, ctx: Context,
          progress: Progress = no_progress) -> Issued:
    """Create ``booklets`` more booklets of the programme with their passes, in one transaction."""
    issued = reserve(session, programme, booklets, ctx)
    fill(session, programme, issued.first, issued.last, progress)
    session.commit()
    return issued


def codes_of(session: Session, programme: Programme, first: int = 1, last: int | None = None
             ) -> Iterator[tuple[int, int, str]]:
    """``(booklet number, position, code)`` of the programme's passes, booklet by booklet, streamed."""
    statement = (select(Booklet.number, Pass.position, Pass.code).join(Booklet, Booklet.pk == Pass.booklet_pk)
                 .where(Pass.programme_pk == programme.pk, Booklet.number >= first)
                 .order_by(Booklet.number, Pass.position))
    if last is not None:
        statement = statement.where(Booklet.number <= last)
    yield from session.execute(statement.execution_options(yield_per=5_000))
