"""The public read model: what public reads serve follows every kind of write at once, and ``registry search
verify`` finds (and ``--repair`` mends) a read model that differs from what the write side implies. (Every test
on ``database_url`` is also verified after it: ``conftest.public_read_model_checked``.)"""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, func, select, text, update

from registry.cli.core import main
from registry.models import PublicVenue, Qualification, Venue
from registry.services.qualification import read_model


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
    try:
        query = {"bbox": "-5.5,41,10,51.5", "zoom": 5}
        computed = client.get("/api/v1/venues/map", query_string=query)
        first = computed.get_json()
        assert first["clustered"] and first["numberMatched"] == 3 and "stale" not in first
        assert computed.headers["Server-Timing"] == 'view;desc="computed"'
        kept = session.execute(select(PublicView.key, PublicView.version)).all()
        assert len(kept) == search.GRID_ZOOM + 1  # every zoom's grid from one statement
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
