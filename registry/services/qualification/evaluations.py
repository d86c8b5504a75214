"""Evaluations: criteria sets run on venues' facts, stored per venue revision; one by one or in bulk."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.db import bulk_insert
from registry.eligibility import VENUE_FACTS, CriteriaSet, Evaluation, VenueFacts, evaluate
from registry.errors import NotFound
from registry.models import EvaluationRecord, Venue, utcnow
from registry.services import territories
from registry.services.base.context import Context
from registry.services.base.criteria import Catalogue
from registry.services.base.progress import Progress, no_progress
from registry.services.journal import journal
from registry.services.qualification import fact_values
from registry.services.territories import lookup


def _results(evaluation: Evaluation) -> list[dict[str, Any]]:
    # Titles are not stored (the criteria set has them: see ``titled_results``); Status members serialise as str.
    return [{"criterion_id": r.criterion_id, "severity": r.severity, "status": r.status, "reason": r.reason,
             "missing": list(r.missing)} for r in evaluation.results]


def titled_results(record: EvaluationRecord, catalogue: Catalogue) -> list[dict[str, Any]]:
    """A stored evaluation's results with each criterion's title (its id when the set is no longer loaded)."""
    criteria_set = catalogue.sets.get(record.criteria_set)
    titles = {c.id: c.title for c in criteria_set.criteria} if criteria_set else {}
    return [{**result, "title": titles.get(result["criterion_id"], result["criterion_id"])}
            for result in record.results]


def _digest(revision: int, evaluation: Evaluation, params_key: str) -> str:
    """A fingerprint of what an evaluation says (``params_key``: the set and its parameters, as text)."""
    text = "\x1f".join([str(revision), params_key] + [
        f"{r.criterion_id}\x1e{r.status}\x1e{r.reason}\x1e{' '.join(r.missing)}" for r in evaluation.results])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _params_key(criteria_set: CriteriaSet, params: dict) -> str:
    return f"{criteria_set.key}{json.dumps(params, sort_keys=True)}"


def _row(venue_pk: int, revision: int, criteria_set: CriteriaSet, evaluation: Evaluation,
         params: dict, actor: str, digest: str) -> dict[str, Any]:
    return {"venue_pk": venue_pk, "venue_revision": revision, "criteria_set": criteria_set.id,
            "criteria_set_version": criteria_set.version, "overall": str(evaluation.overall),
            "results": _results(evaluation), "params": params, "evaluated_by": actor, "evaluated_at": utcnow(),
            "digest": digest}


def store_evaluation(session: Session, venue: Venue, set_id: str, ctx: Context) -> EvaluationRecord:
    """Evaluate the venue's current revision against a criteria set; add the record and its journal entry
    to the session (the caller commits)."""
    criteria_set = ctx.catalogue.get(set_id)
    params = ctx.catalogue.params(set_id)
    evaluation = evaluate(criteria_set, fact_values.venue_facts(session, venue, ctx.day()), params)
    digest = _digest(venue.revision, evaluation, _params_key(criteria_set, params))
    record = EvaluationRecord(**_row(venue.pk, venue.revision, criteria_set, evaluation, params, ctx.actor, digest))
    session.add(record)
    session.flush()
    journal.record(session, ctx.actor, "evaluation.stored", "venue", venue.id, venue.pk,
                   after={"evaluation": record.pk, "criteria_set": criteria_set.key, "revision": venue.revision,
                          "overall": record.overall})
    return record


def evaluate_venue(session: Session, venue_id: uuid.UUID, set_id: str, ctx: Context) -> EvaluationRecord:
    """Evaluate one venue's current revision against a criteria set and store the result."""
    ctx.catalogue.get(set_id)
    venue = lookup.venue_by_id(session, venue_id, ctx.scope)
    record = store_evaluation(session, venue, set_id, ctx)
    session.commit()
    return record


def get(session: Session, evaluation_pk: int, scope: tuple[str, ...] = ()) -> EvaluationRecord:
    """One stored evaluation, or ``NotFound``; ``Forbidden`` when its venue is outside ``scope``."""
    # Beyond a 64-bit key there is nothing to find (and the drivers refuse such a number).
    record = session.get(EvaluationRecord, evaluation_pk) if 0 < evaluation_pk < 2 ** 63 else None
    if record is None:
        raise NotFound(f"Aucune évaluation {evaluation_pk}.")
    lookup.venue_by_id(session, record.venue.id, scope)
    return record


def latest_for_venue(session: Session, venue_id: uuid.UUID, scope: tuple[str, ...] = ()) -> list[EvaluationRecord]:
    """The latest evaluation of the venue for each criteria set."""
    venue = lookup.venue_by_id(session, venue_id, scope)
    newest = (select(func.max(EvaluationRecord.pk)).where(EvaluationRecord.venue_pk == venue.pk)
              .group_by(EvaluationRecord.criteria_set))
    return list(session.scalars(select(EvaluationRecord).where(EvaluationRecord.pk.in_(newest))
                                .order_by(EvaluationRecord.criteria_set)))


def _latest_digests(session: Session, venue_pks: list[int], set_ids: list[str]) -> dict[tuple[int, str], str]:
    newest = (select(func.max(EvaluationRecord.pk)).where(EvaluationRecord.venue_pk.in_(venue_pks),
                                                          EvaluationRecord.criteria_set.in_(set_ids))
              .group_by(EvaluationRecord.venue_pk, EvaluationRecord.criteria_set))
    rows = session.execute(select(EvaluationRecord.venue_pk, EvaluationRecord.criteria_set, EvaluationRecord.digest)
                           .where(EvaluationRecord.pk.in_(newest)))
    return {(pk, set_id): digest for pk, set_id, digest in rows}


def bulk_evaluate(session: Session, set_ids: list[str], ctx: Context, territory: str | None = None,
                  progress: Progress = no_progress, batch_size: int = 2000) -> dict[str, Counter]:
    """Evaluate every venue (of a territory) against the sets; each batch is written and committed at once.

    A venue whose latest evaluation already says the same thing for the same revision is not stored again,
    so re-running is cheap and the history only grows when something changed. While a batch is written (by a
    second connection, in a worker thread) the next one is read and evaluated: the database and Python work
    on the two cores at once.
    Each batch adds one journal entry (``evaluations.bulk``) summing up what it stored.
    Returns, per set, how many venues are eligible, ineligible or incomplete (and ``unchanged``).
    """
    catalogue, today = ctx.catalogue, ctx.day()
    criteria_sets = [catalogue.get(set_id) for set_id in set_ids]
    params = {s.id: catalogue.params(s.id) for s in criteria_sets}
    params_keys = {s.id: _params_key(s, params[s.id]) for s in criteria_sets}
    columns = [Venue.pk, Venue.revision] + [getattr(Venue, name) for name in VENUE_FACTS]
    statement = select(*columns).where(*territories.scope.venue_filters(session, Venue.commune_code, territory,
                                                                        ctx.scope))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    counts = {s.id: Counter() for s in criteria_sets}

    def write(rows: list[dict[str, Any]], done: int, first_pk: int, last_pk: int) -> None:
        with Session(session.get_bind()) as writer:
            bulk_insert(writer, EvaluationRecord.__table__, rows)
            journal.record(writer, ctx.actor, "evaluations.bulk", "evaluations", f"{first_pk}-{last_pk}",
                           after={"stored": len(rows), "venues": done, "criteria_sets": list(set_ids),
                                  "venue_pks": [first_pk, last_pk]})
            writer.commit()
        progress(done, total)

    last_pk, pending = 0, None
    with ThreadPoolExecutor(max_workers=1) as executor:
        while True:
            batch = session.execute(statement.where(Venue.pk > last_pk).order_by(Venue.pk).limit(batch_size)).all()
            if not batch:
                break
            last_pk = batch[-1].pk
            pks = [row.pk for row in batch]
            audit = fact_values.current_values(session, pks)
            previous = _latest_digests(session, pks, set_ids)
            session.rollback()  # end the read snapshot: nothing was written through this session
            rows = []
            for row in batch:
                facts = VenueFacts({name: getattr(row, name) for name in VENUE_FACTS}, audit.get(row.pk, {}), today)
                for criteria_set in criteria_sets:
                    evaluation = evaluate(criteria_set, facts, params[criteria_set.id])
                    counts[criteria_set.id][evaluation.overall.value] += 1
                    digest = _digest(row.revision, evaluation, params_keys[criteria_set.id])
                    if previous.get((row.pk, criteria_set.id)) == digest:
                        counts[criteria_set.id]["unchanged"] += 1
                        continue
                    rows.append(_row(row.pk, row.revision, criteria_set, evaluation, params[criteria_set.id],
                                     ctx.actor, digest))
            if pending is not None:
                pending.result()  # surfaces a failed write before going on
            pending = executor.submit(write, rows, len(batch), batch[0].pk, last_pk)
        if pending is not None:
            pending.result()
    session.rollback()  # the caller's next read must see the last batch, not a snapshot taken before it
    return counts
