"""What the auditor's page of a venue shows, read in one call: the venue, its file for the criteria set chosen,
its qualifications and the actions they allow, its journal as sentences, the managers' proposals, the public's
reports, its managers and what its hours (or a pending proposal's) would hide from a search by day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from registry import hours, wording
from registry.hours_text import read_french
from registry.models import Qualification, Venue, VenueManager
from registry.services.base.context import Context
from registry.services.contributions import managers, reports
from registry.services.journal import journal
from registry.services.qualification import evaluations, facts, qualifications
from registry.services.venues import venue_file, venues
from registry.statuses import ProposalStatus, QualificationStatus

#: A qualification in these states is the work at hand: the file opens on its criteria set.
UNDER_WAY = (QualificationStatus.SUBMITTED, QualificationStatus.UNDER_REVIEW, QualificationStatus.CHANGES_REQUESTED)
#: The set the file opens on when nothing else says which.
DEFAULT_SET = "pass-numerique"
#: The proposals and reports shown, newest state of each (a venue has a handful).
SHOWN = 100


@dataclass(frozen=True)
class VenueView:
    venue: Venue
    file: venue_file.VenueFile
    held: dict[str, Qualification]  # by criteria set
    chosen: str  # the criteria set the file is about
    actions: list[str]  # what the auditor may decide on the chosen set
    journal: list[wording.Sentence]  # newest first
    proposals: list[Any]
    reported: list[Any]
    managers: list[VenueManager]
    hours_warning: str | None


def chosen_set(ctx: Context, held: dict[str, Qualification], wanted: str = "") -> str:
    """The criteria set the file opens on: ``wanted`` (the queue's), else one with a qualification under way, else
    the Pass numérique's, else the first."""
    sets = ctx.catalogue.sets
    if wanted in sets:
        return wanted
    pending = [set_id for set_id, q in held.items() if set_id in sets and q.status in UNDER_WAY]
    return pending[0] if pending else (DEFAULT_SET if DEFAULT_SET in sets else sorted(sets)[0])


def hours_warning(current: str | None, pending: list) -> str | None:
    """What the auditor must know before unreadable hours go public: the venue's own, or a pending proposal's
    (a search by day would miss the venue, the freshness checks would flag it)."""
    proposed = [p.changes["horaires"] for p in pending if p.changes.get("horaires")]
    for label, value in [("Les horaires du lieu", current), *(("Les horaires d'une proposition", v) for v in proposed)]:
        if value and not hours.parses(value):
            reading = read_french(value)
            return (f"{label} ne se lisent pas : « {value} ». La recherche par jour ignorerait le lieu. "
                    + (f"Lecture possible : « {hours.describe(reading) or reading} » ; reportez-la dans le champ "
                       "Horaires et confirmez-la." if reading else "Corrigez le champ Horaires avant de publier."))
    return None


def venue_view(session: Session, venue_id: uuid.UUID, ctx: Context, wanted_set: str = "") -> VenueView:
    """The auditor's page of the venue (``NotFound``, ``Forbidden`` outside ``ctx.scope``)."""
    found = venues.get(session, venue_id, scope=ctx.scope)
    current = facts.latest(facts.history(session, venue_id, ctx.scope))
    latest = {e.criteria_set: e for e in evaluations.latest_for_venue(session, venue_id, ctx.scope)}
    held = {q.criteria_set: q for q in qualifications.for_venue(session, venue_id, ctx.scope)}
    chosen = chosen_set(ctx, held, wanted_set)
    file = venue_file.build(ctx.catalogue.sets[chosen], found, held.get(chosen), latest.get(chosen), current)
    set_titles = {s.id: s.title for s in ctx.catalogue.sets.values()}
    history = [wording.journal_sentence(entry, ctx.catalogue.audit_facts(), set_titles)
               for entry in journal.venue_history(session, found)]
    proposals = managers.listing(session, ctx, venue_id=venue_id, status=None, per_page=SHOWN).items
    reported = reports.listing(session, ctx, venue_id=venue_id, status=None, per_page=SHOWN).items
    return VenueView(
        venue=found, file=file, held=held, chosen=chosen,
        actions=qualifications.allowed_actions(held[chosen].status if chosen in held else None), journal=history,
        proposals=proposals, reported=reported, managers=managers.of_venue(session, found),
        hours_warning=hours_warning(found.horaires, [p for p in proposals if p.status == ProposalStatus.PENDING]))
