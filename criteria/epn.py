"""Espace public numérique (circulaire du 23 août 2001)."""

from __future__ import annotations

from criteria.common import at_least, is_true
from registry import hookimpl
from registry.eligibility import CriteriaSet, Fact, criterion, met, unknown, unmet

SOURCE = "Circulaire du 23 août 2001 (Sénat, rapport r19-711)"
COMPUTERS = Fact("computers", "integer", "Nombre d'ordinateurs à disposition du public")
FACILITATORS = Fact("qualified_facilitators", "integer", "Nombre d'animateurs multimédia qualifiés")
FREE_INITIATION = Fact("free_initiation_hours_per_week", "number", "Heures d'initiation gratuite par semaine")
NETWORK = Fact("national_network_member", "boolean", "Membre du réseau national des EPN")


@criterion(id="ordinateurs", title="Au moins cinq ordinateurs", facts=(COMPUTERS,), params={"min_computers": 5},
           source=f"{SOURCE} : au moins cinq ordinateurs")
def computers(facts, min_computers):
    return at_least(facts, COMPUTERS, min_computers, "ordinateur(s)")


@criterion(id="animateur-qualifie", title="Au moins un animateur multimédia qualifié", facts=(FACILITATORS,),
           params={"min_facilitators": 1}, source=f"{SOURCE} : au moins un animateur multimédia qualifié")
def facilitator(facts, min_facilitators):
    return at_least(facts, FACILITATORS, min_facilitators, "animateur(s) qualifié(s)")


@criterion(id="initiation-gratuite", title="Au moins deux heures d'initiation gratuite par semaine",
           facts=(FREE_INITIATION,), params={"min_hours": 2}, source=f"{SOURCE} : deux heures d'initiation gratuite")
def free_initiation(facts, min_hours):
    return at_least(facts, FREE_INITIATION, min_hours, "h d'initiation gratuite par semaine")


@criterion(id="part-initiation", title="L'initiation gratuite représente au moins 10 % du temps d'ouverture",
           facts=(FREE_INITIATION, "horaires"), params={"min_share": 0.10},
           source=f"{SOURCE} : au moins 10 % du temps du lieu")
def initiation_share(facts, min_share):
    free = facts.get(FREE_INITIATION.name)
    if free is None:
        return unknown(FREE_INITIATION.name, "Heures d'initiation gratuite non renseignées")
    opening = facts.opening()
    if opening is None or opening.hours == 0:
        return unknown("horaires", "Horaires non lisibles : impossible de calculer la part d'initiation")
    share = free / opening.hours
    text = f"{share * 100:.0f} % du temps d'ouverture ({free:g} h sur {opening.hours:g} h)"
    return met(text) if share >= min_share else unmet(f"{text}, {min_share * 100:.0f} % requis")


@criterion(id="reseau-national", title="Membre du réseau national", facts=(NETWORK,),
           source=f"{SOURCE} : adhésion au réseau national")
def network(facts):
    return is_true(facts, NETWORK, "Membre du réseau national", "Pas membre du réseau national")


EPN = CriteriaSet(
    id="epn", version="2001", title="Espace public numérique",
    description="Critères de la circulaire du 23 août 2001 sur les espaces publics numériques.",
    label="Espace public numérique",
    criteria=(computers, facilitator, free_initiation, initiation_share, network),
)


@hookimpl
def registry_criteria_sets():
    return [EPN]
