"""Qualifications: an operator's decisions on a venue for a label, their life cycle and validity.

Life cycle (each transition names its actor, time, reason and the evaluation it relied on, in the journal)::

    submit           (none) | refused | changes_requested | expired | revoked -> submitted
    start_review     submitted -> under_review
    qualify          under_review -> qualified          (eligible evaluation of the current revision, or override)
    refuse           under_review -> refused
    request_changes  under_review -> changes_requested
    suspend          qualified -> suspended
    reinstate        suspended -> qualified              (eligible, or override; validity unchanged)
    revoke           qualified | suspended -> revoked
    renew            qualified | expired -> qualified    (eligible, or override; a new validity period)
    expire           qualified | suspended -> expired    (by itself at the end of the validity)
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from registry.clock import PARIS
from registry.errors import Conflict, InvalidInput, NotFound, StaleRevision
from registry.models import EvaluationRecord, Qualification, Venue, utcnow
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.pagination import Page, paginate
from registry.services.journal import journal
from registry.services.qualification import evaluations
from registry.services.territories import lookup
from registry.statuses import QualificationStatus
from registry.wording import ACTION_LABELS, OUTCOME_LABELS, RESULT_LABELS, STATUS_LABELS

S = QualificationStatus
HELD = (S.QUALIFIED, S.SUSPENDED)
STATUSES = tuple(QualificationStatus)
TRANSITIONS: dict[str, tuple[frozenset[str | None], str]] = {
    "submit": (frozenset({None, S.REFUSED, S.CHANGES_REQUESTED, S.EXPIRED, S.REVOKED}), S.SUBMITTED),
    "start_review": (frozenset({S.SUBMITTED}), S.UNDER_REVIEW),
    "qualify": (frozenset({S.UNDER_REVIEW}), S.QUALIFIED),
    "refuse": (frozenset({S.UNDER_REVIEW}), S.REFUSED),
    "request_changes": (frozenset({S.UNDER_REVIEW}), S.CHANGES_REQUESTED),
    "suspend": (frozenset({S.QUALIFIED}), S.SUSPENDED),
    "reinstate": (frozenset({S.SUSPENDED}), S.QUALIFIED),
    "revoke": (frozenset(HELD), S.REVOKED),
    "renew": (frozenset({S.QUALIFIED, S.EXPIRED}), S.QUALIFIED),
}
ACTIONS = tuple(TRANSITIONS)
REASON_REQUIRED = frozenset({"refuse", "request_changes", "suspend", "revoke"})
NEEDS_ELIGIBLE = frozenset({"qualify", "reinstate", "renew"})
def allowed_actions(status: str | None) -> list[str]:
    """The actions an auditor may take from ``status``."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def _find(session: Session, venue: Venue, set_id: str) -> Qualification | None:
    return session.scalar(select(Qualification).where(Qualification.venue_pk == venue.pk,
                                                      Qualification.criteria_set == set_id))


def _state(q: Qualification | None) -> dict[str, Any]:
    if q is None:
        return {"status": None}
    return {"status": q.status, "valid_from": q.valid_from, "valid_until": q.valid_until,
            "needs_review": q.needs_review}


def decide(session: Session, venue_id: uuid.UUID, set_id: str, action: str, ctx: Context,
           reason: str | None = None, override: bool = False, validity_days: int = 365) -> Qualification:
    """Apply an auditor's decision; ``Conflict`` (409) for a transition the life cycle does not allow."""
    criteria_set = ctx.catalogue.get(set_id)
    if action not in TRANSITIONS:
        raise InvalidInput.on("action", f"Action inconnue : {action} ({', '.join(ACTIONS)}).")
    reason = (reason or "").strip() or None
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    qualification = _find(session, venue, set_id)
    status = qualification.status if qualification else None
    sources, target = TRANSITIONS[action]
    if status not in sources:
        possible = ", ".join(f"« {ACTION_LABELS[a]} »" for a in allowed_actions(status)) or "aucune"
        raise Conflict(f"Décision impossible : « {ACTION_LABELS[action]} » depuis l'état "
                       f"« {STATUS_LABELS[status]} » (décisions possibles : {possible}).")
    if action in REASON_REQUIRED and not reason:
        raise InvalidInput.on("reason", "Motif obligatoire pour cette décision.")
    if override and not reason:
        raise InvalidInput.on("reason", "Une dérogation doit être motivée.")
    if action == "reinstate" and qualification.valid_until and qualification.valid_until < ctx.day():
        raise Conflict("La validité de cette qualification est échue : renouvelez-la plutôt.")
    before = _state(qualification)
    evaluation = _relied_on(session, venue, set_id, action, ctx, override)
    if qualification is None:
        qualification = Qualification(id=uuid.uuid4(), venue=venue, criteria_set=set_id, status=target)
        session.add(qualification)
    qualification.status = target
    qualification.evaluation_pk = evaluation.pk if evaluation else None
    today = ctx.day()
    if action in ("qualify", "renew"):
        qualification.valid_from, qualification.valid_until = today, today + timedelta(days=validity_days)
    if action in NEEDS_ELIGIBLE:
        qualification.override_reason = reason if override else None
    if action == "submit":
        qualification.submitted_at = utcnow()
    if action not in ("submit", "start_review"):
        qualification.needs_review, qualification.review_reason = False, None
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise StaleRevision("Cette qualification a été modifiée entre-temps.") from None
    except IntegrityError:  # a parallel first decision created this venue's qualification for the set meanwhile
        session.rollback()
        raise Conflict("Une autre décision sur ce lieu et ce référentiel vient d'être enregistrée : relisez la "
                       "qualification avant de décider.") from None
    journal.record(session, ctx.actor, f"qualification.{action}", "venue", venue.id, venue.pk, before=before,
                   after={**_state(qualification), "criteria_set": criteria_set.key, "reason": reason,
                          "override": override, "evaluation": qualification.evaluation_pk})
    session.commit()
    notify(ctx, [qualification], action)
    return qualification


def _relied_on(session: Session, venue: Venue, set_id: str, action: str, ctx: Context,
               override: bool) -> EvaluationRecord | None:
    """The evaluation a decision relies on: a fresh one when eligibility is required, else the latest."""
    if action not in NEEDS_ELIGIBLE:
        return session.scalar(select(EvaluationRecord).where(EvaluationRecord.venue_pk == venue.pk,
                                                             EvaluationRecord.criteria_set == set_id)
                              .order_by(EvaluationRecord.pk.desc()).limit(1))
    evaluation = evaluations.store_evaluation(session, venue, set_id, ctx)
    if evaluation.overall != "eligible" and not override:
        session.commit()  # the evaluation is kept: it explains the refusal
        raise Conflict(f"Le lieu n'est pas éligible à la révision {venue.revision} : {_failing(ctx, evaluation)} "
                       "Une dérogation motivée est possible.", {"evaluation": [str(evaluation.pk)]})
    return evaluation


def review_held(session: Session, venue: Venue, ctx: Context) -> list[Qualification]:
    """Re-evaluate the venue's held qualifications (after a change); flag those no longer eligible, saying which
    criteria failed, and clear the flag of those eligible again.

    Adds evaluations and journal entries to the session (the caller commits); nothing is revoked.
    Returns the qualifications newly flagged ``needs_review``.
    """
    flagged = []
    held = session.scalars(select(Qualification).where(Qualification.venue_pk == venue.pk,
                                                       Qualification.status.in_(HELD)))
    for qualification in held:
        if qualification.criteria_set not in ctx.catalogue.sets:
            continue
        evaluation = evaluations.store_evaluation(session, venue, qualification.criteria_set, ctx)
        if evaluation.overall == "eligible" and qualification.needs_review:
            qualification.needs_review, qualification.review_reason = False, None
            journal.record(session, ctx.actor, "qualification.review_cleared", "venue", venue.id, venue.pk,
                           after={"criteria_set": qualification.criteria_set, "evaluation": evaluation.pk,
                                  "overall": evaluation.overall})
        elif evaluation.overall != "eligible" and not qualification.needs_review:
            qualification.needs_review = True
            qualification.review_reason = f"Révision {venue.revision} : " + _failing(ctx, evaluation)
            journal.record(session, ctx.actor, "qualification.needs_review", "venue", venue.id, venue.pk,
                           after={"criteria_set": qualification.criteria_set, "evaluation": evaluation.pk,
                                  "overall": evaluation.overall})
            flagged.append(qualification)
    return flagged


def _failing(ctx: Context, evaluation: EvaluationRecord) -> str:
    """The required criteria an evaluation found unmet or unknown, by title, as a person reads them."""
    titles = {c.id: c.title for c in ctx.catalogue.get(evaluation.criteria_set).criteria}
    failing = [f"« {titles.get(r['criterion_id'], r['criterion_id'])} » ({RESULT_LABELS[r['status']]})"
               for r in evaluation.results if r["severity"] == "required" and r["status"] in ("unmet", "unknown")]
    return (f"évaluation {OUTCOME_LABELS[evaluation.overall]}" + (" : " + ", ".join(failing) if failing else "")
            + ".")


def expire_due(session: Session, ctx: Context) -> list[Qualification]:
    """Expire every held qualification whose validity ended before today (safe to run often, e.g. cron)."""
    due = list(session.scalars(select(Qualification).options(joinedload(Qualification.venue)).where(
        Qualification.status.in_(HELD), Qualification.valid_until < ctx.day())))
    for qualification in due:
        before = _state(qualification)
        qualification.status = S.EXPIRED
        journal.record(session, ctx.actor, "qualification.expire", "venue", qualification.venue.id,
                       qualification.venue_pk, before=before, after=_state(qualification))
    session.commit()
    notify(ctx, due, "expire")
    return due


def notify(ctx: Context, qualifications: list[Qualification], action: str) -> None:
    """Call ``registry_qualification_decided`` for each; a failing plugin is logged, never raised."""
    if ctx.plugins is None:
        return
    for qualification in qualifications:
        try:
            ctx.plugins.hook.registry_qualification_decided(qualification=qualification, action=action,
                                                            actor=ctx.actor)
        except Exception:  # noqa: BLE001 - a plugin must not undo or hide a committed decision
            logging.getLogger("registry.plugins").exception("registry_qualification_decided a échoué")


def for_venue(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> list[Qualification]:
    """Every qualification of a venue, by criteria set."""
    venue = lookup.venue_by_id(session, venue_id, scope)
    return list(session.scalars(select(Qualification).where(Qualification.venue_pk == venue.pk)
                                .order_by(Qualification.criteria_set)))


def get(session: Session, qualification_id: uuid.UUID, scope: tuple[str, ...] = ()) -> Qualification:
    """One qualification, or ``NotFound``; ``Forbidden`` outside ``scope``."""
    qualification = session.scalar(select(Qualification).where(Qualification.id == qualification_id))
    if qualification is None:
        raise NotFound(f"Aucune qualification {qualification_id}.")
    lookup.venue_by_id(session, qualification.venue.id, scope)
    return qualification














#: How the work queue may be sorted: name -> its columns, in order.
QUEUE_SORTS = {"submitted": (Qualification.submitted_at,), "venue": (Venue.nom,), "commune": (Venue.commune, Venue.nom),
               "status": (Qualification.status,), "set": (Qualification.criteria_set,),
               "valid_until": (Qualification.valid_until,)}
#: What awaits an auditor: a decision to take, or a qualification flagged for review.
AWAITING = (S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED)


def _scope_conditions(session: Session, ctx: Context, criteria_set: str | None, territory: str | None,
                      q: str | None) -> list:
    conditions = territories.scope.venue_filters(session, Venue.commune_code, territory, ctx.scope)
    if criteria_set:
        conditions.append(Qualification.criteria_set == criteria_set)
    if q:
        pattern = f"%{q.lower()}%"
        conditions.append(or_(func.lower(Venue.nom).like(pattern), func.lower(Venue.commune).like(pattern)))
    return conditions


def check_day(field: str, day: date | None) -> date | None:
    """``day`` when it is between the years 1900 and 2200 (beyond, midnight in Paris overflows once converted
    to UTC: 0001-01-01 was a 500), else ``InvalidInput`` on ``field``."""
    if day is not None and not 1900 <= day.year <= 2200:
        raise InvalidInput.on(field, f"« {day.isoformat()} » : une date entre 1900 et 2200 est attendue.")
    return day


def work_queue(session: Session, ctx: Context, *, page: int = 1, per_page: int = 50, status: str | None = None,
               criteria_set: str | None = None, territory: str | None = None, needs_review: bool | None = None,
               expiring_within_days: int | None = None, submitted_from: date | None = None,
               submitted_to: date | None = None, q: str | None = None, sort: str | None = None,
               descending: bool = False) -> Page:
    """Qualifications to look at, in the actor's scope: by default those awaiting a decision, flagged for
    review or expiring within 30 days; filters narrow it down (``q``: the venue's name or commune; submission
    dates inclusive); ``sort``: one of ``QUEUE_SORTS`` (default: flagged first, then the oldest change)."""
    check_day("submitted_from", submitted_from)
    check_day("submitted_to", submitted_to)
    today = ctx.day()
    conditions = _scope_conditions(session, ctx, criteria_set, territory, q)
    if status:
        conditions.append(Qualification.status == status)
    if needs_review is not None:
        conditions.append(Qualification.needs_review.is_(needs_review))
    if expiring_within_days is not None:
        conditions += [Qualification.status.in_(HELD),
                       Qualification.valid_until <= today + timedelta(days=expiring_within_days)]
    if not (status or needs_review is not None or expiring_within_days is not None):
        conditions.append(or_(
            Qualification.status.in_(AWAITING), Qualification.needs_review.is_(True),
            and_(Qualification.status.in_(HELD), Qualification.valid_until <= today + timedelta(days=30))))
    if submitted_from:
        conditions.append(Qualification.submitted_at >= datetime.combine(submitted_from, time.min, PARIS))
    if submitted_to:
        conditions.append(Qualification.submitted_at < datetime.combine(submitted_to + timedelta(days=1), time.min,
                                                                        PARIS))
    if sort in QUEUE_SORTS:
        order = [c.desc().nulls_last() if descending else c.asc().nulls_last() for c in QUEUE_SORTS[sort]]
    else:
        order = [Qualification.needs_review.desc(), Qualification.updated_at]
    statement = (select(Qualification).join(Venue).options(joinedload(Qualification.venue)).where(*conditions)
                 .order_by(*order, Qualification.pk))
    return paginate(session, statement, page, per_page)


def queue_counts(session: Session, ctx: Context, *, criteria_set: str | None = None, territory: str | None = None,
                 q: str | None = None) -> dict[str, int]:
    """How many qualifications of each status the actor's scope holds (with the queue's set, territory and text
    filters), and under ``"needs_review"`` how many are flagged for review."""
    conditions = _scope_conditions(session, ctx, criteria_set, territory, q)
    counts = dict(session.execute(select(Qualification.status, func.count()).join(Venue).where(*conditions)
                                  .group_by(Qualification.status)).all())
    counts["needs_review"] = session.scalar(select(func.count()).select_from(Qualification).join(Venue).where(
        *conditions, Qualification.needs_review.is_(True))) or 0
    return counts
