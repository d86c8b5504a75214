"""Errors reported by the public on a venue's public description (« signaler une erreur »): anonymous, a
reason from a list and free text; they wait in the operators' queue until resolved (accepted, leading to an
edit of the venue; dismissed, with a reason), every step journaled."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Venue, VenueReport, utcnow
from registry.services.base.context import Context
from registry.services.base.pagination import Page, paginate
from registry.services.journal import journal
from registry.services.qualification import labels
from registry.services.territories import lookup
from registry.statuses import PublicationStatus, ReportStatus
from registry.wording import REPORT_REASONS, REPORT_STATUSES

REASONS, STATUSES = REPORT_REASONS, REPORT_STATUSES
OUTCOMES = (ReportStatus.ACCEPTED, ReportStatus.DISMISSED)
MAX_TEXT = 2000


def submit(session: Session, venue_id: uuid.UUID, reason: str, text: str | None, ctx: Context,
           checking: Session | None = None) -> VenueReport:
    """Record a report on a venue the public can see (published, with a label shown today). ``checking``: a
    session that takes no write lock, for the checks: on SQLite a report that is refused never waits for the
    write lock, nor holds it while checked (``session`` writes)."""
    if reason not in REASONS:
        raise InvalidInput.on("reason", "Motif inconnu : " + ", ".join(REASONS) + ".")
    text = (text or "").strip() or None
    if text and len(text) > MAX_TEXT:
        raise InvalidInput.on("text", f"{MAX_TEXT} caractères au plus.")
    reader = checking or session
    published = Venue.publication_status == PublicationStatus.PUBLISHED
    venue_pk = reader.scalar(select(Venue.pk).where(Venue.id == venue_id, published))
    if venue_pk is None or not labels.public_labels(reader, [venue_pk], ctx).get(venue_pk):
        raise NotFound("Lieu inconnu.")
    if checking is not None:
        checking.rollback()  # its read snapshot ends here
    venue = session.scalar(select(Venue).where(Venue.pk == venue_pk, published))
    if venue is None:  # unpublished meanwhile
        raise NotFound("Lieu inconnu.")
    report = VenueReport(id=uuid.uuid4(), venue_pk=venue.pk, reason=reason, text=text, status=ReportStatus.OPEN)
    session.add(report)
    session.flush()
    journal.record(session, ctx.actor, "report.submitted", "venue", venue.id, venue.pk,
                   after={"report": str(report.id), "reason": reason, "text": text})
    session.commit()
    return report


def listing(session: Session, ctx: Context, *, status: str | None = "open", venue_id: uuid.UUID | None = None,
            page: int = 1, per_page: int = 50) -> Page:
    """Reports in the actor's scope (default: those to handle), oldest first."""
    return paginate(session, lookup.venue_records(session, VenueReport, ctx.scope, status=status, venue_id=venue_id),
                    page, per_page)


def resolve(session: Session, report_id: uuid.UUID, outcome: str, note: str | None, ctx: Context) -> VenueReport:
    """Accept (the venue is then edited through its file or the API) or dismiss (a reason is required) a report."""
    if outcome not in OUTCOMES:
        raise InvalidInput.on("outcome", "accepted ou dismissed attendu.")
    note = (note or "").strip() or None
    if outcome == ReportStatus.DISMISSED and not note:
        raise InvalidInput.on("note", "Dites pourquoi le signalement est écarté.")
    report = session.scalar(select(VenueReport).where(VenueReport.id == report_id))
    if report is None:
        raise NotFound("Signalement inconnu.")
    venue = lookup.venue_by_id(session, report.venue.id, ctx.scope)
    if report.status != ReportStatus.OPEN:
        raise Conflict(f"Ce signalement est déjà {STATUSES[report.status]}.")
    resolved = session.execute(  # conditional on the report still open: of two decisions at once, one wins
        update(VenueReport).where(VenueReport.pk == report.pk, VenueReport.status == ReportStatus.OPEN)
        .values(status=outcome, resolution=note, resolved_by=ctx.actor, resolved_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if resolved != 1:
        session.rollback()
        raise Conflict("Une autre décision vient d'être prise sur ce signalement.")
    journal.record(session, ctx.actor, f"report.{outcome}", "venue", venue.id, venue.pk,
                   before={"status": "open"}, after={"report": str(report.id), "status": outcome, "reason": note})
    session.commit()
    session.refresh(report)
    return report
