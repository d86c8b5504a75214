"""Every coverage, accessibility and siting request bounded whatever its parameters (#33, item 2): caps on bands,
radius, steps and pairs (422 naming the parameter), large reports computed once per data version by the worker
and served from there (202 and progress meanwhile), anonymous visitors held to a budget and a concurrency cap of
their own, pages of bounded size, and a peak-RSS ceiling for France at the largest band through served processes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests

from geodata.distances import PointIndex
from registry import create_app
from registry.jobs import run_queued
from registry.services.base import data_version
from registry.services.coverage import accessibility, coverage, siting
from tests.conftest import shared_file
from tests.test_auditor_pages import csrf

API = "/api/v1/territories"
RODEZ = "Médiathèque de Rodez"


def public_app(database_url: str, **config):
    """Coverage open to anyone (``REGISTRY_PUBLIC_COVERAGE``), with limits of its own in this process's memory."""
    return create_app({"DATABASE_URL": database_url, "TESTING": True, "SECURE_COOKIES": False,
                       "PUBLIC_COVERAGE": True, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", **config})


def test_runs_of_pairs_are_the_pairs_within_a_budget():
    rng = np.random.default_rng(4)
    points = PointIndex(rng.uniform(1, 4, 3000), rng.uniform(43, 45, 3000))
    lon, lat = rng.uniform(1, 4, 400), rng.uniform(43, 45, 400)
    query, found, distance = points.within(lon, lat, 30_000)
    runs = list(points.within_chunks(lon, lat, 30_000, 5_000))
    assert len(runs) > 10 and all(len(q) <= 5_000 for _s, q, _f, _d in runs)
    joined = sorted(zip(np.concatenate([q + s for s, q, _f, _d in runs]).tolist(),
                        np.concatenate([f for _s, _q, f, _d in runs]).tolist(), strict=True))
    assert joined == sorted(zip(query.tolist(), found.tolist(), strict=True))
    assert (points.count_within(lon, lat, 30_000) >= np.bincount(query, minlength=len(lon))).all()


@pytest.mark.parametrize("query, field", [
    pytest.param({"bands": "5,150"}, "bands", id="band-beyond-100-km"),
    pytest.param({"bands": ",".join(str(n) for n in range(1, 10))}, "bands", id="nine-bands"),
    pytest.param({"bands": "0,200"}, "bands", id="the-old-largest"),
])
def test_coverage_parameters_beyond_the_caps_are_refused_naming_them(client, operator, query, field):
    response = client.get(f"{API}/departement/12/coverage", query_string=query, headers=operator)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_siting_and_accessibility_beyond_the_caps_are_refused_naming_them(client, operator, places, create_venue,
                                                                          monkeypatch):
    create_venue(nom="Centre social de Bozouls", code_insee="12033", code_postal="12340", commune="Bozouls",
                 latitude=44.47, longitude=2.72)  # a candidate: registered, not qualified
    radius = client.get(f"{API}/departement/12/siting", query_string={"radius_km": 60}, headers=operator)
    assert radius.status_code == 422 and "radius_km" in radius.get_json()["errors"]
    steps = client.get(f"{API}/departement/12/accessibility", query_string={"steps": "10:1,80:0.5"},
                       headers=operator)
    assert steps.status_code == 422 and "steps" in steps.get_json()["errors"]
    # More candidate pairs than the bound: refused before any matrix is built, naming what to reduce.
    monkeypatch.setattr(siting, "MAX_PAIRS", 0)
    many = client.get(f"{API}/departement/12/siting", query_string={"radius_km": 40}, headers=operator)
    assert many.status_code == 422 and "réduisez le rayon" in many.get_json()["errors"]["radius_km"][0]
    monkeypatch.setattr(accessibility, "MAX_PAIRS", 0)
    index = client.get(f"{API}/departement/12/accessibility", headers=operator)
    assert index.status_code == 422 and "steps" in index.get_json()["errors"]


def test_the_expensive_parameters_are_left_to_logged_in_users(database_url, session, places):
    app = public_app(database_url)
    try:
        visitor = app.test_client()
        assert visitor.get("/couverture/departement/12", query_string={"bands": "5,30"}).status_code == 200
        wide = visitor.get("/couverture/departement/12", query_string={"bands": "5,50"})
        assert wide.status_code == 422 and "30 km" in wide.get_data(as_text=True)
        far = visitor.get("/couverture/departement/12/accessibilite", query_string={"rayon": "25"})
        assert far.status_code == 422 and "rayon" in far.get_data(as_text=True)
        from registry.services.accounts import tokens

        user = app.test_client()
        secret = tokens.create(session, "CD12", "territory", ["departement:12"]).secret
        page = user.get("/couverture/connexion").get_data(as_text=True)
        user.post("/couverture/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
        assert user.get("/couverture/departement/12/accessibilite", query_string={"rayon": "25"}).status_code == 200
        # A band beyond the anonymous cap is a large report: the worker computes it once.
        assert user.get("/couverture/departement/12", query_string={"bands": "5,50"}).status_code == 202
    finally:
        app.extensions["registry.db"].dispose()


def test_a_large_report_is_computed_once_per_data_version_then_served(app, client, operator, places, session):
    url = f"{API}/region/76/coverage"
    pending = client.get(url, headers=operator)
    body = pending.get_json()
    assert pending.status_code == 202 and pending.headers["Retry-After"]
    assert body["job"]["kind"] == "coverage-report" and body["job"]["state"] == "queued"
    assert client.get(url, headers=operator).get_json()["job"]["id"] == body["job"]["id"]  # one job, not two
    assert run_queued(app) == 1
    served = client.get(url, headers=operator)
    assert served.status_code == 200 and served.get_json()["code"] == "76"
    assert run_queued(app) == 0  # served from the job: nothing computed again
    # The data change (a venue moved): a new version, computed anew.
    before = data_version.current(session)
    session.commit()  # the next reading in a transaction of its own (SQLite's snapshot)
    rodez = f"/api/v1/operator/venues/{places[RODEZ]}"
    etag = client.get(rodez, headers=operator).headers["ETag"]
    moved = client.patch(rodez, json={"longitude": 2.58, "latitude": 44.35}, headers={**operator, "If-Match": etag})
    assert moved.status_code == 200, moved.get_json()
    assert data_version.current(session) != before
    assert client.get(url, headers=operator).status_code == 202


def test_the_data_version_follows_territories_and_zones(app, places, session, tmp_path):
    from registry.services import territories
    from registry.services.base.context import Context
    from registry.services.territories import zones

    first = data_version.current(session)
    assert data_version.current(session) == first  # nothing changed, nothing said
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    second = data_version.current(session)
    assert second != first
    path = tmp_path / "frr.csv"
    path.write_text("code_commune;code;nom\n12145;F1;Sud\n", encoding="utf-8")
    zones.import_file(session, path, "FRR", Context("t", plugins=app.extensions["registry.plugins"],
                                                    catalogue=app.extensions["registry.criteria"]))
    assert data_version.current(session) not in (first, second)


def test_the_accessibility_page_lists_a_page_of_communes_and_no_map_beyond_its_limit(database_url, places,
                                                                                     monkeypatch):
    from registry.web.pages import choropleth, collectivites

    monkeypatch.setattr(collectivites, "COMMUNES_PER_PAGE", 100)
    monkeypatch.setattr(choropleth, "MAX_COMMUNES", 200)
    app = public_app(database_url)
    try:
        visitor = app.test_client()
        first = visitor.get("/couverture/departement/12/accessibilite").get_data(as_text=True)
        table = first.split('id="table-accessibilite"')[1].split("</table>")[0]
        assert table.count("<tr><td") == 100 and "Page 1 sur 3" in first and 'aria-label="Pages des communes"' in first
        assert "trop pour une carte lisible" in first and "<svg" not in first
        last = visitor.get("/couverture/departement/12/accessibilite", query_string={"page": 3}).get_data(as_text=True)
        rows = last.split('id="table-accessibilite"')[1].split("</table>")[0].count("<tr><td")
        assert 0 < rows <= 100
    finally:
        app.extensions["registry.db"].dispose()


def test_the_public_error_report_form_is_strictly_limited(database_url, places):
    """The report form's limit was set on a wrapper Flask never called: it was not limited at all."""
    app = create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False, "RATELIMIT_REPORTS": "2 per hour",
                      "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    try:
        browser = app.test_client()
        page = browser.get(f"/lieux/{places[RODEZ]}").get_data(as_text=True)
        statuses = [browser.post(f"/lieux/{places[RODEZ]}/signaler", data={
            "csrf_token": csrf(page), "reason": "n-existe-plus", "text": f"Local vide {n}"}).status_code
            for n in range(3)]
        assert statuses == [302, 302, 429], statuses
    finally:
        app.extensions["registry.db"].dispose()


def test_anonymous_visitors_have_their_own_budget_and_concurrency_cap(database_url, session, places):
    app = public_app(database_url, RATELIMIT_PUBLIC_COVERAGE="2 per minute")
    try:
        visitor = app.test_client()
        assert [visitor.get("/couverture/commune/12202").status_code for _ in range(3)] == [200, 200, 429]
        assert visitor.get("/couverture/").status_code == 200  # choosing a territory costs nothing: not counted
    finally:
        app.extensions["registry.db"].dispose()
    closed = public_app(database_url, PUBLIC_COVERAGE_CONCURRENCY=0)
    try:
        busy = closed.test_client().get("/couverture/commune/12202")
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert "réessayez" in busy.get_data(as_text=True)
        from registry.services.accounts import tokens

        user = closed.test_client()
        secret = tokens.create(session, "CD12", "territory", ["departement:12"]).secret
        page = user.get("/couverture/connexion").get_data(as_text=True)
        user.post("/couverture/connexion", data={"jeton": secret, "csrf_token": csrf(page)})
        assert user.get("/couverture/commune/12202").status_code == 200  # logged in: not held to the cap
    finally:
        closed.extensions["registry.db"].dispose()
    one = public_app(database_url, PUBLIC_COVERAGE_CONCURRENCY=1)
    try:  # every request gives its place back
        assert [one.test_client().get("/couverture/commune/12202").status_code for _ in range(4)] == [200] * 4
    finally:
        one.extensions["registry.db"].dispose()


#: What a served process may reach at its peak for France at the largest band (measured: see docs/accessibility.md).
RSS_CEILING_MB = 1_000
VENUES = 30_000


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident set (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def test_france_at_the_largest_band_stays_under_a_peak_rss_ceiling(postgis_url, job_queue_file, tmp_path):
    """Served processes (``registry run`` and ``registry worker``) on France's 35,000 communes and 30,000 synthetic
    venues: the page at the largest band asks the worker, then serves its report; neither exceeds the ceiling
    (at 200 km a worker reached 19.7 GB)."""
    import socket

    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from benchmarks import synthetic
    from registry.db import make_engine
    from registry.models import Venue
    from registry.services import territories
    from registry.services.accounts import tokens
    from tests.test_jobs import FAST, environment, wait_for, worker

    if not sys.platform.startswith("linux"):
        pytest.skip("VmHWM : Linux seulement")
    engine = make_engine(postgis_url)
    with Session(engine) as session:
        territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
        rows = list(synthetic.venues(VENUES))
        for start in range(0, len(rows), 5000):
            session.execute(insert(Venue), rows[start:start + 5000])
        session.commit()
        synthetic.qualify_share(session, 0.6)
        assert session.scalar(select(Venue.pk).limit(1)) is not None
        secret = tokens.create(session, "Opératrice", "operator").secret
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"DATABASE_URL": postgis_url, "QUEUE_URL": job_queue_file, "QUEUE_NAME": f"rss-{uuid.uuid4().hex}",
                "PUBLIC_COVERAGE": "1", "RATELIMIT_ENABLED": "0", "SECURE_COOKIES": "0", **FAST}
    server = subprocess.Popen([str(Path(sys.executable).with_name("registry")), "run", "--port", str(port),
                               "--no-reload", "--no-debugger"], env=environment(settings),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        browser = requests.Session()
        wait_for(lambda: _answers(browser, f"{base}/couverture/connexion"), "serveur prêt", process=None)
        form = browser.get(f"{base}/couverture/connexion").text
        browser.post(f"{base}/couverture/connexion", data={"jeton": secret, "csrf_token": csrf(form)})
        largest = ",".join(f"{b:g}" for b in (5, 10, 20, coverage.MAX_BAND_KM))
        france = f"{base}/couverture/france/FR?bands={largest}"
        first = browser.get(france)
        assert first.status_code == 202 and "calculé par le processus de travail" in first.text
        with worker(settings) as process:
            served = wait_for(lambda: (r := browser.get(france)).status_code == 200 and r, "rapport de la France",
                              timeout=600, process=process)
            worker_mb = peak_rss_mb(process.pid)
        assert "Couverture : France" in served.text and "trop pour une carte lisible" in served.text
        assert len(served.content) < 5_000_000  # a page of the table, no map of 35,000 communes
        assert browser.get(f"{base}/couverture/france/FR/telecharger.csv?bands={largest}").status_code == 200
        assert browser.get(f"{base}/couverture/departement/12/accessibilite").status_code == 200
        server_mb = peak_rss_mb(server.pid)
        print(f"pic de mémoire : serveur {server_mb:,.0f} Mo, processus de travail {worker_mb:,.0f} Mo")
        assert server_mb < RSS_CEILING_MB and worker_mb < RSS_CEILING_MB, (server_mb, worker_mb)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _answers(browser: requests.Session, url: str) -> bool:
    try:
        return browser.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False
