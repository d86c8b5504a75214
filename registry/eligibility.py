"""The eligibility engine: criteria, criteria sets, outcomes, and the evaluation of a venue's facts.

This module is part of the public plugin API: criteria-set plugins build ``CriteriaSet`` objects from
``criterion``-decorated functions returning ``met()``, ``unmet()``, ``unknown()`` or ``not_applicable()``.
A criterion reads facts and never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from registry import hours
from registry.clock import france_today

__all__ = ["CriteriaSet", "criterion", "Criterion", "Fact", "VenueFacts", "Outcome", "Status", "met", "unmet",
           "unknown", "not_applicable", "REQUIRED", "RECOMMENDED", "FACT_TYPES"]

REQUIRED = "required"
RECOMMENDED = "recommended"
FACT_TYPES = ("boolean", "integer", "number", "string", "date", "list")


class Status(StrEnum):
    MET = "met"
    UNMET = "unmet"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class Overall(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"


class Outcome(NamedTuple):
    """What one criterion concluded, with a reason in French and, when unknown, the facts missing."""

    status: Status
    reason: str = ""
    missing: tuple[str, ...] = ()


def met(reason: str = "") -> Outcome:
    return Outcome(Status.MET, reason)


def unmet(reason: str) -> Outcome:
    return Outcome(Status.UNMET, reason)


def unknown(fact: str | tuple[str, ...], reason: str) -> Outcome:
    """The criterion cannot conclude: ``fact`` is missing or unreadable."""
    return Outcome(Status.UNKNOWN, reason, (fact,) if isinstance(fact, str) else tuple(fact))


def not_applicable(reason: str) -> Outcome:
    return Outcome(Status.NOT_APPLICABLE, reason)


@dataclass(frozen=True)
class Fact:
    """A fact a criterion reads: a field of the national standard (``venue``) or an audit fact (``audit``)."""

    name: str
    type: str
    label: str
    origin: str = "audit"
    help: str = ""
    #: For a ``string`` fact taking one of a few values: ``(value, French label)`` pairs (a list to choose from).
    choices: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.type not in FACT_TYPES:
            raise ValueError(f"fact {self.name}: unknown type {self.type}")
        if self.choices and self.type != "string":
            raise ValueError(f"fact {self.name}: choices are for string facts")

    def shown(self, value: Any) -> Any:
        """``value`` as a person reads it: a choice's label, else the value itself."""
        return dict(self.choices).get(value, value) if self.choices else value


#: The national standard's fields that criteria may read, with their types.
VENUE_FACTS: dict[str, Fact] = {f.name: f for f in (
    Fact("pivot", "string", "SIRET ou RNA", "venue"),
    Fact("services", "list", "Services", "venue"),
    Fact("modalites_accompagnement", "list", "Modalités d'accompagnement", "venue"),
    Fact("modalites_acces", "list", "Modalités d'accès", "venue"),
    Fact("frais_a_charge", "list", "Frais à charge", "venue"),
    Fact("horaires", "string", "Horaires (OpenStreetMap)", "venue"),
    Fact("date_maj", "date", "Date de mise à jour", "venue"),
    Fact("typologie", "list", "Typologie", "venue"),
    Fact("dispositif_programmes_nationaux", "list", "Dispositifs et programmes nationaux", "venue"),
)}


@dataclass(frozen=True)
class Criterion:
    """One rule: id, French title, severity, tunable parameters, facts read, provenance and the check."""

    id: str
    title: str
    severity: str
    facts: tuple[Fact, ...]
    params: Mapping[str, Any]
    source: str
    check: Callable[..., Outcome]

    def evaluate(self, facts: VenueFacts, overrides: Mapping[str, Any] | None = None) -> Outcome:
        """Run the check with the default parameters updated by ``overrides``."""
        return self.check(facts, **{**self.params, **(overrides or {})})


def criterion(*, id: str, title: str, severity: str = REQUIRED, facts: tuple[Fact | str, ...] = (),
              params: Mapping[str, Any] | None = None, source: str) -> Callable[[Callable[..., Outcome]], Criterion]:
    """Decorator turning ``check(facts, **params) -> Outcome`` into a ``Criterion``.

    ``facts`` lists ``Fact`` objects (audit facts) or names of the standard's fields (``"horaires"``).
    """
    if severity not in (REQUIRED, RECOMMENDED):
        raise ValueError(f"criterion {id}: severity must be required or recommended")
    declared = tuple(VENUE_FACTS[f] if isinstance(f, str) else f for f in facts)

    def decorate(check: Callable[..., Outcome]) -> Criterion:
        return Criterion(id, title, severity, declared, dict(params or {}), source, check)

    return decorate


@dataclass(frozen=True)
class CriteriaSet:
    """A versioned, named set of criteria defining eligibility for a label or a qualification."""

    id: str
    version: str
    title: str
    description: str
    criteria: tuple[Criterion, ...]
    label: str = ""
    #: How many months a venue holding this label stays fresh after its last update (``None``: the registry's
    #: ``REGISTRY_FRESHNESS_MONTHS``, 12 by default).
    freshness_months: int | None = None

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def facts(self) -> dict[str, Fact]:
        """Every fact the criteria read, by name."""
        return {fact.name: fact for c in self.criteria for fact in c.facts}


class VenueFacts:
    """What criteria may read of a venue: the standard's fields and the current audit facts."""

    def __init__(self, fields: Mapping[str, Any], audit: Mapping[str, Any], today: date | None = None) -> None:
        self._fields = fields
        self._audit = audit
        self.today = today or france_today()

    def get(self, name: str) -> Any:
        """The fact's value (``None`` when unknown); audit facts win over the standard's fields."""
        if name in self._audit:
            return self._audit[name]
        return self._fields.get(name)

    def known(self, name: str) -> bool:
        value = self.get(name)
        return value is not None and value != "" and value != []

    def opening(self) -> hours.WeeklyOpening | None:
        """Weekly hours and open days from ``horaires``; ``None`` when absent or unparseable."""
        return hours.weekly_opening(self.get("horaires"))


class CriterionResult(NamedTuple):
    """One criterion's outcome within an evaluation."""

    criterion_id: str
    title: str
    severity: str
    status: Status
    reason: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The result of a criteria set on a venue's facts: overall and criterion by criterion."""

    criteria_set: str
    overall: Overall
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)

    @property
    def missing_facts(self) -> tuple[str, ...]:
        """Facts whose absence keeps required criteria unknown, in order, without repeats."""
        return tuple(dict.fromkeys(name for r in self.results if r.severity == REQUIRED for name in r.missing))


def overall_of(results: tuple[CriterionResult, ...]) -> Overall:
    """``ineligible`` if a required criterion is unmet, else ``incomplete`` if one is unknown, else ``eligible``."""
    required = [r.status for r in results if r.severity == REQUIRED]
    if Status.UNMET in required:
        return Overall.INELIGIBLE
    if Status.UNKNOWN in required:
        return Overall.INCOMPLETE
    return Overall.ELIGIBLE


def evaluate(criteria_set: CriteriaSet, facts: VenueFacts,
             params: Mapping[str, Mapping[str, Any]] | None = None) -> Evaluation:
    """Evaluate every criterion; ``params`` overrides parameters per criterion id."""
    params = params or {}
    results = []
    for c in criteria_set.criteria:
        overrides = params.get(c.id)
        status, reason, missing = c.check(facts, **({**c.params, **overrides} if overrides else c.params))
        results.append(CriterionResult(c.id, c.title, c.severity, status, reason, missing))
    results = tuple(results)
    return Evaluation(criteria_set.key, overall_of(results), results)
