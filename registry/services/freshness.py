"""Freshness: a venue is due for an update some months after its last one (``date_maj``; the registry's period,
or a shorter one set by a criteria set whose label it holds); update campaigns invite the managers of every venue
due in a territory, by e-mail, and follow what came of it."""

from __future__ import annotations

import calendar
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from geodata.reference import parse_territory_ref
from registry.errors import Forbidden, InvalidInput, NotFound
from registry.models import Campaign, CampaignInvitation, Qualification, Venue, VenueManager
from registry.services import coverage, journal, managers, qualifications, territories
from registry.services.context import Context

SENDING = {"sent": "envoyée", "failed": "échec de l'envoi", "no_address": "sans adresse"}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st of a shorter month becomes its last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class DueVenue:
    venue: Venue
    due_on: date


def due(session: Session, ctx: Context, territory: str, default_months: int, as_of: date | None = None
        ) -> list[DueVenue]:
    """The venues of ``territory`` (within the actor's scope, not merged) due for an update on ``as_of`` (today),
    the longest overdue first."""
    try:
        parse_territory_ref(territory)
    except ValueError as exc:
        raise InvalidInput.on("territory", str(exc)) from None
    as_of = as_of or ctx.day()
    periods = {s.id: s.freshness_months for s in ctx.catalogue.sets.values() if s.freshness_months}
    rows = session.scalars(select(Venue).where(
        Venue.merged_into_pk.is_(None), *territories.venue_filters(session, Venue.commune_code, territory, ctx.scope)))
    venues = list(rows)
    held = {}
    if periods and venues:
        for venue_pk, set_id in session.execute(select(Qualification.venue_pk, Qualification.criteria_set).where(
                Qualification.venue_pk.in_([v.pk for v in venues]), Qualification.status.in_(qualifications.HELD))):
            if set_id in periods:
                held[venue_pk] = min(periods[set_id], held.get(venue_pk, default_months))
    found = [DueVenue(v, add_months(v.date_maj, held.get(v.pk, default_months))) for v in venues]
    return sorted((d for d in found if d.due_on <= as_of), key=lambda d: (d.due_on, d.venue.nom))


def _recipient(session: Session, venue: Venue) -> tuple[VenueManager | None, str | None]:
    """Whom to invite: the venue's last invited manager with an address, else its first public e-mail."""
    manager = session.scalar(select(VenueManager).where(VenueManager.venue_pk == venue.pk, VenueManager.email
                                                        .is_not(None), VenueManager.revoked_at.is_(None))
                             .order_by(VenueManager.invited_at.desc()).limit(1))
    if manager is not None:
        return manager, manager.email
    return None, (venue.courriels or [None])[0]


def launch(session: Session, ctx: Context, territory: str, default_months: int, link_for: Callable[[str], str],
           smtp_url: str, sender: str, progress: Callable[[int, int], None] = lambda done, total: None) -> Campaign:
    """Invite the manager of every venue due in ``territory``; each sending's outcome is kept (a failure with the
    server's answer, a venue without any address as such), never silent."""
    targets = due(session, ctx, territory, default_months)
    kind, code = parse_territory_ref(territory)
    coverage.check_access(session, kind, code, ctx.scope)
    campaign = Campaign(id=uuid.uuid4(), territory=territory, created_by=ctx.actor)
    session.add(campaign)
    session.flush()
    journal.record(session, ctx.actor, "campaign.launched", "campaign", campaign.id,
                   after={"territory": territory, "venues": len(targets)})
    session.commit()
    for number, target in enumerate(targets, start=1):
        _, email = _recipient(session, target.venue)
        row = CampaignInvitation(campaign_pk=campaign.pk, venue_pk=target.venue.pk, email=email,
                                 due_on=target.due_on, status="no_address")
        if email:
            invitation = managers.invite(session, target.venue.id, email, ctx, link_for, smtp_url, sender)
            row.manager_pk = invitation.manager.pk
            row.status, row.error = ("failed", invitation.mail_error) if invitation.mail_error else ("sent", None)
        session.add(row)
        session.commit()
        progress(number, len(targets))
    return campaign


@dataclass
class CampaignProgress:
    campaign: Campaign
    by_status: Counter
    updated: int  # venues updated since the campaign began (a new date_maj)
    total: int


def progress_of(session: Session, ctx: Context, campaign_id: uuid.UUID) -> CampaignProgress:
    """Where a campaign stands: sendings by outcome, venues updated since it began."""
    campaign = session.scalar(select(Campaign).options(joinedload(Campaign.invitations)
                                                       .joinedload(CampaignInvitation.venue))
                              .where(Campaign.id == campaign_id))
    if campaign is None:
        raise NotFound("Campagne inconnue.")
    if ctx.scope and campaign.territory not in ctx.scope:
        raise Forbidden(f"Cette campagne porte sur un territoire hors de votre périmètre ({', '.join(ctx.scope)}).")
    invitations = campaign.invitations
    began = campaign.created_at.date()
    return CampaignProgress(campaign, Counter(i.status for i in invitations),
                            sum(1 for i in invitations if i.venue.date_maj >= began), len(invitations))


def listing(session: Session, ctx: Context) -> list[Campaign]:
    """The campaigns over the actor's territories (all for an actor without scope), newest first."""
    found = session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.pk.desc()))
    return [c for c in found if not ctx.scope or c.territory in ctx.scope]
