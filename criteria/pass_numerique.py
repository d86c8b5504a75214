"""Pass numérique: the venue qualification a Pass numérique operator applies.

The arrêté of 26 March 2019 labels operators, who "qualify and reference" venues with rules of their own;
these criteria follow the public description of APTIC's qualification (see docs/criteria.md).
"""

from __future__ import annotations

from criteria.common import add_months, at_least, is_true, signed_within
from registry import hookimpl
from registry.eligibility import RECOMMENDED, CriteriaSet, Fact, criterion, met, unknown, unmet
from registry.identifiers import rna_valid, siret_valid

ARRETE = "Arrêté du 26 mars 2019 (label « numérique inclusif », niveau 1 Pass numérique)"
APTIC = ("support.aptic.fr, « Les critères d'éligibilité de la démarche devenir APTIC » et « Comment se qualifier "
         "APTIC »")

LEGAL_REPRESENTATIVE = Fact("legal_representative", "string", "Représentant légal (nom)")
OPEN_TO_PUBLIC = Fact("open_to_public", "boolean", "Lieu ouvert au public")
ZERO_COST = Fact("zero_cost_with_pass", "boolean", "Aucun reste à charge pour le bénéficiaire payant en Pass")
CHARTER_SIGNED_ON = Fact("charter_signed_on", "date", "Date de signature de la charte")
TERMS_SIGNED_ON = Fact("terms_signed_on", "date", "Date de signature des conditions générales")
BANK_DETAILS_CHECKED = Fact("bank_details_checked", "boolean", "Coordonnées bancaires vérifiées")
TRAINED_MEDIATORS = Fact("trained_mediators", "integer", "Nombre de médiateurs numériques formés")
DECLARES_PASS = Fact("accepts_pass_numerique", "boolean",
                     "Le lieu déclare accepter le Pass numérique (donnée publiée par le lieu ou son réseau)")
NO_PUBLIC = "Ce lieu n'accueille pas de public"
ACCOMPANIMENTS = ("Accompagnement individuel", "Dans un atelier collectif")


@criterion(id="pivot-valide", title="SIRET ou RNA valide", facts=("pivot",),
           source=f"{APTIC} : SIRET valide ; criteria-sources.md, identifiants (Luhn, exception La Poste)")
def valid_pivot(facts):
    pivot = (facts.get("pivot") or "").strip().upper()
    if not pivot:
        return unknown("pivot", "SIRET ou RNA non renseigné")
    if pivot.startswith("W"):
        return met(f"RNA {pivot}") if rna_valid(pivot) else unmet(f"RNA {pivot} invalide (W suivi de 9 chiffres)")
    if pivot == "0" * 14:
        return unmet("SIRET de remplacement (00000000000000) : le vrai SIRET manque")
    return met(f"SIRET {pivot}") if siret_valid(pivot) else unmet(f"SIRET {pivot} invalide (clé de contrôle)")


@criterion(id="representant-legal", title="Représentant légal identifié", facts=(LEGAL_REPRESENTATIVE,),
           source=f"{APTIC} : représentant légal identifié")
def legal_representative(facts):
    name = (facts.get(LEGAL_REPRESENTATIVE.name) or "").strip()
    return met(f"Représentant légal : {name}") if name else unknown(LEGAL_REPRESENTATIVE.name,
                                                                      "Représentant légal non renseigné")


@criterion(id="ouvert-au-public", title="Lieu ouvert au public", facts=(OPEN_TO_PUBLIC, "modalites_acces"),
           source=f"{ARRETE} : mise en relation des publics avec des lieux qualifiés")
def open_to_public(facts):
    declared = facts.get(OPEN_TO_PUBLIC.name)
    if declared is not None:
        return met("Ouvert au public (constaté)") if declared else unmet("Fermé au public (constaté)")
    access = facts.get("modalites_acces") or []
    if NO_PUBLIC in access:
        return unmet(f"Modalités d'accès : « {NO_PUBLIC} »")
    if access:
        return met("Modalités d'accès : " + ", ".join(access))
    return unknown((OPEN_TO_PUBLIC.name, "modalites_acces"), "Accueil du public non renseigné")


@criterion(id="service-du-standard", title="Au moins un service du standard national", facts=("services",),
           source=f"{APTIC} : offre de services déclarée ; schéma national des lieux de médiation numérique v1.0")
def standard_service(facts):
    services = facts.get("services") or []
    if not services:
        return unknown("services", "Aucun service déclaré")
    return met(f"{len(services)} service(s) : " + ", ".join(services))


@criterion(id="accompagnement", title="Accompagnement individuel ou en atelier", facts=("modalites_accompagnement",),
           source=f"{APTIC} : services délivrés en accompagnement ; schéma national, modalites_accompagnement")
def accompaniment(facts):
    modes = facts.get("modalites_accompagnement") or []
    if not modes:
        return unknown("modalites_accompagnement", "Modalités d'accompagnement non renseignées")
    found = [m for m in modes if m in ACCOMPANIMENTS]
    if found:
        return met(", ".join(found))
    return unmet("Ni accompagnement individuel ni atelier collectif (" + ", ".join(modes) + ")")


@criterion(id="reste-a-charge-nul", title="Aucun reste à charge avec le Pass", facts=(ZERO_COST,),
           source=f"{APTIC} : prix régulés « garantissant un reste à charge nul »")
def zero_cost(facts):
    return is_true(facts, ZERO_COST, "Engagement : aucun reste à charge", "Un reste à charge est demandé")


@criterion(id="charte-signee", title="Charte signée et en cours de validité", facts=(CHARTER_SIGNED_ON,),
           params={"validity_months": 12}, source=f"{APTIC} : signature de la charte")
def charter_signed(facts, validity_months):
    return signed_within(facts, CHARTER_SIGNED_ON, validity_months, "Charte")


@criterion(id="cgu-signees", title="Conditions générales signées et en cours de validité", facts=(TERMS_SIGNED_ON,),
           params={"validity_months": 12}, source=f"{APTIC} : signature des conditions générales")
def terms_signed(facts, validity_months):
    return signed_within(facts, TERMS_SIGNED_ON, validity_months, "Conditions générales")


@criterion(id="coordonnees-bancaires", title="Coordonnées bancaires vérifiées", facts=(BANK_DETAILS_CHECKED,),
           source=f"{APTIC} : validation bancaire")
def bank_details(facts):
    return is_true(facts, BANK_DETAILS_CHECKED, "Coordonnées bancaires vérifiées",
                   "Coordonnées bancaires non vérifiées")


@criterion(id="mediateur-forme", title="Au moins un médiateur numérique formé", facts=(TRAINED_MEDIATORS,),
           params={"min_mediators": 1}, source=f"{APTIC} : capacité à délivrer les services attendus")
def trained_mediator(facts, min_mediators):
    return at_least(facts, TRAINED_MEDIATORS, min_mediators, "médiateur(s) formé(s)")


@criterion(id="horaires-lisibles", title="Horaires publiés et lisibles", facts=("horaires",),
           source="Schéma national v1.0, champ horaires (format OpenStreetMap opening_hours)")
def readable_hours(facts):
    text = (facts.get("horaires") or "").strip()
    if not text:
        return unknown("horaires", "Horaires non renseignés")
    opening = facts.opening()
    if opening is None:
        return unmet(f"Horaires non lisibles au format OpenStreetMap : « {text} »")
    return met(f"{opening.hours:g} h par semaine sur {opening.days:g} jour(s)")


@criterion(id="donnees-a-jour", title="Données mises à jour depuis moins d'un an", severity=RECOMMENDED,
           facts=("date_maj",), params={"max_age_months": 12},
           source=f"{ARRETE} : données ouvertes sur les lieux référencés (fraîcheur recommandée)")
def fresh_data(facts, max_age_months):
    updated = facts.get("date_maj")
    if updated is None:
        return unknown("date_maj", "Date de mise à jour inconnue")
    if facts.today >= add_months(updated, max_age_months):
        return unmet(f"Données mises à jour le {updated:%d/%m/%Y}, il y a plus de {max_age_months} mois")
    return met(f"Données mises à jour le {updated:%d/%m/%Y}")


@criterion(id="acceptation-declaree", title="Acceptation du Pass numérique déclarée par le lieu", severity=RECOMMENDED,
           facts=(DECLARES_PASS,),
           source="Schéma national v0.1, conditions_acces « Accepte le Pass numérique » (valeur retirée en v1.0)")
def declares_pass(facts):
    return is_true(facts, DECLARES_PASS, "Le lieu déclare accepter le Pass numérique",
                   "Le lieu déclare ne pas accepter le Pass numérique")


PASS_NUMERIQUE = CriteriaSet(
    id="pass-numerique", version="2020", title="Qualification Pass numérique",
    description="Critères de qualification d'un lieu pour l'accueil des bénéficiaires du Pass numérique.",
    label="Accepte le Pass numérique",
    criteria=(valid_pivot, legal_representative, open_to_public, standard_service, accompaniment, zero_cost,
              charter_signed, terms_signed, bank_details, trained_mediator, readable_hours, fresh_data,
              declares_pass),
)


@hookimpl
def registry_criteria_sets():
    return [PASS_NUMERIQUE]
