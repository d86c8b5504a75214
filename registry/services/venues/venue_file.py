"""The auditor's file of a venue for one criteria set, built around the decision: the set's criteria with their
last results (what is missing first), the audit facts and the venue's own fields each one reads; and saving,
in one go, the fields and facts an auditor changed (the venue through ``venues.update`` and its revision check,
the facts through ``facts.record_many``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from registry.eligibility import CriteriaSet, Criterion, Fact
from registry.errors import InvalidInput
from registry.models import AuditFact, EvaluationRecord, Qualification, Venue
from registry.services.base.context import Context
from registry.services.qualification import facts
from registry.services.venues import venues

#: The order of the file's criteria: what stops the decision first.
_ORDER = {"unmet": 0, "unknown": 1, None: 2, "met": 3, "not_applicable": 4}


@dataclass
class CriterionEntry:
    """A criterion of the file: its last result (``None`` before any evaluation) and the facts it reads that no
    earlier criterion of the file showed."""

    criterion: Criterion
    result: dict[str, Any] | None
    audit_facts: list[Fact] = field(default_factory=list)
    venue_fields: list[Fact] = field(default_factory=list)
    shared: list[Fact] = field(default_factory=list)  # read here too, shown under an earlier criterion

    @property
    def status(self) -> str | None:
        return self.result["status"] if self.result else None


@dataclass
class VenueFile:
    venue: Venue
    criteria_set: CriteriaSet
    qualification: Qualification | None
    evaluation: EvaluationRecord | None
    entries: list[CriterionEntry]
    current: dict[str, AuditFact]

    @property
    def missing(self) -> list[CriterionEntry]:
        """The criteria that stop the decision (unmet or unknown)."""
        return [e for e in self.entries if e.status in ("unmet", "unknown")]


def build(criteria_set: CriteriaSet, venue: Venue, qualification: Qualification | None,
          evaluation: EvaluationRecord | None, current: dict[str, AuditFact]) -> VenueFile:
    """The file of ``venue`` for ``criteria_set``, its criteria ordered by what is missing first (then as the set
    declares them); each fact shown once, under the first criterion that reads it."""
    results = {r["criterion_id"]: r for r in (evaluation.results if evaluation else [])}
    declared = {c.id: n for n, c in enumerate(criteria_set.criteria)}
    ordered = sorted(criteria_set.criteria,
                     key=lambda c: (_ORDER.get(results[c.id]["status"] if c.id in results else None, 2),
                                    declared[c.id]))
    seen: set[str] = set()
    entries = []
    for criterion in ordered:
        entry = CriterionEntry(criterion, results.get(criterion.id))
        for fact in criterion.facts:
            if fact.name in seen:
                entry.shared.append(fact)
                continue
            seen.add(fact.name)
            (entry.audit_facts if fact.origin == "audit" else entry.venue_fields).append(fact)
        entries.append(entry)
    return VenueFile(venue, criteria_set, qualification, evaluation, entries, current)


def save(session: Session, venue_id: uuid.UUID, expected_revision: int, venue_changes: dict[str, Any],
         fact_changes: dict[str, tuple[Any, str | None]], ctx: Context) -> list[str]:
    """Apply an auditor's changes: the venue's fields (only those that change, at ``expected_revision``:
    ``StaleRevision`` otherwise), then the facts, all of them or none. Returns the names of what was saved."""
    saved: list[str] = []
    declared = ctx.catalogue.audit_facts()
    for name, (value, _) in fact_changes.items():  # every fact checked before anything is written
        if name not in declared:
            raise InvalidInput.on(name, f"Fait inconnu : {name}.")
        facts.coerce(declared[name], value)
    if venue_changes:
        current = venues.get(session, venue_id, scope=ctx.scope)
        wanted = venues.normalise(venue_changes)
        changed = {name: value for name, value in wanted.items() if getattr(current, name) != value}
        if changed:
            venues.update(session, venue_id, changed, expected_revision, ctx)
            saved += list(changed)
    if fact_changes:
        facts.record_many(session, venue_id, fact_changes, ctx)
        saved += list(fact_changes)
    return saved
