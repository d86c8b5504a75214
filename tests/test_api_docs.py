"""The OpenAPI document, the API docs page (no CDN) and the home page."""

from __future__ import annotations

import re

from registry.services.venues.venues import STANDARD_FIELDS


def test_openapi_document_covers_every_api_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "patch", "put", "delete")}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} absent du document OpenAPI"


def test_venue_schemas_carry_every_field_of_the_standard(client):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    for name in ("VenueCreate", "VenuePublic"):
        assert set(STANDARD_FIELDS) <= set(schemas[name]["properties"]), name
    assert set(schemas["VenueCreate"]["required"]) == {"nom", "adresse", "code_postal"}
    assert "Aide aux démarches administratives" in schemas["VenueCreate"]["properties"]["services"]["items"]["enum"]


def test_write_operations_declare_bearer_authentication(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/operator/venues"]["post"]["security"] == [{"bearerAuth": []}]


def test_docs_page_loads_its_assets_from_the_app_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(url.startswith("/") or url.startswith("#") for url in urls), urls
    for url in urls:
        if url.startswith("/"):
            assert client.get(url).status_code in (200, 302), url  # 302: the auditor space asks to log in
    assert "<script>" not in html  # no inline script


def test_home_page_lists_qualified_venues(client, create_venue, qualified):
    qualified(services=["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"])
    create_venue(nom="Brouillon caché", origin_id="brouillon")
    html = client.get("/").get_data(as_text=True)
    assert "Médiathèque de Rodez" in html
    assert "Aide aux démarches administratives, Maîtrise des outils numériques du quotidien" in html
    assert "Brouillon caché" not in html


def test_unknown_api_route_is_a_json_problem(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.delete("/api/v1/venues")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"


def test_accessibility_and_siting_answer_what_their_200_documents(client, session, qualified, token_for):
    """Their 200 was undocumented: a client (schemathesis) could not know the JSON, CSV, XLSX or GeoJSON answers."""
    from registry.services import territories
    from tests.conftest import shared_file

    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    qualified(nom="Médiathèque de Rodez", longitude=2.575, latitude=44.351)
    spec = client.get("/api/openapi.json").get_json()
    headers = token_for("operator")
    for route in ("accessibility", "siting"):
        documented = spec["paths"][f"/api/v1/territories/{{kind}}/{{code}}/{route}"]["get"]["responses"]["200"]
        content = documented["content"]
        assert set(content) >= {"application/json", "text/csv", "application/geo+json"}
        for output in ("json", "csv", "csv-fr", "xlsx", "geojson"):
            answer = client.get(f"/api/v1/territories/departement/12/{route}?format={output}", headers=headers)
            assert answer.status_code == 200 and answer.mimetype in content, (route, output, answer.mimetype)
            schema = content[answer.mimetype]["schema"]
            if schema.get("type") == "object":
                assert set(schema["required"]) <= set(answer.get_json()), (route, output)


def test_the_document_written_on_first_read_is_whole_for_every_thread_reading_it_at_once(database_url):
    """The OpenAPI document is written when first read: threads of one worker reading it at once all get all of
    it, the same, once."""
    from concurrent.futures import ThreadPoolExecutor

    from registry.web.app import create_app

    settings = {"DATABASE_URL": database_url, "TESTING": True}
    api = create_app(settings).extensions["registry.api"]
    with ThreadPoolExecutor(8) as pool:
        documents = list(pool.map(lambda _: api.spec.to_dict(), range(8)))
    whole = create_app(settings).extensions["registry.api"].spec.to_dict()
    assert all(document == whole for document in documents)
    assert len(whole["paths"]) > 50 and whole["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
