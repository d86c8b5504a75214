"""A pass at the venue: is it valid here, today; redeem it once, ever; cancel a redemption within 24 hours.

Every wrong code (malformed, a wrong check character, unknown) gets one and the same answer, so that answers
tell nothing to whoever tries codes; the API and the pages also limit how many codes a client and a venue may
check. A pass is redeemed once, ever, whatever the number of concurrent attempts: the database's unique index
``ux_pass_redemptions_live`` lets one redemption of a pass stand, and the others fail on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.models import Pass, Programme, Redemption, Venue, utcnow
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.passes import codes, programmes
from registry.services.passes.days import next_month
from registry.services.territories import lookup
from registry.wording import paris_time

UNKNOWN_CODE = "Code inconnu : vérifiez chaque caractère (le dernier est une clé de contrôle)."
CANCEL_WINDOW = timedelta(hours=24)
MAX_DURATION = 600


class PassRefused(Conflict):
    """A pass that exists but cannot be redeemed here, today: ``reason`` is a stable code, ``detail`` French."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, {"code": [detail]})
        self.reason = reason


@dataclass(frozen=True)
class Verdict:
    """What checking a code at a venue says: valid or not, and why, with what a venue may see of the pass."""

    valid: bool
    reason: str | None
    message: str
    programme: Programme
    last_day: date


def find(session: Session, text: str) -> tuple[Pass, Programme]:
    """The pass of a typed or scanned code and its programme; ``NotFound`` with one message for every wrong
    code."""
    code = codes.normalise(text or "")
    found = session.execute(select(Pass, Programme).join(Programme, Programme.pk == Pass.programme_pk)
                            .where(Pass.code == code)).first() if code else None
    if found is None:
        raise NotFound(UNKNOWN_CODE, {"code": [UNKNOWN_CODE]})
    return found[0], found[1]


def _live(session: Session, pass_: Pass) -> Redemption | None:
    return session.scalar(select(Redemption).where(Redemption.pass_pk == pass_.pk,
                                                   Redemption.cancelled_at.is_(None)))


def _refusal(session: Session, pass_: Pass, programme: Programme, venue: Venue, day: date) -> PassRefused | None:
    used = _live(session, pass_)
    if used is not None:
        where = "dans ce lieu" if used.venue_pk == venue.pk else "dans un autre lieu"
        return PassRefused("used", f"Ce pass a déjà été utilisé le {paris_time(used.redeemed_at)}, {where}.")
    if day < programme.valid_from:
        return PassRefused("not_yet_valid", f"Ce pass n'est valable qu'à partir du "
                                            f"{programme.valid_from.strftime('%d/%m/%Y')}.")
    if day > programmes.last_valid_day(programme):
        return PassRefused("expired", f"Ce pass n'est plus valable depuis le "
                                      f"{programmes.last_valid_day(programme).strftime('%d/%m/%Y')} (fin de "
                                      "validité et délai de tolérance passés).")
    reason = programmes.refusal_at(session, programme, venue, day)
    return PassRefused("not_accepted_here", reason) if reason else None


def check(session: Session, text: str, venue_id: uuid.UUID, ctx: Context) -> Verdict:
    """Whether the pass of code ``text`` can be redeemed at the venue today (nothing is written)."""
    venue = acting_venue(session, venue_id, ctx)
    pass_, programme = find(session, text)
    refusal = _refusal(session, pass_, programme, venue, ctx.day())
    if refusal is not None:
        return Verdict(False, refusal.reason, refusal.detail, programme, programmes.last_valid_day(programme))
    return Verdict(True, None, f"Pass valable ici aujourd'hui : {programme.face_value_cents / 100:.2f} €".replace(
        ".", ",") + f", programme « {programme.name} » ({programme.commanditaire_name}).", programme,
        programmes.last_valid_day(programme))


def acting_venue(session: Session, venue_id: uuid.UUID, ctx: Context) -> Venue:
    """The venue the actor acts for: a venue's member their own only (``Forbidden`` otherwise), an operator
    any within their scope."""
    if ctx.venue_pk is not None:
        venue = session.get(Venue, ctx.venue_pk)
        if venue is None or venue.id != venue_id:
            raise Forbidden("Vous n'agissez que pour votre lieu.")
        return venue
    return lookup.venue_by_id(session, venue_id, ctx.scope)


def redeem(session: Session, text: str, venue_id: uuid.UUID, service: str, duration_minutes: int,
           ctx: Context, services: tuple[str, ...]) -> Redemption:
    """Redeem the pass of code ``text`` at the venue for ``service`` (one of ``services``, the catalogue), once,
    ever: ``PassRefused`` says why not, in French; journaled."""
    if service not in services:
        raise InvalidInput.on("service", "Service hors du catalogue des services payables en pass.")
    if not 1 <= duration_minutes <= MAX_DURATION:
        raise InvalidInput.on("duration_minutes", f"Durée attendue entre 1 et {MAX_DURATION} minutes.")
    venue = acting_venue(session, venue_id, ctx)
    pass_, programme = find(session, text)
    now = utcnow()
    day = ctx.day()
    refusal = _refusal(session, pass_, programme, venue, day)
    if refusal is not None:
        raise refusal
    redemption = Redemption(pass_pk=pass_.pk, programme_pk=programme.pk, venue_pk=venue.pk, service=service,
                            duration_minutes=duration_minutes, redeemed_at=now,
                            redeemed_on=day, redeemed_by=ctx.actor)
    session.add(redemption)
    try:
        session.flush()
        journal.record(session, ctx.actor, "pass.redeemed", "pass_redemption", redemption.id, venue_pk=venue.pk,
                       after={"programme": programme.name, "service": service,
                              "duration_minutes": duration_minutes, "face_value_cents": programme.face_value_cents})
        session.commit()
    except IntegrityError:  # another redemption of this pass won the race: the unique index refused ours
        session.rollback()
        raise _refusal(session, pass_, programme, venue, day) or PassRefused(
            "used", "Ce pass vient d'être utilisé.") from None
    return redemption


def cancel(session: Session, redemption_id: uuid.UUID, reason: str, ctx: Context) -> Redemption:
    """Cancel a redemption within 24 hours, by its venue (or an operator), saying why; the pass may then be
    redeemed again. Conditional: a redemption already cancelled, on a statement, or too old is left alone."""
    if not (reason or "").strip():
        raise InvalidInput.on("reason", "Motif obligatoire pour annuler un encaissement.")
    redemption = session.scalar(select(Redemption).where(Redemption.id == redemption_id))
    if redemption is None or (ctx.venue_pk is not None and redemption.venue_pk != ctx.venue_pk):
        raise NotFound(f"Aucun encaissement {redemption_id}.")
    if ctx.venue_pk is None:
        lookup.venue_by_id(session, session.get(Venue, redemption.venue_pk).id, ctx.scope)
    now = utcnow()
    changed = session.execute(
        update(Redemption).where(Redemption.pk == redemption.pk, Redemption.cancelled_at.is_(None),
                                 Redemption.statement_pk.is_(None), Redemption.redeemed_at > now - CANCEL_WINDOW)
        .values(cancelled_at=now, cancelled_by=ctx.actor, cancel_reason=reason.strip())
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        session.rollback()
        session.refresh(redemption)
        if redemption.cancelled_at is not None:
            raise Conflict("Cet encaissement est déjà annulé.")
        if redemption.statement_pk is not None:
            raise Conflict("Cet encaissement figure sur un relevé : il ne peut plus être annulé.")
        raise Conflict("Un encaissement ne peut être annulé que dans les 24 heures.")
    journal.record(session, ctx.actor, "pass.redemption_cancelled", "pass_redemption", redemption.id,
                   venue_pk=redemption.venue_pk, after={"reason": reason.strip()})
    session.commit()
    session.refresh(redemption)
    return redemption


def redemptions_of(session: Session, venue_pk: int, month: date | None = None) -> list[tuple[Redemption, Programme]]:
    """A venue's redemptions (of ``month``, when given), newest first, with their programme."""
    statement = (select(Redemption, Programme).join(Programme, Programme.pk == Redemption.programme_pk)
                 .where(Redemption.venue_pk == venue_pk).order_by(Redemption.redeemed_at.desc()))
    if month is not None:
        statement = statement.where(Redemption.redeemed_on >= month, Redemption.redeemed_on < next_month(month))
    return [(r, p) for r, p in session.execute(statement.limit(5_000))]


def months_of(session: Session, venue_pk: int) -> list[tuple[date, int, int]]:
    """The months a venue redeemed passes in, the latest first: ``(first day, redemptions standing, cancelled)``."""
    rows = session.execute(select(Redemption.redeemed_on, Redemption.cancelled_at.is_(None))
                           .where(Redemption.venue_pk == venue_pk)).all()
    months: dict[date, list[int]] = {}
    for day, live in rows:
        counts = months.setdefault(day.replace(day=1), [0, 0])
        counts[0 if live else 1] += 1
    return [(month, live, cancelled) for month, (live, cancelled) in sorted(months.items(), reverse=True)]
