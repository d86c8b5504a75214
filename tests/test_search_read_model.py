"""The public read model: what public reads serve follows every kind of write at once, and ``registry search
verify`` finds (and ``--repair`` mends) a read model that differs from what the write side implies. (Every test
on ``database_url`` is also verified after it: ``conftest.public_read_model_checked``.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, text, update

from registry.cli.core import main
from registry.models import PublicVenue, Qualification, Venue
from registry.services.qualification import read_model
from registry.services.search import filters


def _labels_served(client, venue_id: str) -> list[str]:
    found = client.get(f"/ogc/collections/pass-numerique/items/{venue_id}")
    return [] if found.status_code == 404 else [label["criteria_set"] for label in
                                                found.get_json()["properties"]["labels"]]


def _listed(client, **args) -> set[str]:
    found = client.get("/api/v1/venues", query_string={"per_page": 100, **args}).get_json()
    return {feature["id"] for feature in found["features"]}


def test_every_write_shows_in_public_reads_at_once(client, operator, qualified, create_venue, session):
    venue_id = qualified(nom="Espace numérique")
    assert venue_id in _listed(client) and _labels_served(client, venue_id) == ["pass-numerique"]

    # A venue edit: served as written, by name and by filter.
    current = client.get(f"/api/v1/operator/venues/{venue_id}", headers=operator)
    edited = client.patch(f"/api/v1/operator/venues/{venue_id}", json={"nom": "Espace numérique du Bourg"},
                          headers={**operator, "If-Match": current.headers["ETag"]})
    assert edited.status_code == 200, edited.get_json()
    assert venue_id in _listed(client, q="bourg")

    # A decision: suspended, the venue leaves every public read; reinstated, it is back.
    for action, expected in (("suspend", False), ("reinstate", True)):
        response = client.post(f"/api/v1/operator/venues/{venue_id}/qualifications/pass-numerique/decisions",
                               json={"action": action, "reason": "contrôle"}, headers=operator)
        assert response.status_code == 200, response.get_json()
        assert (venue_id in _listed(client)) is expected
        assert (client.get(f"/api/v1/venues/{venue_id}").status_code == 200) is expected

    # Unpublication: gone from the search, the OGC items and the venue's public page.
    response = client.post(f"/api/v1/operator/venues/{venue_id}/unpublish", headers=operator)
    assert response.status_code == 200, response.get_json()
    assert venue_id not in _listed(client)
    assert client.get(f"/api/v1/venues/{venue_id}").status_code == 404
    assert client.get("/ogc/collections/pass-numerique/items").get_json()["numberMatched"] == 0


def test_a_label_past_its_validity_is_not_served_without_any_job(client, qualified, session):
    """The read model keeps the validity; reads compare it with today (no expiry run needed)."""
    venue_id = qualified()
    session.execute(update(PublicVenue).values(valid_until=text("'2000-01-01'")))
    session.commit()
    assert venue_id not in _listed(client)
    assert _labels_served(client, venue_id) == []
    read_model.rebuild(session)  # (back to what the write side implies)
    session.commit()
    assert venue_id in _listed(client)


def test_verify_finds_and_repairs_a_read_model_that_differs(database_url, qualified, session):
    first, second = qualified(nom="Premier lieu"), qualified(nom="Second lieu")
    env = {"REGISTRY_DATABASE_URL": database_url}
    ok = CliRunner().invoke(main, ["search", "verify"], env=env)
    assert ok.exit_code == 0 and "Modèle de lecture conforme : 2 ligne(s)" in ok.output, ok.output

    pks = dict(session.execute(select(Venue.nom, Venue.pk)).all())
    session.execute(delete(PublicVenue).where(PublicVenue.pk == pks["Premier lieu"]))
    session.execute(update(PublicVenue).where(PublicVenue.pk == pks["Second lieu"]).values(nom="Falsifié"))
    session.execute(update(Qualification).where(Qualification.venue_pk == pks["Second lieu"])
                    .values(status="suspended"))  # (a Core write the read model did not follow)
    session.commit()
    found = CliRunner().invoke(main, ["search", "verify"], env=env)
    assert found.exit_code == 1, found.output
    assert f"lieu n° {pks['Premier lieu']}, label pass-numerique : ligne absente" in found.output
    assert f"lieu n° {pks['Second lieu']}, label pass-numerique : ligne en trop" in found.output

    repaired = CliRunner().invoke(main, ["search", "verify", "--repair"], env=env)
    assert "Modèle de lecture reconstruit : 1 ligne(s)" in repaired.output, repaired.output
    assert CliRunner().invoke(main, ["search", "verify"], env=env).exit_code == 0
    assert {first, second} >= {str(v) for v in session.scalars(select(PublicVenue.id))}


def test_the_map_view_is_kept_per_data_version_for_every_worker(client, qualified, session, app):
    """A view computed once is kept in the database (every worker reads it), the same for every screen's box at a
    region's zoom or less; a write makes a new version: the previous one's view is served, said to be stale,
    until the worker has computed the new one."""
    from registry.jobs import run_queued
    from registry.models import PublicView
    from registry.services.base import data_version
    from registry.services.search import search

    for n in range(3):
        qualified(nom=f"Lieu {n}", longitude=2.5 + n / 100, latitude=44.3)
    run_queued(app)  # (the views of the versions above)
    session.execute(delete(PublicView))
    session.commit()
    old_points, search.MAP_POINTS = search.MAP_POINTS, 1  # (clusters from two venues on)
    written = []

    def count_writes(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PUBLIC_VIEWS"):
            written.append(statement)

    database = app.extensions["registry.db"]
    engines = {database.engine, database.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count_writes)
    try:
        query = {"bbox": "-5.5,41,10,51.5", "zoom": 5}
        computed = client.get("/api/v1/venues/map", query_string=query)
        first = computed.get_json()
        assert first["clustered"] and first["numberMatched"] == 3 and "stale" not in first
        assert computed.headers["Server-Timing"] == 'view;desc="computed"'
        kept = session.execute(select(PublicView.key, PublicView.version)).all()
        assert len(kept) == search.GRID_ZOOM + 1  # every zoom's grid from one statement
        assert len(written) == len(kept)  # each written once
        assert {version for _key, version in kept} == {data_version.current(session)}
        again = client.get("/api/v1/venues/map", query_string={**query, "bbox": "-5,41.5,9.5,51"})
        assert again.headers["Server-Timing"] == 'view;desc="kept"' and again.get_json() == first
        qualified(nom="Lieu 4", longitude=2.6, latitude=44.31)
        stale = client.get("/api/v1/venues/map", query_string=query).get_json()
        assert stale["stale"] is True and stale["numberMatched"] == 3
        assert run_queued(app) == 0  # (no job: the map's views, asked after the writes, are not jobs)
        session.commit()
        after = client.get("/api/v1/venues/map", query_string=query)
        assert after.headers["Server-Timing"] == 'view;desc="kept"'
        assert after.get_json()["numberMatched"] == 4 and "stale" not in after.get_json()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count_writes)
        search.MAP_POINTS = old_points


def test_one_data_version_for_the_reports_and_the_map_and_its_log_pruned(app, client, qualified, session):
    """The data version the reports and the map's views are keyed on is the change log's latest key, written by
    every change; the log keeps a day of changes and always its latest (the version never goes back)."""
    from datetime import timedelta

    from registry.models import PublicChange, utcnow
    from registry.services.base import data_version

    before = data_version.current(session)
    session.commit()
    qualified(nom="Lieu nouveau")
    version = data_version.current(session)
    assert int(version) > int(before)
    count = session.scalar(select(func.count()).select_from(PublicChange))
    assert count > 1 and data_version.prune(session) == 0  # (all younger than a day)
    assert data_version.prune(session, now=utcnow() + timedelta(days=2)) == count - 1
    session.commit()
    assert data_version.current(session) == version
    session.commit()
    qualified(nom="Lieu suivant")
    assert int(data_version.current(session)) > int(version)  # (never a key used before)


_LON, _LAT = st.floats(-180, 180, allow_nan=False), st.floats(-90, 90, allow_nan=False)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(points=st.lists(st.tuples(_LON, _LAT), min_size=1, max_size=20), corner=st.tuples(_LON, _LAT),
       size=st.tuples(st.floats(0, 3), st.floats(0, 3)))
def test_the_cells_covering_a_box_hold_the_cell_of_every_point_in_it(session, points, corner, size):
    """A page sorted by name within a box reads the cells ``cells_covering`` names: the database's cell of every
    point in the box (on a cell's side or corner too) is one of them, on both databases; a box over ``most``
    cells is refused, not listed."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    west, south = corner
    box = (west, south, west + size[0], south + size[1])
    cells = read_model.cells_covering(box, 10_000)
    for lon, lat in [*points, (west, south), (box[2], box[3]), (west, box[3])]:
        point = func.ST_GeomFromText(f"POINT({lon!r} {lat!r})", 4326)
        cell = session.execute(select(read_model.grid_cell(sqlite, point))).scalar()
        if box[0] <= lon <= box[2] and box[1] <= lat <= box[3]:
            assert cell in cells, (lon, lat)
    assert read_model.cells_covering(box, len(cells)) == cells
    assert read_model.cells_covering(box, len(cells) - 1) is None
    assert read_model.cells_covering((west - 1e300, south, box[2], box[3]), 10_000) is None  # (counted, not listed)


_BOXES = st.tuples(st.floats(-10, 10), st.floats(40, 50), st.floats(0.01, 5), st.floats(0.01, 5)).map(
    lambda b: {"bbox": [b[0], b[1], b[0] + b[2], b[1] + b[3]]})
_SPATIAL_OPS = ("s_intersects", "s_within", "s_touches", "s_equals", "s_disjoint", "s_contains")
_ATOMS = st.one_of(st.builds(lambda op, b: {"op": op, "args": [{"property": "geometry"}, b]},
                             st.sampled_from(_SPATIAL_OPS), _BOXES),
                   st.sampled_from(["nom", "code_postal"]).map(lambda p: {"op": "=", "args": [{"property": p}, "x"]}))
_TREES = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.builds(lambda a: {"op": "not", "args": [a]}, inner),
    st.builds(lambda op, args: {"op": op, "args": args}, st.sampled_from(["and", "or"]),
              st.lists(inner, min_size=2, max_size=3))), max_leaves=6)


def _lets_through(tree: dict, lon: float, lat: float, values: dict[str, bool]) -> bool:
    """Whether a venue at (lon, lat) passes ``tree``, its text conditions given by ``values``."""
    op, args = tree["op"], tree["args"]
    if op.startswith("s_"):  # a point against a box: inside, on its sides, or out
        west, south, east, north = args[1]["bbox"]
        inside, closed = west < lon < east and south < lat < north, west <= lon <= east and south <= lat <= north
        return {"s_intersects": closed, "s_within": inside, "s_touches": closed and not inside, "s_equals": False,
                "s_disjoint": not closed, "s_contains": False}[op]
    if op == "=":
        return values[args[0]["property"]]
    if op == "not":
        return not _lets_through(args[0], lon, lat, values)
    found = [_lets_through(arg, lon, lat, values) for arg in args]
    return all(found) if op == "and" else any(found)


@settings(max_examples=300, deadline=None)
@given(tree=_TREES, points=st.lists(st.tuples(st.floats(-12, 16), st.floats(38, 56)), min_size=1, max_size=30))
def test_a_filter_s_bounds_hold_every_venue_it_lets_through(tree, points):
    """``filters.bounds``: whatever the filter (spatial predicates, text conditions, AND, OR, NOT), every venue it
    may let through — whatever its text fields — lies in the box it gives; it gives none when it cannot bound."""
    found = filters.bounds(tree)
    for lon, lat in points:
        for nom, code in ((True, True), (True, False), (False, True), (False, False)):
            if _lets_through(tree, lon, lat, {"nom": nom, "code_postal": code}) and found is not None:
                # (within the rounding of the filter's WKT, which the SQL reads: ``filters.sql_bounds``)
                assert found[0] - 1e-9 <= lon <= found[2] + 1e-9 and found[1] - 1e-9 <= lat <= found[3] + 1e-9, (
                    tree, lon, lat, found)
    if tree["op"] in ("s_intersects", "s_within", "s_touches", "s_equals"):
        assert found == pytest.approx(tuple(tree["args"][1]["bbox"]), abs=1e-12)
    elif tree["op"] in ("s_disjoint", "s_contains", "not"):
        assert found is None
