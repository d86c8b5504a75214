"""Venue managers: invited by e-mail through a real SMTP server, a single-use link opening their venue alone,
proposals shown to operators field by field, accepted as a new revision or refused with a reason they read."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest

from registry import create_app
from tests.test_auditor_pages import csrf

CLOSURE = {"fermeture-du-0": "2026-12-24", "fermeture-au-0": "2027-01-03", "fermeture-motif-0": "Congés"}


@pytest.fixture
def mailing_app(database_url, smtp_server):
    application = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False,
                              "SMTP_URL": smtp_server.url, "SERVER_NAME": "registre.test"})
    yield application
    application.extensions["registry.db"].dispose()


def invite(client, operator, venue_id, **body) -> dict:
    response = client.post(f"/api/v1/operator/venues/{venue_id}/managers", json=body, headers=operator)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_link(client, link: str):
    """Open an invitation as its manager does: its page (which uses nothing), then its button (a POST)."""
    path = urlsplit(link).path
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True))})


def manager_form(page: str) -> dict:
    from tests.test_auditor_pages import file_form

    return file_form(page.replace('id="proposition"', 'id="formulaire-dossier"'))


def test_a_manager_invited_by_mail_proposes_a_closure_that_an_operator_accepts(mailing_app, smtp_server,
                                                                               token_for):
    client = mailing_app.test_client()
    operator = token_for("operator")
    from tests.conftest import RODEZ_MEDIATHEQUE, qualify

    venue_id = client.post("/api/v1/operator/venues", json={
        **RODEZ_MEDIATHEQUE, "publication_status": "published",
        "modalites_accompagnement": ["Accompagnement individuel"],
        "modalites_acces": ["Se présenter"]}, headers=operator).get_json()["id"]
    qualify(client, operator, venue_id)
    sent = invite(client, operator, venue_id, email="direction@mediatheque-rodez.fr")
    assert sent["mailed"] and sent["mail_error"] is None
    (message,) = smtp_server.messages
    assert message["To"] == "direction@mediatheque-rodez.fr" and "Médiathèque de Rodez" in message["Subject"]
    link = re.search(r"http://registre\.test(/gestionnaire/invitation/\S+)", message.get_content()).group(1)
    assert link == urlsplit(sent["link"]).path

    manager = mailing_app.test_client()
    scanner = mailing_app.test_client()
    assert scanner.get(link).status_code == 200 and scanner.head(link).status_code == 200  # reading uses nothing
    assert open_link(manager, link).status_code == 302
    assert open_link(mailing_app.test_client(), link).status_code == 404  # single use
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    assert "Médiathèque de Rodez" in page
    assert manager.get("/auditeur/").status_code == 302  # nothing else opens
    assert manager.get(f"/api/v1/operator/venues/{venue_id}").status_code == 401
    nothing = manager.post("/gestionnaire/propositions", data={**manager_form(page), "csrf_token": csrf(page)},
                           follow_redirects=True)
    assert "Rien n'a changé" in html.unescape(nothing.get_data(as_text=True))
    proposed = manager.post("/gestionnaire/propositions", data={**manager_form(page), **CLOSURE,
                                                                "csrf_token": csrf(page)}, follow_redirects=True)
    assert "votre proposition est transmise" in html.unescape(proposed.get_data(as_text=True))

    pending = client.get("/api/v1/operator/proposals", headers=operator).get_json()
    (proposal,) = pending["items"]
    assert proposal["changes"] == {"closures": [{"from": "2026-12-24", "to": "2027-01-03", "hours": None,
                                                 "note": "Congés"}]}
    refused = client.post(f"/api/v1/operator/proposals/{proposal['id']}/decision", json={"accept": False},
                          headers=operator)
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    accepted = client.post(f"/api/v1/operator/proposals/{proposal['id']}/decision", json={"accept": True},
                           headers=operator).get_json()
    assert accepted["status"] == "accepted"
    public = client.get(f"/api/v1/venues/{venue_id}").get_json()
    assert public["closures"][0]["to"] == "2027-01-03"
    features = client.get("/api/v1/venues", query_string={"open_at": "2026-12-26T11:00:00"}).get_json()["features"]
    assert venue_id not in {f["id"] for f in features}
    after = client.get("/api/v1/venues", query_string={"open_at": "2027-01-05T11:00:00"}).get_json()["features"]
    assert venue_id in {f["id"] for f in after}
    seen = html.unescape(manager.get("/gestionnaire/").get_data(as_text=True))
    assert "acceptée" in seen


def test_a_refusal_is_read_by_the_manager_and_a_failed_mail_is_said(client, operator, qualified, session):
    venue_id = qualified()
    failed = invite(client, operator, venue_id, email="direction@example.fr")  # no SMTP server configured
    assert not failed["mailed"] and "REGISTRY_SMTP_URL" in failed["mail_error"]
    manager = client.application.test_client()
    open_link(manager, failed["link"])
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    manager.post("/gestionnaire/propositions", data={**manager_form(page), "champ-telephone": "05 65 00 00 00",
                                                     "csrf_token": csrf(page)})
    (proposal,) = client.get("/api/v1/operator/proposals", headers=operator).get_json()["items"]
    assert proposal["changes"] == {"telephone": "+33565000000"}
    client.post(f"/api/v1/operator/proposals/{proposal['id']}/decision",
                json={"accept": False, "reason": "Numéro du standard de la mairie, pas du lieu"}, headers=operator)
    seen = html.unescape(manager.get("/gestionnaire/").get_data(as_text=True))
    assert "refusée" in seen and "Numéro du standard de la mairie" in seen
    assert client.get(f"/api/v1/venues/{venue_id}").get_json()["telephone"] != "+33565000000"


def test_a_tampered_closure_is_refused_not_a_crash(client, operator, qualified):
    link = invite(client, operator, qualified())["link"]
    manager = client.application.test_client()
    open_link(manager, link)
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    answer = manager.post("/gestionnaire/propositions", data={**manager_form(page), "fermeture-garder": "x",
                                                              "csrf_token": csrf(page)}, follow_redirects=True)
    assert answer.status_code == 422 and "Fermetures temporaires" in html.unescape(answer.get_data(as_text=True))
    assert client.get("/api/v1/operator/proposals", headers=operator).get_json()["total"] == 0


def _proposal(client, operator, venue_id: str, phone: str = "05 65 00 00 00") -> dict:
    link = invite(client, operator, venue_id)["link"]
    manager = client.application.test_client()
    open_link(manager, link)
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    manager.post("/gestionnaire/propositions", data={**manager_form(page), "champ-telephone": phone,
                                                     "csrf_token": csrf(page)})
    (proposal,) = client.get("/api/v1/operator/proposals", headers=operator).get_json()["items"]
    return proposal


def test_a_proposal_made_before_an_operator_edit_is_refused_until_confirmed(client, operator, qualified):
    venue_id = qualified()
    proposal = _proposal(client, operator, venue_id)
    etag = client.get(f"/api/v1/operator/venues/{venue_id}", headers=operator).headers["ETag"]
    edited = client.patch(f"/api/v1/operator/venues/{venue_id}", json={"telephone": "05 65 11 11 11"},
                          headers={**operator, "If-Match": etag})
    assert edited.status_code == 200
    stale = client.post(f"/api/v1/operator/proposals/{proposal['id']}/decision", json={"accept": True},
                        headers=operator)
    assert stale.status_code == 409
    assert "+33565111111" in stale.get_json()["errors"]["telephone"][0]  # the value now, beside the proposed one
    assert client.get(f"/api/v1/venues/{venue_id}").get_json()["telephone"] == "+33565111111"
    confirmed = client.post(f"/api/v1/operator/proposals/{proposal['id']}/decision",
                            json={"accept": True, "confirm_stale": True}, headers=operator)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "accepted"
    assert client.get(f"/api/v1/venues/{venue_id}").get_json()["telephone"] == "+33565000000"


def test_of_two_concurrent_decisions_on_a_proposal_or_a_report_exactly_one_wins(app, client, operator, qualified):
    import threading

    venue_id = qualified()
    proposal = _proposal(client, operator, venue_id)
    report = client.post(f"/api/v1/venues/{venue_id}/reports", json={"reason": "autre"}).get_json()
    cases = {
        "proposal": (f"/api/v1/operator/proposals/{proposal['id']}/decision",
                     [{"accept": True}, {"accept": False, "reason": "Non"}]),
        "report": (f"/api/v1/operator/reports/{report['id']}/resolution",
                   [{"outcome": "accepted"}, {"outcome": "dismissed", "note": "Non"}]),
    }
    for name, (url, bodies) in cases.items():
        barrier, statuses = threading.Barrier(2), []

        def decide(body: dict, barrier=barrier, statuses=statuses, url=url) -> None:
            with app.test_client() as own:
                barrier.wait()
                statuses.append(own.post(url, json=body, headers=operator).status_code)

        threads = [threading.Thread(target=decide, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409], name


def test_an_invitation_expires_is_superseded_and_can_be_revoked(app, client, operator, qualified, session):
    from datetime import timedelta

    from sqlalchemy import update

    from registry.models import VenueManager, utcnow

    venue_id = qualified()
    first = invite(client, operator, venue_id)
    second = invite(client, operator, venue_id)  # supersedes the unused first one
    assert open_link(app.test_client(), first["link"]).status_code == 404
    # An unused link expires (REGISTRY_MANAGER_INVITATION_DAYS).
    session.execute(update(VenueManager).where(VenueManager.pk == second["manager"])
                    .values(invited_at=utcnow() - timedelta(days=app.config["MANAGER_INVITATION_DAYS"] + 1)))
    session.commit()
    assert open_link(app.test_client(), second["link"]).status_code == 404
    # Revoked, a manager's open session stops at once.
    third = invite(client, operator, venue_id)
    manager = app.test_client()
    assert open_link(manager, third["link"]).status_code == 302
    assert manager.get("/gestionnaire/").status_code == 200
    revoked = client.post(f"/api/v1/operator/venues/{venue_id}/managers/{third['manager']}/revocation",
                          headers=operator)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert manager.get("/gestionnaire/").status_code == 403


def test_of_concurrent_uses_of_one_invitation_exactly_one_opens_a_session(app, client, operator, qualified):
    import threading

    link = invite(client, operator, qualified())["link"]
    path = urlsplit(link).path
    browsers = [app.test_client() for _ in range(6)]
    tokens_ = [csrf(b.get(path).get_data(as_text=True)) for b in browsers]
    barrier, statuses = threading.Barrier(6), []

    def use(browser, token) -> None:
        barrier.wait()
        statuses.append(browser.post(path, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=use, args=pair) for pair in zip(browsers, tokens_, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [404] * 5


def _manager(client, operator, venue_id: str):
    manager = client.application.test_client()
    open_link(manager, invite(client, operator, venue_id)["link"])
    return manager


def _send(manager, **fields):
    page = manager.get("/gestionnaire/").get_data(as_text=True)
    return manager.post("/gestionnaire/propositions", data={**manager_form(page), **fields, "csrf_token": csrf(page)},
                        follow_redirects=True)


def test_a_proposal_is_bounded_in_size_and_in_number(client, operator, qualified):
    """A 2 MB field was stored and shown to operators; 52 proposals could await a decision."""
    manager = _manager(client, operator, qualified())
    huge = _send(manager, **{"champ-presentation_detail": "x" * 2_000_000})
    assert huge.status_code == 422 and "5\u202f000 caractères au plus" in html.unescape(huge.get_data(as_text=True))
    assert client.get("/api/v1/operator/proposals", headers=operator).get_json()["total"] == 0
    for n in range(10):
        assert "transmise" in _send(manager, **{"champ-presentation_detail": f"Présentation {n}"}).get_data(
            as_text=True)
    refused = html.unescape(_send(manager, **{"champ-presentation_detail": "Une de trop"}).get_data(as_text=True))
    assert "Déjà 10 propositions en attente" in refused
    assert client.get("/api/v1/operator/proposals", headers=operator).get_json()["total"] == 10


def test_proposals_are_rate_limited_per_client_address(database_url, token_for):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False,
                      "RATELIMIT_MANAGERS": "3 per hour"})
    client = app.test_client()
    from tests.conftest import RODEZ_MEDIATHEQUE

    with app.extensions["registry.db"].session() as session:
        from registry.services.accounts import tokens

        operator = {"Authorization": f"Bearer {tokens.create(session, 'Opérateur', 'operator').secret}"}
    venue_id = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=operator).get_json()["id"]
    manager = _manager(client, operator, venue_id)
    answers = [_send(manager, **{"champ-presentation_detail": f"Présentation {n}"}).status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    assert manager.get("/gestionnaire/").status_code == 200  # reading is not limited
    app.extensions["registry.db"].dispose()
