"""The operator and public venue API, on SpatiaLite and PostGIS."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.models import Venue
from tests.conftest import MILLAU_FRANCE_SERVICES, RODEZ_MEDIATHEQUE, qualify

OPERATOR_VENUES = "/api/v1/operator/venues"


def count_venues(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Venue))


def test_created_venue_gets_its_commune_from_the_insee_code(create_venue):
    response = create_venue()
    body = response.get_json()
    assert body["commune_code"] == "12202"
    assert body["commune"] == "Rodez"
    assert body["revision"] == 1
    assert body["publication_status"] == "draft"
    assert body["warnings"] == []
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(body["id"])


def test_phone_is_normalised_and_lists_keep_the_standard_spelling(create_venue):
    body = create_venue(**{**MILLAU_FRANCE_SERVICES, "services": ["Comprehension du monde numérique"]}).get_json()
    assert body["telephone"] == "+33565595000"
    assert body["services"] == ["Compréhension du monde numérique"]
    assert body["commune"] == "Millau"


def test_municipal_arrondissement_resolves_to_its_commune_with_a_warning(create_venue):
    body = create_venue(code_insee="75112", code_postal="75012", latitude=48.84, longitude=2.39,
                        nom="Lieu du 12e").get_json()
    assert body["code_insee"] == "75112"
    assert body["commune_code"] == "75056"
    assert body["commune"] == "Paris"
    assert [w["field"] for w in body["warnings"]] == ["code_insee"]


def test_postcode_foreign_to_the_commune_is_a_warning_not_a_rejection(create_venue):
    body = create_venue(code_postal="12100").get_json()
    assert body["code_postal"] == "12100"
    assert body["warnings"] == [{"field": "code_postal",
                                 "message": "Le code postal 12100 n'est pas celui de Rodez (12202)."}]


BAD_CREATIONS = [
    pytest.param({"nom": "x", "couleur": "bleu"}, 422, "couleur", id="unknown-field"),
    pytest.param({"latitude": 95.0}, 422, "latitude", id="latitude-out-of-range"),
    pytest.param({"latitude": 40.0, "longitude": -30.0}, 422, "latitude", id="point-outside-france"),
    pytest.param({"latitude": 2.575, "longitude": 44.35}, 422, "longitude", id="swapped-coordinates"),
    pytest.param({"latitude": 44.35, "longitude": None}, 422, "longitude", id="latitude-without-longitude"),
    pytest.param({"code_insee": "12999"}, 422, "code_insee", id="unknown-commune-code"),
    pytest.param({"code_insee": "ABCDE"}, 422, "code_insee", id="malformed-commune-code"),
    pytest.param({"services": ["Cours de cuisine"]}, 422, "services", id="service-outside-the-standard"),
    pytest.param({"nom": ""}, 422, "nom", id="empty-name"),
    pytest.param({"nom": None}, 422, "nom", id="null-name"),
    pytest.param({"code_postal": "4000"}, 422, "code_postal", id="postcode-without-leading-zero"),
    pytest.param({"telephone": "123"}, 422, "telephone", id="bad-phone"),
    pytest.param({"courriels": ["pas-une-adresse"]}, 422, "courriels", id="bad-email"),
    pytest.param({"pivot": "12-34"}, 422, "pivot", id="bad-pivot"),
    pytest.param({"date_maj": "hier"}, 422, "date_maj", id="bad-date"),
    pytest.param({"presentation_resume": "x" * 281}, 422, "presentation_resume", id="summary-too-long"),
    pytest.param({"code_insee": None, "latitude": None, "longitude": None, "code_postal": "12999"}, 422, "commune",
                 id="no-commune-at-all"),  # (with Rodez's postcode, the name « Médiathèque de Rodez » names it)
]


@pytest.mark.parametrize("fields, status, field", BAD_CREATIONS)
def test_bad_venue_is_refused_naming_the_field_and_nothing_is_stored(client, operator, session, fields, status,
                                                                     field):
    response = client.post(OPERATOR_VENUES, json={**RODEZ_MEDIATHEQUE, **fields}, headers=operator)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert count_venues(session) == 0


def test_missing_required_fields_are_all_named(client, operator):
    response = client.post(OPERATOR_VENUES, json={"pivot": "21120202300017"}, headers=operator)
    assert response.status_code == 422
    assert {"nom", "adresse", "code_postal"} <= set(response.get_json()["errors"])


@pytest.mark.parametrize("body", [
    pytest.param('{"nom": "x",', id="truncated"),
    pytest.param("nom=x", id="not-json"),
])
def test_malformed_json_is_a_400_that_says_where(client, operator, session, body):
    response = client.post(OPERATOR_VENUES, data=body, content_type="application/json", headers=operator)
    assert response.status_code == 400
    assert "JSON invalide" in response.get_json()["errors"]["json"][0]
    assert count_venues(session) == 0


def test_a_json_array_is_not_a_venue(client, operator):
    response = client.post(OPERATOR_VENUES, json=[RODEZ_MEDIATHEQUE], headers=operator)
    assert response.status_code == 422


def test_same_origin_id_twice_is_a_conflict(create_venue):
    create_venue(origin="import-aveyron", origin_id="lieu-1")
    response = create_venue(expect=409, origin="import-aveyron", origin_id="lieu-1")
    assert "origin_id" in response.get_json()["errors"]


@pytest.mark.parametrize("headers, status", [
    pytest.param({}, 401, id="no-token"),
    pytest.param({"Authorization": "Bearer rgt_not-a-real-token"}, 401, id="unknown-token"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, 401, id="not-bearer"),
])
def test_writes_need_a_valid_token(client, session, headers, status):
    response = client.post(OPERATOR_VENUES, json=RODEZ_MEDIATHEQUE, headers=headers)
    assert response.status_code == status
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert count_venues(session) == 0


def test_territory_token_cannot_write(client, token_for, session):
    response = client.post(OPERATOR_VENUES, json=RODEZ_MEDIATHEQUE, headers=token_for("territory"))
    assert response.status_code == 403
    assert count_venues(session) == 0


def test_revoked_token_is_refused(client, session):
    from registry.services.accounts import tokens

    created = tokens.create(session, "ancien auditeur", "operator")
    tokens.revoke(session, created.token.prefix)
    response = client.get(OPERATOR_VENUES, headers={"Authorization": f"Bearer {created.secret}"})
    assert response.status_code == 401


def test_admin_token_can_write(client, token_for):
    assert client.post(OPERATOR_VENUES, json=RODEZ_MEDIATHEQUE, headers=token_for("admin")).status_code == 201


def test_update_with_current_etag_makes_a_new_revision(client, operator, create_venue):
    venue = create_venue().get_json()
    url = f"{OPERATOR_VENUES}/{venue['id']}"
    etag = client.get(url, headers=operator).headers["ETag"]
    response = client.patch(url, json={"nom": "Médiathèque Pierre-Bonnet"}, headers={**operator, "If-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["nom"] == "Médiathèque Pierre-Bonnet"
    assert response.get_json()["revision"] == 2
    assert response.headers["ETag"] == '"2"'


@pytest.mark.parametrize("encoding", ["gzip, br", "gzip"])
def test_a_client_accepting_compression_updates_with_the_etag_it_read(live_server, operator, create_venue, encoding):
    """flask-compress rewrites the ETag of a compressed answer (``"1"`` becomes ``"1:br"``): echoed in If-Match,
    it named no revision (412), so a client accepting compression could never update a venue."""
    import json
    import urllib.request

    _app, base = live_server
    url = f"{base}{OPERATOR_VENUES}/{create_venue().get_json()['id']}"
    with urllib.request.urlopen(urllib.request.Request(url, headers={**operator, "Accept-Encoding": encoding})) as read:
        assert read.headers["Content-Encoding"] in ("gzip", "br")  # (else this test proves nothing)
        etag = read.headers["ETag"]
    change = urllib.request.Request(url, method="PATCH", data=json.dumps({"nom": "Médiathèque Pierre-Bonnet"}).encode(),
                                    headers={**operator, "Accept-Encoding": encoding, "If-Match": etag,
                                             "Content-Type": "application/json"})
    with urllib.request.urlopen(change) as written:
        assert written.status == 200
        again = written.headers["ETag"]
    assert again != etag
    stale = urllib.request.Request(url, method="PATCH", data=b'{"nom": "Perdu"}',
                                   headers={**operator, "If-Match": etag, "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(stale)
        raise AssertionError("an ETag of an older revision was accepted")
    except urllib.error.HTTPError as refused:
        assert refused.code == 412


def test_the_readme_s_script_with_requests_updates_through_the_compression_layer(live_server, operator, create_venue):
    """A script that follows the README with ``requests`` (which asks for gzip, and brotli when installed) read a
    compressed venue, sent its ETag back, and got 412: the tag the server gave must be accepted, an older one not."""
    import requests

    _app, base = live_server
    url = f"{base}{OPERATOR_VENUES}/{create_venue().get_json()['id']}"
    with requests.Session() as http:
        http.headers.update(operator)
        read = http.get(url, timeout=30)
        assert read.headers.get("Content-Encoding") in ("gzip", "br")  # through flask-compress (else proves nothing)
        etag = read.headers["ETag"]
        changed = http.patch(url, json={"nom": "Médiathèque Pierre-Bonnet"}, headers={"If-Match": etag}, timeout=30)
        assert changed.status_code == 200, changed.text
        assert changed.json()["revision"] == read.json()["revision"] + 1
        stale = http.patch(url, json={"nom": "Perdu"}, headers={"If-Match": etag}, timeout=30)
        assert stale.status_code == 412 and "révision" in stale.json()["detail"]
        again = http.patch(url, json={"nom": "Médiathèque de Rodez"}, headers={"If-Match": changed.headers["ETag"]},
                           timeout=30)
        assert again.status_code == 200 and http.get(url, timeout=30).json()["nom"] == "Médiathèque de Rodez"


@pytest.mark.parametrize("header", ['"²"', '"١"', '"1:zip"', '"99999999999999999999999999"'])
def test_if_match_that_names_no_revision_is_412(client, operator, create_venue, header):
    url = f"{OPERATOR_VENUES}/{create_venue().get_json()['id']}"
    response = client.patch(url, json={"nom": "X"}, headers={**operator, "If-Match": header})
    assert response.status_code == 412, response.get_json()
    assert response.mimetype == "application/problem+json" and "révision" in response.get_json()["detail"]


def test_stale_if_match_is_refused_and_changes_nothing(client, operator, create_venue):
    venue = create_venue().get_json()
    url = f"{OPERATOR_VENUES}/{venue['id']}"
    client.patch(url, json={"nom": "Premier changement"}, headers={**operator, "If-Match": '"1"'})
    response = client.patch(url, json={"nom": "Changement perdu"}, headers={**operator, "If-Match": '"1"'})
    assert response.status_code == 412
    current = client.get(url, headers=operator).get_json()
    assert current["nom"] == "Premier changement"
    assert current["revision"] == 2


def test_update_without_if_match_is_refused(client, operator, create_venue):
    venue = create_venue().get_json()
    response = client.patch(f"{OPERATOR_VENUES}/{venue['id']}", json={"nom": "x"}, headers=operator)
    assert response.status_code == 428


def test_update_that_changes_nothing_keeps_the_revision(client, operator, create_venue):
    venue = create_venue().get_json()
    response = client.patch(f"{OPERATOR_VENUES}/{venue['id']}", json={"nom": venue["nom"]},
                            headers={**operator, "If-Match": '"1"'})
    assert response.status_code == 200
    assert response.get_json()["revision"] == 1


@pytest.mark.parametrize("changes, field", [
    pytest.param({"code_insee": "99999"}, "code_insee", id="unknown-commune"),
    pytest.param({"latitude": 10.0, "longitude": 10.0}, "latitude", id="outside-france"),
    pytest.param({"frais_a_charge": ["Cher"]}, "frais_a_charge", id="fees-outside-the-standard"),
    pytest.param({"revision": 7}, "revision", id="read-only-field"),
])
def test_bad_update_is_refused_and_the_venue_is_unchanged(client, operator, create_venue, changes, field):
    venue = create_venue().get_json()
    url = f"{OPERATOR_VENUES}/{venue['id']}"
    response = client.patch(url, json=changes, headers={**operator, "If-Match": '"1"'})
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    after = client.get(url, headers=operator).get_json()
    assert after == {name: value for name, value in venue.items() if name != "warnings"}


def test_moving_a_venue_to_another_commune_updates_its_commune(client, operator, create_venue):
    venue = create_venue().get_json()
    response = client.patch(f"{OPERATOR_VENUES}/{venue['id']}",
                            json={"code_insee": "12145", "code_postal": "12100", "commune": "Millau",
                                  "latitude": 44.0986, "longitude": 3.0783},
                            headers={**operator, "If-Match": '"1"'})
    assert response.get_json()["commune_code"] == "12145"
    listed = client.get(OPERATOR_VENUES, query_string={"territory": "commune:12145"}, headers=operator).get_json()
    assert [v["id"] for v in listed["items"]] == [venue["id"]]


def test_unknown_venue_is_404(client, operator):
    response = client.get(f"{OPERATOR_VENUES}/00000000-0000-0000-0000-000000000000", headers=operator)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_publication_controls_the_public_view(client, operator, create_venue):
    venue = create_venue(modalites_accompagnement=["Accompagnement individuel"],
                         modalites_acces=["Se présenter"]).get_json()
    qualify(client, operator, venue["id"])
    public_url = f"/api/v1/venues/{venue['id']}"
    assert client.get(public_url).status_code == 404  # qualified but still a draft
    published = client.post(f"{OPERATOR_VENUES}/{venue['id']}/publish", headers=operator)
    assert published.get_json()["publication_status"] == "published"
    public = client.get(public_url)
    assert public.status_code == 200
    assert "origin" not in public.get_json() and "revision" not in public.get_json()
    assert client.post(f"{OPERATOR_VENUES}/{venue['id']}/unpublish", headers=operator).status_code == 200
    assert client.get(public_url).status_code == 404
    kept = client.get(f"{OPERATOR_VENUES}/{venue['id']}", headers=operator).get_json()
    assert kept["publication_status"] == "unpublished"
    assert client.get("/api/v1/venues").get_json()["numberMatched"] == 0


def test_public_reads_need_no_token_and_show_qualified_venues_only(client, create_venue, qualified):
    qualified()
    create_venue(nom="Publié mais pas qualifié", publication_status="published")
    body = client.get("/api/v1/venues").get_json()
    assert body["numberMatched"] == 1
    assert body["features"][0]["properties"]["nom"] == "Médiathèque de Rodez"


def test_list_filters_by_territory_name_and_status(client, operator, create_venue):
    create_venue(publication_status="published")
    create_venue(**MILLAU_FRANCE_SERVICES)
    create_venue(nom="Lieu de Montpellier", code_insee="34172", code_postal="34000", latitude=43.61,
                 longitude=3.88)

    def names(**query):
        response = client.get(OPERATOR_VENUES, query_string=query, headers=operator)
        assert response.status_code == 200, response.get_json()
        return sorted(v["nom"] for v in response.get_json()["items"])

    assert names(territory="departement:12") == ["France services de Millau", "Médiathèque de Rodez"]
    assert names(territory="region:76") == ["France services de Millau", "Lieu de Montpellier",
                                            "Médiathèque de Rodez"]
    assert names(territory="epci:241200187") == ["Médiathèque de Rodez"]
    assert names(q="millau") == ["France services de Millau"]
    assert names(publication_status="published") == ["Médiathèque de Rodez"]


def test_pagination_links_walk_every_venue_once(client, operator, create_venue):
    for number in range(5):
        create_venue(nom=f"Lieu {number}")
    seen, url = [], f"{OPERATOR_VENUES}?per_page=2&territory=departement:12"
    while url:
        body = client.get(url, headers=operator).get_json()
        assert body["total"] == 5
        seen += [v["nom"] for v in body["items"]]
        url = body["links"]["next"]
    assert seen == [f"Lieu {n}" for n in range(5)]


@pytest.mark.parametrize("query, field", [
    pytest.param({"territory": "departement:999"}, "territory", id="unknown-territory"),
    pytest.param({"territory": "canton:12"}, "territory", id="unknown-territory-kind"),
    pytest.param({"per_page": 1000}, "per_page", id="page-too-large"),
    pytest.param({"page": 0}, "page", id="page-zero"),
    pytest.param({"colour": "blue"}, "colour", id="unknown-parameter"),
])
def test_bad_list_parameters_are_named(client, operator, query, field):
    response = client.get(OPERATOR_VENUES, query_string=query, headers=operator)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("values", [
    pytest.param({"code_insee": "75112", "code_postal": "75012", "commune": "Paris"}, id="arrondissement"),
    pytest.param({"code_insee": None, "code_postal": "12100", "commune": "Millau"}, id="commune-from-postcode"),
    pytest.param({"code_postal": "12100", "telephone": "05 65 59 50 00", "horaires": "lundi 9h-12h"},
                 id="postcode-foreign-phone-hours"),
])
def test_the_api_and_an_import_store_the_same_venue_from_the_same_values(values, app, client, operator, session,
                                                                         tmp_path):
    from registry.services.base.context import Context
    from registry.services.exchange import imports
    from registry.services.venues.venues import STANDARD_FIELDS

    given = {**RODEZ_MEDIATHEQUE, "date_maj": "2026-01-15", **values}
    given = {name: value for name, value in given.items() if value is not None}
    body = client.post(OPERATOR_VENUES, json=given, headers=operator).get_json()
    assert "id" in body, body
    header = [name for name in given]
    cells = ["|".join(v) if isinstance(v := given[name], list) else str(v) for name in header]
    path = tmp_path / "lieu.csv"
    path.write_text(";".join(["id", *header]) + "\n" + ";".join(["l1", *cells]) + "\n", encoding="utf-8")
    ctx = Context("operateur-test", plugins=app.extensions["registry.plugins"],
                  catalogue=app.extensions["registry.criteria"])
    report = imports.run_import(session, path, ctx, imports.ImportOptions(source="essai"))
    assert report.created == 1
    session.rollback()
    imported = session.scalar(select(Venue).where(Venue.origin == "essai"))
    by_api = session.scalar(select(Venue).where(Venue.origin == "registry"))
    for name in (*STANDARD_FIELDS, "commune_code"):
        assert getattr(by_api, name) == getattr(imported, name), name
    warned = {w["field"] for w in body["warnings"]}
    reported = {line.field for line in report.lines if line.kind in ("avertissement", "réparation")}
    assert warned <= reported | {"code_insee"}


def test_untrustworthy_values_are_refused_or_flagged_as_an_import_would(create_venue):
    refused = create_venue(expect=422, date_maj="1970-01-01").get_json()
    assert "antérieure à 1990" in refused["errors"]["date_maj"][0]
    future = create_venue(expect=422, date_maj="2999-01-01").get_json()
    assert "dans le futur" in future["errors"]["date_maj"][0]
    body = create_venue(horaires="Du lundi au vendredi de 9h à 12h").get_json()
    assert [w["field"] for w in body["warnings"]] == ["horaires"]
