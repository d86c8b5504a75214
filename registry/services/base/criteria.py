"""The catalogue of criteria sets the loaded plugins provide, with the deployment's parameter overrides."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from registry.eligibility import CriteriaSet, Fact
from registry.errors import NotFound


class CatalogueError(ValueError):
    """Plugins or configuration that make the catalogue inconsistent (raised when the app starts)."""


@dataclass
class Catalogue:
    """Criteria sets by id, and the parameters each criterion runs with."""

    sets: dict[str, CriteriaSet] = field(default_factory=dict)
    overrides: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def get(self, set_id: str) -> CriteriaSet:
        """A criteria set by id, or ``NotFound``."""
        try:
            return self.sets[set_id]
        except KeyError:
            raise NotFound(f"Jeu de critères inconnu : {set_id} (connus : {', '.join(sorted(self.sets))}).") from None

    def params(self, set_id: str) -> dict[str, dict[str, Any]]:
        """Effective parameters of every criterion of a set (defaults updated by the deployment's overrides)."""
        criteria_set = self.get(set_id)
        params = {c.id: {**c.params, **self.overrides.get(set_id, {}).get(c.id, {})} for c in criteria_set.criteria}
        return json.loads(json.dumps(params))  # as stored: tuples become lists

    def audit_facts(self) -> dict[str, Fact]:
        """Every audit fact some criteria set reads, by name (what operators may record)."""
        facts: dict[str, Fact] = {}
        for criteria_set in self.sets.values():
            for fact in criteria_set.facts.values():
                if fact.origin == "audit":
                    known = facts.setdefault(fact.name, fact)
                    if known.type != fact.type:
                        raise CatalogueError(f"fact {fact.name} declared as {known.type} and {fact.type}")
        return facts


def build_catalogue(pm: pluggy.PluginManager, params_json: str | Mapping = "") -> Catalogue:
    """Collect the criteria sets of every plugin and check the parameter overrides against them."""
    catalogue = Catalogue()
    for provided in pm.hook.registry_criteria_sets():
        for criteria_set in provided or []:
            if not isinstance(criteria_set, CriteriaSet):
                raise CatalogueError(f"registry_criteria_sets returned {criteria_set!r}, not a CriteriaSet")
            if criteria_set.id in catalogue.sets:
                raise CatalogueError(f"criteria set {criteria_set.id} provided twice")
            catalogue.sets[criteria_set.id] = criteria_set
    overrides = json.loads(params_json) if isinstance(params_json, str) and params_json.strip() else params_json
    for set_id, by_criterion in dict(overrides or {}).items():
        criteria = {c.id: c for c in catalogue.get(set_id).criteria} if set_id in catalogue.sets else None
        if criteria is None:
            raise CatalogueError(f"CRITERIA_PARAMS: unknown criteria set {set_id}")
        for criterion_id, values in by_criterion.items():
            if criterion_id not in criteria:
                raise CatalogueError(f"CRITERIA_PARAMS: unknown criterion {set_id}/{criterion_id}")
            unknown = set(values) - set(criteria[criterion_id].params)
            if unknown:
                raise CatalogueError(f"CRITERIA_PARAMS: unknown parameter(s) {', '.join(sorted(unknown))} "
                                     f"of {set_id}/{criterion_id}")
        catalogue.overrides[set_id] = {k: dict(v) for k, v in by_criterion.items()}
    catalogue.audit_facts()
    return catalogue
