"""Criteria sets, audit facts and evaluations through the API and the CLI, on both backends."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from registry.cli.core import main
from registry.models import AuditFact, EvaluationRecord
from tests.conftest import MILLAU_FRANCE_SERVICES, PASS_NUMERIQUE_FACTS

OPERATOR = "/api/v1/operator"


@pytest.fixture
def venue_id(create_venue):
    return create_venue(modalites_accompagnement=["Accompagnement individuel"],
                        modalites_acces=["Se présenter"]).get_json()["id"]


def record(client, headers, venue_id, name, value, evidence="constaté sur place", expect=201):
    response = client.post(f"{OPERATOR}/venues/{venue_id}/facts", json={"name": name, "value": value,
                                                                        "evidence": evidence}, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def evaluate(client, headers, venue_id, set_id="pass-numerique"):
    response = client.post(f"{OPERATOR}/venues/{venue_id}/evaluations", json={"criteria_set": set_id},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_criteria_sets_are_public_with_criteria_params_facts_and_provenance(client):
    listed = {s["id"]: s for s in client.get("/api/v1/criteria-sets").get_json()}
    assert set(listed) == {"pass-numerique", "france-services", "epn", "aidants-connect"}
    assert listed["pass-numerique"]["label"] == "Accepte le Pass numérique"
    detail = client.get("/api/v1/criteria-sets/france-services").get_json()
    hours = next(c for c in detail["criteria"] if c["id"] == "heures-hebdomadaires")
    assert hours["params"] == {"min_hours": 24} and hours["severity"] == "required"
    assert hours["facts"] == [{"name": "horaires", "type": "string", "label": "Horaires (OpenStreetMap)",
                               "origin": "venue", "help": ""}]
    assert "6094-SG" in hours["source"]
    assert client.get("/api/v1/criteria-sets/inconnu").status_code == 404


def test_a_venue_becomes_eligible_as_facts_are_recorded(client, operator, venue_id):
    first = evaluate(client, operator, venue_id)
    assert first["overall"] == "incomplete"
    assert first["missing_facts"] == list(PASS_NUMERIQUE_FACTS)
    assert first["venue_revision"] == 1
    for name, value in PASS_NUMERIQUE_FACTS.items():
        record(client, operator, venue_id, name, value)
    second = evaluate(client, operator, venue_id)
    assert second["overall"] == "eligible", [r for r in second["results"] if r["status"] != "met"]
    assert {r["status"] for r in second["results"] if r["severity"] == "required"} == {"met"}
    # What the venue itself declares (v0.1's « Accepte le Pass numérique ») is recommended, not required.
    assert {r["criterion_id"]: r["status"] for r in second["results"]}["acceptation-declaree"] == "unknown"
    stored = client.get(f"{OPERATOR}/evaluations/{second['id']}", headers=operator).get_json()
    assert stored == second
    latest = client.get(f"{OPERATOR}/venues/{venue_id}/evaluations", headers=operator).get_json()
    assert [e["id"] for e in latest] == [second["id"]]


def test_an_unmet_rule_makes_the_venue_ineligible_with_its_reason(client, operator, venue_id):
    for name, value in PASS_NUMERIQUE_FACTS.items():
        record(client, operator, venue_id, name, value)
    record(client, operator, venue_id, "trained_mediators", 0, evidence="départ de la médiatrice")
    result = evaluate(client, operator, venue_id)
    assert result["overall"] == "ineligible"
    unmet = [r for r in result["results"] if r["status"] == "unmet"]
    assert [(r["criterion_id"], r["reason"]) for r in unmet] == [
        ("mediateur-forme", "0 médiateur(s) formé(s), 1 requis")]


def test_facts_keep_their_history_and_evidence(client, operator, venue_id):
    record(client, operator, venue_id, "trained_mediators", 1, evidence="attestation 2025")
    record(client, operator, venue_id, "trained_mediators", 3, evidence="attestations 2026")
    body = client.get(f"{OPERATOR}/venues/{venue_id}/facts", headers=operator).get_json()
    assert body["current"] == {"trained_mediators": 3}
    assert [(f["value"], f["evidence"]) for f in body["history"]] == [(3, "attestations 2026"), (1, "attestation 2025")]
    assert body["history"][0]["recorded_by"].startswith("token:operator-")


@pytest.mark.parametrize("name, value", [
    pytest.param("trained_mediators", "deux", id="text-for-an-integer"),
    pytest.param("trained_mediators", -1, id="negative-count"),
    pytest.param("trained_mediators", True, id="boolean-for-an-integer"),
    pytest.param("bank_details_checked", "oui", id="text-for-a-boolean"),
    pytest.param("charter_signed_on", "01/09/2026", id="french-date-format"),
    pytest.param("charter_signed_on", "2026-02-30", id="impossible-date"),
    pytest.param("legal_representative", "  ", id="blank-text"),
    pytest.param("national_partners", "CNAF", id="text-for-a-list"),
])
def test_a_value_of_the_wrong_type_is_refused_and_not_stored(client, operator, session, venue_id, name, value):
    body = record(client, operator, venue_id, name, value, expect=422)
    assert "value" in body["errors"]
    assert session.scalar(select(func.count()).select_from(AuditFact)) == 0


def test_an_undeclared_fact_is_refused(client, operator, venue_id):
    body = record(client, operator, venue_id, "couleur_facade", "bleue", expect=422)
    assert "name" in body["errors"]


def test_facts_and_evaluations_need_an_operator_token(client, token_for, venue_id):
    territory = token_for("territory")
    assert client.post(f"{OPERATOR}/venues/{venue_id}/facts", json={"name": "trained_mediators", "value": 1},
                       headers=territory).status_code == 403
    assert client.post(f"{OPERATOR}/venues/{venue_id}/evaluations",
                       json={"criteria_set": "epn"}).status_code == 401


def test_evaluating_against_an_unknown_set_is_404_and_stores_nothing(client, operator, session, venue_id):
    response = client.post(f"{OPERATOR}/venues/{venue_id}/evaluations", json={"criteria_set": "inconnu"},
                           headers=operator)
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(EvaluationRecord)) == 0


def test_evaluation_refers_to_the_revision_it_read(client, operator, venue_id):
    client.patch(f"{OPERATOR}/venues/{venue_id}", json={"horaires": "Mo-Fr 09:00-17:00"},
                 headers={**operator, "If-Match": '"1"'})
    assert evaluate(client, operator, venue_id, "france-services")["venue_revision"] == 2


def test_bulk_evaluation_from_the_cli(client, operator, create_venue, session, database_url):
    create_venue()
    create_venue(**MILLAU_FRANCE_SERVICES)
    create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61, longitude=3.88)

    def run(*args):
        return CliRunner().invoke(main, ["evaluate", *args], env={"REGISTRY_DATABASE_URL": database_url})

    result = run("--criteria-set", "pass-numerique", "--criteria-set", "epn", "--territory", "departement:12")
    assert result.exit_code == 0, result.output
    assert "pass-numerique : 0 eligible, 0 ineligible, 2 incomplete (0 inchangées" in result.stdout
    assert session.scalar(select(func.count()).select_from(EvaluationRecord)) == 4
    again = run("--criteria-set", "all")
    assert "pass-numerique : 0 eligible, 0 ineligible, 3 incomplete (2 inchangées" in again.stdout
    session.rollback()  # end the test's read snapshot
    assert session.scalar(select(func.count()).select_from(EvaluationRecord)) == 4 + 3 * 4 - 2 * 2
    unknown = run("--criteria-set", "inconnu")
    assert unknown.exit_code == 1 and "inconnu" in unknown.output
