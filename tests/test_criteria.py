"""Every built-in criterion, one case per rule edge (no database: criteria read facts only)."""

from __future__ import annotations

from datetime import date

import pytest

from criteria.aidants_connect import AIDANTS_CONNECT
from criteria.epn import EPN
from criteria.france_services import FRANCE_SERVICES, NINE_PARTNERS
from criteria.pass_numerique import PASS_NUMERIQUE
from registry.eligibility import VENUE_FACTS, VenueFacts

TODAY = date(2026, 11, 23)
SETS = {s.id: s for s in (PASS_NUMERIQUE, FRANCE_SERVICES, EPN, AIDANTS_CONNECT)}


def outcome(set_id: str, criterion_id: str, **values):
    """Run one criterion with its default parameters on the given facts."""
    fields = {name: values.pop(name) for name in list(values) if name in VENUE_FACTS}
    criterion = next(c for c in SETS[set_id].criteria if c.id == criterion_id)
    return criterion.evaluate(VenueFacts(fields, values, today=TODAY))


def case(set_id, criterion_id, values, status, reason_part="", missing=(), id=None):
    return pytest.param(set_id, criterion_id, values, status, reason_part, missing, id=id)


CASES = [
    # Pass numérique
    case("pass-numerique", "pivot-valide", {"pivot": "43493312300029"}, "met", "SIRET", id="siret-luhn-ok"),
    case("pass-numerique", "pivot-valide", {"pivot": "43493312300028"}, "unmet", "clé", id="siret-luhn-wrong"),
    case("pass-numerique", "pivot-valide", {"pivot": "35600000000001"}, "met", id="la-poste-sum-divisible-by-5"),
    case("pass-numerique", "pivot-valide", {"pivot": "35600000000002"}, "unmet", id="la-poste-sum-not-divisible"),
    case("pass-numerique", "pivot-valide", {"pivot": "W123456789"}, "met", "RNA", id="rna-ok"),
    case("pass-numerique", "pivot-valide", {"pivot": "W12345678"}, "unmet", "RNA", id="rna-too-short"),
    case("pass-numerique", "pivot-valide", {"pivot": "00000000000000"}, "unmet", "remplacement", id="placeholder"),
    case("pass-numerique", "pivot-valide", {}, "unknown", missing=("pivot",), id="pivot-missing"),
    case("pass-numerique", "acceptation-declaree", {"accepts_pass_numerique": True}, "met", "déclare accepter",
         id="declared-by-the-venue"),
    case("pass-numerique", "acceptation-declaree", {"accepts_pass_numerique": False}, "unmet", "ne pas accepter",
         id="declared-not-accepted"),
    case("pass-numerique", "acceptation-declaree", {}, "unknown", missing=("accepts_pass_numerique",),
         id="not-declared"),
    case("pass-numerique", "representant-legal", {"legal_representative": "Mme Rouquette"}, "met", id="named"),
    case("pass-numerique", "representant-legal", {"legal_representative": "  "}, "unknown",
         missing=("legal_representative",), id="blank-name"),
    case("pass-numerique", "ouvert-au-public", {"open_to_public": False, "modalites_acces": ["Se présenter"]},
         "unmet", "constaté", id="audit-fact-wins-over-declaration"),
    case("pass-numerique", "ouvert-au-public", {"modalites_acces": ["Ce lieu n'accueille pas de public"]},
         "unmet", id="declared-closed"),
    case("pass-numerique", "ouvert-au-public", {"modalites_acces": ["Téléphoner"]}, "met", id="declared-access"),
    case("pass-numerique", "ouvert-au-public", {}, "unknown", missing=("open_to_public", "modalites_acces"),
         id="access-missing"),
    case("pass-numerique", "service-du-standard", {"services": ["Aide aux démarches administratives"]}, "met",
         id="one-service"),
    case("pass-numerique", "service-du-standard", {"services": []}, "unknown", missing=("services",),
         id="no-service"),
    case("pass-numerique", "accompagnement", {"modalites_accompagnement": ["Dans un atelier collectif"]}, "met",
         id="workshop"),
    case("pass-numerique", "accompagnement", {"modalites_accompagnement": ["En autonomie", "À distance"]},
         "unmet", id="autonomy-only"),
    case("pass-numerique", "accompagnement", {}, "unknown", missing=("modalites_accompagnement",),
         id="accompaniment-missing"),
    case("pass-numerique", "reste-a-charge-nul", {"zero_cost_with_pass": True}, "met", id="zero-cost"),
    case("pass-numerique", "reste-a-charge-nul", {"zero_cost_with_pass": False}, "unmet", id="cost-left"),
    case("pass-numerique", "charte-signee", {"charter_signed_on": date(2025, 11, 24)}, "met",
         "valable jusqu'au 24/11/2026", id="charter-one-day-before-expiry"),
    case("pass-numerique", "charte-signee", {"charter_signed_on": date(2025, 11, 23)}, "unmet", "expirée",
         id="charter-expires-today"),
    case("pass-numerique", "charte-signee", {"charter_signed_on": date(2026, 12, 1)}, "unmet", "futur",
         id="charter-in-the-future"),
    case("pass-numerique", "charte-signee", {}, "unknown", missing=("charter_signed_on",), id="charter-missing"),
    case("pass-numerique", "cgu-signees", {"terms_signed_on": date(2024, 2, 29)}, "unmet", "expirée",
         id="terms-two-years-old"),
    case("pass-numerique", "coordonnees-bancaires", {"bank_details_checked": True}, "met", id="bank-checked"),
    case("pass-numerique", "coordonnees-bancaires", {}, "unknown", missing=("bank_details_checked",),
         id="bank-missing"),
    case("pass-numerique", "mediateur-forme", {"trained_mediators": 0}, "unmet", id="no-mediator"),
    case("pass-numerique", "mediateur-forme", {"trained_mediators": 1}, "met", id="one-mediator-at-threshold"),
    case("pass-numerique", "horaires-lisibles", {"horaires": "Mo-Fr 09:00-12:00"}, "met", "15 h", id="hours-ok"),
    case("pass-numerique", "horaires-lisibles", {"horaires": "Horaires non communiqués"}, "unmet",
         "non lisibles", id="hours-free-text"),
    case("pass-numerique", "horaires-lisibles", {"horaires": None}, "unknown", missing=("horaires",),
         id="hours-missing"),
    case("pass-numerique", "donnees-a-jour", {"date_maj": date(2025, 11, 24)}, "met", id="updated-within-a-year"),
    case("pass-numerique", "donnees-a-jour", {"date_maj": date(2025, 11, 23)}, "unmet", id="updated-a-year-ago"),
    # France services
    case("france-services", "heures-hebdomadaires", {"horaires": "Mo-Fr 08:00-12:48"}, "met", "24 h",
         id="24h-at-threshold"),
    case("france-services", "heures-hebdomadaires", {"horaires": "Mo-Fr 08:00-12:47"}, "unmet", "23.92 h",
         id="23h55-below-threshold"),
    case("france-services", "heures-hebdomadaires", {"horaires": "Mo-Sa 08:00-12:00"}, "met", id="24h-on-6-days"),
    case("france-services", "heures-hebdomadaires", {"horaires": "Sur rendez-vous"}, "unknown",
         "non lisibles", ("horaires",), id="unparseable-hours"),
    case("france-services", "jours-ouverture", {"horaires": "Mo-Fr 09:00-17:00"}, "met", id="five-days"),
    case("france-services", "jours-ouverture", {"horaires": "Mo-Th 09:00-17:00"}, "unmet", id="four-days"),
    case("france-services", "agents", {"france_services_agents": 3, "conseillers_numeriques_among_agents": 1},
         "met", id="two-agents-besides-a-conseiller"),
    case("france-services", "agents", {"france_services_agents": 2, "conseillers_numeriques_among_agents": 1},
         "unmet", "non comptés", id="conseiller-not-counted"),
    case("france-services", "agents", {"france_services_agents": 2}, "unknown",
         missing=("conseillers_numeriques_among_agents",), id="conseillers-missing"),
    case("france-services", "bureau-confidentiel", {"confidential_office": True}, "met", id="office"),
    case("france-services", "partenaires-nationaux", {"national_partners": list(NINE_PARTNERS)}, "met",
         id="nine-partners"),
    case("france-services", "partenaires-nationaux", {"national_partners": list(NINE_PARTNERS[:-1])}, "unmet",
         "Intérieur", id="eight-partners"),
    # EPN
    case("epn", "ordinateurs", {"computers": 4}, "unmet", id="4-computers-below"),
    case("epn", "ordinateurs", {"computers": 5}, "met", id="5-computers-at"),
    case("epn", "ordinateurs", {"computers": 6}, "met", id="6-computers-above"),
    case("epn", "animateur-qualifie", {"qualified_facilitators": 0}, "unmet", id="no-facilitator"),
    case("epn", "initiation-gratuite", {"free_initiation_hours_per_week": 1.5}, "unmet", id="1h30-below"),
    case("epn", "initiation-gratuite", {"free_initiation_hours_per_week": 2}, "met", id="2h-at"),
    case("epn", "part-initiation", {"free_initiation_hours_per_week": 2, "horaires": "Mo-Fr 14:00-18:00"}, "met",
         "10 %", id="share-at-10-percent"),
    case("epn", "part-initiation", {"free_initiation_hours_per_week": 2, "horaires": "Mo-Fr 13:00-18:00"}, "unmet",
         "8 %", id="share-below"),
    case("epn", "part-initiation", {"free_initiation_hours_per_week": 2, "horaires": "selon saison"}, "unknown",
         missing=("horaires",), id="share-with-unparseable-hours"),
    case("epn", "reseau-national", {"national_network_member": False}, "unmet", id="not-a-member"),
    # Aidants Connect
    case("aidants-connect", "structure-eligible", {"structure_kind": "ccas"}, "met", id="ccas"),
    case("aidants-connect", "structure-eligible", {"structure_kind": "autre"}, "unmet", id="other-structure"),
    case("aidants-connect", "aidants-salaries", {"aidants_count": 3, "aidants_not_salaried": 0}, "met",
         id="all-salaried"),
    case("aidants-connect", "aidants-salaries", {"aidants_count": 3, "aidants_not_salaried": 1}, "unmet",
         id="one-volunteer"),
    case("aidants-connect", "aidants-salaries", {"aidants_count": 0, "aidants_not_salaried": 0}, "unmet",
         id="no-aidant"),
    case("aidants-connect", "aidants-formes", {"aidants_count": 3, "aidants_trained": 2}, "unmet", "2",
         id="one-untrained"),
    case("aidants-connect", "aidants-formes", {"aidants_count": 3, "aidants_trained": 3}, "met", id="all-trained"),
    case("aidants-connect", "aidants-formes", {"aidants_count": 3}, "unknown", missing=("aidants_trained",),
         id="trained-missing"),
    case("aidants-connect", "responsable-designe", {"aidants_responsible": "M. Vidal"}, "met", id="responsible"),
    case("aidants-connect", "habilitation-utilisee", {"aidants_mandates": 42, "aidants_users": 30}, "met",
         "42 mandat(s) pour 30 usager(s)", id="mandates"),
    case("aidants-connect", "habilitation-utilisee", {"aidants_mandates": 0}, "unmet", "Aucun mandat", id="unused"),
    case("aidants-connect", "habilitation-utilisee", {}, "unknown", missing=("aidants_mandates",),
         id="mandates-missing"),
]


@pytest.mark.parametrize("set_id, criterion_id, values, status, reason_part, missing", CASES)
def test_criterion(set_id, criterion_id, values, status, reason_part, missing):
    result = outcome(set_id, criterion_id, **values)
    assert result.status == status, result.reason
    assert reason_part in result.reason
    assert result.reason  # every outcome explains itself in French
    if missing:
        assert result.missing == missing


def test_every_built_in_criterion_has_cases_and_a_source():
    covered = {(c.values[0], c.values[1]) for c in CASES}
    for criteria_set in SETS.values():
        for criterion in criteria_set.criteria:
            assert (criteria_set.id, criterion.id) in covered, f"{criteria_set.id}/{criterion.id} sans test"
            assert criterion.source, f"{criteria_set.id}/{criterion.id} sans provenance"


def test_parameters_change_thresholds():
    criterion = next(c for c in FRANCE_SERVICES.criteria if c.id == "heures-hebdomadaires")
    facts = VenueFacts({"horaires": "Mo-Fr 09:00-14:00"}, {}, today=TODAY)
    assert criterion.evaluate(facts).status == "met"
    assert criterion.evaluate(facts, {"min_hours": 30}).status == "unmet"
