"""The public search at scale: one statement per search, counts bounded and said so, the nearest venues through
the KNN index with stable pages, the map's kept clusters following the data, the plans PostgreSQL runs."""

from __future__ import annotations

import random
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, Integer, event, select

from geodata.distances import haversine_m
from registry.services import territories
from registry.services.base.context import Context
from registry.services.search import search
from tests.conftest import PLACES, shared_file

SEARCH = "/api/v1/venues"
ITEMS = "/ogc/collections/pass-numerique/items"


@contextmanager
def statements(engine):
    """The statements ``engine`` runs meanwhile (any engine's, with their parameters, for ``Engine``)."""
    ran: list[str] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        ran.append(statement if engine is not Engine else (statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", record)


#: Every shape of public search (bar opening hours: they are no SQL, their candidates are read, then the page).
SHAPES = {
    "near": search.SearchQuery(near=(2.6, 44.33)),
    "near-radius": search.SearchQuery(near=(2.6, 44.33), radius_km=30),
    "bbox": search.SearchQuery(bbox=(2.5, 44.28, 2.6, 44.37)),
    "commune": search.SearchQuery(territory="commune:12202"),
    "departement": search.SearchQuery(territory="departement:12"),
    "epci": search.SearchQuery(territory="epci:241200187"),
    "region": search.SearchQuery(territory="region:76"),
    "lists": search.SearchQuery(lists={"services": ["Aide aux démarches administratives"], "publics": ["Seniors"]}),
    "name": search.SearchQuery(q="rodez"),
    "sorted": search.SearchQuery(sort=("-commune", "nom")),
    "properties": search.SearchQuery(properties={"code_postal": "12000"}),
    "updated": search.SearchQuery(updated=(None, None)),
    "filter": search.SearchQuery(filter={"op": "like", "args": [{"property": "code_postal"}, "12%"]}),
    "everything": search.SearchQuery(),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_search_page_is_one_statement(app, session, places, shape):
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    query = SHAPES[shape]
    first = search.search(session, query, ctx, limit=2)  # a territory is looked up once, then kept
    engine = session.get_bind()
    widening = shape == "near" and engine.dialect.name == "sqlite"
    for offset in (0, 2, 4):
        with statements(engine) as ran:
            result = search.search(session, query, ctx, offset=offset, limit=2)
        # (A page past the last match has no row to carry the count: the count follows, alone.)
        alone = 2 if offset and not result.venues and not (query.near and not query.radius_km) else 1
        if widening:  # SpatiaLite's R*Tree holds boxes: the smallest circle holding the page, then the page
            assert 1 <= len(ran) <= len(search.AUTO_RADII_KM) + 1, ran
        else:
            assert len(ran) == alone, ran
        assert offset or [v.pk for v in result.venues] == [v.pk for v in first.venues]


#: A polygon holding every one of ``PLACES`` (in Aveyron).
AVEYRON = "POLYGON((1.8 43.9,3.5 43.9,3.5 44.8,1.8 44.8,1.8 43.9))"
#: Every filtered path of both APIs (CQL2: LIKE, arrays, spatial; bbox, sortby, q, territory), each passing all of
#: ``PLACES``.
BOUNDED_PAGES = [SEARCH + "?per_page=1", SEARCH + "?territory=departement:12&per_page=2",
                 SEARCH + "?bbox=2,44,3.2,44.6&per_page=2", SEARCH + "?q=e&per_page=2",
                 ITEMS + "?limit=2", ITEMS + "?limit=1&sortby=-nom",
                 ITEMS + "?limit=2&bbox=2,44,3.2,44.6", ITEMS + "?limit=2&bbox=2,44,3.2,44.6&sortby=nom",
                 ITEMS + "?limit=2&filter=" + quote("code_postal LIKE '12%'"),
                 ITEMS + "?limit=2&filter=" + quote(f"S_INTERSECTS(geometry, {AVEYRON})"),
                 ITEMS + "?limit=2&filter=" + quote("NOT A_CONTAINS(services, ('Absent')) AND "
                                                    "NOT A_OVERLAPS(frais_a_charge, ('Absent', 'Aussi absent'))")]


@pytest.mark.parametrize("path", BOUNDED_PAGES)
def test_counts_are_exact_up_to_the_bound_then_said_to_be_more(client, places, monkeypatch, path):
    """Whatever the bound, every page tells the truth about the matches (exactly, or « more than »: on the OGC
    API ``numberMatched`` is then left out, as the standard allows), a next page exactly when there is one, and
    the pages hold every match once. A box's page counts as far as it reads (its end): the last page, exactly; so
    does, on PostgreSQL, a page sorted by name within a box or a filter's geometry (merged from its grid cells)."""
    box = "bbox=" in path and "sortby=" not in path
    stops = "bbox=" in path or "S_INTERSECTS" in path
    for bound in (1, 2, 3, 5, 1000):
        monkeypatch.setattr(search, "COUNT_BOUND", bound)
        seen, url = [], path
        while url:
            body = client.get(url).get_json()
            seen += [f["properties"]["nom"] for f in body["features"]]
            if "numberMatched" in body:
                assert body["numberMatched"] == len(PLACES)
                assert not box or len(seen) == len(PLACES)
            else:
                more_than = body["numberMatchedMoreThan"]
                assert more_than < len(PLACES) and more_than >= min(len(seen) if stops else bound, len(PLACES) - 1)
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
            assert url is None or len(seen) < len(PLACES)
        assert sorted(seen) == sorted(p[0] for p in PLACES), bound


def test_hours_are_read_up_to_the_bound_too(client, qualified, monkeypatch):
    """Hours are no SQL: « open now » reads the candidates in order until it has counted enough, not every
    venue's hours behind a page; the pages still hold every open venue once."""
    for n in range(5):
        qualified(nom=f"Toujours ouvert {n}", longitude=2.5 + n / 100, latitude=44.3, horaires="Mo-Su 00:00-24:00")
    qualified(nom="Jamais ouvert", longitude=2.6, latitude=44.3, horaires="off")
    for bound, counted in ((2, {"numberMatchedMoreThan": 2}), (1000, {"numberMatched": 5})):
        monkeypatch.setattr(search, "COUNT_BOUND", bound)
        first = client.get(SEARCH, query_string={"open_now": "true", "per_page": 1}).get_json()
        assert {k: first[k] for k in ("numberMatched", "numberMatchedMoreThan") if k in first} == counted
        seen, url = [], SEARCH + "?open_now=true&per_page=2"
        while url:
            body = client.get(url).get_json()
            seen += [f["properties"]["nom"] for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert sorted(seen) == [f"Toujours ouvert {n}" for n in range(5)]


@pytest.mark.parametrize(("ogc", "api"), [(ITEMS + "?limit=2&bbox=2,44,3.2,44.6",
                                           SEARCH + "?per_page=2&bbox=2,44,3.2,44.6"),
                                          (ITEMS + "?limit=3", SEARCH + "?per_page=3")])
def test_an_ogc_page_runs_the_statement_of_the_apis_page(client, places, ogc, api):
    """The OGC items page does the API's work on the same query: one statement, the same SQL and values (the
    difference once measured between them was the benchmark's: timed minutes apart)."""
    client.get(ogc), client.get(api)  # (a first page looks its label and shape up once)
    with statements(Engine) as by_ogc:
        ogc_body = client.get(ogc).get_json()
    with statements(Engine) as by_api:
        api_body = client.get(api).get_json()
    assert by_ogc == by_api and len([s for s, _values in by_ogc if s != "BEGIN"]) == 1  # (SQLite's BEGIN)
    assert [f["id"] for f in ogc_body["features"]] == [f["id"] for f in api_body["features"]]
    assert ogc_body.get("numberMatched") == api_body.get("numberMatched")


def test_pages_say_more_than_when_not_counted(client, places, monkeypatch):
    monkeypatch.setattr(search, "COUNT_BOUND", 2)
    # The home page shows 50: its count runs to its end, so exact here.
    assert f"{len(PLACES)} lieux qualifiés" in client.get("/").get_data(as_text=True)
    page = client.get(ITEMS, query_string={"limit": 1, "f": "html"}).get_data(as_text=True)
    assert "lieux 1 à 1 sur plus de 2" in page
    assert "numberMatched" not in client.get(ITEMS, query_string={"limit": 1}).get_json()


def test_nearest_pages_order_ties_and_neither_repeat_nor_skip(client, qualified, places):
    """Venues at one address (a building shared by three services) tie on distance: pages of one, nearest first,
    each venue once."""
    for n in range(3):
        qualified(nom=f"Maison commune {n}", longitude=2.58, latitude=44.34)
    lon, lat = 2.6, 44.33
    seen, url = [], f"{SEARCH}?near={lon},{lat}&per_page=1"
    while url and len(seen) < 20:
        body = client.get(url).get_json()
        seen += [(f["properties"]["nom"], f["properties"]["distance_m"]) for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    names = [name for name, _distance in seen]
    assert len(names) == len(set(names)) == len(PLACES) + 3
    expected = {p[0]: haversine_m(lon, lat, p[1], p[2]) for p in PLACES}
    expected.update({f"Maison commune {n}": haversine_m(lon, lat, 2.58, 44.34) for n in range(3)})
    assert [round(expected[name]) for name in names] == sorted(round(d) for d in expected.values())


def test_kept_clusters_follow_every_change(app, client, operator, qualified, places, monkeypatch):
    """The national view is kept between requests: a venue qualified, or unpublished, shows once the worker has
    computed the new data version's views (the previous one's served meanwhile, said to be stale); when no worker
    did within ``STALE_SECONDS``, the request computes it."""
    from registry.jobs import run_queued
    from registry.services.qualification import read_model

    monkeypatch.setattr(search, "MAP_POINTS", 1)
    for zoom in (5, 9):  # a grid cut to the box, a box's own view
        view = {"bbox": "-5.2,41.3,9.6,51.1", "zoom": zoom}

        def total(view=view) -> tuple[int, bool]:
            body = client.get(SEARCH + "/map", query_string=view).get_json()
            assert body["clustered"]
            return body["numberMatched"], body.get("stale", False)

        run_queued(app)
        count = total()[0]
        assert total() == (count, False)
        venue_id = qualified(nom=f"Nouveau lieu {zoom}", longitude=2.4, latitude=44.2)
        assert total() == (count, True)
        run_queued(app)
        if zoom > search.GRID_ZOOM:  # (the worker computes the national views only: this one on asking)
            monkeypatch.setattr(read_model, "STALE_SECONDS", 0)
        assert total() == (count + 1, False)
        assert client.post(f"/api/v1/operator/venues/{venue_id}/unpublish", headers=operator).status_code == 200
        run_queued(app)
        assert total() == (count, False)


def test_a_boundary_imported_counts_at_once_for_searches(client, session, qualified):
    qualified(nom="Lieu mal rangé", code_insee="12176", code_postal="12850", longitude=2.5740, latitude=44.3510)
    assert client.get(SEARCH, query_string={"territory": "commune:12202"}).get_json()["features"] == []
    territories.reference.import_boundaries(session, shared_file("boundaries", "communes-12-aveyron-2018.geojson"))
    body = client.get(SEARCH, query_string={"territory": "commune:12202"}).get_json()
    assert [f["properties"]["nom"] for f in body["features"]] == ["Lieu mal rangé"]


def test_postgresql_plans_a_filtered_search_for_its_values(app, session, places):
    """psycopg prepares a statement run five times, and PostgreSQL may then keep a generic plan, blind to the
    values (a CQL2 postcode prefix walked every name instead of the postcode range): a filtered search is never
    prepared, a bbox search is (its plan does not depend on the box); no JIT, no parallel workers."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    connection = session.connection()
    for n in range(8):
        search.search(session, search.SearchQuery(filter={"op": "like", "args": [{"property": "code_postal"},
                                                                                  f"1{n}%"]}), ctx)
        search.search(session, search.SearchQuery(bbox=(2.5, 44.28, 2.6 + n / 100, 44.37)), ctx)
    prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("<->" in statement and "&&" in statement for statement in prepared)  # a box, from its centre
    assert not any("LIKE" in statement for statement in prepared), prepared
    settings = {name: connection.exec_driver_sql(f"SHOW {name}").scalar()
                for name in ("jit", "max_parallel_workers_per_gather")}
    assert settings == {"jit": "off", "max_parallel_workers_per_gather": "0"}


def test_a_box_pages_from_its_centre_outwards(client, places):
    """Unsorted, a box's venues come nearest its centre first (the spatial index cuts the page; no sort of every
    match), each once across the pages; sorted by name when asked."""
    west, south, east, north = 2.0, 44.0, 3.2, 44.6
    inside = {p[0]: p for p in PLACES if west <= p[1] <= east and south <= p[2] <= north}
    seen, url = [], f"{SEARCH}?bbox={west},{south},{east},{north}&per_page=1"
    while url:
        body = client.get(url).get_json()
        seen += [f["properties"]["nom"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(inside) > 2 and sorted(seen) == sorted(inside)
    centre = ((west + east) / 2, (south + north) / 2)
    distances = [haversine_m(*centre, inside[name][1], inside[name][2]) for name in seen]
    assert distances == sorted(distances) and seen != sorted(inside)  # (the names do not happen to agree)
    by_name = client.get(ITEMS, query_string={"bbox": f"{west},{south},{east},{north}", "sortby": "nom"}).get_json()
    assert [f["properties"]["nom"] for f in by_name["features"]] == sorted(inside)
    assert by_name["numberMatched"] == len(inside)


def test_a_box_holds_the_venues_on_its_sides_and_corners(client, qualified):
    """On PostgreSQL the walk reads a geography index, where a polygon's sides are great circles bulging from the
    box's parallels: a venue on a side or a corner is in the box, one a metre outside is not, whichever the order."""
    west, south, east, north = 2.5, 44.3, 2.7, 44.4
    on = {"sud": (2.6, south), "nord": (2.6, north), "coin sud-ouest": (west, south), "coin nord-est": (east, north),
          "ouest": (west, 44.35), "centre": (2.6, 44.35)}
    for name, (lon, lat) in on.items():
        qualified(nom=f"Lieu {name}", longitude=lon, latitude=lat)
    qualified(nom="Lieu dehors", longitude=2.6, latitude=south - 0.00001)
    qualified(nom="Lieu à un cheveu dehors", longitude=west - 1e-7, latitude=44.35)  # (GiST's boxes hold it)
    box = f"{west},{south},{east},{north}"
    for sortby in ({}, {"sortby": "nom"}, {"sortby": "-nom"}):
        body = client.get(ITEMS, query_string={"bbox": box, "limit": 100, **sortby}).get_json()
        assert sorted(f["properties"]["nom"] for f in body["features"]) == sorted(f"Lieu {n}" for n in on)
        assert body["numberMatched"] == len(on)
        past = client.get(ITEMS, query_string={"bbox": box, "limit": 100, "offset": 200, **sortby}).get_json()
        assert past["features"] == [] and past["numberMatched"] == len(on)


#: Venues on the half-degree grid's lines and corners (cells meet at 2.5° and 3°, 44° and 44.5°), with names tied
#: with each other and with ``PLACES``'.
ON_THE_GRID = [("Médiathèque de Rodez", 2.5, 44.5), ("Atelier numérique", 2.5, 44.49999),
               ("Atelier numérique", 3.0, 44.0), ("Atelier numérique", 2.49999, 44.5),
               ("Zénith du numérique", 2.99999, 44.25), ("Bus numérique", 2.75, 44.5)]


def _pages(client, url: str) -> list[tuple[str, str]]:
    """(name, id) of every feature of ``url``'s pages, each page's count checked: exact on the last page only when
    a page stops at its end (« more than » its end before), exact or « more than » the bound else."""
    seen = []
    while url:
        body = client.get(url).get_json()
        seen += [(f["properties"]["nom"], f["id"]) for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        if "numberMatched" in body:
            assert url is None or body["numberMatched"] > len(seen)
        else:
            assert url is not None and body["numberMatchedMoreThan"] >= len(seen)
    return seen


def test_pages_sorted_by_name_in_a_box_or_a_geometry_hold_its_matches_in_name_order(client, qualified, places):
    """Sorted by name within a box, or within a filter's geometry (PostgreSQL merges the name orders of the grid
    cells holding it and stops at the page, ``read_model.cells_covering``): whatever the box and the page size,
    the pages give every match once, in name order, venues on the cells' sides and corners included."""
    from shapely import wkt
    from shapely.geometry import Point, box

    ids = {(nom, places[nom]): (lon, lat) for nom, lon, lat, _extra in PLACES}
    for nom, lon, lat in ON_THE_GRID:
        ids[nom, qualified(nom=nom, longitude=lon, latitude=lat)] = (lon, lat)
    rng = random.Random(5)
    boxes = [(2.5, 44.0, 3.0, 44.5), (2.0, 44.0, 3.5, 44.5), (2.49, 44.2, 2.76, 44.5), (1.9, 43.9, 3.3, 44.7),
             *((w, s, w + rng.uniform(0.05, 1.4), s + rng.uniform(0.05, 0.8))
               for w, s in ((rng.uniform(1.9, 3.0), rng.uniform(43.9, 44.5)) for _ in range(12)))]
    for west, south, east, north in boxes:
        inside = sorted(key for key, (lon, lat) in ids.items() if west <= lon <= east and south <= lat <= north)
        for per_page in (1, 3, 50):
            seen = _pages(client, f"{ITEMS}?bbox={west},{south},{east},{north}&sortby=nom&limit={per_page}")
            assert [name for name, _id in seen] == [name for name, _id in inside], (west, south, east, north)
            assert sorted(seen) == inside
    polygon = "POLYGON((2.2 44.0, 3.1 44.0, 2.6 44.6, 2.2 44.0))"
    for text, holds in ((f"S_INTERSECTS(geometry, {polygon})", lambda p: wkt.loads(polygon).intersects(p)),
                        (f"S_INTERSECTS(geometry, {polygon}) AND nom <> 'Bus numérique'",
                         lambda p: wkt.loads(polygon).intersects(p)),
                        ("S_INTERSECTS(geometry, BBOX(2.2, 44.0, 2.6, 44.4)) OR "
                         "S_INTERSECTS(geometry, BBOX(2.9, 44.0, 3.1, 44.3))",
                         lambda p: box(2.2, 44.0, 2.6, 44.4).intersects(p) or box(2.9, 44.0, 3.1, 44.3).intersects(p))):
        inside = sorted(key for key, point in ids.items() if holds(Point(point))
                        and not (" AND " in text and key[0] == "Bus numérique"))
        for per_page in (1, 4):
            seen = _pages(client, f"{ITEMS}?limit={per_page}&filter={quote(text)}")
            assert [name for name, _id in seen] == [name for name, _id in inside], text
            assert sorted(seen) == inside


def test_a_box_of_any_size_sorted_by_name_is_answered(client, places):
    """A box far wider than the world, or its CQL2 twin, sorted by name: its cells are counted before any is listed
    (listing them overflowed: a 500), and the page walks the names."""
    huge = "-1e300,-1e300,1e300,1e300"
    for query in ({"bbox": huge, "sortby": "nom"},
                  {"filter": f"S_INTERSECTS(geometry, BBOX({huge.replace(',', ', ')}))"}):
        response = client.get(ITEMS, query_string={**query, "limit": 100})
        assert response.status_code == 200, response.get_json()
        assert [f["properties"]["nom"] for f in response.get_json()["features"]] == sorted(places)


def test_postgresql_merges_the_grid_cells_of_a_box_sorted_by_name(app, session, places):
    """The page of a box sorted by name (or of a spatial filter) is one statement reading the box's grid cells, each
    in name order, when they are few; a wide box walks the label's names. The merge is what keeps the page's cost
    from growing with the venues the box holds."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's merge of ordered index scans")
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    queries = {"box": search.SearchQuery(bbox=(2.2, 44.0, 3.2, 44.6), sort=("nom",)),
               "filter": search.SearchQuery(filter={"op": "s_intersects", "args": [
                   {"property": "geometry"}, {"bbox": [2.2, 44.0, 3.2, 44.6]}]}),
               "wide": search.SearchQuery(bbox=(-5.0, 42.0, 8.0, 51.0), sort=("nom",))}
    for name, query in queries.items():
        with statements(session.get_bind()) as ran:
            result = search.search(session, query, ctx, limit=2)
        assert len(ran) == 1 and ("UNION ALL" in ran[0]) == (name != "wide"), name
        assert [v.nom for v in result.venues] == sorted(p[0] for p in PLACES)[:2]
        assert (result.total, result.more_than) == ((None, 2) if name != "wide" else (len(PLACES), None))


def test_a_page_read_from_the_grid_cells_is_the_page_postgresql_would_sort(app, session, qualified, places):
    """Whatever the box or the spatial filter, page size and offset, the page read from the grid cells holds the
    venues, the order and the count of the same search sorted by PostgreSQL over every match: venues of another
    label or past their validity left out, names tied within a cell ordered alike, a point on a cell's or a box's
    side, a filter's coordinate its WKT rounds (``0.1 + 0.2``)."""
    from datetime import date

    from registry.models import Qualification, Venue

    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    for nom, lon, lat in [*ON_THE_GRID, ("Atelier numérique", 2.61, 44.41), ("Atelier numérique", 2.62, 44.42),
                          ("Autre label", 2.6, 44.4), ("Label échu", 2.6, 44.41), ("Lieu à 0,3°", 0.3, 44.2)]:
        qualified(nom=nom, longitude=lon, latitude=lat)
    held = dict(session.execute(select(Venue.nom, Qualification).join(Qualification)).all())
    held["Autre label"].criteria_set = "france-services"  # (an ORM write: the read model follows)
    held["Label échu"].valid_until = date(2000, 1, 1)
    session.commit()

    def within(*box) -> dict:
        return {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(box)}]}

    queries = [search.SearchQuery(bbox=box, sort=("nom",)) for box in (
        (2.5, 44.0, 3.0, 44.5), (2.0, 44.0, 3.5, 44.5), (2.49, 44.2, 2.76, 44.5), (1.9, 43.9, 3.3, 44.7))]
    queries += [search.SearchQuery(filter=tree) for tree in (
        within(2.2, 44.0, 3.1, 44.6), within(0.1 + 0.2, 44.1, 0.9, 44.3),
        {"op": "or", "args": [within(2.2, 44.0, 2.6, 44.4), within(2.9, 44.0, 3.1, 44.3)]})]
    for query in queries:
        for offset, limit in ((0, 50), (0, 2), (2, 3), (5, 4), (40, 10)):
            gridded = search.search(session, query, ctx, offset=offset, limit=limit)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(search, "GRID_CELLS", 0)  # (no grid: PostgreSQL sorts every match)
                sorted_ = search.search(session, query, ctx, offset=offset, limit=limit)
            assert [v.pk for v in gridded.venues] == [v.pk for v in sorted_.venues], (query, offset, limit)
            assert gridded.has_next == sorted_.has_next
            if gridded.total is not None:
                assert gridded.total == sorted_.total
            else:
                assert gridded.more_than == offset + limit < (sorted_.total or sorted_.more_than + 1)
    assert not {"Autre label", "Label échu"} & {v.nom for v in search.search(
        session, queries[0], ctx, limit=100).venues}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_driver_s_rows_are_sqlalchemy_s(app, session, places, monkeypatch, shape):
    """``fetch_rows`` (the driver runs a page's statement, PostgreSQL) gives the rows, names, labels, distances and
    counts SQLAlchemy's own execution gives, page after page."""
    ctx = Context("test", catalogue=app.extensions["registry.criteria"])
    query = SHAPES[shape]
    pages = []
    for run in (search.fetch_rows, lambda connection, statement, params: connection.execute(statement, params).all()):
        monkeypatch.setattr(search, "fetch_rows", run)
        results = [search.search(session, query, ctx, offset=offset, limit=2) for offset in (0, 2, 4)]
        pages.append([([tuple(row) for row in r.venues], [row._fields for row in r.venues], r.labels, r.distances,
                       r.total, r.more_than) for r in results])
    assert pages[0] == pages[1]
    assert any(page[0] for page in pages[0]) or shape == "lists"  # (no place offers both of its lists' values)


def test_the_driver_s_errors_are_sqlalchemy_s_and_its_events_are_sent(postgis_url):
    """A statement the driver runs fails as SQLAlchemy's (``DBAPIError``: the app's error handlers read it), a lost
    connection is invalidated (the next checkout gets a new one), observers of ``before_cursor_execute`` and
    ``after_cursor_execute`` see it, and a statement with an expanding parameter goes through SQLAlchemy."""
    from sqlalchemy import bindparam, literal_column, text
    from sqlalchemy.exc import DBAPIError

    from registry.db import fetch_rows, make_engine

    engine = make_engine(postgis_url, isolation_level="AUTOCOMMIT")
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(("before", args[2])))
    event.listen(engine, "after_cursor_execute", lambda *args: seen.append(("after", args[2])))
    ratio = select((literal_column("10") / bindparam("d", type_=Integer)).label("ratio"))
    try:
        with engine.connect() as connection:
            assert fetch_rows(connection, ratio, {"d": 5})[0].ratio == 2
            assert [when for when, _sql in seen] == ["before", "after"] and "%(d)s" in seen[0][1]
            with pytest.raises(DBAPIError) as raised:
                fetch_rows(connection, ratio, {"d": 0})
            assert not raised.value.connection_invalidated and "division" in str(raised.value.orig)
            assert fetch_rows(connection, ratio, {"d": 2})[0].ratio == 5  # (autocommit: nothing left aborted)
            listed = select(literal_column("1").label("one")).where(
                literal_column("2").in_(bindparam("values", expanding=True)))
            assert [tuple(row) for row in fetch_rows(connection, listed, {"values": [1, 2]})] == [(1,)]
            pid = connection.connection.driver_connection.info.backend_pid
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as raised:
                fetch_rows(connection, ratio, {"d": 1})
            assert raised.value.connection_invalidated
        with engine.connect() as connection:  # the pool gives a live connection again
            assert fetch_rows(connection, ratio, {"d": 1})[0].ratio == 10
    finally:
        engine.dispose()
