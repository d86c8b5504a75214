"""End of validity, per programme: an alert 30 days before ``valid_until`` (on the dashboard and mailed to the
programme's ``alert_email``), prescribers stopped from handing out booklets ``handout_block_days`` (15) days
before (``distribution.hand_out`` refuses), passes refused after the end plus the tolerance (``redemption``), then
a closing statement: what was issued, handed out, used and unused, and the credit due on the unused passes at face
value.

``run`` is safe to run every hour: each alert and each closing statement is recorded once (a unique key on
``programme_events``), a mail that failed (or had no address yet) is tried again on the next run, until the
passes' last valid day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import InvalidInput
from registry.models import Programme, ProgrammeEvent, utcnow
from registry.services.base.context import Context
from registry.services.journal import journal
from registry.services.passes import programmes, usage
from registry.wording import french_number

Mailer = Callable[[str, str, str], None]  # (to, subject, body); raises on failure


def closing_figures(session: Session, programme: Programme) -> dict[str, Any]:
    """The closing statement's figures: booklets and passes issued, handed out, used, unused, and the credit due
    on the unused passes at face value."""
    s = usage.summary(session, programme)
    return {"programme": programme.name, "commanditaire": programme.commanditaire_name,
            "valid_until": programme.valid_until.isoformat(),
            "last_valid_day": programmes.last_valid_day(programme).isoformat(),
            "face_value_cents": programme.face_value_cents, "booklets_ordered": s.booklets_ordered,
            "booklets_issued": s.issued, "booklets_given": s.given, "booklets_handed_out": s.handed_out,
            "booklets_not_handed_out": s.not_handed_out, "booklets_started": s.started,
            "booklets_used_up": s.used_up, "passes_issued": s.passes_issued, "passes_used": s.passes_used,
            "passes_unused": s.unused_passes, "used_cents": s.used_cents,
            "credit_cents": s.unused_passes * programme.face_value_cents}


def alert_figures(session: Session, programme: Programme) -> dict[str, Any]:
    """What the alert says: the booklets issued, given to prescribers, not handed out, started."""
    s = usage.summary(session, programme)
    end = usage.end_of_validity(programme, programme.valid_until)
    return {"programme": programme.name, "valid_until": programme.valid_until.isoformat(),
            "blocked_from": end.blocked_from.isoformat(), "last_valid_day": end.last_valid_day.isoformat(),
            "booklets_issued": s.issued, "booklets_given": s.given, "booklets_handed_out": s.handed_out,
            "booklets_not_handed_out": s.not_handed_out, "booklets_started": s.started}


def alert_text(figures: dict[str, Any]) -> tuple[str, str]:
    """The alert's subject and body, in French."""
    day = lambda iso: date.fromisoformat(iso).strftime("%d/%m/%Y")  # noqa: E731
    n = french_number
    subject = (f"Pass numérique : fin de validité du programme « {figures['programme']} » "
               f"le {day(figures['valid_until'])}")
    body = (f"Bonjour,\n\nLes pass du programme « {figures['programme']} » ne sont plus valables après le "
            f"{day(figures['valid_until'])} (tolérance jusqu'au {day(figures['last_valid_day'])}).\n"
            f"Les prescripteurs ne pourront plus remettre de carnets à partir du {day(figures['blocked_from'])}.\n\n"
            f"Carnets émis : {n(figures['booklets_issued'])}\n"
            f"Carnets confiés aux prescripteurs : {n(figures['booklets_given'])}\n"
            f"Carnets remis aux bénéficiaires : {n(figures['booklets_handed_out'])}\n"
            f"Carnets non remis : {n(figures['booklets_not_handed_out'])}\n"
            f"Carnets entamés (au moins un pass utilisé) : {n(figures['booklets_started'])}\n\n"
            "Ce message est envoyé une seule fois par le registre des lieux du Pass numérique.\n")
    return subject, body


@dataclass
class Report:
    """What one run did."""

    alerts: list[str] = field(default_factory=list)
    closings: list[str] = field(default_factory=list)
    mailed: list[str] = field(default_factory=list)
    mail_errors: list[str] = field(default_factory=list)


def _record(session: Session, programme: Programme, kind: str, figures: dict[str, Any], ctx: Context) -> bool:
    """Record the event once: ``False`` when it already was (the unique key decides, whoever runs at once)."""
    if session.scalar(select(ProgrammeEvent.pk).where(ProgrammeEvent.programme_pk == programme.pk,
                                                      ProgrammeEvent.kind == kind)) is not None:
        return False
    session.add(ProgrammeEvent(programme_pk=programme.pk, kind=kind, figures=figures,
                               mailed_to=programme.alert_email if kind == "alert" else None))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    journal.record(session, ctx.actor, "programme.alerted" if kind == "alert" else "programme.closed", "programme",
                   programme.id, after=figures)
    session.commit()
    return True


def run(session: Session, ctx: Context, mailer: Mailer | None = None) -> Report:
    """Alerts due, closing statements due, and the alerts' mails not yet sent, on ``ctx.day()``."""
    day = ctx.day()
    report = Report()
    for programme in programmes.all_programmes(session):
        end = usage.end_of_validity(programme, day)
        if end.alert_on <= day <= end.valid_until and _record(session, programme, "alert",
                                                               alert_figures(session, programme), ctx):
            report.alerts.append(programme.name)
        if end.expired and _record(session, programme, "closing", closing_figures(session, programme), ctx):
            report.closings.append(programme.name)
    pending = session.execute(select(ProgrammeEvent, Programme).join(Programme, Programme.pk ==
                                                                     ProgrammeEvent.programme_pk)
                              .where(ProgrammeEvent.kind == "alert", ProgrammeEvent.mailed_at.is_(None))).all()
    for event, programme in pending:
        # The address recorded with the alert, or the one given since (while the programme still runs).
        to = event.mailed_to or (programme.alert_email if day <= programmes.last_valid_day(programme) else None)
        if mailer is None or to is None:
            continue
        event.mailed_to = to
        subject, body = alert_text(event.figures)
        try:
            mailer(to, subject, body)
        except Exception as exc:  # noqa: BLE001 - the mailer's error, kept for the next run and the dashboard
            event.mail_error = str(exc)[:2000]
            report.mail_errors.append(f"{programme.name} : {exc}")
        else:
            event.mailed_at, event.mail_error = utcnow(), None
            report.mailed.append(to)
        session.commit()
    return report


def events_of(session: Session, programme: Programme) -> dict[str, ProgrammeEvent]:
    """The programme's end-of-validity events, by kind."""
    return {e.kind: e for e in session.scalars(select(ProgrammeEvent).where(
        ProgrammeEvent.programme_pk == programme.pk))}


def set_alerting(session: Session, programme: Programme, alert_email: str | None, block_days: int | None,
                 ctx: Context) -> Programme:
    """Where the alert is mailed and how many days before the end hand-outs stop (journaled)."""
    if alert_email is not None and (len(alert_email) > 320 or "@" not in alert_email or
                                    any(c in alert_email for c in "\r\n ")):
        raise InvalidInput.on("alert_email", "Adresse électronique invalide.")
    if block_days is not None and not 0 <= block_days <= 365:
        raise InvalidInput.on("handout_block_days", "Entre 0 et 365 jours.")
    before = {"alert_email": programme.alert_email, "handout_block_days": programme.handout_block_days}
    programme.alert_email, programme.handout_block_days = alert_email or None, block_days
    journal.record(session, ctx.actor, "programme.alerting_set", "programme", programme.id, before=before,
                   after={"alert_email": programme.alert_email, "handout_block_days": block_days})
    session.commit()
    return programme

