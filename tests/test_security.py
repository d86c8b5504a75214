"""Abuse limits and browser protections: headers, CSP, CORS, rate limits, cookies, sizes and content types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry import create_app
from tests.conftest import RODEZ_MEDIATHEQUE

TEMPLATES = Path(__file__).parents[1] / "registry" / "web" / "templates"


@pytest.mark.parametrize("path", ["/", "/carte", "/api/docs", "/auditeur/connexion", "/api/v1/venues",
                                  "/api/v1/operator/venues", "/ogc", "/nulle-part"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_map_tiles_are_the_only_outside_images(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
                      "MAP_TILES_URL": "https://tuiles.example.org/{z}/{x}/{y}.png"})
    policy = app.test_client().get("/carte").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tuiles.example.org;" in policy


def test_templates_have_no_inline_script_or_style():
    for template in TEMPLATES.rglob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template
        assert not re.search(r"\son[a-z]+\s*=", html), template
        assert "style=" not in html and "<style" not in html, template


def test_cors_opens_the_public_api_only(client, operator):
    origin = {"Origin": "https://carte.example.org"}
    assert client.get("/api/v1/venues", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/ogc/collections", headers=origin).headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options("/api/v1/venues", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    private = client.get("/api/v1/operator/venues", headers={**origin, **operator})
    assert private.status_code == 200 and "Access-Control-Allow-Origin" not in private.headers
    assert "Access-Control-Allow-Credentials" not in client.get("/api/v1/venues", headers=origin).headers
    # The coverage of a territory needs a token: no CORS there (it allowed any site to send Authorization).
    coverage = client.options("/api/v1/territories/departement/12/coverage",
                              headers={**origin, "Access-Control-Request-Method": "GET",
                                       "Access-Control-Request-Headers": "Authorization"})
    assert "Access-Control-Allow-Origin" not in coverage.headers
    assert client.get("/api/v1/territories/departement/12", headers=origin).headers[
        "Access-Control-Allow-Origin"] == "*"


def test_public_endpoints_are_rate_limited_per_address(database_url, token_for):
    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_PUBLIC": "3 per minute", "SECURE_COOKIES": False})
    client = app.test_client()
    statuses = [client.get("/api/v1/venues").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/venues")
    assert limited.mimetype == "application/problem+json" and int(limited.headers["Retry-After"]) > 0
    body = limited.get_json()
    assert body["status"] == 429 and body["title"] == "Trop de requêtes" and "3 par minute" in body["detail"]
    other = client.get("/api/v1/venues", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # another address has its own allowance
    app.extensions["registry.db"].dispose()


def test_gis_clients_have_a_budget_of_their_own(database_url):
    """Paging a whole collection takes many requests: the OGC API is not held to the public API's limit."""
    app = create_app({"DATABASE_URL": database_url, "RATELIMIT_PUBLIC": "3 per minute",
                      "RATELIMIT_OGC": "8 per minute", "SECURE_COOKIES": False})
    try:
        client = app.test_client()
        pages = [client.get("/ogc/collections/pass-numerique/items", query_string={"offset": n}).status_code
                 for n in range(9)]
        assert pages == [200] * 8 + [429]
        assert client.get("/api/v1/venues").status_code == 200  # the public API's own allowance is untouched
    finally:
        app.extensions["registry.db"].dispose()


def test_session_cookie_is_secure_httponly_samesite_by_default(database_url, token_for):
    app = create_app({"DATABASE_URL": database_url})
    client = app.test_client()
    secret = token_for("operator")["Authorization"].removeprefix("Bearer ")
    page = client.get("/auditeur/connexion", base_url="https://localhost").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auditeur/connexion", data={"jeton": secret, "csrf_token": csrf},
                           base_url="https://localhost",
                           headers={"Referer": "https://localhost/auditeur/connexion"})  # CSRF checks it on HTTPS
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.extensions["registry.db"].dispose()


def test_oversized_requests_and_foreign_content_types_are_refused(client, operator):
    huge = client.post("/api/v1/operator/venues", data=b"x" * (11 * 1024 * 1024), headers=operator,
                       content_type="application/json")
    assert huge.status_code == 413 and huge.get_json()["detail"].startswith("Requête trop volumineuse (10 Mio")
    form = client.post("/api/v1/operator/venues", data={"nom": "x"}, headers=operator)
    assert form.status_code == 415 and form.mimetype == "application/problem+json"
    text = client.post("/api/v1/operator/venues", data="nom=x", headers=operator, content_type="text/plain")
    assert text.status_code == 415
    good = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=operator)
    assert good.status_code == 201


def test_nul_characters_are_refused_at_the_door(client, operator):
    body = client.post("/api/v1/operator/venues", json={**RODEZ_MEDIATHEQUE, "nom": "a\u0000b"}, headers=operator)
    assert body.status_code == 400 and "U+0000" in body.get_json()["detail"]
    query = client.get("/api/v1/venues", query_string={"q": "a\u0000b"})
    assert query.status_code == 400 and query.mimetype == "application/problem+json"
    assert client.get("/api/v1/territories/commune/12%00").status_code == 400
    assert client.get("/api/v1/venues", query_string={"q": "Rodez"}).status_code == 200


def test_links_never_follow_a_forged_host_header(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False,
                      "PUBLIC_URL": "https://lieux.example.org", "TRUSTED_HOSTS": "lieux.example.org,localhost"})
    client = app.test_client()
    landing = client.get("/ogc/", headers={"Host": "lieux.example.org"})
    assert landing.status_code == 200
    assert all(link["href"].startswith("https://lieux.example.org/") for link in landing.get_json()["links"])
    forged = client.get("/ogc/", headers={"Host": "evil.example.com"})
    assert forged.status_code == 400 and "evil" not in forged.get_data(as_text=True)
    page = client.get("/carte", headers={"Host": "evil.example.com"})
    assert page.status_code == 400 and "Requête refusée" in page.get_data(as_text=True)
    app.extensions["registry.db"].dispose()


def test_mailed_and_embedded_links_come_from_the_public_url_not_the_host_header(database_url, smtp_server,
                                                                               token_for):
    """Without TRUSTED_HOSTS, a client chooses the Host header: an operator's invitation mailed a link to the
    host the request named, and the embed snippet handed out an iframe of it."""
    app = create_app({"DATABASE_URL": database_url, "SECURE_COOKIES": False, "SMTP_URL": smtp_server.url,
                      "PUBLIC_URL": "https://lieux.example.org/", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    operator = token_for("operator")
    forged = {"Host": "evil.example.com"}
    venue = client.post("/api/v1/operator/venues", json=RODEZ_MEDIATHEQUE, headers=operator).get_json()["id"]
    invited = client.post(f"/api/v1/operator/venues/{venue}/managers", json={"email": "direction@example.fr"},
                          headers={**operator, **forged})
    assert invited.status_code == 201 and invited.get_json()["mailed"], invited.get_json()
    assert invited.get_json()["link"].startswith("https://lieux.example.org/gestionnaire/invitation/")
    (message,) = smtp_server.messages
    assert "https://lieux.example.org/gestionnaire/invitation/" in message.get_content()
    assert "evil" not in message.get_content()
    for path in ("/carte/integrer?territory=departement:12", "/carte/integree?territory=departement:12"):
        page = client.get(path, headers=forged)
        assert page.status_code == 200 and "evil" not in page.get_data(as_text=True), path
    assert "https://lieux.example.org/carte/integree" in client.get("/carte/integrer", headers=forged).get_data(
        as_text=True)
    app.extensions["registry.db"].dispose()


def test_every_405_says_which_methods_are_allowed(app, client):
    """RFC 9110: a 405 carries ``Allow``; the API's problem details dropped it (pages kept it)."""
    import uuid

    def sample(part: str) -> str:
        if part.startswith("<uuid"):
            return str(uuid.uuid4())
        if part.startswith("<int"):
            return "1"
        if part.startswith("<any("):
            return part[5:].split(")")[0].split(",")[0].strip().strip("'\"")
        return "x"

    refused = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = "".join(sample(part) if part.startswith("<") else part for part in re.split(r"(<[^>]+>)", rule.rule))
        method = next(m for m in ("DELETE", "PUT", "PATCH", "POST", "GET") if m not in rule.methods)
        response = client.open(path, method=method)
        if response.status_code == 405:
            refused += 1
            allowed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
            assert allowed and method not in allowed, (method, path, response.headers)
    assert refused > 30
