"""OGC API – Features beyond Part 1's core: CQL2 filters (text and JSON), queryables as parameters, sortby on
several properties, coordinate reference systems (Part 2) and vector tiles, on both databases; real clients
(GDAL, OWSLib, QGIS) in tests/test_ogc_clients.py."""

from __future__ import annotations

import json
import math
import re

import cql2
import pytest
from pyproj import Transformer

from tests.conftest import PLACES

ITEMS = "/ogc/collections/pass-numerique/items"
ALL = {p[0] for p in PLACES}
RODEZ_AREA = "POLYGON((2.5 44.28, 2.6 44.28, 2.6 44.37, 2.5 44.37, 2.5 44.28))"

#: (CQL2 text, the venues of PLACES it selects): each is also sent as CQL2 JSON, which must select the same.
FILTERS = [
    ("nom = 'Médiathèque de Rodez'", {"Médiathèque de Rodez"}),
    ("nom <> 'Médiathèque de Rodez'", ALL - {"Médiathèque de Rodez"}),
    ("'Médiathèque de Rodez' = nom", {"Médiathèque de Rodez"}),
    ("code_postal > '12100'", {"Tiers-lieu de Decazeville"}),  # the others are in 12000 and 12100
    ("code_postal >= '12100' AND code_postal < '12300'", {"France services de Millau"}),
    ("nom LIKE 'EPN%'", {"EPN de Luc-la-Primaube"}),
    ("nom LIKE '%de _odez'", {"Médiathèque de Rodez"}),
    ("nom LIKE 'epn%'", set()),  # LIKE is case-sensitive
    ("CASEI(nom) LIKE CASEI('epn%')", {"EPN de Luc-la-Primaube"}),
    ("CASEI(nom) = CASEI('MÉDIATHÈQUE DE RODEZ')", {"Médiathèque de Rodez"}),  # beyond ASCII too
    ("nom NOT LIKE '%e%'", set()),
    ("nom IN ('EPN de Luc-la-Primaube', 'Tiers-lieu de Decazeville', 'Ailleurs')",
     {"EPN de Luc-la-Primaube", "Tiers-lieu de Decazeville"}),
    ("nom NOT IN ('EPN de Luc-la-Primaube')", ALL - {"EPN de Luc-la-Primaube"}),
    ("latitude BETWEEN 44.2 AND 44.36", {"Médiathèque de Rodez", "EPN de Luc-la-Primaube"}),
    ("longitude > 3", {"France services de Millau"}),
    ("structure_parente IS NULL", ALL),
    ("structure_parente IS NOT NULL", set()),
    ("typologie IS NULL", ALL - {"Médiathèque de Rodez"}),  # an empty list says nothing either
    ("date_maj >= DATE('2000-01-01')", ALL),
    ("date_maj < DATE('2000-01-01')", set()),
    ("commune = nom", set()),  # property against property
    (f"S_INTERSECTS(geometry, {RODEZ_AREA})",
     {"Médiathèque de Rodez", "Centre social d'Onet", "EPN de Luc-la-Primaube"}),
    (f"S_WITHIN(geometry, {RODEZ_AREA})", {"Médiathèque de Rodez", "Centre social d'Onet", "EPN de Luc-la-Primaube"}),
    (f"S_DISJOINT(geometry, {RODEZ_AREA})", {"France services de Millau", "Tiers-lieu de Decazeville"}),
    (f"NOT S_INTERSECTS(geometry, {RODEZ_AREA})", {"France services de Millau", "Tiers-lieu de Decazeville"}),
    ("S_INTERSECTS(geometry, BBOX(3, 44, 3.2, 44.2))", {"France services de Millau"}),
    ("S_EQUALS(geometry, POINT(3.078 44.099))", {"France services de Millau"}),
    ("A_CONTAINS(prise_en_charge_specifique, ('Surdité', 'Handicaps moteurs'))", {"EPN de Luc-la-Primaube"}),
    ("A_CONTAINS(prise_en_charge_specifique, ('Surdité', 'Illettrisme'))", set()),
    ("A_OVERLAPS(prise_en_charge_specifique, ('Illettrisme', 'Surdité'))", {"EPN de Luc-la-Primaube"}),
    ("A_CONTAINEDBY(prise_en_charge_specifique, ('Surdité', 'Handicaps moteurs', 'Illettrisme'))", ALL),
    ("A_CONTAINEDBY(prise_en_charge_specifique, ('Surdité'))", ALL - {"EPN de Luc-la-Primaube"}),
    ("A_EQUALS(prise_en_charge_specifique, ('Surdité', 'Handicaps moteurs'))", {"EPN de Luc-la-Primaube"}),
    ("A_EQUALS(prise_en_charge_specifique, ('Handicaps moteurs'))", set()),
    ("A_OVERLAPS(frais_a_charge, ('Gratuit sous condition')) OR nom LIKE 'Tiers%'",
     {"Centre social d'Onet", "Tiers-lieu de Decazeville"}),
    ("nom LIKE 'EPN%' AND TRUE", {"EPN de Luc-la-Primaube"}),  # the same skeleton but for the boolean…
    ("nom LIKE 'EPN%' AND FALSE", set()),  # …which changes the SQL: not shared
    ("NOT (nom LIKE 'EPN%' OR nom LIKE 'Tiers%') AND latitude < 44.36",
     {"Médiathèque de Rodez", "France services de Millau"}),
]


def selected(client, **query) -> set[str]:
    response = client.get(ITEMS, query_string={"limit": 100, **query})
    assert response.status_code == 200, (query, response.get_json())
    return {f["properties"]["nom"] for f in response.get_json()["features"]}


def test_cql2_filters_select_the_same_venues_in_text_and_json(client, places):
    for text, expected in FILTERS:
        assert selected(client, filter=text) == expected, text
        as_json = json.dumps(cql2.parse_text(text).to_json())
        assert selected(client, filter=as_json, **{"filter-lang": "cql2-json"}) == expected, as_json


def test_a_filter_counts_and_pages_like_any_search(client, places):
    body = client.get(ITEMS, query_string={"filter": "latitude > 44.2", "limit": 2, "sortby": "nom"}).get_json()
    assert body["numberMatched"] == 4 and body["numberReturned"] == 2
    following = client.get(next(link["href"] for link in body["links"] if link["rel"] == "next")
                           .split("localhost", 1)[-1]).get_json()
    names = [f["properties"]["nom"] for f in body["features"] + following["features"]]
    assert names == sorted(p[0] for p in PLACES if p[2] > 44.2)


@pytest.mark.parametrize("query", [
    {"limit": 2, "sortby": "nom", "filter": "latitude > 44.2 AND nom <> 'Café d''été & co / 100 % ?'"},
    {"limit": 1, "bbox": "1.5,43.2,3.5,45", "properties": "nom,commune"},
])
def test_page_links_are_written_as_url_for_writes_them(app, client, places, query):
    from flask import url_for

    response = client.get(ITEMS, query_string=query)
    assert response.status_code == 200, response.get_json()
    links = {link["rel"]: link["href"] for link in response.get_json()["links"]}
    with app.test_request_context("/"):
        for rel, offset in (("self", 0), ("next", query["limit"])):
            assert links[rel] == url_for("ogc.Items", collection_id="pass-numerique", **query, offset=offset,
                                         _external=True)


def test_filters_in_another_crs(client, places):
    to_lambert = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True)
    x, y = to_lambert.transform(3.078, 44.099)
    square = f"POLYGON(({x - 500} {y - 500}, {x + 500} {y - 500}, {x + 500} {y + 500}, {x - 500} {y + 500}, " \
             f"{x - 500} {y - 500}))"
    found = selected(client, filter=f"S_INTERSECTS(geometry, {square})",
                     **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/2154"})
    assert found == {"France services de Millau"}
    # EPSG:4326 is latitude first
    assert selected(client, filter="S_INTERSECTS(geometry, BBOX(44, 3, 44.2, 3.2))",
                    **{"filter-crs": "EPSG:4326"}) == {"France services de Millau"}


@pytest.mark.parametrize("bad, field", [
    ("nom = ", "filter"), ("couleur = 'bleu'", "filter"), ("nom = 3", "filter"), ("latitude = 'nord'", "filter"),
    ("date_maj > '2025-01-01'", "filter"), ("services = 'x'", "filter"), ("nom LIKE 3", "filter"),
    ("S_INTERSECTS(nom, POINT(1 2))", "filter"), ("A_CONTAINS(nom, ('x'))", "filter"),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "filter"),  # self-intersecting
    ("ACCENTI(nom) = ACCENTI('x')", "filter"), ("latitude + 1 > 3", "filter"),
    ("nom LIKE 'abc\\'", "filter"),  # an escape with nothing after it (PostgreSQL's error, a 500, before)
    ("S_INTERSECTS(geometry, POINT(200 100))", "filter"),  # outside longitudes and latitudes
])
def test_wrong_filters_are_400_naming_the_problem(client, places, bad, field):
    response = client.get(ITEMS, query_string={"filter": bad})
    assert response.status_code == 400, (bad, response.get_json())
    body = response.get_json()
    assert body["code"] == "InvalidParameterValue" and body["description"].startswith(field), body


def test_filter_parameters_are_checked(client, places):
    for query in ({"filter": "nom = 'x'", "filter-lang": "ecql"}, {"filter-lang": "cql2-text"},
                  {"filter": "{pas du json", "filter-lang": "cql2-json"},
                  {"filter": "nom = 'x'", "filter-crs": "EPSG:3857"}, {"filter": "x" * 20_001}):
        response = client.get(ITEMS, query_string=query)
        assert response.status_code == 400 and response.get_json()["code"] == "InvalidParameterValue", query


def test_every_queryable_is_a_query_parameter(client, places):
    schema = client.get("/ogc/collections/pass-numerique/queryables").get_json()
    assert schema["properties"]["services"]["type"] == "array"
    assert "Surdité" in schema["properties"]["prise_en_charge_specifique"]["items"]["enum"]
    assert schema["properties"]["latitude"]["type"] == "number"
    assert schema["properties"]["geometry"]["format"] == "geometry-point"
    samples = {"string": "x", "number": "44.5", "date": "2025-01-31"}
    for name, prop in schema["properties"].items():
        if name == "geometry":
            continue
        kind = "date" if prop.get("format") == "date" else prop["type"]
        assert client.get(ITEMS, query_string={name: samples.get(kind, "x")}).status_code == 200, name
    assert selected(client, prise_en_charge_specifique="Surdité") == {"EPN de Luc-la-Primaube"}
    assert selected(client, longitude="3.078") == {"France services de Millau"}
    assert selected(client, nom="Médiathèque de Rodez", filter="latitude > 44") == {"Médiathèque de Rodez"}
    assert client.get(ITEMS, query_string={"latitude": "nord"}).status_code == 400
    assert client.get(ITEMS, query_string={"date_maj": "hier"}).status_code == 400


def test_sortby_several_properties(client, qualified):
    for nom, commune in (("B", "Rodez"), ("A", "Millau"), ("C", "Millau"), ("A", "Rodez")):
        qualified(nom=nom, commune=commune, longitude=2.5, latitude=44.3)
    body = client.get(ITEMS, query_string={"sortby": "-commune,+nom", "properties": "nom,commune"}).get_json()
    pairs = [(f["properties"]["commune"], f["properties"]["nom"]) for f in body["features"]]
    assert pairs == sorted(pairs, key=lambda p: (-ord(p[0][0]), p[1])) == [
        ("Rodez", "A"), ("Rodez", "B"), ("Millau", "A"), ("Millau", "C")]
    assert client.get(ITEMS, query_string={"sortby": "nom,-nom"}).status_code == 400


def test_conformance_declares_filter_and_crs(client):
    classes = client.get("/ogc/conformance").get_json()["conformsTo"]
    for part in ("conf/filter", "conf/features-filter", "conf/cql2-text", "conf/cql2-json", "conf/crs",
                 "conf/array-functions"):
        assert any(c.endswith(part) for c in classes), part


def test_vector_tiles_carry_the_venues_of_their_square(client, places):
    import mapbox_vector_tile

    from registry.services.search.tiles import EXTENT, TileBounds, to_mercator

    tilesets = client.get("/ogc/collections/pass-numerique/tiles").get_json()["tilesets"]
    template = next(link["href"] for link in tilesets[0]["links"] if link["rel"] == "item")
    assert template.endswith("/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    metadata = client.get("/ogc/collections/pass-numerique/tiles/WebMercatorQuad").get_json()
    assert metadata["layers"][0]["id"] == "lieux" and metadata["dataType"] == "vector"
    titles = {name: p["title"] for name, p in metadata["layers"][0]["propertiesSchema"]["properties"].items()}
    assert all(title != name for name, title in titles.items()), titles  # French titles, no field codes
    for z in (0, 6, 9, 12):
        n = 2**z
        wanted: dict[tuple[int, int], dict[str, tuple[int, int]]] = {}
        for nom, lon, lat, _extra in PLACES:  # the tile holding each venue, and its pixel there
            x, y = to_mercator(lon, lat)
            col, row = int((x + 20_037_508.342789244) / (40_075_016.68557849 / n)), \
                int((20_037_508.342789244 - y) / (40_075_016.68557849 / n))
            wanted.setdefault((col, row), {})[nom] = TileBounds.of(z, col, row).pixel(x, y)
        for (col, row), expected in wanted.items():
            response = client.get(f"/ogc/collections/pass-numerique/tiles/WebMercatorQuad/{z}/{row}/{col}")
            assert response.status_code == 200 and response.mimetype == "application/vnd.mapbox-vector-tile"
            assert response.headers["ETag"]
            layer = mapbox_vector_tile.decode(response.data, default_options={"y_coord_down": True})["lieux"]
            assert layer["extent"] == EXTENT
            found = {f["properties"]["nom"]: tuple(f["geometry"]["coordinates"]) for f in layer["features"]}
            inside = {nom: pixel for nom, pixel in found.items() if 0 <= pixel[0] <= EXTENT and 0 <= pixel[1] <= EXTENT}
            assert set(inside) == set(expected), (z, col, row)
            for nom, (px, py) in expected.items():  # Web Mercator by PostGIS or by pyproj-free maths: ±1 pixel
                assert abs(found[nom][0] - px) <= 1 and abs(found[nom][1] - py) <= 1, (z, nom)
            assert all(f["properties"]["id"] == places[f["properties"]["nom"]] for f in layer["features"])
    empty = client.get("/ogc/collections/pass-numerique/tiles/WebMercatorQuad/3/0/0")  # the Arctic
    assert empty.status_code == 200 and empty.data == b""
    for wrong in ("WebMercatorQuad/3/8/0", "WebMercatorQuad/23/0/0", "WorldCRS84Quad/0/0/0"):
        assert client.get(f"/ogc/collections/pass-numerique/tiles/{wrong}").status_code == 404, wrong
    assert client.get("/ogc/collections/inconnue/tiles/WebMercatorQuad/0/0/0").status_code == 404


def test_output_and_bbox_in_lambert_93_and_epsg_4326(client, places):
    lambert = "http://www.opengis.net/def/crs/EPSG/0/2154"
    to_lambert = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True)
    default = client.get(ITEMS)
    assert default.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    response = client.get(ITEMS, query_string={"crs": lambert, "limit": 100})
    assert response.status_code == 200 and response.headers["Content-Crs"] == f"<{lambert}>"
    for f in response.get_json()["features"]:
        x, y = to_lambert.transform(f["properties"]["longitude"], f["properties"]["latitude"])
        assert f["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)
    item_id = places["France services de Millau"]
    one = client.get(f"{ITEMS}/{item_id}", query_string={"crs": "EPSG:4326"})
    assert one.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert one.get_json()["geometry"]["coordinates"] == [44.099, 3.078]  # latitude first
    # A Lambert-93 box around Rodez: exactly the venues whose Lambert-93 point lies in it
    xmin, ymin = to_lambert.transform(2.5, 44.28)
    xmax, ymax = to_lambert.transform(2.6, 44.37)
    inside = {nom for nom, lon, lat, _ in PLACES
              if xmin <= to_lambert.transform(lon, lat)[0] <= xmax
              and ymin <= to_lambert.transform(lon, lat)[1] <= ymax}
    assert inside and selected(client, bbox=f"{xmin},{ymin},{xmax},{ymax}", **{"bbox-crs": lambert}) == inside
    assert selected(client, bbox="44.28,2.5,44.37,2.6", **{"bbox-crs": "EPSG:4326"}) == selected(
        client, bbox="2.5,44.28,2.6,44.37")
    for bad in ({"crs": "EPSG:3857"}, {"bbox-crs": "EPSG:2154"}, {"bbox": "1,2,3,4", "bbox-crs": "urn:x"},
                {"bbox": "1e30,1e30,2e30,2e30", "bbox-crs": lambert},  # was a 500 (densifying an endless box)
                {"bbox": "2.5,44.28,2.6,44.37", "bbox-crs": lambert},  # degrees given as Lambert-93 metres
                {"crs": "EPSG:9999", "f": "html"}):
        response = client.get(ITEMS, query_string=bad)
        assert response.status_code == 400 and response.get_json()["code"] == "InvalidParameterValue", bad
    collection = client.get("/ogc/collections/pass-numerique").get_json()
    assert lambert in collection["crs"] and collection["storageCrs"].endswith("CRS84")


def test_the_ogc_openapi_document_is_relative_to_ogc_and_leaves_the_api_one_alone(client):
    before = client.get("/api/openapi.json").get_json()
    document = client.get("/ogc/api")
    assert document.mimetype == "application/vnd.oai.openapi+json"
    body = document.get_json()
    assert body["servers"][0]["url"].endswith("/ogc")
    items = body["paths"]["/collections/{collectionId}/items"]
    names = {p["name"] for p in items.get("parameters", []) + items["get"]["parameters"]}
    assert {"collectionId", "limit", "bbox", "filter", "filter-lang", "crs", "sortby", "services"} <= names
    limit = next(p for p in items["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10_000
    assert "cql2-text" in next(p for p in items["get"]["parameters"] if p["name"] == "filter-lang")["schema"]["enum"]
    assert "/api" in body["paths"] and not any(path.startswith("/api/") for path in body["paths"])  # OGC paths only
    assert client.get("/api/openapi.json").get_json() == before  # the API's own document unchanged


#: Filters that crashed the worker (the cql2 parser's stack overflowed: SIGSEGV) or answered 500.
HOSTILE_FILTERS = {
    "parentheses": ("(" * 1900 + "nom = 'a'" + ")" * 1900, "cql2-text"),
    "nots": ("NOT(" * 500 + "nom = 'a'" + ")" * 500, "cql2-text"),
    "bare-nots": ("NOT " * 1000 + "TRUE", "cql2-text"),
    "arithmetic": ("latitude = " + "+".join(["1"] * 9900), "cql2-text"),
    "json": ('{"op":"not","args":[' * 900 + "true" + "]}" * 900, "cql2-json"),
    "empty-point": ("S_INTERSECTS(geometry, POINT EMPTY)", "cql2-text"),
}


def test_hostile_filters_are_400_and_the_worker_survives(sqlite_url):
    """Run in a child process: a regression would kill it (SIGSEGV), not the test run."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from registry import create_app\n"
        f"app = create_app({{'DATABASE_URL': {sqlite_url!r}, 'TESTING': True, 'RATELIMIT_ENABLED': False}})\n"
        "client = app.test_client()\n"
        "answers = {}\n"
        "for name, (text, language) in json.loads(sys.stdin.read()).items():\n"
        f"    response = client.get({ITEMS!r}, query_string={{'filter': text, 'filter-lang': language}})\n"
        "    answers[name] = [response.status_code, response.get_json()]\n"
        "print(json.dumps(answers))\n")
    ended = subprocess.run([sys.executable, "-c", script], input=json.dumps(HOSTILE_FILTERS), capture_output=True,
                           text=True, timeout=300)
    assert ended.returncode == 0, (ended.returncode, ended.stderr[-2000:])
    answers = json.loads(ended.stdout.splitlines()[-1])
    for name, (status, body) in answers.items():
        assert status == 400, (name, status, body)
        assert body["code"] == "InvalidParameterValue" and body["description"].startswith("filter"), (name, body)
    assert "imbriqué" in answers["parentheses"][1]["description"]
    assert "imbriqué" in answers["json"][1]["description"]


def _compact(tree) -> str:
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value, language", [
    (" OR ".join(["nom='x'"] * 1500), "cql2-text"),
    (_compact({"op": "or", "args": [{"op": "=", "args": [{"property": "nom"}, "x"]}] * 300}), "cql2-json"),
    ("A_CONTAINS(services, (" + ",".join(["'x'"] * 3000) + "))", "cql2-text"),
    (_compact({"op": "a_contains", "args": [{"property": "services"}, ["x"] * 3000]}), "cql2-json"),
    ("nom IN (" + ",".join(["'x'"] * 3000) + ")", "cql2-text"),
    (_compact({"op": "or", "args": [{"op": "not", "args": [False]}] * 600}), "cql2-json"),
], ids=["1500-ors", "300-ors-json", "a-contains-3000", "a-contains-3000-json", "in-3000", "600-booleans-json"])
def test_filters_too_large_for_the_database_are_400_at_once(client, places, value, language):
    assert len(value) < 20_000
    response = client.get(ITEMS, query_string={"filter": value, "filter-lang": language})
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["description"].startswith("filter") and "au plus 200" in body["description"], body


def test_filters_at_the_bounds_still_work(client, places):
    nested = "(" * 30 + "nom = 'Médiathèque de Rodez'" + ")" * 30
    assert selected(client, filter=nested) == {"Médiathèque de Rodez"}
    ors = " OR ".join(["nom = 'Médiathèque de Rodez'"] + [f"nom = 'n{i}'" for i in range(199)])
    assert selected(client, filter=ors) == {"Médiathèque de Rodez"}
    many = "nom IN ('Médiathèque de Rodez', " + ", ".join(f"'n{i}'" for i in range(199)) + ")"
    assert selected(client, filter=many) == {"Médiathèque de Rodez"}
    overlaps = "A_OVERLAPS(prise_en_charge_specifique, ('Surdité', " + \
        ", ".join(f"'s{i}'" for i in range(199)) + "))"
    assert selected(client, filter=overlaps) == {"EPN de Luc-la-Primaube"}
    # a geometry's coordinates are no list values: an outline of 800 points is read
    ring = [(2.5 + 0.1 * math.cos(k * math.tau / 800), 44.3 + 0.1 * math.sin(k * math.tau / 800)) for k in range(800)]
    polygon = "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in ring + ring[:1]) + "))"
    assert "Médiathèque de Rodez" in selected(client, filter=f"S_INTERSECTS(geometry, {polygon})")


@pytest.mark.parametrize("extra", ["collection_id=x", "endpoint=x", "_method=POST", "feature_id=x", "_external=1"])
def test_ogc_pages_with_extra_query_keys_are_no_500(client, places, extra):
    feature = client.get(ITEMS, query_string={"limit": 1}).get_json()["features"][0]["id"]
    for path in ("/ogc/", "/ogc/collections", "/ogc/collections/pass-numerique", ITEMS, f"{ITEMS}/{feature}"):
        response = client.get(f"{path}?f=html&{extra}")
        assert response.status_code in (200, 400), (path, extra, response.status_code)
        if response.status_code == 200:  # the page's link to its JSON carries known parameters only
            links = re.findall(r'href="([^"]*f=json[^"]*)"', response.get_data(as_text=True))
            assert links and not any(extra.split("=")[0] in link for link in links), (path, links)
