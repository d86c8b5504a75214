"""Errors reported by the public (« signaler une erreur »): the API and the page, the strict rate limit and the
field robots fill, the operators' listing and resolution, within their territory, journaled in French."""

from __future__ import annotations

import html
import re

import pytest

from registry import create_app
from registry.services.accounts import tokens
from tests.test_auditor_pages import csrf

REPORTS = "/api/v1/operator/reports"


def report(client, venue_id: str, expect: int = 201, **body) -> dict:
    response = client.post(f"/api/v1/venues/{venue_id}/reports", json={"reason": "horaires", **body})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_anyone_reports_an_error_and_an_operator_resolves_it(client, qualified, operator):
    venue_id = qualified()
    receipt = report(client, venue_id, text="Fermé le samedi depuis septembre")
    assert receipt["status"] == "open" and receipt["message"].startswith("Merci")
    listed = client.get(REPORTS, headers=operator).get_json()
    assert [(r["venue_id"], r["reason_label"], r["text"]) for r in listed["items"]] == [
        (venue_id, "Horaires", "Fermé le samedi depuis septembre")]
    url = f"{REPORTS}/{receipt['id']}/resolution"
    refused = client.post(url, json={"outcome": "dismissed"}, headers=operator)
    assert refused.status_code == 422 and "note" in refused.get_json()["errors"]
    done = client.post(url, json={"outcome": "accepted", "note": "Horaires corrigés"}, headers=operator).get_json()
    assert done["status"] == "accepted" and done["resolved_by"].startswith("token:operator")
    assert client.post(url, json={"outcome": "dismissed", "note": "x"}, headers=operator).status_code == 409
    assert client.get(REPORTS, headers=operator).get_json()["total"] == 0
    history = client.get(f"/api/v1/operator/venues/{venue_id}/history", headers=operator).get_json()
    assert [e["action"] for e in history][:2] == ["report.accepted", "report.submitted"]


@pytest.mark.parametrize("body, field", [
    pytest.param({"reason": "prix"}, "reason", id="unknown-reason"),
    pytest.param({"site_internet": "http://spam.example"}, "site_internet", id="honeypot-filled"),
    pytest.param({"text": "x" * 2001}, "text", id="text-too-long"),
    pytest.param({"email": "a@b.fr"}, "email", id="no-personal-data-field"),
])
def test_bad_reports_are_refused_naming_the_field(client, qualified, body, field):
    answer = report(client, qualified(), expect=422, **body)
    assert field in answer["errors"]


def test_only_public_venues_can_be_reported(client, create_venue):
    draft = create_venue(publication_status="draft").get_json()["id"]
    report(client, draft, expect=404)
    report(client, "00000000-0000-4000-8000-000000000000", expect=404)


def test_reports_are_strictly_rate_limited(database_url, session, qualified):
    venue_id = qualified()
    limited = create_app({"DATABASE_URL": database_url, "TESTING": True, "RATELIMIT_REPORTS": "2 per hour"})
    try:
        client = limited.test_client()
        statuses = [client.post(f"/api/v1/venues/{venue_id}/reports", json={"reason": "autre"}).status_code
                    for _ in range(3)]
        assert statuses == [201, 201, 429]
        assert client.get(f"/api/v1/venues/{venue_id}").status_code == 200  # reads are not held back
    finally:
        limited.extensions["registry.db"].dispose()


def test_operators_see_and_resolve_only_their_territory(client, qualified, session):
    venue_id = qualified()
    receipt = report(client, venue_id)
    paris = {"Authorization": f"Bearer {tokens.create(session, 'Paris', 'operator', ['departement:75']).secret}"}
    assert client.get(REPORTS, headers=paris).get_json()["total"] == 0
    answer = client.post(f"{REPORTS}/{receipt['id']}/resolution", json={"outcome": "accepted"}, headers=paris)
    assert answer.status_code == 403


def test_the_venue_page_form_reaches_the_operators_file(client, qualified, session):
    venue_id = qualified()
    page = client.get(f"/lieux/{venue_id}").get_data(as_text=True)
    assert "Signaler une erreur" in page and 'name="site_internet"' in page
    sent = client.post(f"/lieux/{venue_id}/signaler", data={"reason": "n-existe-plus", "text": "Local vide",
                                                            "csrf_token": csrf(page)}, follow_redirects=True)
    assert "Merci : votre signalement a été transmis" in html.unescape(sent.get_data(as_text=True))
    robot = client.post(f"/lieux/{venue_id}/signaler", data={"reason": "autre", "site_internet": "x",
                                                             "csrf_token": csrf(page)}, follow_redirects=True)
    assert "Signalement refusé" in html.unescape(robot.get_data(as_text=True))

    secret = tokens.create(session, "Auditrice", "operator", ["departement:12"]).secret
    login = client.get("/auditeur/connexion").get_data(as_text=True)
    client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(login)})
    queue = html.unescape(client.get("/auditeur/").get_data(as_text=True))
    assert "Signalements du public à traiter : 1" in queue and "Le lieu n'existe plus" in queue
    file = client.get(f"/auditeur/lieux/{venue_id}").get_data(as_text=True)
    action = re.search(r'action="(/auditeur/lieux/[^"]+/signalements/[^"]+)"', file).group(1)
    refused = client.post(action, data={"outcome": "dismissed", "csrf_token": csrf(file)}, follow_redirects=True)
    assert "Dites pourquoi le signalement est écarté" in html.unescape(refused.get_data(as_text=True))
    dismissed = html.unescape(client.post(action, data={"outcome": "dismissed", "note": "Le lieu a déménagé, "
                                                        "pas fermé", "csrf_token": csrf(file)},
                                          follow_redirects=True).get_data(as_text=True))
    assert "Signalement écarté." in dismissed
    assert "Une personne a signalé une erreur : Le lieu n'existe plus" in dismissed and "« Local vide »" in dismissed
    assert "Auditrice a écarté un signalement" in dismissed and "Motif : Le lieu a déménagé, pas fermé" in dismissed


def test_a_refused_report_never_waits_for_the_sqlite_write_lock(database_url, client, qualified, create_venue):
    """While another writer holds SQLite's write lock (an import), a report on a venue the public cannot see
    answers 404 at once: it took the lock before its checks and answered 503 after 10 s."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no single write lock")
    import sqlite3
    import time

    from sqlalchemy.engine import make_url

    draft = create_venue(publication_status="draft").get_json()["id"]
    venue_id = qualified()
    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for target in (draft, "00000000-0000-4000-8000-000000000000"):
            started = time.monotonic()
            report(client, target, expect=404)
            assert time.monotonic() - started < 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert report(client, venue_id)["status"] == "open"  # the lock released, a sound report is recorded
