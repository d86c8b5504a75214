"""Issuing a programme's booklets and their passes in set-based writes, and reading them back for the printer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.db import bulk_insert
from registry.errors import Conflict, InvalidInput
from registry.models import Booklet, Pass, Programme
from registry.services import journal
from registry.services.context import Context
from registry.services.passes import codes

Progress = Callable[[int, int], None]
#: Passes written per statement.
BATCH = 10_000


def _silent(_done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class Issued:
    """What one issue created: booklets ``first`` … ``last`` of the programme, ``passes`` passes."""

    first: int
    last: int
    passes: int


def issued_booklets(session: Session, programme: Programme) -> int:
    """How many booklets of the programme exist."""
    return session.scalar(select(func.count()).select_from(Booklet).where(Booklet.programme_pk == programme.pk))


def issue(session: Session, programme: Programme, booklets: int, ctx: Context,
          progress: Progress = _silent) -> Issued:
    """Create ``booklets`` more booklets of the programme with their passes (at most what it ordered), each pass
    with a fresh code; one journal entry. Two issues at once: one of them fails with ``Conflict``, nothing half
    written (one transaction)."""
    already = issued_booklets(session, programme)
    if booklets < 1:
        raise InvalidInput.on("booklets", "Au moins un carnet.")
    if already + booklets > programme.booklets_ordered:
        raise InvalidInput.on("booklets", f"Le programme a commandé {programme.booklets_ordered} carnets, "
                                          f"{already} sont déjà émis : {programme.booklets_ordered - already} au "
                                          "plus.")
    first = already + 1
    numbers = range(first, first + booklets)
    per = programme.passes_per_booklet
    total = booklets * per
    try:
        bulk_insert(session, Booklet.__table__, [{"programme_pk": programme.pk, "number": n} for n in numbers])
        pks = session.execute(select(Booklet.number, Booklet.pk).where(
            Booklet.programme_pk == programme.pk, Booklet.number >= first)).all()
        booklet_pk = dict(pks)
        done = 0
        for chunk in _chunks([(booklet_pk[n], position) for n in numbers for position in range(1, per + 1)]):
            fresh = codes.new_codes(len(chunk))
            bulk_insert(session, Pass.__table__, [
                {"programme_pk": programme.pk, "booklet_pk": b, "position": p, "code": code}
                for (b, p), code in zip(chunk, fresh)])
            done += len(chunk)
            progress(done, total)
        journal.record(session, ctx.actor, "programme.issued", "programme", programme.id,
                       after={"first": first, "last": first + booklets - 1, "passes": total})
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("Une autre émission de ce programme a eu lieu en même temps : relancez-la.") from None
    return Issued(first, first + booklets - 1, total)


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def codes_of(session: Session, programme: Programme, first: int = 1, last: int | None = None
             ) -> Iterator[tuple[int, int, str]]:
    """``(booklet number, position, code)`` of the programme's passes, booklet by booklet, streamed."""
    statement = (select(Booklet.number, Pass.position, Pass.code).join(Booklet, Booklet.pk == Pass.booklet_pk)
                 .where(Pass.programme_pk == programme.pk, Booklet.number >= first)
                 .order_by(Booklet.number, Pass.position))
    if last is not None:
        statement = statement.where(Booklet.number <= last)
    yield from session.execute(statement.execution_options(yield_per=5_000))
