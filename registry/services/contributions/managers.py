"""Venue managers and their proposals: an operator invites a venue's manager (a single-use link, sent by e-mail
when an address is given); the link opens a session for that venue alone, where the manager proposes changes to
its public description (temporary closures and exceptional hours included); an operator accepts a proposal (a
new revision of the venue, through ``venues.update``) or refuses it, saying why to the manager."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError
from marshmallow.validate import Email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Venue, VenueManager, VenueProposal, utcnow
from registry.services.base.context import Context
from registry.services.base.mail import MailError, send
from registry.services.base.pagination import Page, paginate
from registry.services.journal import chain as journal_chain
from registry.services.journal import journal
from registry.services.territories import lookup
from registry.services.venues import venues
from registry.statuses import ProposalStatus
from registry.wording import french_number

#: The fields a manager may propose to change: the public description a venue keeps up to date itself.
PROPOSABLE = ("horaires", "closures", "telephone", "courriels", "site_web", "prise_rdv", "presentation_resume",
              "presentation_detail", "services", "modalites_acces", "modalites_accompagnement", "frais_a_charge",
              "publics_specifiquement_adresses", "prise_en_charge_specifique", "fiche_acces_libre")
STATUSES = {"pending": "en attente", "accepted": "acceptée", "refused": "refusée"}
#: A proposed field's size at most (its value as JSON, in characters): the standard's longest free text, the
#: presentation, fits; a 2 MB field no longer does.
MAX_FIELD_CHARACTERS = 5_000
#: Proposals of one manager awaiting the operator's decision at most: beyond, they wait for the decisions.
MAX_PENDING = 10


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass
class Invitation:
    manager: VenueManager
    secret: str  # the link's token: shown once (the invitation URL), never stored
    mail_error: str | None = None  # why the e-mail could not be sent (None: sent, or no address given)


def invite(session: Session, venue_id: uuid.UUID, email: str | None, ctx: Context, link_for,
           smtp_url: str = "", sender: str = "") -> Invitation:
    """Invite the manager of a venue (within the operator's scope). ``link_for(secret)`` makes the link; with an
    ``email``, the link is mailed (a failure is returned, never silent; the invitation stands)."""
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    invitation = create_invitation(session, venue, email, ctx)
    session.commit()
    if invitation.manager.email:
        invitation.mail_error = mail_invitation(invitation, venue, link_for, smtp_url, sender)
    return invitation


def checked_email(email: str | None) -> str | None:
    """One e-mail address checked as the API checks it (marshmallow's ``Email``), or ``None`` when blank: the
    pages' form and the API accept the same addresses (``a@x, b@evil`` mailed both from the form)."""
    email = (email or "").strip() or None
    if email is None:
        return None
    try:
        Email(error="Adresse électronique invalide.")(email)
    except ValidationError:
        raise InvalidInput.on("email", "Adresse électronique invalide (une seule adresse, sans nom ni "
                                       "séparateur).") from None
    if len(email) > 320:
        raise InvalidInput.on("email", "Adresse électronique invalide (320 caractères au plus).")
    return email


def create_invitation(session: Session, venue: Venue, email: str | None, ctx: Context) -> Invitation:
    """A new invitation of ``venue``'s manager (its link's secret in the result, only its hash kept), journalled;
    flushed, not committed, not mailed."""
    email = checked_email(email)
    secret = "rgi_" + secrets.token_urlsafe(32)
    # A new invitation supersedes the venue's unused ones: one live link at a time.
    session.execute(update(VenueManager).where(
        VenueManager.venue_pk == venue.pk, VenueManager.opened_at.is_(None), VenueManager.revoked_at.is_(None))
        .values(invitation_hash=None, revoked_at=utcnow()).execution_options(synchronize_session=False))
    manager = VenueManager(venue_pk=venue.pk, email=email, invitation_hash=_hash(secret), invited_by=ctx.actor)
    session.add(manager)
    session.flush()
    journal.record(session, ctx.actor, "manager.invited", "venue", venue.id, venue.pk, after={"email": email})
    return Invitation(manager, secret)


def mail_invitation(invitation: Invitation, venue: Venue, link_for, smtp_url: str, sender: str) -> str | None:
    """Mail an invitation's link to its manager: ``None`` when sent, else why not (in French)."""
    try:
        send(smtp_url, sender, invitation.manager.email,
             f"Mettre à jour « {venue.nom} » dans le registre du Pass numérique",
             invitation_text(venue, link_for(invitation.secret)))
    except MailError as exc:
        return str(exc)
    return None


def invitation_text(venue: Venue, link: str) -> str:
    """The invitation's e-mail, in French."""
    return (f"Bonjour,\n\nL'opérateur du registre des lieux du Pass numérique vous invite à tenir à jour la fiche "
            f"de « {venue.nom} » ({venue.commune}) : horaires, fermetures exceptionnelles, contacts, services.\n\n"
            f"Ouvrez ce lien (il ne sert qu'une fois, dans les jours qui viennent) :\n{link}\n\n"
            "Vos propositions seront vérifiées par "
            "l'opérateur avant d'être publiées.\n")


def _usable(secret: str, expiry: timedelta):
    """SQL condition: the invitation of ``secret``, unused, not revoked, sent within ``expiry``."""
    return (VenueManager.invitation_hash == _hash(secret), VenueManager.revoked_at.is_(None),
            VenueManager.invited_at >= utcnow() - expiry)


def invitation_for(session: Session, secret: str, expiry: timedelta) -> VenueManager | None:
    """The manager an invitation's link names, if it can still be used (nothing consumed: a mail scanner's or a
    preview's GET leaves it whole)."""
    return session.scalar(select(VenueManager).options(joinedload(VenueManager.venue))
                          .where(*_usable(secret, expiry)))


def open_invitation(session: Session, secret: str, expiry: timedelta) -> tuple[VenueManager, str] | None:
    """Use an invitation's link, once (a conditional write: of two uses at once, one opens a session): the
    manager and a session identifier for the browser, or ``None`` (unknown, used, revoked or expired)."""
    sid = secrets.token_urlsafe(32)
    manager = invitation_for(session, secret, expiry)
    if manager is None:
        return None
    opened = session.execute(update(VenueManager).where(VenueManager.pk == manager.pk, *_usable(secret, expiry))
                             .values(invitation_hash=None, session_hash=_hash(sid), opened_at=utcnow())
                             .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return (manager, sid) if opened == 1 else None


def revoke(session: Session, venue_id: uuid.UUID, manager_pk: int, ctx: Context) -> VenueManager:
    """Take a manager's access away: their link and their session stop at once (journaled)."""
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    manager = session.scalar(select(VenueManager).where(VenueManager.pk == manager_pk,
                                                        VenueManager.venue_pk == venue.pk))
    if manager is None:
        raise NotFound("Gestionnaire inconnu pour ce lieu.")
    if manager.revoked_at is None:
        manager.revoked_at, manager.invitation_hash, manager.session_hash = utcnow(), None, None
        journal.record(session, ctx.actor, "manager.revoked", "venue", venue.id, venue.pk,
                       after={"email": manager.email})
        session.commit()
    return manager


def of_venue(session: Session, venue: Venue) -> list[VenueManager]:
    """A venue's managers, the latest invited first."""
    return list(session.scalars(select(VenueManager).where(VenueManager.venue_pk == venue.pk)
                                .order_by(VenueManager.invited_at.desc(), VenueManager.pk.desc())))


def session_manager(session: Session, sid: str | None, lifetime: timedelta) -> VenueManager | None:
    """The manager of an open session (not revoked, not older than ``lifetime``), or ``None``."""
    if not sid:
        return None
    manager = session.scalar(select(VenueManager).options(joinedload(VenueManager.venue))
                             .where(VenueManager.session_hash == _hash(sid)))
    if manager is None or manager.revoked_at is not None or manager.opened_at + lifetime < utcnow():
        return None
    return manager


def propose(session: Session, manager: VenueManager, changes: dict[str, Any], ctx: Context) -> VenueProposal:
    """Record the fields the manager changed (checked as the API checks them before this), for an operator."""
    unknown = sorted(set(changes) - set(PROPOSABLE))
    if unknown:
        raise InvalidInput.on(unknown[0], "Ce champ ne se propose pas ici.")
    venue = manager.venue
    wanted = venues.normalise(changes)
    changed = {name: value for name, value in wanted.items() if getattr(venue, name) != value}
    if not changed:
        raise InvalidInput.on("changes", "Rien n'a changé : modifiez au moins une information.")
    for name, value in changed.items():
        if len(journal_chain.canonical_json(journal.jsonable(value)).decode("utf-8")) > MAX_FIELD_CHARACTERS:
            raise InvalidInput.on(name, f"{french_number(MAX_FIELD_CHARACTERS)} caractères au plus.")
    pending = session.scalar(select(func.count()).select_from(VenueProposal).where(
        VenueProposal.manager_pk == manager.pk, VenueProposal.status == ProposalStatus.PENDING))
    if pending >= MAX_PENDING:
        raise InvalidInput.on("changes", f"Déjà {pending} propositions en attente : l'opérateur doit en décider "
                                         "avant que vous en fassiez d'autres.")
    proposal = VenueProposal(id=uuid.uuid4(), venue_pk=venue.pk, manager_pk=manager.pk,
                             changes=journal.jsonable(changed), base_revision=venue.revision)
    session.add(proposal)
    session.flush()
    journal.record(session, ctx.actor, "proposal.submitted", "venue", venue.id, venue.pk,
                   before=journal.jsonable({name: getattr(venue, name) for name in changed}),
                   after={"proposal": str(proposal.id), **proposal.changes})
    session.commit()
    return proposal


def for_manager(session: Session, manager: VenueManager) -> list[VenueProposal]:
    """The proposals made for the manager's venue through this invitation, newest first."""
    return list(session.scalars(select(VenueProposal).where(VenueProposal.manager_pk == manager.pk)
                                .order_by(VenueProposal.created_at.desc(), VenueProposal.pk.desc())))


def listing(session: Session, ctx: Context, *, status: str | None = "pending", venue_id: uuid.UUID | None = None,
            page: int = 1, per_page: int = 50) -> Page:
    """Proposals in the operator's scope (default: those awaiting a decision), oldest first."""
    return paginate(session, lookup.venue_records(session, VenueProposal, ctx.scope, status=status,
                                                  venue_id=venue_id), page, per_page)


def decide(session: Session, proposal_id: uuid.UUID, accept: bool, reason: str | None,
           ctx: Context, confirm_stale: bool = False) -> VenueProposal:
    """Accept a proposal (applied as a new revision of the venue: journal, held qualifications re-evaluated) or
    refuse it (a reason is required: the manager reads it). A proposal made on a revision of the venue that has
    changed since is accepted only with ``confirm_stale``: otherwise ``Conflict`` names, field by field, the
    venue's value now and the proposed one. The decision is a conditional write on the proposal still pending:
    of two concurrent decisions, one wins, the other gets ``Conflict``."""
    reason = (reason or "").strip() or None
    proposal = session.scalar(select(VenueProposal).where(VenueProposal.id == proposal_id))
    if proposal is None:
        raise NotFound("Proposition inconnue.")
    venue = lookup.venue_by_id(session, proposal.venue.id, ctx.scope)
    if proposal.status != ProposalStatus.PENDING:
        raise Conflict(f"Cette proposition est déjà {STATUSES[proposal.status]}.")
    if not accept and not reason:
        raise InvalidInput.on("reason", "Dites au gestionnaire pourquoi sa proposition est refusée.")
    if accept and venue.revision != proposal.base_revision and not confirm_stale:
        raise Conflict(f"Le lieu a changé depuis la proposition (révision {proposal.base_revision}, maintenant "
                       f"{venue.revision}) : relisez chaque champ, puis confirmez.", {
                           name: [f"maintenant : {journal.jsonable(getattr(venue, name, None))!r} ; proposé : "
                                  f"{value!r}"] for name, value in proposal.changes.items()})
    status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REFUSED
    decided = session.execute(
        update(VenueProposal).where(VenueProposal.pk == proposal.pk, VenueProposal.status == ProposalStatus.PENDING)
        .values(status=status, decided_by=ctx.actor, decided_at=utcnow(), reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if decided != 1:
        session.rollback()
        raise Conflict("Une autre décision vient d'être prise sur cette proposition.")
    journal.record(session, ctx.actor, f"proposal.{status}", "venue", venue.id, venue.pk,
                   before={"status": "pending"}, after={"proposal": str(proposal.id), "reason": reason})
    if accept:  # one transaction: the decision and the new revision (or neither, on a conflict)
        venues.update(session, venue.id, dict(proposal.changes), venue.revision, ctx)
    session.commit()
    session.refresh(proposal)
    return proposal
