"""France services: the labelling rules of a France services site."""

from __future__ import annotations

from criteria.common import is_true, missing
from registry import hookimpl
from registry.eligibility import RECOMMENDED, CriteriaSet, Fact, criterion, met, unknown, unmet

CIRCULAIRE = "Circulaire n° 6094-SG du 1er juillet 2019 ; référentiel approuvé par arrêté du 16 juin 2025"
SECONDARY = "(source secondaire)"

AGENTS = Fact("france_services_agents", "integer", "Nombre d'agents France services (conseillers numériques compris)")
CONSEILLERS = Fact("conseillers_numeriques_among_agents", "integer",
                   "Dont conseillers numériques (non comptés comme agents)")
CONFIDENTIAL_OFFICE = Fact("confidential_office", "boolean", "Bureau confidentiel disponible")
PARTNERS = Fact("national_partners", "list", "Partenaires nationaux conventionnés",
                help="Parmi : CNAF, CNAM, CNAV, MSA, France Travail, La Poste, DGFiP, Justice, Intérieur")
NINE_PARTNERS = ("CNAF", "CNAM", "CNAV", "MSA", "France Travail", "La Poste", "DGFiP", "Justice", "Intérieur")


@criterion(id="heures-hebdomadaires", title="Au moins 24 heures d'ouverture par semaine", facts=("horaires",),
           params={"min_hours": 24}, source=f"{CIRCULAIRE} : 24 h par semaine {SECONDARY}")
def weekly_hours(facts, min_hours):
    opening = facts.opening()
    if opening is None:
        return unknown("horaires", "Horaires non lisibles : impossible de calculer le volume hebdomadaire")
    if opening.hours >= min_hours:
        return met(f"{opening.hours:g} h par semaine")
    return unmet(f"{opening.hours:g} h par semaine, {min_hours:g} h requises")


@criterion(id="jours-ouverture", title="Ouvert au moins 5 jours par semaine", severity=RECOMMENDED,
           facts=("horaires",), params={"min_days": 5},
           source=f"{CIRCULAIRE} : cinq jours par semaine (non confirmé dans le texte primaire)")
def open_days(facts, min_days):
    opening = facts.opening()
    if opening is None:
        return unknown("horaires", "Horaires non lisibles : impossible de compter les jours d'ouverture")
    if opening.days >= min_days:
        return met(f"{opening.days:g} jours par semaine")
    return unmet(f"{opening.days:g} jours par semaine, {min_days} requis")


@criterion(id="agents", title="Au moins deux agents France services (conseillers numériques non comptés)",
           facts=(AGENTS, CONSEILLERS), params={"min_agents": 2},
           source="aide.conseiller-numerique.gouv.fr (FAQ) : un conseiller numérique ne peut pas être l'un des "
                  "deux agents France services")
def agents(facts, min_agents):
    if absent := missing(facts, AGENTS, CONSEILLERS,
                         reason="Nombre d'agents ou de conseillers numériques non renseigné"):
        return absent
    total, conseillers = facts.get(AGENTS.name), facts.get(CONSEILLERS.name)
    counted = total - conseillers
    if counted >= min_agents:
        return met(f"{counted} agent(s) hors conseillers numériques")
    return unmet(f"{counted} agent(s) hors conseillers numériques ({conseillers} conseiller(s) numérique(s) "
                 f"non comptés), {min_agents} requis")


@criterion(id="bureau-confidentiel", title="Un bureau permettant des échanges confidentiels",
           facts=(CONFIDENTIAL_OFFICE,), source=f"{CIRCULAIRE} : bureau confidentiel {SECONDARY}")
def confidential_office(facts):
    return is_true(facts, CONFIDENTIAL_OFFICE, "Bureau confidentiel disponible", "Pas de bureau confidentiel")


@criterion(id="partenaires-nationaux", title="Les neuf partenaires nationaux", facts=(PARTNERS,),
           params={"partners": NINE_PARTNERS},
           source="Sénat, rapport r21-778 : CNAF, CNAM, CNAV, MSA, Pôle emploi (France Travail), La Poste, DGFiP, "
                  "ministère de la Justice, ministère de l'Intérieur (ANTS)")
def national_partners(facts, partners):
    declared = facts.get(PARTNERS.name)
    if declared is None:
        return unknown(PARTNERS.name, "Partenaires nationaux non renseignés")
    missing = [p for p in partners if p not in declared]
    if missing:
        return unmet("Partenaires manquants : " + ", ".join(missing))
    return met(f"Les {len(partners)} partenaires nationaux")


FRANCE_SERVICES = CriteriaSet(
    id="france-services", version="2019", title="Labellisation France services",
    description="Critères du label France services (circulaire du 1er juillet 2019).", label="France services",
    criteria=(weekly_hours, open_days, agents, confidential_office, national_partners),
)


@hookimpl
def registry_criteria_sets():
    return [FRANCE_SERVICES]
