"""Public search: distances against brute force, boxes, territories (codes and real boundaries), filters,
opening hours, paging, formats; OGC API – Features with OWSLib and GDAL."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
from sqlalchemy import text

from geodata.distances import haversine_m
from registry.services import territories
from tests.conftest import PLACES, shared_file

SEARCH = "/api/v1/venues"
def names(client, **query) -> list[str]:
    response = client.get(SEARCH, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [f["properties"]["nom"] for f in response.get_json()["features"]]


def test_near_sorts_by_true_distance_and_gives_it(client, places):
    lon, lat = 2.60, 44.33
    body = client.get(SEARCH, query_string={"near": f"{lon},{lat}"}).get_json()
    expected = sorted(PLACES, key=lambda p: haversine_m(lon, lat, p[1], p[2]))
    assert [f["properties"]["nom"] for f in body["features"]] == [p[0] for p in expected]
    for f, p in zip(body["features"], expected, strict=True):  # ellipsoid vs sphere: within 0.5 %
        assert f["properties"]["distance_m"] == pytest.approx(float(haversine_m(lon, lat, p[1], p[2])), rel=5e-3)


def test_radius_keeps_exactly_the_venues_within_it(client, places):
    lon, lat, radius = 2.575, 44.351, 10
    inside = {p[0] for p in PLACES if haversine_m(lon, lat, p[1], p[2]) <= radius * 1000}
    assert set(names(client, near=f"{lon},{lat}", radius_km=radius)) == inside == {
        "Médiathèque de Rodez", "Centre social d'Onet", "EPN de Luc-la-Primaube"}


def test_bbox_keeps_the_venues_inside(client, places):
    box = (2.5, 44.28, 2.6, 44.36)
    inside = {p[0] for p in PLACES if box[0] <= p[1] <= box[2] and box[1] <= p[2] <= box[3]}
    assert set(names(client, bbox=",".join(map(str, box)))) == inside


def test_territory_by_code(client, places):
    assert set(names(client, territory="departement:12")) == {p[0] for p in PLACES}
    assert names(client, territory="commune:12145") == ["France services de Millau"]


def test_departement_membership_is_exactly_the_reference(session):
    # Départements are searched by a range of commune codes: every département, Corsica and overseas included,
    # must get exactly its communes of the reference.
    from sqlalchemy import select

    from registry.models import Territory

    communes = session.execute(select(Territory.code, Territory.departement_code)
                               .where(Territory.kind == "commune")).all()
    for departement in session.scalars(select(Territory.code).where(Territory.kind == "departement")):
        condition = territories.scope.membership_filter(session, Territory.code, "departement", departement)
        found = set(session.scalars(select(Territory.code).where(Territory.kind == "commune", condition)))
        assert found == {code for code, parent in communes if parent == departement}, departement


def test_the_departement_of_every_commune_code_is_its_reference_departement(session):
    """``departement_of`` (the expression migration 0018 indexes venues on) against the reference, commune by
    commune: two characters, three overseas (97…, 98…), Corsica's 2A and 2B."""
    from sqlalchemy import select

    from registry.models import Territory

    rows = session.execute(select(Territory.code, Territory.departement_code,
                                  territories.scope.departement_of(Territory.code))
                           .where(Territory.kind == "commune")).all()
    assert len(rows) > 30_000
    assert [(code, parent) for code, parent, computed in rows if computed != parent] == []


def test_territory_by_real_boundary_catches_a_venue_filed_under_another_commune(client, session, qualified):
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    # Filed under Onet-le-Château, but its point lies in Rodez (place d'Armes).
    qualified(nom="Lieu mal rangé", code_insee="12176", code_postal="12850", longitude=2.5740, latitude=44.3510)
    assert names(client, territory="commune:12202") == ["Lieu mal rangé"]
    assert names(client, territory="commune:12176") == ["Lieu mal rangé"]


@pytest.mark.parametrize("query, expected", [
    pytest.param({"services": "Aide aux démarches administratives"}, {"Centre social d'Onet"}, id="service"),
    pytest.param({"fees": ["Gratuit sous condition", "Payant"]}, {"Centre social d'Onet"}, id="fees-any-of"),
    pytest.param({"accompaniment": "Dans un atelier collectif"}, {"EPN de Luc-la-Primaube"}, id="accompaniment"),
    pytest.param({"publics": "Seniors"}, {"Tiers-lieu de Decazeville"}, id="publics"),
    pytest.param({"support": ["Handicaps moteurs", "Déficience visuelle"]}, {"EPN de Luc-la-Primaube"},
                 id="support-any-of"),
    pytest.param({"access": "Prendre un RDV en ligne"}, {"EPN de Luc-la-Primaube"}, id="access"),
    pytest.param({"typology": "BIB"}, {"Médiathèque de Rodez"}, id="typology"),
    pytest.param({"q": "millau"}, {"France services de Millau"}, id="name-or-commune"),
    pytest.param({"open_at": "2026-11-24T11:00:00"}, {"Médiathèque de Rodez", "France services de Millau"},
                 id="open-tuesday-morning"),
    pytest.param({"open_at": "2026-11-23T15:00:00+01:00"}, {"EPN de Luc-la-Primaube"}, id="open-monday-afternoon"),
    pytest.param({"label": "france-services"}, set(), id="another-label"),
])
def test_filters(client, places, query, expected):
    assert set(names(client, **query)) == expected


@pytest.mark.parametrize("query, counted", [
    pytest.param("near=2.6,44.33&radius_km=200", True, id="near-with-radius"),
    pytest.param("near=2.6,44.33", False, id="near-unbounded"),
    pytest.param("territory=departement:12", True, id="by-name"),
])
def test_pages_are_linked_and_stable(client, places, query, counted):
    seen, url = [], f"{SEARCH}?{query}&per_page=2"
    while url:
        body = client.get(url).get_json()
        assert body.get("numberMatched") == (len(PLACES) if counted else None)
        seen += [f["properties"]["nom"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == len(PLACES)
    if query.startswith("near"):
        lon, lat = 2.6, 44.33
        assert seen == [p[0] for p in sorted(PLACES, key=lambda p: haversine_m(lon, lat, p[1], p[2]))]


def test_opening_hours_with_distance_order_and_pages(client, places):
    # Tuesday 11:00: the médiathèque (Tu-Sa) and Millau (Mo-Fr) are open; nearest first, one per page.
    lon, lat = 2.6, 44.33
    query = {"near": f"{lon},{lat}", "open_at": "2026-11-24T11:00:00", "per_page": 1}
    first = client.get(SEARCH, query_string=query).get_json()
    second = client.get(SEARCH, query_string={**query, "page": 2}).get_json()
    assert [f["properties"]["nom"] for f in first["features"] + second["features"]] == [
        "Médiathèque de Rodez", "France services de Millau"]
    expected = haversine_m(lon, lat, 3.078, 44.099)
    assert second["features"][0]["properties"]["distance_m"] == pytest.approx(expected, rel=0.005)
    assert [link["rel"] for link in first["links"]] == ["self", "next"]


def test_only_public_fields_are_shown(client, places):
    feature = client.get(SEARCH).get_json()["features"][0]
    assert feature["geometry"]["type"] == "Point"
    for private in ("origin", "origin_id", "revision", "publication_status", "facts", "created_at"):
        assert private not in feature["properties"]
    assert feature["properties"]["labels"][0]["label"] == "Accepte le Pass numérique"


def test_csv_on_request(client, places):
    response = client.get(SEARCH, query_string={"near": "2.6,44.33"}, headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv" and len(rows) == len(PLACES)
    assert float(rows[0]["distance_m"]) < float(rows[-1]["distance_m"])


@pytest.mark.parametrize("query, field", [
    pytest.param({"near": "2.6"}, "near", id="near-one-number"),
    pytest.param({"near": "a,b"}, "near", id="near-not-numbers"),
    pytest.param({"near": "200,44"}, "near", id="near-out-of-range"),
    pytest.param({"bbox": "3,44,2,45"}, "bbox", id="bbox-reversed"),
    pytest.param({"bbox": "1,44,inf,45"}, "bbox", id="bbox-infinite"),
    pytest.param({"near": "nan,44"}, "near", id="near-not-a-number"),
    pytest.param({"services": "Cuisine"}, "services", id="unknown-service"),
    pytest.param({"radius_km": "-1"}, "radius_km", id="negative-radius"),
    pytest.param({"couleur": "bleu"}, "couleur", id="unknown-parameter"),
    pytest.param({"territory": "canton:1"}, "territory", id="bad-territory"),
])
def test_bad_search_parameters_are_named(client, query, field):
    response = client.get(SEARCH, query_string=query)
    assert response.status_code == 422 and field in response.get_json()["errors"]


@pytest.mark.parametrize("shape", [
    {"near": True, "within": True}, {"near": True, "nearest": True}, {"near": True, "boxed": True, "nearest": True},
    {"bbox": True}, {"territory": "departement"}, {"sort": ("-commune", "nom")}, {"cells": 3}, {}])
def test_a_page_s_rows_hold_their_values_where_the_search_reads_them(session, shape):
    """Pages are read by position (``ROW_…``): every statement a page may come from holds its drawn point, sort key
    and labels there, on both databases."""
    from dataclasses import replace

    from registry.services.search.search_plans import PUBLIC_FIELDS, ROW_DRAWN, ROW_LABELS, ROW_SORT_KEY, Shape, plan

    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite and (shape.get("nearest") or shape.get("cells")):
        pytest.skip("PostgreSQL's walks")
    statements = plan(session, replace(Shape(sqlite=sqlite), **shape))
    for statement in (statements.page, statements.by_pks):
        names = [column.name for column in statement.selected_columns]
        assert names[1:ROW_DRAWN] == list(PUBLIC_FIELDS)
        assert names[ROW_DRAWN:ROW_DRAWN + 2] == ["drawn_lon", "drawn_lat"]
        assert (names[ROW_SORT_KEY], names[ROW_LABELS]) == ("sort_key", "labels_json")


@pytest.mark.parametrize("what", ["count-within-radius", "page-by-distance", "nearest-page", "departement-page",
                                  "first-page-by-name"])
def test_postgis_search_queries_use_their_indexes(session, what):
    """EXPLAIN the SQL the search service itself runs (not a hand-written copy of it): each page walks an index
    and stops at its end rather than sort every match."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("EXPLAIN of PostGIS plans")
    from datetime import date

    from sqlalchemy import insert

    from benchmarks import synthetic
    from registry.models import Venue
    from registry.services.search.search_plans import Shape, plan

    # Enough venues for the planner to weigh its indexes as it will in production.
    session.execute(insert(Venue), list(synthetic.venues(10_000)))
    synthetic.qualify_share(session, 0.6)
    session.execute(text("ANALYZE public_venues"))
    shape = {"count-within-radius": Shape(sqlite=False, near=True, within=True),
             "page-by-distance": Shape(sqlite=False, near=True, within=True),
             "nearest-page": Shape(sqlite=False, near=True, nearest=True),
             "departement-page": Shape(sqlite=False, territory="departement"),
             "first-page-by-name": Shape(sqlite=False)}[what]
    statements = plan(session, shape)
    statement = statements.count if what == "count-within-radius" else statements.page
    values = {"label": "pass-numerique", "today": date.today(), "here": "POINT(2.6 44.33)", "radius_m": 10_000.0,
              "territory": "12", "offset": 0, "limit": 20, "page_end": 20, "at_most": 1001}
    sql = str(statement.params(**{k: v for k, v in values.items() if k in statement.compile().params})
              .compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan_text = "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
    expected = {"count-within-radius": "ix_public_venues_geog", "page-by-distance": "ix_public_venues_geog",
                "nearest-page": "Index Scan using ix_public_venues_geog",
                "departement-page": "ix_public_venues_departement", "first-page-by-name": "ix_public_venues_nom"}[what]
    assert expected in plan_text, plan_text
    if what in ("nearest-page", "first-page-by-name"):  # the index gives the order: no sort of every match
        # (the count, an InitPlan, reads at most 1,001 rows: a scan it stops is no sort of every match)
        page_plan = plan_text.split("->  Nested Loop")[-1]
        assert "Seq Scan" not in page_plan and "Sort Method: external" not in plan_text, plan_text
        assert "Order By" in plan_text or "Incremental Sort" in plan_text or "Index Cond" in plan_text, plan_text


# --- OGC API – Features, with real clients ------------------------------------------------------------------

def test_ogc_endpoints_answer_owslib(live_server, places):
    from owslib.ogcapi.features import Features

    _app, base = live_server
    api = Features(f"{base}/ogc")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert "pass-numerique" in [c["id"] for c in api.collections()["collections"]]
    items = api.collection_items("pass-numerique", bbox=[2.5, 44.28, 2.6, 44.37], limit=10)
    assert {f["properties"]["nom"] for f in items["features"]} == {
        "Médiathèque de Rodez", "Centre social d'Onet", "EPN de Luc-la-Primaube"}
    one = api.collection_item("pass-numerique", items["features"][0]["id"])
    assert one["id"] == items["features"][0]["id"]


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (ogrinfo) absent : apt-get install gdal-bin")
def test_ogc_endpoints_answer_gdal(live_server, places):
    _app, base = live_server
    result = subprocess.run(["ogrinfo", "-ro", "-al", "-so", "-oo", "PAGE_SIZE=2", f"OAPIF:{base}/ogc",
                             "pass-numerique"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Feature Count: 5" in result.stdout
    dump = subprocess.run(["ogrinfo", "-ro", "-al", "-q", "-oo", "PAGE_SIZE=2", f"OAPIF:{base}/ogc",
                           "pass-numerique"], capture_output=True, text=True, timeout=60)
    assert dump.stdout.count("OGRFeature(pass-numerique)") == 5  # paging followed to the end
    assert "Médiathèque de Rodez" in dump.stdout


def test_ogc_errors(client, places):
    assert client.get("/ogc/collections/pass-numerique/items", query_string={"bbox": "1,2"}).status_code == 400
    assert client.get("/ogc/collections/pass-numerique/items", query_string={"couleur": "x"}).status_code == 400
    assert client.get("/ogc/collections/inconnue/items").status_code == 404
    assert client.get("/ogc/collections/pass-numerique/items/pas-un-id").status_code == 404
    for bad in ({"bbox": "nan,nan,nan,nan"}, {"bbox": "-inf,-90,inf,90"}, {"offset": "99999999999999999999"},
                {"offset": "-1"}, {"limit": "0"}):
        assert client.get("/ogc/collections/pass-numerique/items", query_string=bad).status_code == 400, bad
    three_d = client.get("/ogc/collections/pass-numerique/items", query_string={"bbox": "2.5,44.28,0,2.6,44.37,100"})
    assert json.loads(three_d.data)["numberMatched"] == 3
    body = json.loads(client.get("/ogc/collections/pass-numerique/items", query_string={"limit": 2}).data)
    assert body["numberMatched"] == 5 and body["numberReturned"] == 2
    assert any(link["rel"] == "next" for link in body["links"])


def test_public_reads_carry_an_etag_and_answer_304(client, places):
    first = client.get(SEARCH, query_string={"near": "2.6,44.33"})
    assert first.headers["Cache-Control"] == "public, max-age=60" and first.headers["ETag"]
    again = client.get(SEARCH, query_string={"near": "2.6,44.33"}, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    ogc = client.get("/ogc/collections/pass-numerique/items")
    assert ogc.headers["ETag"] and ogc.headers["Cache-Control"].startswith("public")


def test_public_reads_go_to_the_read_database(database_url, other_database_url, client, operator, places):
    # The same primary, with a read replica that has not received the venues yet: the public reads the replica,
    # operators the primary.
    from registry.web.app import create_app

    replicated = create_app({"DATABASE_URL": database_url, "READ_DATABASE_URL": other_database_url,
                             "TESTING": True, "SECURE_COOKIES": False})
    try:
        other = replicated.test_client()
        assert other.get(SEARCH).get_json()["features"] == []
        assert other.get("/ogc/collections/pass-numerique/items").get_json()["numberMatched"] == 0
        listed = other.get("/api/v1/operator/venues", headers=operator).get_json()
        assert {item["nom"] for item in listed["items"]} >= {p[0] for p in PLACES}
        assert len(client.get(SEARCH).get_json()["features"]) == len(PLACES)  # the app without a replica
    finally:
        replicated.extensions["registry.db"].dispose()


def test_search_features_carry_exactly_the_public_schema(client, places):
    from registry.schemas import VenuePublicSchema

    feature = client.get(SEARCH).get_json()["features"][0]
    extra = {"horaires_texte", "ouvert_maintenant", "fermetures_texte", "telephone_texte"}
    assert set(feature["properties"]) - extra == set(VenuePublicSchema().fields)


def test_the_map_view_gives_venues_when_few_and_clusters_when_many(client, qualified, monkeypatch):
    from registry.services.search import search as search_service

    points = [(2.575 + 0.01 * i, 44.35 + 0.01 * (i % 3)) for i in range(6)] + [(3.078, 44.098), (3.08, 44.1)]
    for i, (lon, lat) in enumerate(points):
        qualified(nom=f"Lieu {i}", longitude=lon, latitude=lat)
    view = "/api/v1/venues/map?bbox=1.5,43.5,3.5,45&zoom=8"
    few = client.get(view).get_json()
    assert few["clustered"] is False and few["numberMatched"] == 8 and len(few["features"]) == 8
    monkeypatch.setattr(search_service, "MAP_POINTS", 3)
    many = client.get(view).get_json()
    assert many["clustered"] is True and many["numberMatched"] == 8
    assert sum(f["properties"]["count"] for f in many["features"]) == 8
    for cluster in many["features"]:
        west, south, east, north = cluster["properties"]["bbox"]
        lon, lat = cluster["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north
    coarse = client.get(view.replace("zoom=8", "zoom=1")).get_json()
    assert len(coarse["features"]) == 1, coarse  # one cell of 56° at zoom 1
    assert client.get(view + "&services=Aide aux démarches administratives").get_json()["numberMatched"] == 0
    opened = client.get(view + "&open_at=2026-12-01T11:00:00%2B01:00").get_json()  # a Tuesday, 11:00
    assert opened["clustered"] is True and opened["numberMatched"] == 8
    assert client.get("/api/v1/venues/map?zoom=8").status_code == 422


def test_day_and_slot_filters_find_venues_open_then(client, qualified):
    qualified(nom="Ouvert le samedi matin", horaires="Sa 09:00-12:00")
    qualified(nom="Ouvert les 2e et 4e samedis", horaires="Sa[2,4] 09:00-12:00")
    qualified(nom="Ouvert le samedi après-midi", horaires="Sa 14:00-17:00")
    qualified(nom="Ouvert en semaine", horaires="Mo-Fr 09:00-17:00")

    def names(query: str) -> set[str]:
        return {f["properties"]["nom"] for f in client.get(f"/api/v1/venues?{query}").get_json()["features"]}

    def second_or_fourth(ends_at: int) -> set[str]:
        """A day filter means the next such day (today while its slot lasts): the venue open on the 2nd and 4th
        Saturdays is found when that Saturday is one of them."""
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo("Europe/Paris"))
        day = next(now.date() + timedelta(days=n) for n in range(8)
                   if (now.date() + timedelta(days=n)).weekday() == 5 and (n > 0 or now.hour < ends_at))
        return {"Ouvert les 2e et 4e samedis"} if (day.day - 1) // 7 + 1 in (2, 4) else set()

    assert names("day=samedi&slot=matin") == {"Ouvert le samedi matin"} | second_or_fourth(12)
    assert names("day=samedi") == {"Ouvert le samedi matin", "Ouvert le samedi après-midi"} | second_or_fourth(24)
    assert names("day=week-end&slot=apres-midi") == {"Ouvert le samedi après-midi"}
    assert names("slot=soir") == set()
    assert names("day=mardi&slot=matin") == {"Ouvert en semaine"}
    map_view = client.get("/api/v1/venues/map?bbox=1,43,4,45&zoom=8&day=samedi&slot=matin").get_json()
    assert map_view["numberMatched"] == 1 + len(second_or_fourth(12))
    assert client.get("/api/v1/venues?day=jour-de-fete").status_code == 422


def test_ogc_datetime_reads_date_maj_and_extents_come_from_the_data(client, qualified):
    from datetime import date, timedelta

    today = date.today()
    old, new = (today - timedelta(days=400)).isoformat(), (today - timedelta(days=3)).isoformat()
    qualified(nom="Ancien", date_maj=old, longitude=2.0, latitude=44.0)
    qualified(nom="Récent", date_maj=new, longitude=3.0, latitude=45.0)
    items = "/ogc/collections/pass-numerique/items"

    def names(value: str) -> set[str]:
        response = client.get(items, query_string={"datetime": value})
        assert response.status_code == 200, response.get_json()
        return {f["properties"]["nom"] for f in response.get_json()["features"]}

    assert names(f"{new}/..") == {"Récent"} and names(f"../{old}") == {"Ancien"}
    assert names(old) == {"Ancien"} and names(f"{old}T12:00:00Z") == {"Ancien"} and names("../..") == {
        "Ancien", "Récent"}
    for bad in ("hier", "2025-13-01", f"{new}/{old}", "2025-01-01/2025-02-01/2025-03-01", ""):
        response = client.get(items, query_string={"datetime": bad})
        assert response.status_code == 400 and response.get_json()["code"] == "InvalidParameterValue", bad
    collection = client.get("/ogc/collections/pass-numerique").get_json()
    assert collection["extent"]["spatial"]["bbox"] == [[2.0, 44.0, 3.0, 45.0]]
    assert collection["extent"]["temporal"]["interval"] == [[f"{old}T00:00:00Z", f"{new}T23:59:59Z"]]
    assert "extent" not in client.get("/ogc/collections/epn").get_json()  # nothing qualified: no extent made up
    queryables = client.get("/ogc/collections/pass-numerique/queryables")
    assert queryables.mimetype == "application/schema+json"
    schema = queryables.get_json()
    assert schema["properties"]["nom"]["type"] == "string" and schema["properties"]["date_maj"]["format"] == "date"


def test_ogc_sortby_properties_and_skip_geometry(client, places):
    items = "/ogc/collections/pass-numerique/items"
    body = client.get(items, query_string={"sortby": "-nom", "properties": "nom,commune", "skipGeometry": "true"})
    features = body.get_json()["features"]
    assert [f["properties"]["nom"] for f in features] == sorted((p[0] for p in PLACES), reverse=True)
    assert all(set(f["properties"]) == {"nom", "commune"} and f["geometry"] is None for f in features)
    ascending = client.get(items, query_string={"sortby": " commune", "limit": 2}).get_json()  # « +commune » decoded
    following = client.get(ascending["links"][-1]["href"].split("localhost", 1)[-1]).get_json()
    communes = [f["properties"]["commune"] for f in ascending["features"] + following["features"]]
    assert communes == sorted(communes)
    for bad in ({"sortby": "couleur"}, {"sortby": "nom,-nom"}, {"properties": "couleur"},
                {"skipGeometry": "peut-être"}):
        response = client.get(items, query_string=bad)
        assert response.status_code == 400 and response.get_json()["code"] == "InvalidParameterValue", bad
