"""The auditors' pages through Flask's test client: login, CSRF, facts, evaluation, decisions, scope."""

from __future__ import annotations

import html
import re

import pytest

from registry.services import tokens


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def logged_in(client, session):
    """A browser session logged in with an operator token limited to Aveyron."""
    secret = tokens.create(session, "Auditrice Aveyron", "operator", ["departement:12"]).secret
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    response = client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
    assert response.status_code == 302
    return client


def test_pages_need_a_login(client):
    response = client.get("/auditeur/")
    assert response.status_code == 302 and "/auditeur/connexion" in response.headers["Location"]


def test_a_wrong_token_cannot_log_in_and_a_territory_token_cannot_audit(client, token_for):
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    assert client.post("/auditeur/connexion", data={"jeton": "rgt_faux", "csrf_token": csrf(page)}).status_code == 401
    territory = token_for("territory")["Authorization"].split()[1]
    response = client.post("/auditeur/connexion", data={"jeton": territory, "csrf_token": csrf(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/couverture/"
    assert client.get("/auditeur/").status_code == 403
    assert client.get("/couverture/departement/12").status_code == 200
    assert client.get("/couverture/departement/81").status_code == 403


def test_forms_without_the_csrf_token_are_refused(client, session):
    secret = tokens.create(session, "x", "operator").secret
    assert client.post("/auditeur/connexion", data={"jeton": secret}).status_code == 400


def test_an_auditor_records_facts_evaluates_and_decides(logged_in, create_venue):
    venue_id = create_venue().get_json()["id"]
    url = f"/auditeur/lieux/{venue_id}"
    page = logged_in.get(url).get_data(as_text=True)
    assert "Médiathèque de Rodez" in page and "Représentant légal" in page
    token = csrf(page)
    response = logged_in.post(f"{url}/faits", data={"name": "trained_mediators", "value": "2",
                                                   "evidence": "attestations", "csrf_token": token},
                              follow_redirects=True)
    assert "Nombre de médiateurs numériques formés : enregistré." in response.get_data(as_text=True)
    bad = logged_in.post(f"{url}/faits", data={"name": "trained_mediators", "value": "deux", "csrf_token": token},
                         follow_redirects=True)
    assert "« deux » n'est pas une valeur valable" in html.unescape(bad.get_data(as_text=True))
    evaluated = html.unescape(logged_in.post(f"{url}/evaluations", data={"criteria_set": "pass-numerique",
                                                                         "csrf_token": token},
                                             follow_redirects=True).get_data(as_text=True))
    assert "Évaluation pass-numerique : incomplete." in evaluated
    assert "2 médiateur(s) formé(s) (1 requis)" in evaluated
    submitted = html.unescape(logged_in.post(f"{url}/qualifications/pass-numerique",
                                             data={"action": "submit", "csrf_token": token},
                                             follow_redirects=True).get_data(as_text=True))
    assert "Décision enregistrée : soumise." in submitted
    illegal = logged_in.post(f"{url}/qualifications/pass-numerique", data={"action": "qualify", "csrf_token": token},
                             follow_redirects=True)
    assert illegal.status_code == 200 and "Transition impossible" in html.unescape(illegal.get_data(as_text=True))
    queue = logged_in.get("/auditeur/").get_data(as_text=True)
    assert "Médiathèque de Rodez" in queue and "soumise" in queue


def test_venues_outside_the_auditors_scope_are_refused(logged_in, create_venue):
    venue_id = create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61,
                            longitude=3.88).get_json()["id"]
    response = logged_in.get(f"/auditeur/lieux/{venue_id}")
    assert response.status_code == 403 and "hors de votre périmètre" in html.unescape(response.get_data(as_text=True))


def test_a_revoked_token_ends_the_session(logged_in, session):
    from registry.models import ApiToken
    from sqlalchemy import select

    token = session.scalar(select(ApiToken).where(ApiToken.name == "Auditrice Aveyron"))
    tokens.revoke(session, token.prefix)
    assert logged_in.get("/auditeur/").status_code == 302
