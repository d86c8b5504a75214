"""Aidants Connect: habilitation of a structure whose professionals act for people online."""

from __future__ import annotations

from criteria.common import missing
from registry import hookimpl
from registry.eligibility import RECOMMENDED, CriteriaSet, Fact, criterion, met, unknown, unmet

SOURCE = "aidantsconnect.beta.gouv.fr, FAQ « habilitation »"
STRUCTURE_KIND = Fact("structure_kind", "string", "Type de structure", choices=(
    ("france-services", "France services"), ("ccas", "Centre communal d'action sociale (CCAS)"),
    ("cias", "Centre intercommunal d'action sociale (CIAS)"),
    ("pimms", "Point information médiation multi services (PIMMS)"),
    ("mediation-numerique", "Structure de médiation numérique"), ("collectivite", "Collectivité territoriale"),
    ("service-public", "Service public"), ("travail-social", "Structure de travail social"), ("autre", "Autre")))
AIDANTS = Fact("aidants_count", "integer", "Nombre d'aidants déclarés")
NOT_SALARIED = Fact("aidants_not_salaried", "integer",
                    "Dont bénévoles, volontaires en service civique ou élus")
TRAINED = Fact("aidants_trained", "integer", "Nombre d'aidants formés à Aidants Connect")
RESPONSIBLE = Fact("aidants_responsible", "string", "Responsable Aidants Connect de la structure (nom)")
MANDATES = Fact("aidants_mandates", "integer", "Nombre de mandats Aidants Connect (liste des structures habilitées)")
USERS = Fact("aidants_users", "integer", "Nombre d'usagers accompagnés (liste des structures habilitées)")
ELIGIBLE_KINDS = ("france-services", "ccas", "cias", "pimms", "mediation-numerique", "collectivite",
                  "service-public", "travail-social")


@criterion(id="structure-eligible", title="Structure éligible", facts=(STRUCTURE_KIND,),
           params={"eligible_kinds": ELIGIBLE_KINDS},
           source=f"{SOURCE} : personne morale assurant une mission d'aide aux démarches (France services, CCAS, "
                  "PIMMS, médiation numérique, travailleurs sociaux…)")
def eligible_structure(facts, eligible_kinds):
    kind = facts.get(STRUCTURE_KIND.name)
    if not kind:
        return unknown(STRUCTURE_KIND.name, "Type de structure non renseigné")
    shown = STRUCTURE_KIND.shown(kind)
    return met(f"Structure : {shown}") if kind in eligible_kinds else unmet(f"Structure « {shown} » non éligible")


@criterion(id="aidants-salaries", title="Aidants salariés uniquement", facts=(AIDANTS, NOT_SALARIED),
           source=f"{SOURCE} : aidants professionnels salariés ; ni aidants familiaux, ni bénévoles, ni service "
                  "civique, ni élus")
def salaried_aidants(facts):
    if absent := missing(facts, AIDANTS, NOT_SALARIED, reason="Nombre d'aidants ou statut non renseigné"):
        return absent
    count, not_salaried = facts.get(AIDANTS.name), facts.get(NOT_SALARIED.name)
    if count < 1:
        return unmet("Aucun aidant déclaré")
    if not_salaried > 0:
        return unmet(f"{not_salaried} aidant(s) non salarié(s) sur {count}")
    return met(f"{count} aidant(s), tous salariés")


@criterion(id="aidants-formes", title="Tous les aidants formés", facts=(AIDANTS, TRAINED),
           source=f"{SOURCE} : chaque aidant est formé avant d'utiliser le service")
def trained_aidants(facts):
    if absent := missing(facts, AIDANTS, TRAINED, reason="Nombre d'aidants ou d'aidants formés non renseigné"):
        return absent
    count, trained = facts.get(AIDANTS.name), facts.get(TRAINED.name)
    if count < 1:
        return unmet("Aucun aidant déclaré")
    if trained < count:
        return unmet(f"{trained} aidant(s) formé(s) sur {count}")
    return met(f"{count} aidant(s) formé(s)")


@criterion(id="responsable-designe", title="Un responsable désigné", facts=(RESPONSIBLE,),
           source=f"{SOURCE} : l'habilitation est portée par la structure, qui désigne un responsable")
def responsible(facts):
    name = (facts.get(RESPONSIBLE.name) or "").strip()
    return met(f"Responsable : {name}") if name else unknown(RESPONSIBLE.name, "Responsable non désigné")


@criterion(id="habilitation-utilisee", title="Habilitation utilisée (mandats créés)", severity=RECOMMENDED,
           facts=(MANDATES, USERS),
           source=f"{SOURCE} : les mandats durent un an au plus ; la liste des structures habilitées publie, par "
                  "structure, le nombre de mandats et d'usagers accompagnés")
def habilitation_used(facts):
    if absent := missing(facts, MANDATES, reason="Nombre de mandats non renseigné"):
        return absent
    mandates, users = facts.get(MANDATES.name), facts.get(USERS.name)
    if mandates < 1:
        return unmet("Aucun mandat créé avec l'habilitation")
    return met(f"{mandates} mandat(s)" + (f" pour {users} usager(s)" if users is not None else ""))


AIDANTS_CONNECT = CriteriaSet(
    id="aidants-connect", version="2021", title="Habilitation Aidants Connect",
    description="Conditions d'habilitation d'une structure à Aidants Connect.", label="Habilité Aidants Connect",
    criteria=(eligible_structure, salaried_aidants, trained_aidants, responsible, habilitation_used),
)


@hookimpl
def registry_criteria_sets():
    return [AIDANTS_CONNECT]
