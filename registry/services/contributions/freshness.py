"""Freshness: a venue is due for an update some months after its last one (``date_maj``; the registry's period,
or a shorter one set by a criteria set whose label it holds); update campaigns invite the managers of every venue
due in a territory, by e-mail, and follow what came of it.

A campaign is a job (``services.jobs``): launching it stores one invitation row per venue (``pending``) and
queues the job; the worker sends them one by one, each claimed by a conditional write, so that each address is
mailed once across a killed worker and a relaunch (``resume``)."""

from __future__ import annotations

import calendar
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from geodata.reference import parse_territory_ref
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.models import Campaign, CampaignInvitation, Job, Qualification, Venue, VenueManager, utcnow
from registry.services import territories
from registry.services.base import jobs
from registry.services.base.context import Context
from registry.services.base.progress import Progress, no_progress
from registry.services.contributions import managers
from registry.services.journal import journal
from registry.services.qualification import qualifications
from registry.statuses import InvitationStatus

SENDING = InvitationStatus.labels()
CAMPAIGN_STATES = {"queued": "en attente d'un processus de travail", "running": "envoi en cours",
                   "interrupted": "interrompue", "done": "terminée"}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st of a shorter month becomes its last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class DueVenue:
    """A venue due for an update, since ``due_on`` (``None``: its source gave no date, it is due now)."""

    venue: Venue
    due_on: date | None


def due(session: Session, ctx: Context, territory: str, default_months: int, as_of: date | None = None
        ) -> list[DueVenue]:
    """The venues of ``territory`` (within the actor's scope, not merged) due for an update on ``as_of`` (today),
    the longest overdue first; a venue without update date (its source gave none) is due, first of all."""
    try:
        parse_territory_ref(territory)
    except ValueError as exc:
        raise InvalidInput.on("territory", str(exc)) from None
    as_of = as_of or ctx.day()
    periods = {s.id: s.freshness_months for s in ctx.catalogue.sets.values() if s.freshness_months}
    rows = session.scalars(select(Venue).where(
        Venue.merged_into_pk.is_(None),
        *territories.scope.venue_filters(session, Venue.commune_code, territory, ctx.scope)))
    venues = list(rows)
    held = {}
    if periods and venues:
        for venue_pk, set_id in session.execute(select(Qualification.venue_pk, Qualification.criteria_set).where(
                Qualification.venue_pk.in_([v.pk for v in venues]), Qualification.status.in_(qualifications.HELD))):
            if set_id in periods:
                held[venue_pk] = min(periods[set_id], held.get(venue_pk, default_months))
    found = [DueVenue(v, add_months(v.date_maj, held.get(v.pk, default_months)) if v.date_maj else None)
             for v in venues]
    return sorted((d for d in found if d.due_on is None or d.due_on <= as_of),
                  key=lambda d: (d.due_on or date.min, d.venue.nom))


def _recipient(session: Session, venue: Venue) -> tuple[VenueManager | None, str | None]:
    """Whom to invite: the venue's last invited manager with an address, else its first public e-mail."""
    manager = session.scalar(select(VenueManager).where(VenueManager.venue_pk == venue.pk, VenueManager.email
                                                        .is_not(None), VenueManager.revoked_at.is_(None))
                             .order_by(VenueManager.invited_at.desc()).limit(1))
    if manager is not None:
        return manager, manager.email
    return None, (venue.courriels or [None])[0]


def launch(session: Session, ctx: Context, territory: str, default_months: int, submit: jobs.Submit,
           base_url: str | None = None) -> Campaign:
    """Start a campaign over ``territory``: in one transaction, the campaign, one invitation row per venue due
    (``pending``, or ``no_address`` when it has none: said, never silent) and the job that sends them, which the
    queue then gets. ``base_url``: the address the invitations' links are made from (the request's)."""
    targets = due(session, ctx, territory, default_months)
    kind, code = parse_territory_ref(territory)
    territories.scope.check_access(session, kind, code, ctx.scope)
    campaign = Campaign(id=uuid.uuid4(), territory=territory, created_by=ctx.actor)
    session.add(campaign)
    session.flush()
    for target in targets:
        _, email = _recipient(session, target.venue)
        status = InvitationStatus.PENDING if email else InvitationStatus.NO_ADDRESS
        session.add(CampaignInvitation(campaign_pk=campaign.pk, venue_pk=target.venue.pk, email=email,
                                       due_on=target.due_on or ctx.day(), status=status))
    job = jobs.create(session, "campaign", ctx.actor, params={"campaign": str(campaign.id), "territory": territory,
                                                              "base_url": base_url}, scope=ctx.scope,
                      total=len(targets))
    campaign.job_id = job.id
    journal.record(session, ctx.actor, "campaign.launched", "campaign", campaign.id,
                   after={"territory": territory, "venues": len(targets), "job": str(job.id)})
    session.commit()
    submit(job.id)
    return campaign


UNCERTAIN = ("Le processus d'envoi s'est arrêté pendant cet envoi : le message est peut-être parti. Il n'est pas "
             "renvoyé d'office ; « reprendre en renvoyant les envois incertains » le renvoie avec un nouveau lien "
             "(l'ancien est révoqué).")


def send_pending(session: Session, ctx: Context, campaign_id: uuid.UUID, link_for: Callable[[str], str],
                 smtp_url: str, sender: str, progress: Progress = no_progress,
                 stop: Callable[[], bool] = lambda: False) -> Counter:
    """Send a campaign's invitations still ``pending``, one by one (the campaign's job; run again, it goes on
    where it stopped). Each is claimed with a conditional write (``pending`` → ``sending``, so that no two workers
    send it), then ends ``sent`` or ``failed`` with the reason: one message failing — whatever the error — is
    that invitation's outcome, never the campaign's end. Rows left ``sending`` by a worker that died (kill -9)
    become ``uncertain``: maybe sent, never sent again blindly. ``stop()`` true: return after the invitation
    being sent (its worker is stopping; the rest stays ``pending``). Returns the rows by status."""
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id))
    if campaign is None:
        raise NotFound("Campagne inconnue.")
    session.execute(update(CampaignInvitation).where(CampaignInvitation.campaign_pk == campaign.pk,
                                                     CampaignInvitation.status == InvitationStatus.SENDING)
                    .values(status=InvitationStatus.UNCERTAIN, error=UNCERTAIN)
                    .execution_options(synchronize_session=False))
    session.commit()
    counts = _counts(session, campaign.pk)
    total = sum(counts.values())
    done = total - counts["pending"]
    progress(done, total)
    while not stop():
        pk = session.scalar(select(CampaignInvitation.pk).where(CampaignInvitation.campaign_pk == campaign.pk,
                                                                CampaignInvitation.status == InvitationStatus.PENDING)
                            .order_by(CampaignInvitation.pk).limit(1))
        session.commit()  # each claim in a transaction of its own, begun by its write
        if pk is None:
            break
        claimed = session.execute(update(CampaignInvitation).where(
                                  CampaignInvitation.pk == pk, CampaignInvitation.status == InvitationStatus.PENDING)
                                  .values(status=InvitationStatus.SENDING, claimed_at=utcnow())
                                  .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if not claimed:  # another worker took it
            continue
        try:
            manager_pk, error = _send_one(session, ctx, pk, link_for, smtp_url, sender)
        except Exception as exc:  # noqa: BLE001 - this invitation fails, the campaign goes on
            session.rollback()
            manager_pk, error = None, f"Erreur inattendue : {type(exc).__name__}: {exc}"
        values = {"status": InvitationStatus.FAILED if error else InvitationStatus.SENT, "error": error}
        if manager_pk is not None:
            values["manager_pk"] = manager_pk
        session.execute(update(CampaignInvitation).where(
                            CampaignInvitation.pk == pk,
                            CampaignInvitation.status.in_((InvitationStatus.SENDING, InvitationStatus.UNCERTAIN)))
                        .values(**values)
                        .execution_options(synchronize_session=False))
        session.commit()
        done += 1
        progress(done, total)
    return _counts(session, campaign.pk)


def _send_one(session: Session, ctx: Context, pk: int, link_for: Callable[[str], str], smtp_url: str,
              sender: str) -> tuple[int | None, str | None]:
    """Invite one row's manager: the invitation (its link) committed with the row's ``manager_pk`` first, then
    the mail; the manager's key and the mail's error (``None``: sent)."""
    row = session.scalar(select(CampaignInvitation).options(joinedload(CampaignInvitation.venue))
                         .where(CampaignInvitation.pk == pk).execution_options(populate_existing=True))
    try:
        invitation = managers.create_invitation(session, row.venue, row.email, ctx)
    except InvalidInput as exc:
        session.rollback()
        return None, f"Adresse refusée : {exc.detail}"
    row.manager_pk = invitation.manager.pk
    venue = row.venue
    session.commit()  # nothing held during the sending (SQLite: the write lock)
    return invitation.manager.pk, managers.mail_invitation(invitation, venue, link_for, smtp_url, sender)


def _counts(session: Session, campaign_pk: int) -> Counter:
    found = Counter(dict(session.execute(select(CampaignInvitation.status, func.count()).where(
        CampaignInvitation.campaign_pk == campaign_pk).group_by(CampaignInvitation.status)).all()))
    session.commit()
    return found


def resume(session: Session, ctx: Context, campaign_id: uuid.UUID, submit: jobs.Submit,
           stale_after: float = jobs.STALE_AFTER, resend_uncertain: bool = False) -> Campaign:
    """Relaunch an interrupted campaign: its job queued again sends only the invitations still ``pending``.
    ``resend_uncertain``: the operator's decision to send again those whose worker died while sending (their
    earlier link is revoked first: never two live links). ``Conflict`` when it is running or has nothing left."""
    found = progress_of(session, ctx, campaign_id, stale_after)
    campaign = found.campaign
    if found.state in ("running", "queued") and found.job_state == "running":
        raise Conflict("Cette campagne est en cours d'envoi : un processus de travail s'en occupe.")
    uncertain = [i for i in campaign.invitations if i.status == InvitationStatus.UNCERTAIN] if resend_uncertain \
        else []
    waiting = found.by_status[InvitationStatus.PENDING] + found.by_status[InvitationStatus.SENDING]
    if not waiting and not uncertain:
        raise Conflict("Rien à reprendre : aucune invitation de cette campagne n'attend d'être envoyée.")
    for row in uncertain:
        if row.manager_pk is not None:
            session.execute(update(VenueManager).where(VenueManager.pk == row.manager_pk,
                                                       VenueManager.revoked_at.is_(None))
                            .values(revoked_at=utcnow(), invitation_hash=None)
                            .execution_options(synchronize_session=False))
        row.status, row.error, row.manager_pk = "pending", None, None
    journal.record(session, ctx.actor, "campaign.resumed", "campaign", campaign.id,
                   after={"pending": found.by_status["pending"] + len(uncertain), "resent_uncertain": len(uncertain)})
    if campaign.job_id is None:  # a campaign older than the queue
        job = jobs.create(session, "campaign", ctx.actor, params={"campaign": str(campaign.id),
                                                                  "territory": campaign.territory}, scope=ctx.scope,
                          total=found.total)
        campaign.job_id = job.id
        session.commit()
        submit(job.id)
    else:
        session.commit()
        jobs.resume(session, campaign.job_id, submit, stale_after, reopen=True)
    return campaign


@dataclass
class CampaignProgress:
    campaign: Campaign
    by_status: Counter
    updated: int  # venues updated since the campaign began (a new date_maj)
    total: int
    state: str = "done"  # queued, running, interrupted, done
    job: Job | None = None
    job_state: str | None = None


def progress_of(session: Session, ctx: Context, campaign_id: uuid.UUID,
                stale_after: float = jobs.STALE_AFTER) -> CampaignProgress:
    """Where a campaign stands: its state, sendings by outcome, venues updated since it began."""
    campaign = session.scalar(select(Campaign).options(joinedload(Campaign.invitations)
                                                       .joinedload(CampaignInvitation.venue))
                              .where(Campaign.id == campaign_id).execution_options(populate_existing=True))
    if campaign is None:
        raise NotFound("Campagne inconnue.")
    if ctx.scope and campaign.territory not in ctx.scope:
        raise Forbidden(f"Cette campagne porte sur un territoire hors de votre périmètre ({', '.join(ctx.scope)}).")
    invitations = campaign.invitations
    began = campaign.created_at.date()
    by_status = Counter(i.status for i in invitations)
    job = session.scalar(select(Job).where(Job.id == campaign.job_id)) if campaign.job_id else None
    job_state = jobs.state_of(job, stale_after) if job is not None else None
    if not by_status[InvitationStatus.PENDING] and not by_status[InvitationStatus.SENDING]:
        state = "done"
    elif job_state in ("queued", "running"):
        state = job_state
    else:
        state = "interrupted"
    updated = sum(1 for i in invitations if i.venue.date_maj and i.venue.date_maj >= began)
    return CampaignProgress(campaign, by_status, updated, len(invitations), state, job, job_state)


def listing(session: Session, ctx: Context) -> list[Campaign]:
    """The campaigns over the actor's territories (all for an actor without scope), newest first."""
    found = session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.pk.desc()))
    return [c for c in found if not ctx.scope or c.territory in ctx.scope]
