"""Freshness and update campaigns: the venues due per territory (a criteria set's own period included), a
campaign mailing their managers through a real SMTP server, every sending's outcome kept, the progress followed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from registry import create_app
from registry.jobs import run_queued
from registry.services.contributions import freshness

OPERATOR = "/api/v1/operator"


def test_months_are_calendar_months():
    assert freshness.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert freshness.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert freshness.add_months(date(2025, 11, 15), 14) == date(2027, 1, 15)


@pytest.fixture
def venues(client, operator, create_venue):
    """Three venues of Aveyron updated long ago (one with a manager, one with a public e-mail, one with no
    address), one fresh, one in Paris."""
    made = {}
    for name, extra in (("Ancien avec gestionnaire", {}), ("Ancien avec courriel", {"courriels": ["lieu@rodez.fr"]}),
                        ("Ancien sans adresse", {}), ("Récent", {"date_maj": date.today().isoformat()})):
        made[name] = create_venue(nom=name, **{"date_maj": "2024-01-15", **extra}).get_json()["id"]
    client.post(f"{OPERATOR}/venues/{made['Ancien avec gestionnaire']}/managers", json={}, headers=operator)
    return made


def test_due_venues_and_a_campaign_that_says_how_each_sending_went(database_url, venues, smtp_server, token_for,
                                                                   session):
    from sqlalchemy import select

    from registry.models import VenueManager

    manager = session.scalar(select(VenueManager))
    manager.email = "gestion@rodez.fr"
    session.commit()
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SMTP_URL": smtp_server.url})
    try:
        client, operator = app.test_client(), token_for("operator")
        due = client.get(f"{OPERATOR}/freshness", query_string={"territory": "departement:12"},
                         headers=operator).get_json()
        assert {d["nom"] for d in due} == {"Ancien avec gestionnaire", "Ancien avec courriel", "Ancien sans adresse"}
        assert all(d["due_on"] == "2025-01-15" for d in due)
        launched = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator)
        body = launched.get_json()
        assert launched.status_code == 201 and (body["state"], body["total"], body["pending"], body["sent"],
                                                body["no_address"]) == ("queued", 3, 2, 0, 1)
        assert smtp_server.messages == []  # the request only stored them: the worker sends
        assert run_queued(app) == 1
        body = client.get(f"{OPERATOR}/campaigns/{body['id']}", headers=operator).get_json()
        assert (body["state"], body["sent"], body["pending"]) == ("done", 2, 0)
        assert sorted(m["To"] for m in smtp_server.messages) == ["gestion@rodez.fr", "lieu@rodez.fr"]
        by_venue = {i["venue_nom"]: i for i in body["invitations"]}
        assert by_venue["Ancien sans adresse"]["status"] == "no_address"
        assert client.get(f"{OPERATOR}/campaigns/{body['id']}", headers=operator).get_json()["updated"] == 0
    finally:
        app.extensions["registry.db"].dispose()


def test_a_failed_sending_is_visible_in_the_campaign(database_url, venues, token_for):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SMTP_URL": "smtp://127.0.0.1:9"})
    try:
        client, operator = app.test_client(), token_for("operator")
        body = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
        run_queued(app)
        body = client.get(f"{OPERATOR}/campaigns/{body['id']}", headers=operator).get_json()
        assert body["state"] == "done"
        failed = [i for i in body["invitations"] if i["status"] == "failed"]
        assert len(failed) == 1 and "lieu@rodez.fr" in failed[0]["error"]
    finally:
        app.extensions["registry.db"].dispose()


def test_a_criteria_set_may_ask_for_fresher_data(session, app, qualified, monkeypatch):
    from dataclasses import replace

    from registry.services.base.context import Context

    catalogue = app.extensions["registry.criteria"]
    monkeypatch.setitem(catalogue.sets, "pass-numerique", replace(catalogue.sets["pass-numerique"],
                                                                  freshness_months=6))
    ctx = Context("test", catalogue=catalogue)
    qualified(nom="Labellisé", date_maj="2026-01-10")
    assert [d.venue.nom for d in freshness.due(session, ctx, "departement:12", 12, as_of=date(2026, 8, 1))] == [
        "Labellisé"]  # six months for the label it holds, not twelve
    assert freshness.due(session, ctx, "departement:12", 12, as_of=date(2026, 7, 9)) == []


def test_the_pages_list_due_venues_and_follow_a_campaign(app, client, venues, session):
    from registry.services.accounts import tokens
    from tests.test_auditor_pages import csrf

    secret = tokens.create(session, "Auditrice", "operator", ["departement:12"]).secret
    login = client.get("/auditeur/connexion").get_data(as_text=True)
    client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(login)})
    page = client.get("/auditeur/fraicheur", query_string={"territoire": "Aveyron"}).get_data(as_text=True)
    assert "3 fiches à mettre à jour : Aveyron" in page and "Ancien sans adresse" in page
    launched = client.post("/auditeur/campagnes", data={"territory": "departement:12", "csrf_token": csrf(page)},
                           follow_redirects=True)
    text = launched.get_data(as_text=True)
    assert "en attente d&#39;un processus de travail" in text and "1 à envoyer" in text
    run_queued(app)
    sent = client.get(launched.request.path).get_data(as_text=True)
    assert re.search(r"0 invitation envoyée", sent) and "terminée" in sent and "3 en échec" not in sent
    assert "sans adresse" in sent and "Aucun serveur d&#39;envoi configuré" in sent
