"""The authorisation matrix: every API route × every kind of caller, with the status each must get."""

from __future__ import annotations

import io
import re

import pytest

from registry.services import tokens

ROLES = ("anonyme", "territoire", "operateur", "operateur_dans", "operateur_hors", "admin")
D = "<venue>"  # a published, qualified venue in Rodez (Aveyron, département 12)

#: (method, URL, body) → the status of each caller, in the order of ROLES. 401: no token; 403: a token whose role
#: or territory does not allow it. Public reads answer everyone.
MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/api/openapi.json"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/docs"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/docs/assets/swagger-ui.css"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/venues"): (200, 200, 200, 200, 200, 200),
    ("GET", f"/api/v1/venues/{D}"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/venues/map?bbox=1,43,4,45&zoom=8"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/criteria-sets"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/criteria-sets/pass-numerique"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/territories?q=Rodez"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/territories/departement/12"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/geocode?q=Rodez"): (404, 404, 404, 404, 404, 404),  # no geocoder plugin configured: for all
    ("GET", "/ogc/"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/conformance"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique/items"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique/queryables"): (200, 200, 200, 200, 200, 200),
    ("GET", f"/ogc/collections/pass-numerique/items/{D}"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/api"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique/tiles"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique/tiles/WebMercatorQuad"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-numerique/tiles/WebMercatorQuad/0/0/0"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/territories/departement/12/coverage"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/territories/departement/12/accessibility"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/territories/departement/12/siting"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/operator/venues"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/venues"): (401, 403, 201, 201, 403, 201),
    ("GET", f"/api/v1/operator/venues/{D}"): (401, 403, 200, 200, 403, 200),
    ("PATCH", f"/api/v1/operator/venues/{D}"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/publish"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/unpublish"): (401, 403, 200, 200, 403, 200),
    ("GET", f"/api/v1/operator/venues/{D}/facts"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/facts"): (401, 403, 201, 201, 403, 201),
    ("GET", f"/api/v1/operator/venues/{D}/evaluations"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/evaluations"): (401, 403, 201, 201, 403, 201),
    ("GET", "/api/v1/operator/evaluations/<evaluation>"): (401, 403, 200, 200, 403, 200),
    ("GET", f"/api/v1/operator/venues/{D}/qualifications"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/qualifications/pass-numerique/decisions"): (401, 403, 200, 200, 403,
                                                                                        200),
    ("GET", f"/api/v1/operator/venues/{D}/history"): (401, 403, 200, 200, 403, 200),
    ("GET", "/api/v1/operator/qualifications"): (401, 403, 200, 200, 200, 200),
    ("POST", f"/api/v1/operator/venues/{D}/merge"): (401, 403, 404, 404, 403, 404),  # allowed; no such duplicate
    ("GET", "/api/v1/operator/duplicates"): (401, 403, 200, 200, 200, 200),
    # allowed; the second venue of the pair does not exist
    ("POST", "/api/v1/operator/duplicates/dismissals"): (401, 403, 404, 404, 403, 404),
    ("GET", "/api/v1/operator/exports"): (401, 403, 200, 200, 200, 200),
    ("POST", f"/api/v1/venues/{D}/reports"): (201, 201, 201, 201, 201, 201),  # anyone may report an error
    ("GET", "/api/v1/operator/reports"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/reports/<report>/resolution"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/managers"): (401, 403, 201, 201, 403, 201),
    ("GET", "/api/v1/operator/proposals"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/v1/operator/freshness?territory=departement:12"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/v1/operator/campaigns"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/campaigns"): (401, 403, 201, 201, 403, 201),
    ("GET", "/api/v1/operator/campaigns/00000000-0000-4000-8000-000000000000"): (401, 403, 404, 404, 404, 404),
    # allowed; no such proposal
    ("POST", "/api/v1/operator/proposals/00000000-0000-4000-8000-000000000000/decision"): (401, 403, 404, 404, 404,
                                                                                          404),
    # operateur_hors: the file's venue lies outside its territory, so every row is rejected (422).
    ("POST", "/api/v1/operator/imports"): (401, 403, 200, 200, 422, 200),
    # The commanditaire's side of the pass: <programme> is the Aveyron's (departement:12), with a declaration for
    # 2025 already issued (so that a new issue changes nothing: 200).
    ("GET", "/api/v1/programmes/<programme>/usage"): (401, 200, 200, 200, 403, 200),
    ("PUT", "/api/v1/programmes/<programme>/end-of-validity"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<programme>/declarations"): (401, 200, 200, 200, 403, 200),
    ("POST", "/api/v1/programmes/<programme>/declarations"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<programme>/declarations/2025"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<programme>/declarations/2025/versions/1"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/open-data/pass-usage/venues.csv"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/open-data/pass-usage/communes.json"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-usage"): (200, 200, 200, 200, 200, 200),
    ("GET", "/ogc/collections/pass-usage/items"): (200, 200, 200, 200, 200, 200),
}


@pytest.fixture
def callers(session) -> dict[str, dict[str, str]]:
    def header(role: str, territories: list[str] | None = None) -> dict[str, str]:
        secret = tokens.create(session, f"{role}-matrice", role, territories).secret
        return {"Authorization": f"Bearer {secret}"}

    return {"anonyme": {}, "territoire": header("territory", ["departement:12"]), "operateur": header("operator"),
            "operateur_dans": header("operator", ["departement:12"]),
            "operateur_hors": header("operator", ["departement:75"]), "admin": header("admin")}


def body_for(method: str, url: str, client, headers) -> dict:
    """A valid request body for each write, so that only the caller decides the status."""
    if url.endswith("/operator/venues") and method == "POST":
        return {"json": {"nom": "Nouveau lieu", "adresse": "1 rue A", "code_postal": "12000", "code_insee": "12202"}}
    if url.endswith("/facts"):
        return {"json": {"name": "trained_mediators", "value": 3}}
    if url.endswith("/evaluations"):
        return {"json": {"criteria_set": "pass-numerique"}}
    if url.endswith("/decisions"):  # suspend, then reinstate: each allowed caller makes a legal decision
        held = client.get(url.rsplit("/", 3)[0] + "/qualifications", headers=headers).get_json()
        suspended = isinstance(held, list) and any(q.get("status") == "suspended" for q in held)
        return {"json": {"action": "reinstate" if suspended else "suspend", "reason": "Contrôle de la matrice"}}
    if url.endswith("/dismissals"):
        return {"json": {"first": client.get("/api/v1/venues?per_page=1").get_json()["features"][0]["id"],
                         "other": "00000000-0000-4000-8000-000000000000"}}
    if url.endswith("/merge"):
        return {"json": {"duplicate": "00000000-0000-4000-8000-000000000000"}}
    if url.endswith("/reports"):
        return {"json": {"reason": "horaires", "text": "Contrôle de la matrice"}}
    if url.endswith("/resolution"):
        return {"json": {"outcome": "accepted"}}
    if url.endswith("/managers"):
        return {"json": {}}
    if url.endswith("/campaigns") and method == "POST":
        return {"json": {"territory": "departement:12"}}
    if url.endswith("/decision"):
        return {"json": {"accept": True}}
    if url.endswith("/end-of-validity"):
        return {"json": {"alert_email": "pass@aveyron.fr"}}
    if url.endswith("/declarations") and method == "POST":
        return {"json": {"year": 2025}}
    if url.endswith("/imports"):
        csv = b"id,nom,commune,code_postal,code_insee,adresse,date_maj\nm1,Lieu,Rodez,12000,12202,1 rue A,2024-01-01\n"
        return {"data": {"file": (io.BytesIO(csv), "lieux.csv")}, "content_type": "multipart/form-data"}
    if method == "PATCH":
        etag = client.get(url, headers=headers).headers.get("ETag", '"1"')
        return {"json": {"presentation_resume": "Vérifié"}, "headers": {"If-Match": etag}}
    return {}


def test_every_api_route_is_in_the_matrix(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api", "/ogc"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = set()
    for method, url in MATRIX:
        path = url.split("?")[0]
        for rule_method, rule in routes:
            pattern = "^" + "".join("[^/]+" if part.startswith("<") else re.escape(part)
                                    for part in re.split(r"(<[^>]+>)", rule)) + "$"
            if rule_method == method and re.match(pattern, path.replace(D, "x").replace("<evaluation>", "1")
                                                                 .replace("<programme>", "x")):
                covered.add((rule_method, rule))
    assert routes - covered == set()


def aveyron_programme(client, operator) -> str:
    """A programme of the Aveyron's département, with its 2025 declaration issued; its id."""
    made = client.post("/api/v1/operator/programmes", headers=operator, json={
        "name": "Pass Aveyron", "commanditaire_name": "Département de l'Aveyron",
        "commanditaire_territory": "departement:12", "perimeter": ["departement:12"], "valid_from": "2025-01-01",
        "valid_until": "2025-12-31", "face_value_cents": 1000, "booklets_ordered": 10}).get_json()
    issued = client.post(f"/api/v1/programmes/{made['id']}/declarations", json={"year": 2025}, headers=operator)
    assert issued.status_code == 201, issued.get_json()
    return made["id"]


@pytest.mark.parametrize(("method", "url"), list(MATRIX))
def test_authorisation_matrix(method, url, client, callers, qualified, operator):
    venue_id = qualified()
    evaluation = client.post(f"/api/v1/operator/venues/{venue_id}/evaluations",
                             json={"criteria_set": "pass-numerique"}, headers=operator).get_json()["id"]
    target = url.replace(D, venue_id).replace("<evaluation>", str(evaluation))
    if "<programme>" in target:
        target = target.replace("<programme>", aveyron_programme(client, operator))
    statuses = []
    for role in ROLES:
        headers = callers[role]
        # A report is resolved once: each caller gets a fresh one.
        url_now = target.replace("<report>", client.post(f"/api/v1/venues/{venue_id}/reports", json={
            "reason": "autre"}).get_json()["id"]) if "<report>" in target else target
        options = body_for(method, url_now, client, headers)
        response = client.open(url_now, method=method, headers={**headers, **options.pop("headers", {})}, **options)
        statuses.append(response.status_code)
        if response.status_code in (401, 403):
            assert response.mimetype == "application/problem+json", (role, response.get_data(as_text=True))
    assert tuple(statuses) == MATRIX[(method, url)], dict(zip(ROLES, statuses))
