"""The authorisation matrix: every API route × every kind of caller, with the status each must get; and the pass's
pages × every kind of logged-in caller."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable

import pytest

from registry.services.accounts import tokens
from registry.services.base import jobs
from registry.services.base.context import Context
from registry.services.passes import distribution, programmes
from tests.conftest import MILLAU_FRANCE_SERVICES
from tests.test_pass_pages import issued, log_in  # noqa: F401 - a fixture
from tests.test_passes import programme  # noqa: F401 - a fixture used by ``issued``

ROLES = ("anonyme", "territoire", "operateur", "operateur_dans", "operateur_hors", "admin")
D = "<venue>"  # a published, qualified venue in Rodez (Aveyron, département 12)
P = "<programme>"  # a Pass numérique programme for Aveyron
Z = "00000000-0000-4000-8000-000000000000"  # no such record

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
    ("GET", "/api/v1/funding-rules"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/funding-rules/aap-2020"): (200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/funding-rules/aap-2020/simulations"): (200, 200, 200, 200, 200, 200),  # public, nothing stored
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
    ("GET", f"/api/v1/operator/venues/{D}/service-area"): (401, 403, 200, 200, 403, 200),
    # allowed; the matrix's venue is not itinerant, so it has no area of intervention
    ("PUT", f"/api/v1/operator/venues/{D}/service-area"): (401, 403, 422, 422, 403, 422),
    ("GET", "/api/v1/operator/qualifications"): (401, 403, 200, 200, 200, 200),
    ("POST", f"/api/v1/operator/venues/{D}/merge"): (401, 403, 404, 404, 403, 404),  # allowed; no such duplicate
    ("GET", "/api/v1/operator/duplicates"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/v1/operator/places/to-confirm"): (401, 403, 200, 200, 200, 200),
    # allowed; this venue's commune is not to be confirmed
    ("POST", f"/api/v1/operator/venues/{D}/commune"): (401, 403, 409, 409, 403, 409),
    # allowed; the second venue of the pair does not exist
    ("POST", "/api/v1/operator/duplicates/dismissals"): (401, 403, 404, 404, 403, 404),
    ("GET", "/api/v1/operator/exports"): (401, 403, 200, 200, 200, 200),
    ("POST", f"/api/v1/venues/{D}/reports"): (201, 201, 201, 201, 201, 201),  # anyone may report an error
    ("GET", "/api/v1/operator/reports"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/reports/<report>/resolution"): (401, 403, 200, 200, 403, 200),
    ("POST", f"/api/v1/operator/venues/{D}/managers"): (401, 403, 201, 201, 403, 201),
    ("POST", f"/api/v1/operator/venues/{D}/managers/0/revocation"): (401, 403, 404, 404, 403, 404),  # no such one
    ("GET", "/api/v1/operator/proposals"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/v1/operator/freshness?territory=departement:12"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/v1/operator/campaigns"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/campaigns"): (401, 403, 201, 201, 403, 201),
    ("GET", "/api/v1/operator/campaigns/00000000-0000-4000-8000-000000000000"): (401, 403, 404, 404, 404, 404),
    # allowed; no such campaign
    ("POST", "/api/v1/operator/campaigns/00000000-0000-4000-8000-000000000000/resume"): (401, 403, 404, 404, 404,
                                                                                       404),
    # a job started by another operator: its creator and the admins only
    ("GET", "/api/v1/jobs/<job>"): (401, 403, 403, 403, 403, 200),
    # allowed; no such proposal
    ("POST", "/api/v1/operator/proposals/00000000-0000-4000-8000-000000000000/decision"): (401, 403, 404, 404, 404,
                                                                                          404),
    # operateur_hors: the file's venue lies outside its territory, so every row is rejected (422).
    ("POST", "/api/v1/operator/imports"): (401, 403, 200, 200, 422, 200),
    # The pass: a programme for Aveyron (an operator limited to Paris neither sees nor creates it).
    ("GET", "/api/v1/operator/programmes"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/programmes"): (401, 403, 201, 201, 403, 201),
    ("GET", f"/api/v1/operator/programmes/{P}"): (401, 403, 200, 200, 404, 200),
    ("POST", f"/api/v1/operator/programmes/{P}/issues"): (401, 403, 201, 201, 404, 201),
    ("GET", f"/api/v1/operator/programmes/{P}/codes.csv"): (401, 403, 200, 200, 404, 200),
    ("PUT", f"/api/v1/operator/programmes/{P}/venues/{D}"): (401, 403, 200, 200, 404, 200),
    ("GET", f"/api/v1/operator/programmes/{P}/prescribers"): (401, 403, 200, 200, 404, 200),
    ("POST", f"/api/v1/operator/programmes/{P}/prescribers"): (401, 403, 201, 201, 404, 201),
    ("POST", f"/api/v1/operator/programmes/{P}/prescribers/{Z}/booklets"): (401, 403, 404, 404, 404, 404),
    ("POST", f"/api/v1/operator/programmes/{P}/booklets/1/hand-out"): (401, 403, 404, 404, 404, 404),
    ("GET", f"/api/v1/operator/programmes/{P}/allocation?booklets=10"): (401, 403, 422, 422, 404, 422),
    ("GET", "/api/v1/operator/statements?month=2026-01"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/operator/statements"): (401, 403, 202, 403, 403, 202),  # every venue's: no scoped token
    ("POST", f"/api/v1/operator/statements/{Z}/payment"): (401, 403, 404, 404, 404, 404),
    ("GET", "/api/v1/operator/pass-signals?first=2026-01-01&last=2026-01-31"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/passes/checks"): (401, 403, 404, 404, 403, 404),  # allowed; the code is unknown
    ("POST", "/api/v1/passes/redemptions"): (401, 403, 404, 404, 403, 404),
    ("POST", f"/api/v1/passes/redemptions/{Z}/cancellation"): (401, 403, 404, 404, 404, 404),
    ("GET", "/api/v1/passes/services"): (401, 403, 200, 200, 200, 200),
    ("GET", f"/api/v1/venues/{D}/redemptions"): (401, 403, 200, 200, 403, 200),
    ("GET", f"/api/v1/venues/{D}/statements"): (401, 403, 200, 200, 403, 200),
    ("GET", f"/api/v1/statements/{Z}.csv"): (401, 403, 404, 404, 404, 404),
    ("GET", f"/api/v1/venues/{D}/bank-account"): (401, 403, 404, 404, 403, 404),  # allowed; none recorded
    ("PUT", f"/api/v1/venues/{D}/bank-account"): (401, 403, 200, 200, 403, 200),
    ("POST", "/api/v1/passes/where"): (404, 404, 404, 404, 404, 404),  # anyone; the code is unknown
    # The commanditaire's side of the pass: <declared> is the Aveyron's (departement:12), with a declaration for
    # 2025 already issued (so that a new issue changes nothing: 200).
    ("GET", "/api/v1/programmes/<declared>/usage"): (401, 200, 200, 200, 403, 200),
    ("PUT", "/api/v1/programmes/<declared>/end-of-validity"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<declared>/declarations"): (401, 200, 200, 200, 403, 200),
    ("POST", "/api/v1/programmes/<declared>/declarations"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<declared>/declarations/2025"): (401, 200, 200, 200, 403, 200),
    ("GET", "/api/v1/programmes/<declared>/declarations/2025/versions/1"): (401, 200, 200, 200, 403, 200),
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


PROGRAMME = {"name": "Pass numérique Aveyron", "commanditaire_name": "Département de l'Aveyron",
             "perimeter": ["departement:12"], "valid_from": "2026-01-01", "valid_until": "2027-12-31",
             "face_value_cents": 1000, "booklets_ordered": 100}


def ends(suffix: str | tuple[str, ...], method: str | None = None) -> Callable[[str, str], bool]:
    """A write to a URL ending with ``suffix`` (one of them, for a tuple), with ``method`` when it is given."""
    return lambda called, url: url.endswith(suffix) and method in (None, called)


def decision(method: str, url: str, client, headers) -> dict:
    """Suspend, then reinstate: each allowed caller makes a legal decision."""
    held = client.get(url.rsplit("/", 3)[0] + "/qualifications", headers=headers).get_json()
    suspended = isinstance(held, list) and any(q.get("status") == "suspended" for q in held)
    return {"json": {"action": "reinstate" if suspended else "suspend", "reason": "Contrôle de la matrice"}}


def dismissal(method: str, url: str, client, headers) -> dict:
    """The matrix's venue and a venue that does not exist."""
    return {"json": {"first": url_venue(client), "other": "00000000-0000-4000-8000-000000000000"}}


def import_file(method: str, url: str, client, headers) -> dict:
    """A one-venue CSV file, uploaded."""
    csv = b"id,nom,commune,code_postal,code_insee,adresse,date_maj\nm1,Lieu,Rodez,12000,12202,1 rue A,2024-01-01\n"
    return {"data": {"file": (io.BytesIO(csv), "lieux.csv")}, "content_type": "multipart/form-data"}


def pass_code(method: str, url: str, client, headers) -> dict:
    """An unknown code at the matrix's venue (a redemption also says its service and duration)."""
    return {"json": {"code": "7K3M-Q9XD-2HNB-R4TC", "venue_id": url_venue(client),
                     **({"service": "Aide aux démarches administratives", "duration_minutes": 60}
                        if url.endswith("redemptions") else {})}}


def patch(method: str, url: str, client, headers) -> dict:
    """A change of the record's summary, with the ETag it has now."""
    etag = client.get(url, headers=headers).headers.get("ETag", '"1"')
    return {"json": {"presentation_resume": "Vérifié"}, "headers": {"If-Match": etag}}


#: A valid body for each write, the first that matches: a JSON body, or a function giving the request's options.
WRITE_BODIES: list[tuple[Callable[[str, str], bool], dict | Callable[..., dict]]] = [
    (ends("/operator/venues", "POST"),
     {"nom": "Nouveau lieu", "adresse": "1 rue A", "code_postal": "12000", "code_insee": "12202"}),
    (ends("/facts"), {"name": "trained_mediators", "value": 3}),
    (ends("/evaluations"), {"criteria_set": "pass-numerique"}),
    (ends("/decisions"), decision),
    (ends("/dismissals"), dismissal),
    (ends("/commune"), {"code_insee": "12202"}),
    (ends("/merge"), {"duplicate": "00000000-0000-4000-8000-000000000000"}),
    (ends("/reports"), {"reason": "horaires", "text": "Contrôle de la matrice"}),
    (ends("/simulations"), {"collectivite_amount": 100000}),
    (ends("/resolution"), {"outcome": "accepted"}),
    (ends("/managers"), {}),
    (ends("/campaigns", "POST"), {"territory": "departement:12"}),
    (ends("/resume"), {}),
    (ends("/decision"), {"accept": True}),
    (ends("/end-of-validity"), {"alert_email": "pass@aveyron.fr"}),
    (ends("/declarations", "POST"), {"year": 2025}),
    (ends("/imports"), import_file),
    (ends("/operator/programmes", "POST"), PROGRAMME),
    (ends("/issues"), {"booklets": 1}),
    (lambda method, url: "/programmes/" in url and "/venues/" in url, {"status": "accepted"}),
    (ends("/prescribers", "POST"), {"name": "CCAS de Rodez", "commune_code": "12202"}),
    (ends("/booklets"), {"first": 1, "last": 1}),
    (ends("/hand-out"), {"commune_code": "12202", "target_public": True}),
    (ends("/service-area", "PUT"), {"territories": ["departement:12"]}),
    (ends("/operator/statements"), {"month": "2026-01"}),
    (ends("/payment"), {"reference": "VIR-1"}),
    (ends(("/passes/checks", "/passes/redemptions")), pass_code),
    (ends("/cancellation"), {"reason": "Contrôle de la matrice"}),
    (ends("/bank-account", "PUT"), {"iban": "FR7630006000011234567890189", "holder": "Commune de Rodez"}),
    (ends("/passes/where"), {"code": "7K3M-Q9XD-2HNB-R4TC"}),
    (lambda method, url: method == "PATCH", patch),
]


def body_for(method: str, url: str, client, headers) -> dict:
    """A valid request body for each write, so that only the caller decides the status."""
    for matches, body in WRITE_BODIES:
        if matches(method, url):
            return body(method, url, client, headers) if callable(body) else {"json": body}
    return {}


def url_venue(client) -> str:
    """The matrix's venue (the only published one)."""
    return client.get("/api/v1/venues?per_page=1").get_json()["features"][0]["id"]


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
                                                           .replace(P, "x").replace("<job>", "x")
                                                           .replace("<declared>", "x")):
                covered.add((rule_method, rule))
    assert routes - covered == set()


def aveyron_programme(client, operator) -> str:
    """A programme of the Aveyron's département, with its 2025 declaration issued; its id."""
    made = client.post("/api/v1/operator/programmes", headers=operator, json={
        "name": "Pass Aveyron", "commanditaire_name": "Département de l'Aveyron",
        "commanditaire_territory": "departement:12", "perimeter": ["departement:12"], "valid_from": "2025-01-01",
        "valid_until": "2025-12-31", "face_value_cents": 1000, "booklets_ordered": 10}).get_json()
    declared = client.post(f"/api/v1/programmes/{made['id']}/declarations", json={"year": 2025}, headers=operator)
    assert declared.status_code == 201, declared.get_json()
    return made["id"]


@pytest.mark.parametrize(("method", "url"), list(MATRIX))
def test_authorisation_matrix(method, url, client, callers, qualified, operator):
    venue_id = qualified()
    evaluation = client.post(f"/api/v1/operator/venues/{venue_id}/evaluations",
                             json={"criteria_set": "pass-numerique"}, headers=operator).get_json()["id"]
    target = url.replace(D, venue_id).replace("<evaluation>", str(evaluation))
    if P in target:
        programme = client.post("/api/v1/operator/programmes", json=PROGRAMME, headers=operator).get_json()["id"]
        target = target.replace(P, programme)
    if "<job>" in target:  # a campaign's job, started by the ``operator`` fixture's token
        target = target.replace("<job>", client.post("/api/v1/operator/campaigns", json={
            "territory": "departement:12"}, headers=operator).get_json()["job"])
    if "<declared>" in target:
        target = target.replace("<declared>", aveyron_programme(client, operator))
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
    assert tuple(statuses) == MATRIX[(method, url)], dict(zip(ROLES, statuses, strict=True))


TOKEN_ROUTES = [(method, url) for (method, url), statuses in MATRIX.items() if statuses[0] == 401]


@pytest.mark.parametrize("method, url", TOKEN_ROUTES, ids=[f"{m} {u}" for m, u in TOKEN_ROUTES])
def test_no_token_protected_route_grants_cors(method, url, client, callers, qualified):
    """CORS is granted to an allow-list of public routes: the territories' accessibility and siting were open
    to any site (with ``Authorization`` allowed) because their paths looked like the public API's."""
    target = url.replace(D, qualified()).replace("<evaluation>", "1").replace("<report>", "1")
    origin = {"Origin": "https://autre-site.example.org"}
    preflight = client.options(target.split("?")[0], headers={
        **origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "Authorization"})
    assert "Access-Control-Allow-Origin" not in preflight.headers, preflight.headers
    answer = client.open(target, method=method, headers={**origin, **callers["admin"]})
    assert "Access-Control-Allow-Origin" not in answer.headers, (answer.status_code, answer.headers)


def test_every_public_read_of_the_api_grants_cors(client, qualified):
    venue = qualified()
    public = [url for (method, url), statuses in MATRIX.items() if method == "GET" and statuses[0] == 200
              and url.startswith(("/api/v1/", "/ogc/"))]
    assert len(public) > 15
    for url in public:
        answer = client.get(url.replace(D, venue), headers={"Origin": "https://carte.example.org"})
        assert answer.headers.get("Access-Control-Allow-Origin") == "*", url


#: The pass's pages × who asks (logged in through the auditors' login, which every token may use): anonymous, a
#: collectivité's token, a venue's member (own venue, then another's), an operator, a prescriber's staff (its own
#: booklets only). 302: to the login page; 403: logged in, not allowed.
PAGE_CALLERS = ("anonyme", "territoire", "lieu", "operateur", "aiguilleur")
PAGES: dict[str, tuple[int, ...]] = {
    "/lieu/": (302, 403, 302, 200, 403),
    "/lieu/<own>/encaisser": (302, 403, 200, 200, 403),
    "/lieu/<own>/encaissements": (302, 403, 200, 200, 403),
    "/lieu/<own>/releves": (302, 403, 200, 200, 403),
    "/lieu/<own>/coordonnees-bancaires": (302, 403, 200, 200, 403),
    "/lieu/<other>/encaisser": (302, 403, 403, 200, 403),
    "/lieu/<other>/encaissements": (302, 403, 403, 200, 403),
    "/lieu/<other>/releves": (302, 403, 403, 200, 403),
    "/lieu/<other>/coordonnees-bancaires": (302, 403, 403, 200, 403),
    "/operateur/pass/": (302, 403, 403, 200, 403),
    "/operateur/pass/programmes/nouveau": (302, 403, 403, 200, 403),
    "/operateur/pass/programmes/<programme>": (302, 403, 403, 200, 403),
    "/operateur/pass/programmes/<programme>/prescripteurs": (302, 403, 403, 200, 403),
    "/operateur/pass/programmes/<programme>/lieux": (302, 403, 403, 200, 403),
    "/operateur/pass/taches/<job>": (302, 403, 403, 200, 403),  # its creator's (an admin's too)
    "/operateur/pass/taches/<job>/carnets.pdf": (302, 403, 403, 200, 403),
    "/operateur/pass/releves": (302, 403, 403, 200, 403),
    "/operateur/pass/signaux": (302, 403, 403, 200, 403),
    "/aiguilleur/": (302, 403, 403, 403, 200),
    "/ou-utiliser-mon-pass": (200, 200, 200, 200, 200),
}


def test_every_pass_page_answers_each_caller_as_the_matrix_says(app, session, qualified, issued):  # noqa: F811
    rodez, millau = qualified(), qualified(**MILLAU_FRANCE_SERVICES, publication_status="published")
    pid, _ = issued
    prescriber = distribution.add_prescriber(session, programmes.get(session, uuid.UUID(pid)), "CCAS de Rodez",
                                             "12202", Context("operateur-test")).id
    job = jobs.create(session, "pass-booklets", "token:matrice-operateur", params={"programme": pid, "first": 1,
                                                                                    "last": 1})
    jobs.finish(session, job, {"first": 1, "last": 1}, "Prêt.", b"%PDF-1.7")
    browsers = {"anonyme": app.test_client()}
    for name, role, extra in (("territoire", "territory", {"territories": ["departement:12"]}),
                              ("lieu", "venue", {"venue_id": uuid.UUID(rodez)}), ("operateur", "operator", {}),
                              ("aiguilleur", "prescriber", {"prescriber_id": prescriber})):
        browsers[name] = app.test_client()
        secret = tokens.create(session, f"matrice-{name}", role, **extra).secret
        assert log_in(browsers[name], secret, "/auditeur/connexion").status_code == 302
    found = {}
    for path in PAGES:
        url = (path.replace("<own>", rodez).replace("<other>", millau).replace("<programme>", pid)
               .replace("<job>", str(job.id)))
        found[path] = tuple(browsers[c].get(url).status_code for c in PAGE_CALLERS)
    assert found == PAGES
    # Every page of these spaces is in the matrix (logins aside; a statement's downloads: in the tests above).
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(("/lieu/", "/operateur/", "/aiguilleur/"))
             and "GET" in r.methods and "connexion" not in r.rule and ".<any" not in r.rule}
    for rule in rules:
        pattern = "^" + "".join("[^/]+" if part.startswith("<") else re.escape(part)
                                for part in re.split(r"(<[^>]+>)", rule)) + "$"
        assert any(re.match(pattern, path.split("?")[0]) for path in PAGES), rule
