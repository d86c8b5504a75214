"""The job queue with real workers: ``registry worker`` processes (Huey) on the test's database, with a real Redis
(database 5 unless ``REGISTRY_TEST_REDIS_URL`` says otherwise) or the embedded SQLite queue file, and a real
SMTP server. A campaign sent by a worker; a worker killed with SIGKILL mid-campaign, then a relaunch: each address
mailed exactly once; a venue name with line breaks; an API import answered 202 and followed to its report; who may
follow a job."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from registry import create_app
from registry.jobs import run_queued
from registry.models import CampaignInvitation, VenueManager

OPERATOR = "/api/v1/operator"
REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REGISTRY = str(Path(sys.executable).with_name("registry"))
#: The workers beat every second and are taken for dead after 3 s without a beat (production: 5 s and 60 s).
FAST = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 3}


def redis_queue() -> str:
    """The test Redis's database 5 (skip without Redis, fail when CI requires it)."""
    import redis

    url = f"{REDIS_URL}/5" if REDIS_URL.count("/") < 3 else REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("REGISTRY_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis injoignable ({url}) : {exc}")
        pytest.skip(f"Redis injoignable ({url})")
    return url


@pytest.fixture(params=["redis", "sqlite"])
def queue_url(request, job_queue_file) -> str:
    """Each test once with Redis (production) and once with the embedded SQLite queue file."""
    return redis_queue() if request.param == "redis" else job_queue_file


@pytest.fixture
def settings(database_url, queue_url, smtp_server) -> dict:
    """The configuration the app and its workers share: the test's database, queue (a name of its own: other
    tests may share the Redis database; emptied at the end) and SMTP server."""
    from registry.jobs import make_huey

    name = f"registry-test-{uuid.uuid4().hex}"
    yield {"DATABASE_URL": database_url, "QUEUE_URL": queue_url, "QUEUE_NAME": name, "SMTP_URL": smtp_server.url,
           **FAST}
    make_huey(queue_url, name).flush()


@pytest.fixture
def queued_app(settings):
    application = create_app({**settings, "TESTING": True})
    yield application
    application.extensions["registry.db"].dispose()


def environment(settings: dict) -> dict[str, str]:
    return {**os.environ, **{f"REGISTRY_{key}": str(value) for key, value in settings.items()}}


@contextmanager
def worker(settings: dict):
    """A ``registry worker`` process for ``settings``, stopped (SIGTERM) at the end unless killed before."""
    process = subprocess.Popen([REGISTRY, "worker", "--threads", "1"], env=environment(settings),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stderr.close()


def wait_for(check, what: str, timeout: float = 60.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if process is not None and process.poll() is not None:
            pytest.fail(f"le processus de travail s'est arrêté ({process.returncode}) : {process.stderr.read()}")
        time.sleep(0.2)
    pytest.fail(f"{what} : toujours pas après {timeout} s")


def due_venues(client, operator, count: int, **extra) -> list[str]:
    """``count`` venues of Rodez updated long ago, each with its own public address."""
    addresses = []
    for number in range(count):
        address = f"lieu{number}@rodez.test"
        response = client.post(f"{OPERATOR}/venues", headers=operator, json={
            "nom": extra.get("nom", "Lieu {n}").format(n=number), "adresse": f"{number} rue A", "code_postal": "12000",
            "code_insee": "12202", "date_maj": "2024-01-15", "courriels": [address]})
        assert response.status_code == 201, response.get_json()
        addresses.append(address)
    return addresses


def campaign_state(client, operator, campaign_id: str) -> dict:
    return client.get(f"{OPERATOR}/campaigns/{campaign_id}", headers=operator).get_json()


def test_a_campaign_is_sent_by_a_real_worker(queued_app, settings, smtp_server, token_for):
    client, operator = queued_app.test_client(), token_for("operator")
    addresses = due_venues(client, operator, 12)
    launched = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator)
    body = launched.get_json()
    assert launched.status_code == 201 and (body["state"], body["total"], body["pending"]) == ("queued", 12, 12)
    job = client.get(f"/api/v1/jobs/{body['job']}", headers=operator).get_json()
    assert (job["kind"], job["state"], job["done"], job["total"]) == ("campaign", "queued", 0, 12)
    with worker(settings) as process:
        done = wait_for(lambda: (c := campaign_state(client, operator, body["id"]))["state"] == "done" and c,
                        "campagne envoyée", process=process)
    assert (done["sent"], done["failed"], done["pending"], done["uncertain"]) == (12, 0, 0, 0)
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(addresses)
    job = client.get(f"/api/v1/jobs/{body['job']}", headers=operator).get_json()
    assert (job["state"], job["done"], job["total"]) == ("done", 12, 12)
    assert job["result"]["invitations"] == {"sent": 12} and "12 envoyée" in job["message"]
    assert "http://localhost/" in smtp_server.messages[0].get_content()  # links from the launching request


def test_a_worker_killed_mid_campaign_then_a_relaunch_mails_each_address_once(queued_app, settings, smtp_server,
                                                                             token_for, session):
    """The SMTP server accepts the 4th message and holds its answer: the worker is killed (SIGKILL) while that
    invitation is ``sending``. The campaign says ``interrupted``; ``registry campaigns resume`` and a new worker
    send the 4 still pending; the 4th, maybe sent, is ``uncertain`` and not sent again: every address got
    exactly one message, and holds one live link."""
    client, operator = queued_app.test_client(), token_for("operator")
    addresses = due_venues(client, operator, 8)
    held, release = threading.Event(), threading.Event()
    accept = smtp_server.handle_DATA

    async def hold_the_fourth(server, smtp_session, envelope):
        answer = await accept(server, smtp_session, envelope)
        if len(smtp_server.messages) == 4:
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
        return answer

    smtp_server.handle_DATA = hold_the_fourth
    campaign = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
    try:
        with worker(settings) as process:
            assert held.wait(60), "le quatrième message n'est pas arrivé"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        release.set()
    interrupted = wait_for(lambda: (c := campaign_state(client, operator, campaign["id"]))["state"] == "interrupted"
                           and c, "campagne interrompue")
    statuses = Counter(i["status"] for i in interrupted["invitations"])
    assert statuses == {"sent": 3, "sending": 1, "pending": 4}
    assert client.get(f"/api/v1/jobs/{campaign['job']}", headers=operator).get_json()["state"] == "interrupted"

    resumed = subprocess.run([REGISTRY, "campaigns", "resume", campaign["id"]], env=environment(settings),
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "4 invitation(s) à envoyer" in resumed.stdout
    with worker(settings) as process:
        done = wait_for(lambda: (c := campaign_state(client, operator, campaign["id"]))["state"] == "done" and c,
                        "campagne reprise et terminée", process=process)
    assert (done["sent"], done["uncertain"], done["pending"]) == (7, 1, 0)
    assert Counter(m["To"] for m in smtp_server.messages) == Counter(addresses)  # each exactly once
    uncertain = next(i for i in done["invitations"] if i["status"] == "uncertain")
    assert uncertain["email"] == addresses[3] and "peut-être parti" in uncertain["error"]
    live = Counter(m.email for m in session.scalars(select(VenueManager).where(
        VenueManager.invitation_hash.is_not(None))))
    assert live == Counter(addresses)  # one live link per address
    again = client.post(f"{OPERATOR}/campaigns/{campaign['id']}/resume", json={}, headers=operator)
    assert again.status_code == 409  # nothing left: the uncertain one is not sent again blindly


def test_a_worker_stopped_gracefully_gives_the_campaign_back_to_the_queue(queued_app, settings, smtp_server,
                                                                          token_for):
    """SIGTERM (systemd's stop, a deploy) while the 2nd message is being sent: the worker finishes that one,
    gives the job back to the queue and exits 0; the next worker sends the rest. Nothing uncertain."""
    client, operator = queued_app.test_client(), token_for("operator")
    addresses = due_venues(client, operator, 6)
    held, release = threading.Event(), threading.Event()
    accept = smtp_server.handle_DATA

    async def hold_the_second(server, smtp_session, envelope):
        answer = await accept(server, smtp_session, envelope)
        if len(smtp_server.messages) == 2:
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.05)
        return answer

    smtp_server.handle_DATA = hold_the_second
    campaign = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
    with worker(settings) as process:
        assert held.wait(60), "le deuxième message n'est pas arrivé"
        process.send_signal(signal.SIGTERM)
        time.sleep(1)
        release.set()
        assert process.wait(timeout=30) == 0
    given_back = campaign_state(client, operator, campaign["id"])
    assert (given_back["state"], given_back["sent"], given_back["pending"], given_back["uncertain"]) == (
        "queued", 2, 4, 0)
    with worker(settings) as process:
        done = wait_for(lambda: (c := campaign_state(client, operator, campaign["id"]))["state"] == "done" and c,
                        "campagne terminée par le processus suivant", process=process)
    assert (done["sent"], done["uncertain"]) == (6, 0)
    assert Counter(m["To"] for m in smtp_server.messages) == Counter(addresses)


def test_resending_the_uncertain_invitations_revokes_their_first_link(app, client, operator, session,
                                                                      smtp_server):
    """The operator's decision, never the default: the uncertain invitation goes again with a new link."""
    due_venues(client, operator, 2)
    app.config.update(SMTP_URL=smtp_server.url)
    campaign = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
    row = session.scalar(select(CampaignInvitation).order_by(CampaignInvitation.pk))
    row.status = "sending"  # as a worker killed during its sending leaves it
    session.commit()
    run_queued(app)  # the job finds it ``sending``: uncertain, not sent; sends the other one
    body = campaign_state(client, operator, campaign["id"])
    assert (body["state"], body["sent"], body["uncertain"]) == ("done", 1, 1) and len(smtp_server.messages) == 1
    resumed = client.post(f"{OPERATOR}/campaigns/{campaign['id']}/resume", json={"resend_uncertain": True},
                          headers=operator)
    assert resumed.status_code == 202 and resumed.get_json()["pending"] == 1
    run_queued(app)
    body = campaign_state(client, operator, campaign["id"])
    assert (body["sent"], body["uncertain"]) == (2, 0) and len(smtp_server.messages) == 2


@pytest.mark.parametrize("name", [
    pytest.param("Médiathèque\r\nBcc: espion@evil.test", id="crlf"),
    pytest.param("Médiathèque\u2028de Rodez", id="u2028"),
    pytest.param("Médiathèque\u0085\u2029\x0b\x0cde Rodez\n", id="nel-u2029-vt-ff"),
])
def test_a_line_break_in_a_venue_name_gives_a_clean_subject_and_the_campaign_completes(
        name, app, client, operator, session, smtp_server):
    from registry.models import Venue

    due_venues(client, operator, 3)
    venue = session.scalar(select(Venue).where(Venue.nom == "Lieu 1"))
    venue.nom = name  # as the API and imports store it
    session.commit()
    app.config.update(SMTP_URL=smtp_server.url)
    campaign = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
    run_queued(app)
    body = campaign_state(client, operator, campaign["id"])
    assert (body["state"], body["sent"], body["failed"]) == ("done", 3, 0)
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 3 and all("\n" not in s and "\r" not in s and "\u2028" not in s for s in subjects)
    assert any(s.startswith("Mettre à jour « Médiathèque ") for s in subjects)
    assert all(m["Bcc"] is None and m["To"].endswith("@rodez.test") for m in smtp_server.messages)


def test_one_message_failing_is_that_invitation_s_failure_not_the_campaign_s_end(app, client, operator, session,
                                                                                 smtp_server):
    due_venues(client, operator, 3)
    app.config.update(SMTP_URL=smtp_server.url)
    campaign = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
    second = session.scalars(select(CampaignInvitation).order_by(CampaignInvitation.pk)).all()[1]
    second.email = "a@rodez.test, b@evil.test"  # two addresses: refused, this invitation alone
    session.commit()
    run_queued(app)
    body = campaign_state(client, operator, campaign["id"])
    assert (body["state"], body["sent"], body["failed"]) == ("done", 2, 1)
    assert sorted(m["To"] for m in smtp_server.messages) == ["lieu0@rodez.test", "lieu2@rodez.test"]


def test_the_auditor_s_invite_form_takes_one_address_as_the_api_does(client, session, create_venue, smtp_server,
                                                                     app):
    from registry.services.accounts import tokens
    from tests.test_auditor_pages import csrf

    app.config.update(SMTP_URL=smtp_server.url)
    venue_id = create_venue().get_json()["id"]
    secret = tokens.create(session, "Auditrice", "operator", ["departement:12"]).secret
    login = client.get("/auditeur/connexion").get_data(as_text=True)
    client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf(login)})
    page = client.get(f"/auditeur/lieux/{venue_id}").get_data(as_text=True)
    for email in ("a@rodez.test, b@evil.test", "a@rodez.test\r\nBcc: b@evil.test", "Jean <a@rodez.test>"):
        answer = client.post(f"/auditeur/lieux/{venue_id}/gestionnaires", data={"email": email,
                                                                               "csrf_token": csrf(page)},
                             follow_redirects=True).get_data(as_text=True)
        assert "Adresse électronique invalide" in answer
    assert smtp_server.messages == [] and session.scalar(select(VenueManager)) is None
    api = client.post(f"{OPERATOR}/venues/{venue_id}/managers", json={"email": "a@rodez.test, b@evil.test"},
                      headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 422


def test_a_large_api_import_answers_202_and_its_job_ends_with_its_report(settings, token_for, smtp_server):
    application = create_app({**settings, "TESTING": True, "IMPORT_JOB_BYTES": 2000})
    try:
        client, operator = application.test_client(), token_for("operator")
        rows = "".join(f"imp{n},Lieu importé {n},Rodez,12000,12202,{n} rue B,2026-01-15\n" for n in range(60))
        csv = ("id,nom,commune,code_postal,code_insee,adresse,date_maj\n" + rows + "bad,,Rodez,12000,12202,,\n")
        answer = client.post(f"{OPERATOR}/imports", query_string={"source": "gros-fichier"},
                             data={"file": (io.BytesIO(csv.encode()), "lieux.csv")},
                             content_type="multipart/form-data", headers=operator)
        assert answer.status_code == 202, answer.get_json()
        location = answer.headers["Location"]
        assert location.startswith("/api/v1/jobs/") and answer.get_json()["state"] == "queued"
        assert client.get(location, headers=operator).get_json()["result"] is None
        with worker(settings) as process:
            job = wait_for(lambda: (j := client.get(location, headers=operator).get_json())["state"] == "done" and j,
                           "import terminé", process=process)
        report = job["result"]
        assert report["resume"]["crees"] == 60 and report["resume"]["rejetes"] == 1
        assert any(line["type"] == "rejet" for line in report["lignes"])
        assert job["done"] == job["total"] == 61 and "60 créés" in job["message"]
        venues = client.get(f"{OPERATOR}/venues", query_string={"per_page": 1}, headers=operator).get_json()
        assert venues["total"] >= 60
    finally:
        application.extensions["registry.db"].dispose()


def test_the_immediate_fallback_runs_the_job_inside_the_request(database_url, smtp_server, token_for):
    """``REGISTRY_QUEUE_URL=immediate``: no queue, no worker; the named fallback of a single-process demo."""
    application = create_app({"DATABASE_URL": database_url, "TESTING": True, "QUEUE_URL": "immediate",
                              "SMTP_URL": smtp_server.url})
    try:
        client, operator = application.test_client(), token_for("operator")
        due_venues(client, operator, 2)
        body = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=operator).get_json()
        assert (body["state"], body["sent"]) == ("done", 2) and len(smtp_server.messages) == 2
    finally:
        application.extensions["registry.db"].dispose()


def test_a_job_is_followed_by_its_creator_and_the_admins(app, client, session, token_for):
    creator, other, admin = token_for("operator"), token_for("operator"), token_for("admin")
    job = client.post(f"{OPERATOR}/campaigns", json={"territory": "departement:12"}, headers=creator).get_json()["job"]
    assert client.get(f"/api/v1/jobs/{job}", headers=creator).status_code == 200
    assert client.get(f"/api/v1/jobs/{job}", headers=admin).status_code == 200
    refused = client.get(f"/api/v1/jobs/{job}", headers=other)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/jobs/{job}", headers=token_for("territory")).status_code == 403
    assert client.get(f"/api/v1/jobs/{job}").status_code == 401
    assert client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=admin).status_code == 404


def test_the_france_wide_coverage_is_computed_by_the_worker_then_served(settings):
    application = create_app({**settings, "TESTING": True, "PUBLIC_COVERAGE": True})
    try:
        client = application.test_client()
        first = client.get("/couverture/france/FR")
        assert first.status_code == 202 and "calculé par le processus de travail" in first.get_data(as_text=True)
        assert client.get("/couverture/france/FR", query_string={"bands": "2,4"}).status_code == 202
        with application.app_context():
            from registry.models import Job

            with application.extensions["registry.db"].session() as session:
                assert session.query(Job).filter_by(kind="coverage-report").count() == 1  # one at a time
        assert run_queued(application) == 1
        served = client.get("/couverture/france/FR")
        assert served.status_code == 200 and "Couverture : France" in served.get_data(as_text=True)
        assert client.get("/couverture/france/FR/telecharger.csv").status_code == 200
    finally:
        application.extensions["registry.db"].dispose()


def test_the_sweep_says_which_jobs_lost_their_worker_and_drops_old_documents(app, session):
    from datetime import timedelta

    from registry.models import Job, utcnow
    from registry.services.base import jobs

    submitted = []
    dead = jobs.enqueue(session, "campaign", "token:a", submitted.append)
    alive = jobs.enqueue(session, "campaign", "token:a", submitted.append)
    old = jobs.enqueue(session, "coverage-report", "token:a", submitted.append)
    assert submitted == [dead.id, alive.id, old.id]
    assert jobs.start(session, dead.id, "hôte:1:w") is not None and jobs.start(session, alive.id, "hôte:2:w")
    assert jobs.start(session, alive.id, "hôte:3:w") is None  # running elsewhere, alive: not taken twice
    jobs.finish(session, old, {"communes": 1}, payload=b"rapport")
    session.query(Job).filter_by(id=dead.id).update({"heartbeat_at": utcnow() - timedelta(seconds=120)})
    session.query(Job).filter_by(id=old.id).update({"finished_at": utcnow() - timedelta(days=3)})
    session.commit()
    assert jobs.state_of(jobs.get(session, dead.id)) == "interrupted"  # read so before any sweep
    assert jobs.sweep(session) == 1
    assert [jobs.get(session, j.id).state for j in (dead, alive, old)] == ["interrupted", "running", "done"]
    assert jobs.payload_of(session, jobs.get(session, old.id)) is None
    jobs.resume(session, dead.id, submitted.append)
    assert jobs.get(session, dead.id).state == "queued" and submitted[-1] == dead.id
    assert jobs.start(session, dead.id, "hôte:4:w").attempts == 2


def test_the_operator_s_pages_issue_and_print_booklets_through_a_real_worker(queued_app, settings, session):
    """Issuing 1,200 booklets (12,000 passes) and a PDF of booklets from the operator's pages: each request
    answers at once with the job's page, a ``registry worker`` does the work, the page shows where it stands, then
    the result (the PDF to download)."""
    from registry.services.accounts import tokens
    from tests.test_pass_pages import log_in, pdf_text, post, text_of
    from tests.test_passes import programme_body

    client, browser = queued_app.test_client(), queued_app.test_client()
    operator = {"Authorization": f"Bearer {tokens.create(session, 'Opératrice API', 'operator').secret}"}
    made = client.post(f"{OPERATOR}/programmes", json=programme_body(booklets_ordered=1_200), headers=operator)
    assert made.status_code == 201, made.get_json()
    assert log_in(browser, tokens.create(session, "Opératrice pages", "operator").secret,
                  "/auditeur/connexion").status_code == 302
    page_url = f"/operateur/pass/programmes/{made.get_json()['id']}"
    started = time.monotonic()
    asked = post(browser, f"{page_url}/emission", {"carnets": "1200"}, page_url)
    assert asked.status_code == 302 and time.monotonic() - started < 30  # numbered only: no pass written yet
    issue_url = asked.headers["Location"]
    waiting = text_of(browser.get(issue_url))
    assert 'data-job-state="queued"' in waiting and "Avancement : 0 sur 12\u202f000" in waiting
    with worker(settings) as process:
        wait_for(lambda: 'data-job-state="done"' in text_of(browser.get(issue_url)), "émission terminée",
                 process=process)
        done = text_of(browser.get(issue_url))
        assert "Avancement : 12\u202f000 sur 12\u202f000" in done
        assert "Carnets 1 à 1\u202f200 émis : 12\u202f000 pass." in done
        last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        asked = post(browser, "/operateur/pass/releves", {"mois": last_month}, "/operateur/pass/releves")
        assert asked.status_code == 302  # a month's statements: the worker builds them too
        statements_url = asked.headers["Location"]
        wait_for(lambda: 'data-job-state="done"' in text_of(browser.get(statements_url)), "relevés établis",
                 process=process)
        assert "Voir les relevés de" in text_of(browser.get(statements_url))
        asked = post(browser, f"{page_url}/carnets", {"premier": "11", "dernier": "13"}, page_url)
        assert asked.status_code == 302
        pdf_url = asked.headers["Location"]
        wait_for(lambda: 'data-job-state="done"' in text_of(browser.get(pdf_url)), "PDF prêt", process=process)
    done = text_of(browser.get(pdf_url))
    assert "Avancement : 3 sur 3" in done and "Carnets 11 à 13 prêts" in done
    pdf = browser.get(f"{pdf_url}/carnets.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    text = pdf_text(pdf.get_data())
    assert text is None or ("Carnet n° 11 " in text and "Carnet n° 13 " in text and "Carnet n° 14 " not in text)
    codes = client.get(f"{OPERATOR}/programmes/{made.get_json()['id']}/codes.csv?first=1&last=1200",
                       headers=operator).get_data(as_text=True).splitlines()
    assert len(codes) == 1 + 12_000 and len({line.split(",")[2] for line in codes[1:]}) == 12_000


def _qualified_near_rodez(settings: dict, count: int) -> None:
    """``count`` published venues around Rodez holding the Pass numérique: written through the venue service, their
    qualifications stored as held (the read model follows both in the same transaction)."""
    from registry.models import Qualification
    from registry.services.base.context import Context
    from registry.services.venues import venues

    application = create_app({**settings, "TESTING": True})
    try:
        with application.app_context(), application.extensions["registry.db"].session() as session:
            ctx = Context("test", plugins=application.extensions["registry.plugins"],
                          catalogue=application.extensions["registry.criteria"])
            for n in range(count):
                venue = venues.create(session, {
                    "publication_status": "published", "nom": f"Lieu {n}", "code_insee": "12202",
                    "code_postal": "12000", "adresse": f"{n} rue de la Paix", "latitude": 44.2 + (n % 20) / 50,
                    "longitude": 2.3 + (n // 20) / 30}, ctx).venue
                session.add(Qualification(venue_pk=venue.pk, criteria_set="pass-numerique", status="qualified",
                                          valid_from=ctx.day()))
            session.commit()
    finally:
        application.extensions["registry.db"].dispose()


def test_the_map_s_views_are_shared_by_every_process_and_computed_by_the_worker_after_a_write(
        settings, tmp_path, token_for):
    """Served by gunicorn (two processes) with a ``registry worker``: the national view computed once is served
    by every process without computing it again, whatever the screen's box; after a write, the previous version's
    view is served (marked stale) until the worker has computed the new one, then that one."""
    import requests

    from tests.conftest import gunicorn_serving

    _qualified_near_rodez(settings, 305)  # (beyond 300 venues in view: clusters)
    headers = token_for("operator")
    config = {key: settings[key] for key in ("QUEUE_URL", "QUEUE_NAME")}
    with gunicorn_serving(settings["DATABASE_URL"], tmp_path, workers=2, RATELIMIT_ENABLED=0, **config) as (base, _):
        def view(west: float = -5.2) -> requests.Response:
            answer = requests.get(f"{base}/api/v1/venues/map", params={"bbox": f"{west},41.3,9.6,51.1", "zoom": 6},
                                  timeout=30)
            assert answer.status_code == 200 and answer.json()["clustered"], answer.text
            return answer

        first = view()
        assert first.headers["Server-Timing"] == 'view;desc="computed"' and first.json()["numberMatched"] == 305
        for n in range(12):  # every process, every screen's box: the one view kept for the data version
            again = view(-5.2 + n / 10)
            assert again.headers["Server-Timing"] == 'view;desc="kept"', n
            assert again.json()["features"] == first.json()["features"]

        venue_id = requests.get(f"{base}/api/v1/venues", params={"q": "Lieu 0", "per_page": 1},
                                timeout=30).json()["features"][0]["id"]
        removed = requests.post(f"{base}/api/v1/operator/venues/{venue_id}/unpublish", headers=headers, timeout=30)
        assert removed.status_code == 200, removed.text
        stale = view()  # no worker yet: the previous version's view, said to be stale
        assert stale.headers["Server-Timing"] == 'view;desc="stale"'
        assert stale.json()["stale"] is True and stale.json()["numberMatched"] == 305

        with worker(settings) as process:
            def fresh():
                answer = view()
                return answer if answer.headers["Server-Timing"] == 'view;desc="kept"' else None

            served = wait_for(fresh, "la vue de la nouvelle version des données", process=process)
        assert "stale" not in served.json() and served.json()["numberMatched"] == 304
