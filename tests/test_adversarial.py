"""What an adversarial review of the running registry broke (issue « Hardening, second round »): each defect
as a test that failed before its fix, on both databases. A 500 is a bug: none of these may answer one."""

from __future__ import annotations

import io
import json
import re

import pytest

from registry.services.base.context import Context
from registry.services.exchange import imports
from tests.conftest import RODEZ_MEDIATHEQUE

OPERATOR_VENUES = "/api/v1/operator/venues"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00"])
def test_dates_at_the_edges_of_time_are_refused_not_overflowed(client, operator, moment):
    public = client.get("/api/v1/venues", query_string={"open_at": moment})
    assert public.status_code == 422 and "open_at" in public.get_json()["errors"], public.get_data(as_text=True)
    listed = client.get(OPERATOR_VENUES, query_string={"updated_since": moment}, headers=operator)
    assert listed.status_code == 422 and "updated_since" in listed.get_json()["errors"]
    assert client.get("/api/v1/venues", query_string={"open_at": "2026-12-05T10:00:00+01:00"}).status_code == 200


def test_nul_characters_are_refused_wherever_they_hide(client, operator):
    repeated = client.get("/api/v1/venues?typology=TIERS_LIEUX&typology=a%00b")
    assert repeated.status_code == 400 and "U+0000" in repeated.get_json()["detail"]
    in_a_key = client.get("/api/v1/venues?a%00b=1")
    assert in_a_key.status_code == 400
    upload = client.post("/api/v1/operator/imports", headers=operator, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"id,nom\n1,a\n"), "lieux\x00.csv")})
    assert upload.status_code == 400
    form = client.post("/auditeur/connexion", content_type="multipart/form-data", data={"jeton": "a\x00b"})
    assert form.status_code == 400


@pytest.mark.parametrize("body, status", [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, id="nested-100000-deep"),
    pytest.param(json.dumps({**RODEZ_MEDIATHEQUE, "nom": "\ud800"}).encode(), 400, id="lone-surrogate"),
    pytest.param(b'{"nom": "x", "latitude": ' + b"9" * 5000 + b"}", 400, id="integer-of-5000-digits"),
])
def test_hostile_json_is_a_clear_error(client, operator, body, status):
    response = client.post(OPERATOR_VENUES, data=body, content_type="application/json", headers=operator)
    assert response.status_code == status, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/problem+json"


def test_a_huge_integer_fact_is_refused(client, operator, create_venue):
    venue_id = create_venue().get_json()["id"]
    body = b'{"name": "trained_mediators", "value": ' + b"9" * 5000 + b"}"
    response = client.post(f"{OPERATOR_VENUES}/{venue_id}/facts", data=body, content_type="application/json",
                           headers=operator)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]


@pytest.mark.parametrize("geometry", ["POINT(2 44)", [2.5, 44.3], 42, {"type": "Point", "coordinates": "2,44"},
                                      {"type": "Point", "coordinates": [[2, 44]]}])
def test_a_geojson_import_with_a_strange_geometry_is_reported(app, session, tmp_path, geometry):
    path = tmp_path / "lieux.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geometry,
         "properties": {"id": "g1", "nom": "Lieu", "commune": "Rodez", "code_postal": "12000", "adresse": "1 rue A"}}
    ]}), encoding="utf-8")
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    report = imports.run_import(session, path, ctx, imports.ImportOptions())
    assert (report.created, report.rejected) == (1, 0)
    assert any(line.field == "geometry" for line in report.lines)


def test_an_import_value_nested_2000_deep_is_set_aside(app, client, operator, session, tmp_path):
    deep = "[" * 2000 + "]" * 2000
    text = ('[{"id": "p1", "nom": "Lieu", "commune": "Rodez", "code_postal": "12000", "adresse": "1 rue A", '
            f'"horaires": {deep}, "services": {deep}, "inconnue": {deep}}}]')
    response = client.post("/api/v1/operator/imports", headers=operator, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(text.encode()), "lieux.json")})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    lines = response.get_json()["lignes"]
    assert {line["champ"] for line in lines} >= {"horaires", "services", "inconnue"}
    assert all(len(json.dumps(line["valeur"])) < 300 for line in lines)


def test_no_stack_trace_or_english_code_in_these_answers(client):
    response = client.get("/api/v1/venues", query_string={"open_at": "9999-12-31T23:59:59-12:00"})
    assert not re.search(r"Traceback|OverflowError|Internal Server Error", response.get_data(as_text=True))


def test_parallel_first_decisions_on_a_venue_give_one_qualification(app, client, operator, create_venue):
    import threading

    venue_id = create_venue().get_json()["id"]
    url = f"/api/v1/operator/venues/{venue_id}/qualifications/pass-numerique/decisions"
    outcomes: list[int] = []
    start = threading.Barrier(3)

    def submit() -> None:
        local = app.test_client()
        start.wait()
        outcomes.append(local.post(url, json={"action": "submit"}, headers=operator).status_code)

    for _ in range(5):  # a few rounds: the race is not won every time
        threads = [threading.Thread(target=submit) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if outcomes.count(200) + outcomes.count(201):
            break
    assert set(outcomes) <= {200, 201, 409, 503}, outcomes
    with app.extensions["registry.db"].session() as session:
        from sqlalchemy import func, select

        from registry.models import Qualification
        assert session.scalar(select(func.count()).select_from(Qualification)) == 1


FORMULAS = {"nom": '=HYPERLINK("http://exemple.invalid","Cliquez")', "adresse": "+1+cmd|' /C calc'!A0",
            "structure_parente": "@SUM(1+1)*cmd", "complement_adresse": "-2+3"}


def _cells(text: str, delimiter: str = ",") -> list[str]:
    import csv

    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def _assert_no_formula(text: str) -> None:
    dangerous = [cell for cell in _cells(text)
                 if cell and cell[0] in "=+-@" and not re.fullmatch(r"[+-]?[\d\s.,]+", cell)]
    assert not dangerous, dangerous


def test_no_csv_the_registry_writes_carries_a_spreadsheet_formula(app, client, operator, qualified, tmp_path,
                                                                  session):
    qualified(**FORMULAS, telephone="+33565123456")
    public = client.get("/api/v1/venues", query_string={"format": "csv", "territory": "departement:12"})
    assert public.status_code == 200 and "'=HYPERLINK" in public.get_data(as_text=True)
    _assert_no_formula(public.get_data(as_text=True))
    exported = client.get("/api/v1/operator/exports", query_string={"format": "standard-csv"}, headers=operator)
    text = exported.get_data(as_text=True)
    _assert_no_formula(text)
    assert "+33565123456" in _cells(text)  # the standard's phone pattern is still met
    coverage = client.get("/api/v1/territories/departement/12/coverage", query_string={"format": "csv"},
                          headers=operator)
    assert coverage.status_code == 200
    _assert_no_formula(coverage.get_data(as_text=True))
    path = tmp_path / "lieux.csv"
    path.write_text("id,nom,commune,code_postal,adresse,telephone\n"
                    "f1,=1+1,Rodez,12000,@cmd,=cmd|' /C calc'!A0\n", encoding="utf-8")
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    report = imports.run_import(session, path, ctx, imports.ImportOptions())
    out = io.StringIO()
    imports.write_report_csv(report, out)
    assert "=cmd" in out.getvalue()
    _assert_no_formula(out.getvalue())


def _login(client, secret: str, next_url: str | None = None):
    page = client.get("/auditeur/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    url = "/auditeur/connexion" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"jeton": secret, "csrf_token": token})


def test_smaller_page_defects(client, session):
    from registry.services.accounts import tokens

    secret = tokens.create(session, "CD12", "territory", ["departement:12"]).secret
    # A CR/LF in the login's next was copied into the Location header (500).
    response = _login(client, secret, "/couverture/%0d%0aSet-Cookie:%20x=1")
    assert response.status_code == 302 and "\n" not in response.headers["Location"]
    assert "Set-Cookie: x" not in str(response.headers)
    admin = tokens.create(session, "Admin", "admin").secret
    _login(client, admin)
    # France as a territory of the collectivités' page was a 500 (no route for it).
    france = client.get("/couverture/?territory=france", follow_redirects=True)
    assert france.status_code == 200, france.get_data(as_text=True)[:300]


def test_a_false_token_is_refused_without_waiting_for_the_write_lock(sqlite_url):
    import sqlite3
    import threading
    import time

    from registry import create_app

    database_url = sqlite_url
    app = create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False})

    held, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(15)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert held.wait(5)
    try:
        started = time.monotonic()
        response = app.test_client().post(OPERATOR_VENUES, json=RODEZ_MEDIATHEQUE,
                                          headers={"Authorization": "Bearer rgt_faux"})
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 401 and elapsed < 2, (response.status_code, elapsed)
    app.extensions["registry.db"].dispose()


def test_logging_out_ends_every_copy_of_the_session_cookie(app, session):
    from registry.services.accounts import tokens

    secret = tokens.create(session, "Auditrice", "operator").secret
    browser = app.test_client()
    assert _login(browser, secret).status_code == 302
    cookie = browser.get_cookie("session").value
    assert browser.get("/auditeur/").status_code == 200
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/auditeur/").status_code == 200
    page = browser.get("/auditeur/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post("/auditeur/deconnexion", data={"csrf_token": csrf}).status_code == 302
    assert browser.get("/auditeur/").status_code == 302
    again = copy.get("/auditeur/")
    assert again.status_code == 302 and "/auditeur/connexion" in again.headers["Location"]
